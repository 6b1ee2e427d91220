// Must not compile: the loss derivative returns an expression of the local `r`.
#include <graphnn/graphnn.hpp>
namespace gn = graphnn;
int main() {
  auto huber = gn::custom_loss<double>(
      "huber_local", [](double a, double y) { return std::abs(a - y) <= 1 ? 0.5 * (a - y) * (a - y) : std::abs(a - y) - 0.5; },
      [](const auto& a, const auto& y) { auto r = a - y; return xt::where(xt::abs(r) <= 1.0, r, xt::sign(r)); });
  gn::Graph<double> g;
  auto p = g.variable("p", xt::xarray<double>{1.0});
  huber(p, p);
}
