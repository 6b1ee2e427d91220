// The child of test_loaders' kill test: saves versions 1, 2, 3, ... of a small
// model over one file (every weight equal to the version number) until it is
// killed, writing one byte to the file descriptor in argv[2] after its first
// save so the parent knows a complete file exists.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: save_child <model file> <ready fd>\n";
    return 2;
  }
  try {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(16, 8));
    m.predict(xt::xarray<double>(xt::zeros<double>({1, 16})));
    const int ready = std::atoi(argv[2]);
    for (double version = 1;; ++version) {
      for (const auto& p : m.parameters()) {
        xt::xarray<double> value = m.session().value(p);
        value.fill(version);
        m.session().assign(p, value);
      }
      m.save(argv[1]);
      if (version == 1 && (::write(ready, "r", 1) != 1 || ::close(ready) != 0)) return 3;
    }
  } catch (const gn::Error& e) {
    std::cerr << "save_child: " << e.what() << "\n";
    return 1;
  }
}
