// data_parallel: one Sequential program that trains alone or on several
// processes under mpirun, unchanged. Each process holds the whole model and
// trains on its rows of every batch (--batch rows each, so the global batch is
// --batch x processes); the gradients are averaged by MPI allreduce before
// every update, so every process ends with the same weights. Only rank 0
// prints, draws the progress bar and saves.
//
//   build/samples/data_parallel/data_parallel                          # one process
//   mpirun -np 2 build/samples/data_parallel/data_parallel             # two (add --allow-run-as-root as root)
//   mpirun -np 4 --hostfile hosts build/samples/data_parallel/data_parallel   # several machines
//
// Data: scikit-learn's 1797 8x8 handwritten digits (Debian's python3-sklearn), 20% held out.
#include <iostream>
#include <string>

#include <graphnn/graphnn.hpp>

#include "../common/flags.hpp"

namespace gn = graphnn;

int main(int argc, char** argv) {
  std::size_t epochs = 30, batch = 32;
  unsigned seed = 5;
  double lr = 0.005;
  std::string csv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", save;
  samples::Flags flags("data_parallel",
                       "Trains a digit classifier with Sequential::fit, alone or data-parallel under mpirun.");
  flags.add("epochs", epochs, "passes over the training data")
      .add("batch", batch, "rows per process in each step")
      .add("lr", lr, "Adam's learning rate")
      .add("seed", seed, "initial weights, batch order, hold-out")
      .add("csv", csv, "the digits: 64 pixels (0-16) then the label per row, no header")
      .add("save", save, "write the trained model to this file (rank 0)");
  flags.parse(argc, argv);

  gn::CsvOptions csv_options;
  csv_options.header = false;
  gn::Dataset<double> all = gn::load_csv<double>(csv, csv_options);
  all.x /= 16.0;
  auto [train, test] = gn::split(all, 0.2, seed);

  const bool root = gn::distributed::is_root();
  const int processes = gn::distributed::size();
  if (root)
    std::cout << "data_parallel: " << processes << (processes == 1 ? " process" : " processes") << ", " << batch
              << " rows each per step (global batch " << batch * std::size_t(processes) << "), "
              << train.x.shape()[0] << " training rows\n";

  gn::Sequential<double> model;
  model.add(gn::Linear<double>(64, 64)).add(gn::Activation<double>("relu")).add(gn::Linear<double>(64, 10));
  model.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<double>(lr)).set_seed(seed);
  gn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.seed = seed;
  o.log_every = 0;
  const gn::History h = model.fit(train.x, train.y, test.x, test.y, o);

  const gn::Evaluation e = model.evaluate(test.x, test.y);
  if (root) std::cout << "held-out accuracy " << e.accuracy << " after " << h.iteration.back() << " steps\n";
  if (!save.empty()) {
    model.save(save);  // rank 0 writes; every process returns once it is written
    if (root) std::cout << "saved " << save << "\n";
  }
  return 0;
}
