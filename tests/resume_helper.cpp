// The second process of test_training's resume test: what a training job
// does after a restart. It loads a model file, trains it on .npy data and
// saves it back.
// usage: resume_helper <model file> <x.npy> <y.npy> <epochs> <batch size> <seed>
#include <exception>
#include <iostream>
#include <string>

#include <graphnn/graphnn.hpp>

int main(int argc, char** argv) {
  namespace gn = graphnn;
  if (argc != 7) {
    std::cerr << "usage: resume_helper <model file> <x.npy> <y.npy> <epochs> <batch size> <seed>\n";
    return 2;
  }
  try {
    gn::Sequential<double> model = gn::Sequential<double>::load(argv[1]);
    const auto x = gn::load_npy<double>(argv[2]);
    const auto y = gn::load_npy<double>(argv[3]);
    gn::FitOptions o;
    o.epochs = std::stoul(argv[4]);
    o.batch_size = std::stoul(argv[5]);
    o.seed = static_cast<unsigned>(std::stoul(argv[6]));
    o.verbose = false;
    model.fit(x, y, o);
    model.save(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "resume_helper: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
