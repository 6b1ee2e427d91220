// A program outside the project: it sees graphnn only through its installed
// headers and library (pkg-config) or through Meson's dependency('graphnn').
#include <cmath>
#include <cstdio>
#include <string>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

int main() {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto w = g.variable("w", xt::xarray<double>{0.5, -1.5});
  // loss = sum over rows of (x_i . w)^2 / 2, so d loss / d w = x^T (x w) and its gradient is x^T x.
  auto loss = gn::reduce_sum(gn::square(gn::matmul(x, gn::reshape(w, {2, 1})))) / 2.0;
  auto grads = gn::gradients(loss, {w});
  auto second = gn::gradients(gn::reduce_sum(grads[0]), {w});

  gn::Session<double> s(g);
  xt::xarray<double> xv = {{1.0, 2.0}, {3.0, -1.0}};
  auto out = s.run({loss, grads[0], second[0]}, {{x, xv}});

  // rows: 1*0.5 + 2*(-1.5) = -2.5, 3*0.5 + (-1)*(-1.5) = 3; loss = (6.25 + 9) / 2 = 7.625
  // grad = x^T (x w) = [1*-2.5 + 3*3, 2*-2.5 + -1*3] = [6.5, -8]
  // second: d/dw of sum(x^T x w) = column sums of x^T x = [1+9 + 2-3, 2-3 + 4+1] = [9, 4]
  const double expect[] = {7.625, 6.5, -8.0, 9.0, 4.0};
  const double got[] = {out[0](), out[1](0), out[1](1), out[2](0), out[2](1)};
  int bad = 0;
  for (int i = 0; i < 5; ++i) {
    if (std::abs(got[i] - expect[i]) > 1e-12) {
      std::printf("value %d: got %.17g, expected %.17g\n", i, got[i], expect[i]);
      ++bad;
    }
  }
  // Errors are exceptions, not aborts.
  try {
    s.run({loss});
    std::printf("missing feed was not reported\n");
    ++bad;
  } catch (const gn::Error& e) {
    if (std::string(e.what()).find("placeholder 'x'") == std::string::npos) {
      std::printf("unexpected error text: %s\n", e.what());
      ++bad;
    }
  }
  std::printf("%s: loss %.4f, grad [%.4f, %.4f], second order [%.4f, %.4f]\n", bad ? "FAIL" : "ok", got[0], got[1],
              got[2], got[3], got[4]);
  return bad ? 1 : 0;
}
