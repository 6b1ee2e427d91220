// Must not compile: the derivative returns an expression of the local `s`.
#include <graphnn/graphnn.hpp>
namespace gn = graphnn;
int main() {
  auto swish = gn::elementwise<double>(
      "swish_local", [](const auto& z) { return xt::eval(z / (1.0 + xt::exp(-z))); },
      [](const auto& z) { auto s = 1.0 / (1.0 + xt::exp(-z)); return s + z * s * (1.0 - s); });
  gn::Graph<double> g;
  swish(g.variable("x", xt::xarray<double>{1.0}));
}
