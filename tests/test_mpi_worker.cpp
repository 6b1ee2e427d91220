// The program tests/test_mpi.cpp runs under mpirun: one mode per scenario.
// Every process makes the same data; rank r writes what the test compares to
// <out>/rank<r>.txt (every weight and the History, at full precision).
//   train sgd|adam <per-rank batch> <out>   20 steps of fit
//   uneven <out> [metrics]                  rows that no process count divides; saves <out>/model.gnn
//   batchnorm <out>                         BatchNorm's running statistics after one step
//   files <out>                             CSVLogger, export_npy, a save that fails: rank 0 writes
//   raw <out>                               allreduce_mean in a raw graph, several buckets
//   scale_rule <out>                        rule mean_scale_into_product on and off
//   alloc                                   heap allocations per training step with allreduce buckets
//   throw | kill | mismatch                 faults: rank 1 throws, dies, or builds another model
//   throw_in_step | kill_in_step | catch_in_step
//                                           rank 1 fails while rank 0 waits in an allreduce
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <string>

#define OMPI_SKIP_MPICXX 1  // the C API only: no deprecated C++ bindings (nor their warnings)
#include <mpi.h>
#include <mpi-ext.h>

#include <graphnn/graphnn.hpp>
#include <xtensor/xview.hpp>

#include "alloc_counter.hpp"
#include "mpi_model.hpp"

namespace gn = graphnn;

namespace {

using mpi_model::make_data;
using mpi_model::model;
using mpi_model::options;

void write(const std::string& out, gn::Sequential<double>& m, const gn::History& h) {
  std::ofstream f(out + "/rank" + std::to_string(gn::distributed::rank()) + ".txt");
  f << std::setprecision(17);
  for (const auto& p : m.parameters())
    for (double v : m.session().value(p)) f << v << "\n";
  f << "history";
  for (std::size_t k = 0; k < h.size(); ++k) {
    f << " " << h.iteration[k] << ":" << h.loss[k] << ":" << h.accuracy[k];
    for (const auto& [name, values] : h.metrics) f << ":" << name << "=" << values[k];
  }
  f << "\n";
}

// The raw-graph modes' net: x [batch, 4] -> tanh(x W1) W2 + b2 with `hidden`
// units, and its mean squared output as the loss.
struct SmallNet {
  gn::Node<double> x, loss;
  gn::Nodes<double> vars;  // W1, W2, b2
};
SmallNet small_net(gn::Graph<double>& g, std::size_t hidden) {
  auto x = g.placeholder("x", {gn::batch, 4});
  auto W1 = g.variable("W1", xt::xarray<double>(xt::ones<double>({std::size_t(4), hidden}) * 0.01));
  auto W2 = g.variable("W2", xt::xarray<double>(xt::ones<double>({hidden, std::size_t(2)}) * 0.02));
  auto b2 = g.variable("b2", xt::xarray<double>(xt::zeros<double>({2})));
  auto loss = gn::reduce_mean(gn::square(gn::matmul(gn::tanh(gn::matmul(x, W1)), W2) + b2));
  return {x, loss, {W1, W2, b2}};
}

// Three rows per process: the data of every process, and process r's share.
xt::xarray<double> every_process_rows() {
  xt::xarray<double> all, unused;
  make_data(std::size_t(3 * gn::distributed::size()), all, unused);
  return all;
}
xt::xarray<double> rows_of(const xt::xarray<double>& all, int r) { return xt::view(all, xt::range(3 * r, 3 * r + 3)); }

// Gradients of a small two-layer net, averaged by allreduce_mean: each process
// feeds its own rows; every process also computes each rank's gradient alone,
// to write the mean it expects next to the one the job computed.
void raw(const std::string& out) {
  const int rank = gn::distributed::rank(), size = gn::distributed::size();
  gn::Graph<double> g;
  const SmallNet net = small_net(g, 300);
  const auto& [x, loss, vars] = net;
  gn::Nodes<double> mean;
  for (const auto& grad : gn::gradients(loss, vars)) mean.push_back(gn::allreduce_mean(grad, 4096));  // small buckets
  gn::Session<double> s(g);
  const xt::xarray<double> all = every_process_rows();
  const xt::xarray<double> mine = rows_of(all, rank);
  std::vector<xt::xarray<double>> got;
  for (int step = 0; step < 3; ++step) s.run(mean, {{x, mine}}, got);  // the same plan, run again
  std::vector<xt::xarray<double>> expected(vars.size());
  const gn::Nodes<double> local = gn::gradients(loss, vars);
  for (int r = 0; r < size; ++r) {
    const xt::xarray<double> rows = rows_of(all, r);
    const auto one = s.run(local, {{x, rows}});
    for (std::size_t k = 0; k < vars.size(); ++k)
      expected[k] = r == 0 ? one[k] : xt::xarray<double>(expected[k] + one[k]);
  }
  std::ofstream f(out + "/rank" + std::to_string(rank) + ".txt");
  f << std::setprecision(17);
  for (std::size_t k = 0; k < vars.size(); ++k)
    for (std::size_t i = 0; i < got[k].size(); ++i) f << got[k].data()[i] << " " << expected[k].data()[i] / size << "\n";
}

std::size_t fired(const gn::Session<double>& s, const std::string& rule) {
  for (const gn::RuleCount& r : s.plan_summary().rules)
    if (r.rule == rule) return r.count;
  return 0;
}

// Rule mean_scale_into_product: the averaged gradients of a small net with the
// compiler's passes and without, the times the rule fired (each product that
// only the mean reads), and again when W1's product is fetched too (then that
// product keeps its own value and is not scaled). Writes "fired <n> <n with W1's
// product fetched>", then per element "<passes on> <passes off>".
void scale_rule(const std::string& out) {
  gn::Graph<double> g;
  const SmallNet net = small_net(g, 30);
  const gn::Node<double>& x = net.x;
  const gn::Nodes<double> grads = gn::gradients(net.loss, net.vars);
  gn::Nodes<double> mean;
  for (const auto& grad : grads) mean.push_back(gn::allreduce_mean(grad));
  const int r = gn::distributed::rank();
  const xt::xarray<double> mine = rows_of(every_process_rows(), r);
  gn::SessionOptions off;
  off.passes.enabled = false;
  gn::Session<double> with_passes(g), without(g, off), shared(g);
  const auto on_values = with_passes.run(mean, {{x, mine}});
  const auto off_values = without.run(mean, {{x, mine}});
  shared.run({mean[0], mean[1], mean[2], grads[0]}, {{x, mine}});
  std::ofstream f(out + "/rank" + std::to_string(r) + ".txt");
  f << std::setprecision(17) << "fired " << fired(with_passes, "mean_scale_into_product") << " "
    << fired(shared, "mean_scale_into_product") << "\n";
  for (std::size_t k = 0; k < mean.size(); ++k)
    for (std::size_t i = 0; i < on_values[k].size(); ++i)
      f << on_values[k].data()[i] << " " << off_values[k].data()[i] << "\n";
}

// A raw graph's training step: a two-layer classifier whose gradients are
// averaged in one 1 KiB bucket each, then the updates.
struct RawStep {
  gn::Graph<double> g;
  gn::Node<double> x, y;
  gn::Nodes<double> updates;
  RawStep() {
    x = g.placeholder("x", {gn::batch, 4});
    y = g.placeholder("y", {gn::batch, 1});
    auto W1 = g.variable("W1", xt::xarray<double>(xt::ones<double>({4, 64}) * 0.01));
    auto W2 = g.variable("W2", xt::xarray<double>(xt::ones<double>({64, 3}) * 0.02));
    auto loss = gn::sparse_softmax_cross_entropy(gn::matmul(gn::relu(gn::matmul(x, W1)), W2), y);
    const gn::Nodes<double> vars{W1, W2};
    const gn::Nodes<double> grads = gn::gradients(loss, vars);
    for (std::size_t k = 0; k < vars.size(); ++k)
      updates.push_back(gn::assign_sub(vars[k], gn::allreduce_mean(grads[k], 1024) * 0.1));
  }
};

// Rank 1 fails at its fourth step while rank 0 goes on into the step's
// allreduce and waits there: "throw" lets the error escape, "kill" dies,
// "catch" catches it and returns 1 from main as a one-process program would.
int fault_in_step(const std::string& how) {
  RawStep t;
  gn::Session<double> s(t.g);
  xt::xarray<double> X, Y;
  make_data(8, X, Y);
  for (int step = 0; step < 10; ++step) {
    const bool fails = gn::distributed::rank() == 1 && step == 3;
    if (fails && how == "kill") std::raise(SIGKILL);
    xt::xarray<double> labels = Y;
    if (fails) labels(0, 0) = 7;  // a class id out of range: the loss's kernel throws, before the buckets
    try {
      s.run_targets(t.updates, {{t.x, X}, {t.y, labels}});
    } catch (const gn::Error& e) {
      if (how != "catch") throw;
      std::cerr << "worker: " << e.what() << std::endl;
      return 1;
    }
  }
  return 0;
}

// A training step of a raw graph (RawStep), 10 times; prints "rank R: N allocations in 10 steps, M in OpenMPI's 20
// allreduces alone; transport T". OpenMPI 4.1's persistent allreduce allocates inside
// MPI_Start itself (2 per start); graphnn's part of the step must add nothing.
void alloc() {
  unsetenv("GRAPHNN_VERIFY_PASSES");  // --setup verify runs each plan twice on copies: allocating is what it does
  RawStep t;
  gn::Session<double> s(t.g);
  xt::xarray<double> X, Y;
  make_data(8, X, Y);
  for (int warm = 0; warm < 3; ++warm) s.run_targets(t.updates, {{t.x, X}, {t.y, Y}});
  const long step = alloc_counter::allocations_during([&] {
    for (int k = 0; k < 10; ++k) s.run_targets(t.updates, {{t.x, X}, {t.y, Y}});
  });
  std::vector<double> buffer(256);
  MPI_Request r;
  MPIX_Allreduce_init(MPI_IN_PLACE, buffer.data(), 256, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &r);
  const long mpi = alloc_counter::allocations_during([&] {
    for (int k = 0; k < 20; ++k) MPI_Start(&r), MPI_Wait(&r, MPI_STATUS_IGNORE);
  });
  MPI_Request_free(&r);
  std::cout << "rank " << gn::distributed::rank() << ": " << step << " allocations in 10 steps, " << mpi
            << " in OpenMPI's 20 allreduces alone; transport " << gn::distributed::allreduce_transport() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  xt::xarray<double> x, y;
  if (mode == "train" && argc == 5) {
    const std::size_t batch = std::stoul(argv[3]);
    make_data(mpi_model::kSteps * batch * std::size_t(gn::distributed::size()), x, y);  // one epoch of 20 steps
    auto m = model(argv[2], 8, 11 + unsigned(gn::distributed::rank()));  // the broadcast makes them rank 0's
    const gn::History h = m.fit(x, y, options(1, batch));
    write(argv[4], m, h);
    return 0;
  }
  if (mode == "uneven" && (argc == 3 || argc == 4)) {
    make_data(23, x, y);  // 23 rows, per-rank batch 4: no process count divides them
    auto m = model("sgd");
    // A chosen metric is measured over all rows on every process; without, each process evaluates its share.
    if (argc == 4 && std::string(argv[3]) == "metrics") m.set_metrics({"top_k_accuracy(2)"});
    gn::FitOptions o = options(3, 4);
    o.log_every = 2;
    const gn::History h = m.fit(x, y, o);
    write(argv[2], m, h);
    m.save(std::string(argv[2]) + "/model.gnn");
    return 0;
  }
  if (mode == "batchnorm" && argc == 3) {
    make_data(4 * std::size_t(gn::distributed::size()), x, y);  // one global batch, 4 rows per process
    gn::Sequential<double> m;
    m.add(gn::BatchNorm<double>(0.5)).add(gn::Linear<double>(4, 3));
    m.set_classifier("softmax").set_loss("cross_entropy").set_seed(11);
    gn::FitOptions o = options(1, 4);
    o.shuffle = false;
    m.fit(x, y, o);
    std::ofstream f(std::string(argv[2]) + "/rank" + std::to_string(gn::distributed::rank()) + ".txt");
    f << std::setprecision(17);
    for (const auto& v : m.graph().variables())
      if (v.name().find("running_") != std::string::npos)
        for (double value : m.session().value(v)) f << value << "\n";
    return 0;
  }
  if (mode == "files" && argc == 3) {
    const std::string out = argv[2];
    make_data(40, x, y);
    auto m = model("sgd");
    gn::FitOptions o = options(3, 4);
    o.callbacks = {std::make_shared<gn::CSVLogger>(out + "/epochs.csv")};
    m.fit(x, y, o);
    m.export_npy(out + "/npy");
    try {
      m.save(out + "/missing/folder/model.gnn");
    } catch (const gn::Error& e) {
      std::cout << "rank " << gn::distributed::rank() << " caught: " << e.what() << std::endl;
    }
    return 0;
  }
  if (mode == "raw" && argc == 3) {
    raw(argv[2]);
    return 0;
  }
  if (mode == "scale_rule" && argc == 3) {
    scale_rule(argv[2]);
    return 0;
  }
  if (mode == "alloc") {
    alloc();
    return 0;
  }
  if (mode == "throw" || mode == "kill") {
    make_data(400, x, y);
    auto m = model("sgd");
    m.fit(x, y, options(1, 4));  // both ranks train a while first
    if (gn::distributed::rank() == 1) {
      if (mode == "kill") std::raise(SIGKILL);
      throw gn::Error("worker: the data file went missing");
    }
    m.fit(x, y, options(100, 4));  // rank 0 waits in fit's first collective (the model check), which rank 1 never joins
    return 0;
  }
  if (mode == "throw_in_step" || mode == "kill_in_step" || mode == "catch_in_step")
    return fault_in_step(mode.substr(0, mode.find('_')));
  if (mode == "mismatch") {
    make_data(40, x, y);
    auto m = model("sgd", gn::distributed::rank() == 1 ? 9 : 8);
    m.fit(x, y, options(1, 4));
    return 0;
  }
  std::cerr << "usage: test_mpi_worker train sgd|adam <batch> <out> | uneven <out> [metrics] | batchnorm <out> | files <out> | raw <out> | scale_rule <out> | alloc | throw | kill | mismatch | throw_in_step | kill_in_step | catch_in_step\n";
  return 2;
}
