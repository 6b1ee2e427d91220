// Data-parallel training over MPI (issue 14). In this process (one rank): the
// allreduce_mean op, its gradient, the planner's buckets and in-place rule,
// the sharding of batches. Then the worker (tests/test_mpi_worker.cpp) under
// mpirun -np 2 and 3: the same weights as one process with the whole batch,
// uneven data, a raw graph, and the faults.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "sanitizers.hpp"
#include "test_util.hpp"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "../graph/collectives.hpp"
#include "../ops/allreduce_transport.hpp"
#include "mpi_model.hpp"
#include "sample_runs.hpp"

namespace {

using test::Arr;

// --- one process ------------------------------------------------------------

TEST_CASE("allreduce_mean in one process is its input, with passes on and off, and has a checked gradient") {
  test::Rng rng(3);
  test::grad_check(rng, {test::random(rng, {3, 4})}, [](const gn::Nodes<double>& v) {
    return gn::allreduce_mean(gn::tanh(v[0]) * 2.0);
  });
  gn::Graph<double> g;
  auto W = g.variable("W", test::random(rng, {3, 2}));
  auto x = g.placeholder("x", {gn::batch, 3});
  auto loss = gn::reduce_mean(gn::square(gn::matmul(x, W)));
  auto grad = gn::gradients(loss, {W})[0];
  auto mean = gn::allreduce_mean(grad);
  CHECK(mean.op_type() == "allreduce_mean");
  // Its gradient rule is allreduce_mean of the incoming gradient.
  auto back = gn::gradients(gn::reduce_sum(mean), {grad})[0];
  CHECK(back.op_type() == "allreduce_mean");
  const Arr X = test::random(rng, {5, 3});
  for (bool passes : {true, false}) {
    gn::SessionOptions o;
    o.passes.enabled = passes;
    gn::Session<double> s(g, o);
    const auto out = s.run({mean, grad}, {{x, X}});  // grad fetched too: the op may not overwrite it
    CHECK_CLOSE(out[0], out[1], 0);
    CHECK_CLOSE(s.run({mean}, {{x, X}})[0], out[1], 0);  // alone: in place
  }
  CHECK_ERROR(gn::allreduce_mean(grad, 0), "allreduce_mean", "bucket_bytes must be positive");
}

TEST_CASE("GRAPHNN_ALLREDUCE: shared memory when the job is on one machine, MPI's allreduce when asked or not") {
  namespace transport = graphnn::allreduce_transport;
  CHECK(transport::choose("", 2, 2) == "shared_memory");
  CHECK(transport::choose("auto", 3, 3) == "shared_memory");
  CHECK(transport::choose("auto", 2, 4) == "mpi");  // two machines
  CHECK(transport::choose("mpi", 2, 2) == "mpi");
  CHECK(transport::choose("shared_memory", 2, 2) == "shared_memory");
  CHECK_ERROR(transport::choose("shared_memory", 2, 4),
              "GRAPHNN_ALLREDUCE=shared_memory needs every process of the job on one machine; this one shares "
              "memory with 2 of the 4 processes");
  CHECK_ERROR(transport::choose("nccl", 2, 2), "GRAPHNN_ALLREDUCE='nccl': expected auto, mpi or shared_memory");
  CHECK(gn::distributed::allreduce_transport() == "none");  // this process runs alone
}

// A raw graph with three gradients averaged, as the planner sees it.
struct ThreeGradients {
  gn::Graph<double> g;
  test::N x = g.placeholder("x", {gn::batch, 4});
  test::N W1 = g.variable("W1", Arr(xt::ones<double>({4, 5}) * 0.1));
  test::N W2 = g.variable("W2", Arr(xt::ones<double>({5, 3}) * 0.2));
  test::N b = g.variable("b", Arr(xt::zeros<double>({3})));
  test::N loss = gn::reduce_mean(gn::square(gn::matmul(gn::tanh(gn::matmul(x, W1)), W2) + b));
  gn::Nodes<double> grads = gn::gradients(loss, {W1, W2, b});
};

std::vector<gn::NodeId> compute_steps(const gn::Graph<double>& g) {
  std::vector<gn::NodeId> order;
  for (gn::NodeId id = 0; id < g.size(); ++id)
    if (g.data(id).op->kind() == gn::OpKind::compute) order.push_back(id);
  return order;
}

// The planner's view for a batch of 2: buckets over the storage each node really uses.
std::vector<graphnn::collectives::BucketLayout> buckets_of(const gn::Graph<double>& g, const std::vector<gn::NodeId>& order,
                                                           const std::vector<gn::NodeId>& fetches) {
  const std::vector<int> shared = graphnn::collectives::shared_inputs(g, order, fetches, false);
  std::vector<gn::NodeId> root(g.size());
  std::vector<std::size_t> sizes(g.size());
  for (gn::NodeId id = 0; id < g.size(); ++id) {
    root[id] = shared[id] >= 0 ? root[g.data(id).inputs[std::size_t(shared[id])]] : id;
    sizes[id] = gn::num_elements(gn::resolve(g.data(id).shape, 2));
  }
  return graphnn::collectives::group(g, order, root, sizes);
}

TEST_CASE("the planner runs each allreduce right after its gradient and groups neighbours into buckets") {
  for (std::size_t cap : {std::size_t{1} << 20, std::size_t{8}}) {
    ThreeGradients t;
    gn::Nodes<double> mean;
    for (const auto& gr : t.grads) mean.push_back(gn::allreduce_mean(gr, cap));
    std::vector<gn::NodeId> order = compute_steps(t.g);
    graphnn::collectives::run_early(t.g, order);
    for (const auto& m : mean) {  // each allreduce follows its input's step directly
      const auto at = std::find(order.begin(), order.end(), m.id());
      REQUIRE(at != order.begin());
      CHECK(*(at - 1) == t.g.data(m.id()).inputs[0]);
    }
    std::vector<gn::NodeId> fetches;
    for (const auto& m : mean) fetches.push_back(m.id());
    const auto buckets = buckets_of(t.g, order, fetches);
    // 8 bytes hold one double: a bucket per gradient; 1 MiB holds all three.
    CHECK(buckets.size() == (cap == 8 ? 3 : 1));
    std::size_t members = 0;
    for (const auto& b : buckets) {
      members += b.members.size();
      CHECK(b.start_after < b.wait_before);
      CHECK(b.wait_before == order.size());  // only fetched: waited at the end of the run
      for (std::size_t k = 0; k < b.members.size(); ++k)  // in place: the bucket holds the gradients themselves
        CHECK(b.roots[k] == t.g.data(b.members[k]).inputs[0]);
    }
    CHECK(members == 3);
  }
}

TEST_CASE("an allreduce overwrites its input only when nothing else reads it") {
  ThreeGradients t;
  auto mean = gn::allreduce_mean(t.grads[0]);
  auto other = gn::reduce_sum(t.grads[0]);  // a second reader of the gradient
  std::vector<gn::NodeId> order = compute_steps(t.g);
  graphnn::collectives::run_early(t.g, order);
  CHECK(graphnn::collectives::shared_inputs(t.g, order, {mean.id(), other.id()}, false)[mean.id()] == -1);
  ThreeGradients u;
  auto alone = gn::allreduce_mean(u.grads[0]);
  order = compute_steps(u.g);
  CHECK(graphnn::collectives::shared_inputs(u.g, order, {alone.id()}, false)[alone.id()] == 0);
  CHECK(graphnn::collectives::shared_inputs(u.g, order, {alone.id(), u.grads[0].id()}, false)[alone.id()] == -1);  // fetched
  CHECK(graphnn::collectives::shared_inputs(u.g, order, {alone.id()}, true)[alone.id()] == -1);  // every value kept
}

TEST_CASE("a bucket closes before an allreduce that comes after a reader of the bucket") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 3});
  auto W1 = g.variable("W1", Arr(xt::ones<double>({3, 3})));
  auto W2 = g.variable("W2", Arr(xt::ones<double>({3, 2})));
  auto a1 = gn::allreduce_mean(gn::matmul(x, W1));
  auto t1 = gn::tanh(a1);  // reads a1 before a2 exists
  auto a2 = gn::allreduce_mean(gn::matmul(t1, W2));
  std::vector<gn::NodeId> order = compute_steps(g);
  graphnn::collectives::run_early(g, order);
  const auto buckets = buckets_of(g, order, {a2.id()});
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0].members == std::vector<gn::NodeId>{a1.id()});
  CHECK(order[buckets[0].wait_before] == t1.id());  // waited for before tanh reads it
  CHECK(buckets[1].members == std::vector<gn::NodeId>{a2.id()});
  CHECK(buckets[1].start_after > buckets[0].wait_before);
}

TEST_CASE("ShardedBatches: each process its rows of every global batch, the same step count on all") {
  const std::size_t rows = 23, batch = 4;
  Arr x = xt::arange<double>(0.0, double(rows));
  x.reshape({rows, 1});
  const Arr y = x * 10.0;
  for (std::size_t size : {2, 3}) {
    gn::BatchIterator<double> global(x, y, batch * size, true, 9);
    std::vector<std::unique_ptr<gn::distributed::ShardedBatches<double>>> ranks;
    for (std::size_t r = 0; r < size; ++r)
      ranks.push_back(std::make_unique<gn::distributed::ShardedBatches<double>>(x, y, batch, true, 9, int(r), int(size)));
    std::size_t steps = 0;
    while (global.next()) {
      ++steps;
      const std::size_t m = global.x_batch().shape()[0], per_rank = (m + size - 1) / size;
      for (std::size_t r = 0; r < size; ++r) {
        REQUIRE(ranks[r]->next());
        const Arr& xs = ranks[r]->x_batch();
        REQUIRE(xs.shape()[0] == per_rank);  // the same on every process
        for (std::size_t j = 0; j < per_rank; ++j) {
          CHECK(xs(j, 0) == global.x_batch()((r * per_rank + j) % m, 0));
          CHECK(ranks[r]->y_batch()(j, 0) == xs(j, 0) * 10.0);
        }
      }
    }
    for (auto& r : ranks) CHECK_FALSE(r->next());
    CHECK(steps == ranks[0]->batches_per_epoch());
  }
}

// --- under mpirun -------------------------------------------------------------

// Both of allreduce_mean's transports (ops/allreduce_transport.hpp) give the same results.
const char* const kTransports[] = {"shared_memory", "mpi"};

// 2 and 3 processes with each transport.
std::vector<std::pair<int, std::string>> processes_and_transports() {
  std::vector<std::pair<int, std::string>> all;
  for (const std::string transport : kTransports)
    for (int n : {2, 3}) all.emplace_back(n, transport);
  return all;
}

// `options` go to mpirun as they are (more -x VAR=value, say).
std::string mpirun(int processes, const std::string& args, const std::string& transport = "auto",
                   const std::string& options = "") {
  std::string cmd = "timeout 180 mpirun --oversubscribe -x GRAPHNN_ALLREDUCE=" + transport + " " + options + " ";
#if GRAPHNN_UNDER_ASAN
  cmd = "ASAN_OPTIONS=detect_leaks=0 " + cmd;  // OpenMPI keeps its buffers until exit: not graphnn's leaks
#endif
  if (::geteuid() == 0) cmd += "--allow-run-as-root ";
  return cmd + "-np " + std::to_string(processes) + " " + samples::shell_quote(TEST_MPI_WORKER) + " " + args;
}

struct RankOutput {
  std::vector<double> weights;
  std::string history;
};

RankOutput read_rank(const sample_runs::TempDir& dir, int rank) {
  std::ifstream f(dir / ("rank" + std::to_string(rank) + ".txt"));
  REQUIRE(f.good());
  RankOutput out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("history", 0) == 0) out.history = line;
    else out.weights.push_back(std::stod(line));
  }
  return out;
}

// "history 20:0.51:0.8 ..." (iteration:loss:accuracy[:metric=value] per
// checkpoint): the numbers of the last checkpoint.
std::vector<double> history_numbers(const std::string& history) {
  std::string last = history.substr(history.rfind(' ') + 1);
  std::vector<double> numbers;
  std::istringstream fields(last);
  for (std::string field; std::getline(fields, field, ':');)
    numbers.push_back(std::stod(field.substr(field.find('=') + 1)));
  return numbers;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(b[i]));
  return diff / scale;
}

TEST_CASE("N processes with per-process batch B give the weights of one process with batch N*B (float64, 20 steps)") {
  const std::size_t B = 4;
  for (const std::string optimizer : {"sgd", "adam"}) {
    for (const auto& job : processes_and_transports()) {
      const int n = job.first;
      const std::string& transport = job.second;
      CAPTURE(optimizer);
      CAPTURE(n);
      CAPTURE(transport);
      sample_runs::TempDir dir;
      const auto run =
          sample_runs::run(mpirun(n, "train " + optimizer + " " + std::to_string(B) + " " + dir.path, transport));
      INFO(run.output);
      REQUIRE(run.status == 0);
      xt::xarray<double> x, y;
      mpi_model::make_data(mpi_model::kSteps * B * std::size_t(n), x, y);
      auto one = mpi_model::model(optimizer);
      auto weights = [&one] {
        std::vector<double> all;
        for (const auto& p : one.parameters())
          for (double v : one.session().value(p)) all.push_back(v);
        return all;
      };
      one.evaluate(x, y);  // builds the model: its initial weights
      const std::vector<double> initial = weights();
      const gn::History h = one.fit(x, y, mpi_model::options(1, B * std::size_t(n)));
      const std::vector<double> expected = weights();
      const RankOutput r0 = read_rank(dir, 0);
      REQUIRE(r0.weights.size() == expected.size());
      CHECK(relative_difference(r0.weights, expected) < 1e-12);
      CHECK(relative_difference(r0.weights, initial) > 1e-3);  // it trained
      for (int r = 1; r < n; ++r) {  // every process holds the same model and History
        const RankOutput other = read_rank(dir, r);
        CHECK(other.weights == r0.weights);
        CHECK(other.history == r0.history);
      }
      // The History's loss and accuracy, reduced over the processes' shares, are one process's.
      REQUIRE(h.size() == 1);
      const std::vector<double> got = history_numbers(r0.history);
      REQUIRE(got.size() == 3);
      CHECK(got[0] == 20);
      CHECK(std::abs(got[1] - h.loss[0]) <= 1e-12 * std::abs(h.loss[0]));
      CHECK(got[2] == h.accuracy[0]);
    }
  }
}

// The checkpoints' figures are reduced from each process's share of the 23
// rows (12 and 11, or 8, 8 and 7), or, with a chosen metric, taken over all
// rows on every process: either way, what one process measures with the model
// rank 0 saved.
TEST_CASE("uneven data: every process runs the same steps, ends with the same weights and History (no hang)") {
  for (int n : {2, 3})
    for (const std::string metrics : {"", "metrics"}) {
      CAPTURE(n);
      CAPTURE(metrics);
      sample_runs::TempDir dir;
      const auto run = sample_runs::run(mpirun(n, "uneven " + dir.path + " " + metrics));  // per-process batch 4
      INFO(run.output);
      REQUIRE(run.status == 0);
      const RankOutput r0 = read_rank(dir, 0);
      // 3 epochs of ceil(23 / 4n) global batches, a checkpoint every 2 steps and at the end.
      const std::size_t steps = 3 * ((23 + 4 * std::size_t(n) - 1) / (4 * std::size_t(n)));
      CHECK(r0.history.find(" " + std::to_string(steps) + ":") != std::string::npos);
      CHECK((r0.history.find(":top_k_accuracy(2)=") != std::string::npos) == !metrics.empty());
      for (int r = 1; r < n; ++r) {
        const RankOutput other = read_rank(dir, r);
        CHECK(other.weights == r0.weights);
        CHECK(other.history == r0.history);
      }
      xt::xarray<double> x, y;
      mpi_model::make_data(23, x, y);
      auto saved = gn::Sequential<double>::load(dir / "model.gnn");
      if (!metrics.empty()) saved.set_metrics({"top_k_accuracy(2)"});
      const gn::Evaluation one = saved.evaluate(x, y);
      const std::vector<double> last = history_numbers(r0.history);
      REQUIRE(last.size() == (metrics.empty() ? 3u : 4u));
      CHECK(std::abs(last[1] - one.loss) <= 1e-12 * std::abs(one.loss));
      CHECK(std::abs(last[2] - one.accuracy) <= 1e-15);
      if (!metrics.empty()) CHECK(last[3] == one.metrics.at("top_k_accuracy(2)"));
    }
}

TEST_CASE("a raw graph's allreduce_mean averages each process's gradients, in several buckets, run after run") {
  for (const std::string transport : kTransports) {
    CAPTURE(transport);
    sample_runs::TempDir dir;
    const auto run = sample_runs::run(mpirun(3, "raw " + dir.path, transport));
    INFO(run.output);
    REQUIRE(run.status == 0);
    for (int r = 0; r < 3; ++r) {
      std::ifstream f(dir / ("rank" + std::to_string(r) + ".txt"));
      std::vector<double> got, expected;
      for (double a, b; f >> a >> b;) got.push_back(a), expected.push_back(b);
      REQUIRE(got.size() == 4 * 300 + 300 * 2 + 2);
      CHECK(relative_difference(got, expected) < 1e-12);
    }
  }
}

// 2 processes: dividing each product by 2 in its GEMM before the sum gives the
// bits of dividing the sum, so the rule fires on both products (not on the
// bias's sum) and the values equal those without passes exactly; not on a
// product that is fetched too. 3 processes: 1/3 is inexact, so it never fires.
TEST_CASE("rule mean_scale_into_product: only for a power-of-two process count and a product only the mean reads") {
  for (const auto& job : processes_and_transports()) {
    const int n = job.first;
    const std::string& transport = job.second;
    CAPTURE(n);
    CAPTURE(transport);
    sample_runs::TempDir dir;
    const auto run = sample_runs::run(mpirun(n, "scale_rule " + dir.path, transport));
    INFO(run.output);
    REQUIRE(run.status == 0);
    for (int r = 0; r < n; ++r) {
      std::ifstream f(dir / ("rank" + std::to_string(r) + ".txt"));
      std::string word;
      std::size_t all_products = 0, one_fetched = 0;
      const bool read = bool(f >> word >> all_products >> one_fetched);
      REQUIRE(read);
      CHECK(word == "fired");
      CHECK(all_products == (n == 2 ? 2u : 0u));
      CHECK(one_fetched == (n == 2 ? 1u : 0u));
      std::size_t elements = 0;
      for (double on, off; f >> on >> off; ++elements) CHECK(on == off);
      CHECK(elements == 4 * 30 + 30 * 2 + 2);
    }
  }
}

// With MPI's allreduce: OpenMPI 4.1's persistent allreduce allocates in
// MPI_Start (2 per start), and its progress engine now and then (1 or 2 in 10
// steps here); an allocation of graphnn's in every step would add 10. With
// shared memory the step calls only MPI_Win_sync and MPI_Barrier, which
// allocate nothing (0 measured; the bound leaves OpenMPI's barrier a stray one or two).
TEST_CASE("a training step with allreduce buckets allocates nothing beyond OpenMPI's own, on any process") {
#if GRAPHNN_UNDER_ASAN || GRAPHNN_UNDER_TSAN
  return;  // the sanitizer owns malloc: nothing to count
#endif
  for (const std::string transport : kTransports) {
    CAPTURE(transport);
    const auto run = sample_runs::run(mpirun(2, "alloc", transport));
    INFO(run.output);
    REQUIRE(run.status == 0);
    for (const std::string rank : {"rank 0: ", "rank 1: "}) {
      const double step = sample_runs::number_after(run.output, rank);
      const double mpi = sample_runs::number_after(run.output, rank + std::to_string(long(step)) + " allocations in 10 steps, ");
      CAPTURE(rank);
      CHECK(run.output.find(rank + std::to_string(long(step)) + " allocations in 10 steps, " +
                            std::to_string(long(mpi)) + " in OpenMPI's 20 allreduces alone; transport " + transport) !=
            std::string::npos);
      if (transport == "mpi") {
        CHECK(step + 4 >= mpi);  // the step pays OpenMPI's own, give or take its progress engine's few
        CHECK(step - mpi < 10);
      } else {
        CHECK(step <= 2);  // 0 when measured; an allocation in every step would be 10, every other step 5
      }
    }
  }
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// BatchNorm on the data itself, one step of one global batch: the running
// statistics are momentum 0.5 of the global batch's mean and (biased)
// variance, the same on every process though each saw only its 4 rows.
TEST_CASE("under mpirun, BatchNorm's running statistics are the global batch's, on every process") {
  for (int n : {2, 3}) {
    CAPTURE(n);
    sample_runs::TempDir dir;
    const auto run = sample_runs::run(mpirun(n, "batchnorm " + dir.path));
    INFO(run.output);
    REQUIRE(run.status == 0);
    xt::xarray<double> x, y;
    mpi_model::make_data(4 * std::size_t(n), x, y);
    const double rows = double(x.shape()[0]);
    std::vector<double> mean(4, 0.0), variance(4, 0.0);
    for (std::size_t c = 0; c < 4; ++c) {
      for (std::size_t r = 0; r < x.shape()[0]; ++r) mean[c] += x(r, c) / rows;
      for (std::size_t r = 0; r < x.shape()[0]; ++r) variance[c] += (x(r, c) - mean[c]) * (x(r, c) - mean[c]) / rows;
    }
    std::vector<double> expected;  // running_mean from 0, then running_variance from 1
    for (std::size_t c = 0; c < 4; ++c) expected.push_back(0.5 * mean[c]);
    for (std::size_t c = 0; c < 4; ++c) expected.push_back(0.5 + 0.5 * variance[c]);
    for (int r = 0; r < n; ++r) {
      const RankOutput got = read_rank(dir, r);
      REQUIRE(got.weights.size() == expected.size());
      CHECK(relative_difference(got.weights, expected) < 1e-12);
    }
  }
}

// Every process holds the same model and logs: rank 0 writes the files, and a
// write that fails is an error on every process (none waits for the file).
TEST_CASE("under mpirun, CSVLogger, export_npy and save write once, from rank 0") {
  sample_runs::TempDir dir;
  const auto run = sample_runs::run(mpirun(2, "files " + dir.path));
  INFO(run.output);
  REQUIRE(run.status == 0);
  std::ifstream csv(dir / "epochs.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  REQUIRE(lines.size() == 4);  // the header and 3 epochs, each once
  CHECK(lines[0].rfind("epoch,", 0) == 0);
  for (std::size_t e = 1; e < 4; ++e) CHECK(lines[e].rfind(std::to_string(e - 1) + ",", 0) == 0);
  CHECK(std::filesystem::exists(dir / "npy/layer0.W.npy"));
  for (const std::string rank : {"0", "1"}) {
    CAPTURE(rank);
    const std::string caught = "rank " + rank + " caught: " + (rank == "0" ? "" : "rank 0, which writes for every process: ");
    CHECK(run.output.find(caught + "save '" + dir.path + "/missing/folder/model.gnn'") != std::string::npos);
  }
}

TEST_CASE("the data_parallel sample trains under mpirun -np 2; only rank 0 prints and saves") {
  sample_runs::TempDir dir;
  const std::string args = "--epochs 3 --save " + dir / "model.gnn";
  std::string cmd = mpirun(2, "");
  cmd = cmd.substr(0, cmd.rfind(samples::shell_quote(TEST_MPI_WORKER))) + samples::shell_quote(DATA_PARALLEL_EXE) + " " + args;
  const auto run = sample_runs::run(cmd);
  INFO(run.output);
  REQUIRE(run.status == 0);
  CHECK(count(run.output, "data_parallel: 2 processes, 32 rows each per step (global batch 64)") == 1);
  CHECK(count(run.output, "held-out accuracy") == 1);
  CHECK(count(run.output, "epoch 2, iteration 69, train:") == 1);  // the last checkpoint's line, once
  CHECK(count(run.output, "saved ") == 1);
  CHECK(std::filesystem::exists(dir / "model.gnn"));
  const double accuracy = sample_runs::number_after(run.output, "held-out accuracy");
  CHECK(accuracy > 0.8);
}

// A shared window beyond the room of OpenMPI's backing directory (a tmpfs: in
// a Docker container, 64 MiB) would end in SIGBUS; an unreadable directory
// stands for one without room.
TEST_CASE("shared memory without room: auto takes MPI's allreduce, shared_memory says why") {
  const std::string no_room = "-x OMPI_MCA_osc_sm_backing_directory=/nonexistent/graphnn";
  SUBCASE("auto: the same averages, through MPI (its allocations show)") {
    sample_runs::TempDir dir;
    const auto raw = sample_runs::run(mpirun(2, "raw " + dir.path, "auto", no_room));
    INFO(raw.output);
    REQUIRE(raw.status == 0);
    std::ifstream f(dir / "rank1.txt");
    std::vector<double> got, expected;
    for (double a, b; f >> a >> b;) got.push_back(a), expected.push_back(b);
    REQUIRE(got.size() == 4 * 300 + 300 * 2 + 2);
    CHECK(relative_difference(got, expected) < 1e-12);
#if !GRAPHNN_UNDER_ASAN && !GRAPHNN_UNDER_TSAN
    const auto alloc = sample_runs::run(mpirun(2, "alloc", "auto", no_room));
    INFO(alloc.output);
    REQUIRE(alloc.status == 0);
    const double step = sample_runs::number_after(alloc.output, "rank 0: ");
    CHECK(step >= 20);  // MPI_Start's own, 2 per bucket and step: the buckets went to MPI
    CHECK(alloc.output.find("; transport mpi\n") != std::string::npos);
#endif
  }
  SUBCASE("shared_memory: an error on every process, no hang") {
    sample_runs::TempDir dir;
    const auto run = sample_runs::run(mpirun(2, "raw " + dir.path, "shared_memory", no_room));
    INFO(run.output);
    CHECK(run.status != 0);
    CHECK(run.status != 124);
    CHECK(run.output.find("GRAPHNN_ALLREDUCE=shared_memory: a bucket of ") != std::string::npos);
    CHECK(run.output.find(" per process needs ") != std::string::npos);
    CHECK(run.output.find(" free in /nonexistent/graphnn (OpenMPI's osc_sm_backing_directory), where some process "
                          "cannot read it; GRAPHNN_ALLREDUCE=auto takes MPI's allreduce then") != std::string::npos);
  }
}

// OpenMPI takes its parameters from the environment, mpirun --mca and
// parameter files alike; the room is checked where the windows will be.
TEST_CASE("shared memory's room is checked in the backing directory an MCA parameter file names") {
  sample_runs::TempDir dir;
  const std::string params = dir / "mca-params.conf";
  std::ofstream(params) << "osc_sm_backing_directory = /nonexistent/graphnn\n";
  const auto run = sample_runs::run(
      mpirun(2, "raw " + dir.path, "shared_memory", "-x OMPI_MCA_mca_param_files=" + samples::shell_quote(params)));
  INFO(run.output);
  CHECK(run.status != 0);
  CHECK(run.status != 124);
  CHECK(run.output.find(" free in /nonexistent/graphnn (OpenMPI's osc_sm_backing_directory), where some process "
                        "cannot read it") != std::string::npos);
}

TEST_CASE("processes that chose different transports stop with an error, not a hang") {
  sample_runs::TempDir dir;
  const std::string worker = samples::shell_quote(TEST_MPI_WORKER) + " raw " + dir.path;
  std::string cmd = mpirun(1, "raw " + dir.path, "mpi");
  cmd = cmd.substr(0, cmd.rfind("-np 1 ")) + "-np 1 " + worker + " : -np 1 -x GRAPHNN_ALLREDUCE=shared_memory " + worker;
  const auto run = sample_runs::run(cmd);
  INFO(cmd);
  INFO(run.output);
  CHECK(run.status != 0);
  CHECK(run.status != 124);
  CHECK(run.output.find("GRAPHNN_ALLREDUCE: the processes chose different transports (shared_memory on some, mpi on "
                        "others); set it alike for all (mpirun -x GRAPHNN_ALLREDUCE=...)") != std::string::npos);
}

TEST_CASE("faults end the whole job with the rank and the error") {
  SUBCASE("a rank throws") {
    const auto run = sample_runs::run(mpirun(2, "throw"));
    INFO(run.output);
    CHECK(run.status != 0);
    CHECK(run.status != 124);  // not ended by the timeout: the other rank did not hang
    CHECK(run.output.find("graphnn: rank 1 of 2: worker: the data file went missing") != std::string::npos);
  }
  SUBCASE("a rank is killed") {
    const auto run = sample_runs::run(mpirun(2, "kill"));
    INFO(run.output);
    CHECK(run.status != 0);
    CHECK(run.status != 124);
    CHECK(run.output.find("process rank 1 with PID") != std::string::npos);
    CHECK(run.output.find("exited on signal 9 (Killed)") != std::string::npos);
  }
  // Rank 1 fails in a step while rank 0 waits in that step's allreduce.
  SUBCASE("a rank fails inside a step with allreduces: thrown, killed, or caught and returned from main") {
    // The node's number depends on the compiler's order of evaluating arguments: not compared.
    const std::string error = "' [batch, 3]: one_hot: class id 7.000000 at row 0 is not an integer in [0, 3)";
    for (const std::string transport : kTransports) {
      CAPTURE(transport);
      const auto thrown = sample_runs::run(mpirun(2, "throw_in_step", transport));
      INFO(thrown.output);
      CHECK(thrown.status != 0);
      CHECK(thrown.status != 124);
      CHECK(thrown.output.find("graphnn: rank 1 of 2: run: node 'grad/one_hot_") != std::string::npos);
      CHECK(thrown.output.find(error) != std::string::npos);
      const auto killed = sample_runs::run(mpirun(2, "kill_in_step", transport));
      INFO(killed.output);
      CHECK(killed.status != 0);
      CHECK(killed.status != 124);
      CHECK(killed.output.find("process rank 1 with PID") != std::string::npos);
      CHECK(killed.output.find("exited on signal 9 (Killed)") != std::string::npos);
      const auto caught = sample_runs::run(mpirun(2, "catch_in_step", transport));
      INFO(caught.output);
      CHECK(caught.status != 0);
      CHECK(caught.status != 124);
      CHECK(caught.output.find("worker: run: node 'grad/one_hot_") != std::string::npos);
      CHECK(caught.output.find("graphnn: rank 1 of 2: exiting after an error in a run with collectives, which the "
                               "other processes may be waiting in: run: node 'grad/one_hot_") != std::string::npos);
      CHECK(count(caught.output, error) == 2);  // the program's line and the job's end
    }
  }
  SUBCASE("the processes build different models") {
    const auto run = sample_runs::run(mpirun(2, "mismatch"));
    INFO(run.output);
    CHECK(run.status != 0);
    CHECK(run.status != 124);
    CHECK(run.output.find("distributed: the variables (names and shapes) differ between the processes: rank 1 has "
                          "digest 0x") != std::string::npos);
    CHECK(run.output.find("rank 0 has layer0/W[4, 8]") != std::string::npos);
    CHECK(run.output.find("this process (rank 1) has layer0/W[4, 9]") != std::string::npos);
  }
}

}  // namespace
