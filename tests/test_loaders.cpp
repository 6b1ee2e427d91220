// Hostile inputs to the loaders and the op builders (issue 11): each case here
// crashed, overflowed or escaped as a standard-library exception before, and
// must now be a graphnn::Error naming the file, field or node and the limit
// it broke. Then saves: the temporary file on error paths, temporaries left by
// killed processes, and a saving child killed 200 times.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "test_util.hpp"

namespace fs = std::filesystem;
using test::Arr;
using test::TempDir;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string le32(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

// A .npy file with this header text (padded as numpy pads) and data bytes.
std::string npy(std::string header, const std::string& data) {
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  return out + header + data;
}

// The start of a model payload that Sequential::load accepts up to the
// normaliser's tensors: 2 features, no layers, identity classifier, mse.
gn::ByteWriter payload_prefix() {
  gn::ByteWriter w;
  w.u64(2);
  w.u32(0);
  w.str("identity");
  w.str("mse");
  w.str("none");
  return w;
}

// A payload holding one Linear layer with these settings, up to the normaliser.
std::vector<char> linear_payload(const std::string& in, const std::string& out) {
  gn::ByteWriter w;
  w.u64(2);
  w.u32(1);
  w.str("Linear");
  w.u32(4);
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bias", "1"}, {"in", in}, {"init", "zeros"}, {"out", out}}) {
    w.str(k);
    w.str(v);
  }
  w.str("identity");
  w.str("mse");
  w.str("none");
  return w.bytes();
}

constexpr std::uint64_t kHuge = std::uint64_t(1) << 40;

}  // namespace

// ---- the model file ----

TEST_CASE("a 27-byte model file whose length field wraps the size check is rejected") {
  TempDir dir;
  // magic, version 1, float64, then a length that makes 24 + length + 8 wrap to 27.
  std::string bytes = "GRAPHNN\x1a" + le32(1) + le32(8) + le64(~std::uint64_t(0) - 4) + "abc";
  REQUIRE(bytes.size() == 27);
  write_bytes(dir.file("wrap.gnn"), bytes);
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("wrap.gnn")), "load '" + dir.file("wrap.gnn") + "'",
              "the length field says 18446744073709551611 payload bytes", "the file holds 0 bytes");
}

TEST_CASE("model payloads behind a valid checksum: tensor dimensions are checked for overflow and against the data") {
  TempDir dir;
  const std::string path = dir.file("dims.gnn");
  auto load_with_offset = [&](const std::vector<std::uint64_t>& dims, std::size_t data_bytes) {
    gn::ByteWriter w = payload_prefix();
    w.u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) w.u64(d);
    std::vector<char> payload = w.bytes();
    payload.resize(payload.size() + data_bytes);
    gn::write_model_file(path, 8, payload);
    return test::error_of([&] { gn::Sequential<double>::load(path); });
  };
  // A zero dimension made the old product 0, so xtensor formed strides from the others.
  std::string msg = load_with_offset({0, kHuge, kHuge}, 0);
  CHECK(msg.find("load '" + path + "': tensor: shape [0, 1099511627776, 1099511627776]") != std::string::npos);
  CHECK(msg.find("exceeds 9223372036854775807 bytes") != std::string::npos);
  // 2^33 * 2^33 * 8 bytes wrapped to 0 and passed the length check.
  msg = load_with_offset({std::uint64_t(1) << 33, std::uint64_t(1) << 33}, 0);
  CHECK(msg.find("shape [8589934592, 8589934592] of 8-byte elements exceeds") != std::string::npos);
  // Fits in memory arithmetic, but not in the file.
  msg = load_with_offset({1000, 1000}, 16);
  CHECK(msg.find("data ends early (truncated): tensor of shape [1000, 1000] needs 8000000 bytes, ") !=
        std::string::npos);
  gn::ByteWriter w = payload_prefix();
  w.u32(9);
  gn::write_model_file(path, 8, w.bytes());
  CHECK_ERROR(gn::Sequential<double>::load(path), "tensor has rank 9, more than 8");
}

TEST_CASE("counts in a model payload are checked against the bytes left before any loop runs") {
  TempDir dir;
  const std::string path = dir.file("counts.gnn");
  gn::ByteWriter w;
  w.u64(2);
  w.u32(0xFFFFFFFF);
  w.str("Linear");
  gn::write_model_file(path, 8, w.bytes());
  CHECK_ERROR(gn::Sequential<double>::load(path), "load '" + path + "': layer count 4294967295 needs at least 8 bytes "
              "each, only 10 bytes left (corrupted)");
  gn::ByteWriter settings;
  settings.u64(2);
  settings.u32(1);
  settings.str("Linear");
  settings.u32(1000);
  gn::write_model_file(path, 8, settings.bytes());
  CHECK_ERROR(gn::Sequential<double>::load(path), "layer setting count 1000 needs at least 8 bytes each, only 0 bytes left");
}

TEST_CASE("layer settings in a model file are strict sizes: no std::invalid_argument, no '-1' as 2^64 - 1") {
  TempDir dir;
  const std::string path = dir.file("settings.gnn");
  for (const auto& [in, why] : std::vector<std::pair<std::string, std::string>>{
           {"-1", "'-1' is not a size"}, {"abc", "'abc' is not a size"}, {" 2", "' 2' is not a size"},
           {"99999999999999999999999", "'99999999999999999999999' is not a size"}}) {
    gn::write_model_file(path, 8, linear_payload(in, "1"));
    CHECK_ERROR(gn::Sequential<double>::load(path), "load '" + path + "'", "layer Linear: setting 'in'", why);
  }
  gn::write_model_file(path, 8, linear_payload("2", "4611686018427387904"));
  CHECK_ERROR(gn::Sequential<double>::load(path), "load '" + path + "'", "Linear(2 -> 4611686018427387904) weights",
              "exceeds");
  CHECK_ERROR(gn::make_layer<double>("Dropout", {{"rate", "x"}}), "layer Dropout: setting 'rate': 'x' is not a finite number");
  CHECK_ERROR(gn::make_layer<double>("Dropout", {{"rate", "nan"}}), "'nan' is not a finite number");
}

TEST_CASE("conv layers' settings from a file are strict too: sizes, paddings and numbers name the setting") {
  const gn::LayerConfig conv{{"bias", "1"},    {"dilation", "1x1"}, {"filters", "2"},     {"init", "he_normal"},
                             {"kernel", "3x3"}, {"padding", "valid"}, {"stride", "1x1"}};
  auto with = [&](const std::string& key, const std::string& value) {
    gn::LayerConfig c = conv;
    c[key] = value;
    return c;
  };
  CHECK(gn::make_layer<double>("Conv2D", conv)->describe() == "Conv2D(2, 3x3, stride 1x1, valid)");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("filters", "abc")), "Conv2D filters: 'abc' is not a size");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("filters", "-1")), "Conv2D filters: '-1' is not a size");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("kernel", "-1x3")), "Conv2D kernel '-1x3': '-1' is not a size");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("stride", "1x99999999")), "'99999999' is not a size",
              "at most 16777216");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("padding", "explicit(1,1,0,-5)")),
              "padding 'explicit(1,1,0,-5)': '-5' is not a size");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", with("padding", "explicit(1,1,0)")), "padding 'explicit(1,1,0)'");
  CHECK(gn::make_layer<double>("Conv2D", with("padding", "explicit(1,1,0,2)"))->config().at("padding") == "explicit(1,1,0,2)");
  CHECK_ERROR(gn::make_layer<double>("BatchNorm", {{"momentum", "fast"}, {"epsilon", "0.001"}}),
              "BatchNorm momentum: 'fast' is not a finite number");
  CHECK_ERROR(gn::make_layer<double>("Reshape", {{"dims", "4,x,1"}}), "Reshape dims '4,x,1': 'x' is not a size");
  CHECK_ERROR(gn::make_layer<double>("Reshape", {{"dims", "99999999999999999999999,1"}}),
              "'99999999999999999999999' is not a size");
  // The weights the settings imply are compared with the file before the build allocates them.
  CHECK(gn::make_layer<double>("Conv2D", conv)->min_weight_bytes() == 3 * 3 * 2 * sizeof(double));
  gn::LayerConfig huge = with("filters", "16777216");
  huge["kernel"] = "16777216x16777216";
  CHECK_ERROR(gn::make_layer<double>("Conv2D", huge)->min_weight_bytes(),
              "Conv2D(16777216, 16777216x16777216, stride 1x1, valid): filters", "(the size overflows)");
}

TEST_CASE("layer settings asking for more weights than the file holds fail before anything is allocated") {
  TempDir dir;
  const std::string path = dir.file("big.gnn");
  std::vector<char> payload = linear_payload("20000", "20000");  // 3.2 GB of float64 weights, fits in memory arithmetic
  gn::ByteWriter tail;
  for (int k = 0; k < 2; ++k) {  // empty normaliser offset and scale
    tail.u32(1);
    tail.u64(0);
  }
  tail.u32(2);
  payload.insert(payload.end(), tail.bytes().begin(), tail.bytes().end());
  gn::write_model_file(path, 8, payload);
  CHECK_ERROR(gn::Sequential<double>::load(path), "load '" + path + "'",
              "layer Linear(20000 -> 20000) needs at least 3200000000 bytes of weights, the file holds 4 more (corrupted)");
}

TEST_CASE("loading a directory is an Error naming it") {
  TempDir dir;
  CHECK_ERROR(gn::Sequential<double>::load(dir.path.string()), "load '" + dir.path.string() + "': is a directory");
  CHECK_ERROR(gn::load_npy<double>(dir.path.string()), "load_npy '" + dir.path.string() + "': is a directory");
  CHECK_ERROR(gn::load_idx<double>(dir.path.string()), "load_idx", dir.path.string(), "Is a directory");
}

// ---- .npy ----

TEST_CASE("load_npy: a shape whose product overflows is rejected, however little data follows") {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  // 2^61 + 1 elements of 8 bytes wrapped to 8 bytes: one value stored, 2.3e18 claimed.
  write_bytes(path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693953,), }", le64(0)));
  CHECK_ERROR(gn::load_npy<double>(path), "load_npy '" + path + "': header 'shape': shape [2305843009213693953]",
              "exceeds 9223372036854775807 bytes");
  // 2^32 * 2^32 * 2^1 + 1 wrapped to 1 element: 3.7e19 claimed.
  write_bytes(path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", le64(0)));
  CHECK_ERROR(gn::load_npy<double>(path), "shape [4294967296, 4294967296, 2] of 8-byte elements exceeds");
  write_bytes(path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", ""));
  CHECK_ERROR(gn::load_npy<double>(path), "shape [0, 4294967296, 4294967296]", "exceeds");
  write_bytes(path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", le64(0)));
  CHECK_ERROR(gn::load_npy<double>(path), "file is truncated: shape [3, 2] needs 48 data bytes, the file holds 8");
  write_bytes(path, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", le64(0) + le64(0)));
  CHECK_ERROR(gn::load_npy<double>(path), "trailing data: shape [] needs 8 data bytes, the file holds 16");
}

TEST_CASE("load_npy: the header is parsed as a dict, not searched for substrings") {
  TempDir dir;
  const std::string path = dir.file("h.npy");
  auto error = [&](const std::string& header) {
    write_bytes(path, npy(header, le64(0)));
    return test::error_of([&] { gn::load_npy<double>(path); });
  };
  // The old check found "'descr': '<f8'" inside another value and read big-endian data as little-endian.
  CHECK(error("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), 'note': \"'descr': '<f8'\", }")
            .find("bad header: unknown key 'note'") != std::string::npos);
  CHECK(error("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }")
            .find("element type is not <f8 (float64): the header's 'descr' is '>f8'") != std::string::npos);
  // std::stoul read " -1" as 2^64 - 1.
  CHECK(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1, -1), }")
            .find("header 'shape' dimension 1: '-1' is not a size") != std::string::npos);
  CHECK(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1x,), }").find("'1x' is not a size") !=
        std::string::npos);
  CHECK(error("{'descr': '<f8', 'shape': (1,), }").find("bad header: missing key 'fortran_order'") != std::string::npos);
  CHECK(error("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }")
            .find("key 'descr' appears twice") != std::string::npos);
  CHECK(error("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }").find("fortran_order is not True or False") !=
        std::string::npos);
  CHECK(error("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }").find("Fortran order is not supported") !=
        std::string::npos);
  CHECK(error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } x").find("unexpected text after the dict") !=
        std::string::npos);
  CHECK(error("{'descr': '<f8, 'fortran_order': False, 'shape': (1,), }").find("bad header") != std::string::npos);
  // What numpy writes still loads, with either quote style and spacing.
  write_bytes(path, npy("{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(1,)}", le64(0)));
  CHECK(gn::load_npy<double>(path).shape()[0] == 1);
}

// ---- IDX and CSV ----

TEST_CASE("load_idx: header dimensions whose product overflows are rejected, even next to a zero") {
  TempDir dir;
  const std::string path = dir.file("x.idx");
  std::string bytes = std::string("\0\0\x08\x04", 4) + be32(0) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF);
  write_bytes(path, bytes);
  CHECK_ERROR(gn::load_idx<double>(path), "load_idx: '" + path + "': header dimensions: shape [0, 4294967295, "
              "4294967295, 4294967295] of 1-byte elements exceeds 9223372036854775807 bytes");
  // The same dimensions as images: load_idx_pair names the file too.
  CHECK_ERROR(gn::load_idx_pair<double>(path, path), "load_idx: '" + path + "'", "exceeds");
}

TEST_CASE("load_csv: a cell 'nan' or 'inf' is an Error naming its line and column") {
  TempDir dir;
  const std::string path = dir.file("a.csv");
  write_bytes(path, "a,b,label\n1,2,0\n3,nan,1\n");
  CHECK_ERROR(gn::load_csv<double>(path), "load_csv: '" + path + "': line 3, column 2 ('b'): 'nan' is not a finite number");
  write_bytes(path, "a,b,label\n1,-inf,0\n");
  CHECK_ERROR(gn::load_csv<float>(path), "line 2, column 2 ('b'): '-inf' is not a finite number");
  write_bytes(path, "a,b,label\n1,2,Infinity\n");
  CHECK_ERROR(gn::load_csv<double>(path), "line 2, column 3 ('label'): 'Infinity' is not a finite number");
  write_bytes(path, "a,b,label\n1,1e400,0\n");
  CHECK_ERROR(gn::load_csv<double>(path), "line 2, column 2 ('b'): '1e400' is not a number");
}

// ---- op builders ----

TEST_CASE("transpose of rank 9 is an Error when the node is made, not a write past a fixed array") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {1, 2, 1, 1, 1, 1, 1, 1, 3});
  CHECK_ERROR(gn::transpose(x), "op 'transpose'", "'x'", "input of rank 9: transpose supports rank at most 8");
  auto y = g.placeholder("y", {1, 2, 1, 1, 1, 1, 1, 3});
  CHECK(gn::transpose(y).shape() == gn::Shape{3, 1, 1, 1, 1, 1, 2, 1});
}

TEST_CASE("reshape: element counts that overflow are rejected, not wrapped into a match") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {2, 2});
  // (2^62 + 1) * 4 wraps to 4 in 64 bits.
  const std::int64_t wraps = (std::int64_t(1) << 62) + 1;
  CHECK_ERROR(gn::reshape(x, {wraps, 4}), "op 'reshape'", "'x'",
              "the new shape: shape [4611686018427387905, 4] of 8-byte elements exceeds 9223372036854775807 bytes");
  auto b = g.placeholder("b", {gn::batch, 2});
  CHECK_ERROR(gn::reshape(b, {gn::batch, std::int64_t(1) << 31, std::int64_t(1) << 31}), "op 'reshape'", "exceeds");
  CHECK_ERROR(gn::reshape(x, {2, 2, 1, 1, 1, 1, 1, 1, 1}), "has rank 9, more than the supported 8");
  CHECK_ERROR(gn::reshape(x, {-2, -2}), "negative dimension -2");
  CHECK(gn::reshape(x, {4, 1}).shape() == gn::Shape{4, 1});
}

TEST_CASE("one_hot with a class count whose rows overflow is an Error naming the op") {
  gn::Graph<double> g;
  auto ids = g.placeholder("ids", {gn::batch});
  CHECK_ERROR(gn::one_hot(ids, std::int64_t(1) << 61), "op 'one_hot' (classes=2305843009213693952)", "'ids'",
              "the one-hot rows: shape [batch, 2305843009213693952] of 8-byte elements exceeds");
  CHECK(gn::one_hot(ids, 3).shape() == gn::Shape{gn::batch, 3});
}

TEST_CASE("reduce_sum(x, INT_MIN) is an out-of-range axis, not the internal 'every axis'") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {2, 3});
  CHECK_ERROR(gn::reduce_sum(x, INT_MIN), "op 'reduce_sum' (axis=-2147483648)", "'x'",
              "axis -2147483648 is out of range for rank 2");
  CHECK_ERROR(gn::reduce_mean(x, INT_MIN), "op 'reduce_mean'", "axis -2147483648 is out of range for rank 2");
  CHECK(gn::reduce_sum(x).shape().empty());
  CHECK(gn::reduce_sum(x, -1).shape() == gn::Shape{2});
}

TEST_CASE("a Linear too large for this machine or for size arithmetic is an Error, not std::bad_alloc") {
  CHECK_ERROR(gn::Linear<double>(std::size_t(1) << 20, std::size_t(1) << 20),
              "Linear(1048576 -> 1048576) weights: needs 8796093022208 bytes, more than this machine's");
  CHECK_ERROR(gn::Linear<float>(std::size_t(1) << 40, std::size_t(1) << 40), "Linear(1099511627776 -> 1099511627776)",
              "exceeds 9223372036854775807 bytes");
  gn::Linear<double> fine(3, 2);
  CHECK(fine.describe() == "Linear(3 -> 2)");
}

// ---- saves ----

namespace {

gn::Sequential<double> small_model() {
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(3, 2));
  m.predict(Arr(xt::zeros<double>({1, 3})));
  return m;
}

// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("save errors name the target and the temporary, and leave no temporary behind") {
  TempDir dir;
  gn::Sequential<double> m = small_model();
  const std::string tmp = ".tmp" + std::to_string(::getpid());
  // rename over a directory fails after the temporary is written
  const std::string target = dir.file("taken");
  fs::create_directories(fs::path(target) / "inside");
  CHECK_ERROR(m.save(target), "save '" + target + "': cannot replace it with the temporary file '" + target + tmp + "'");
  CHECK(dir.entries() == std::vector<std::string>{"taken"});
  // a write that fails midway (the file size limit): EFBIG, not SIGXFSZ
  const std::string model = dir.file("model.gnn");
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 16;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string msg = test::error_of([&] { m.save(model); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  CHECK(msg.find("save '" + model + "': cannot write the temporary file '" + model + tmp + "': File too large") !=
        std::string::npos);
  CHECK(dir.entries() == std::vector<std::string>{"taken"});
  // and save_npy the same way
  CHECK_ERROR(gn::save_npy<double>(target, Arr{1.0}), "save_npy '" + target + "': cannot replace it");
  CHECK(dir.entries() == std::vector<std::string>{"taken"});
}

TEST_CASE("the next save or load of a target removes temporaries of processes that are gone, and only those") {
  TempDir dir;
  gn::Sequential<double> m = small_model();
  const std::string model = dir.file("model.gnn");
  const std::string dead = "model.gnn.tmp" + std::to_string(dead_pid());
  const std::string live = "model.gnn.tmp" + std::to_string(::getppid());  // the test runner: alive
  const std::string other = "other.gnn.tmp" + std::to_string(dead_pid());  // another target's: not ours to remove
  for (const auto& name : {dead, live, other}) write_bytes(dir.file(name), "partial");
  m.save(model);
  CHECK(dir.entries() == std::vector<std::string>{"model.gnn", live, other});
  write_bytes(dir.file(dead), "partial");
  gn::Sequential<double>::load(model);
  CHECK(dir.entries() == std::vector<std::string>{"model.gnn", live, other});
}

// A child (save_child, built next to this test) saves versions 1, 2, ... of a
// model over one file and is killed at a random moment, 200 times. After every
// kill the file loads and holds exactly one saved version (all weights equal
// to the version number), and the parent's next save leaves no temporary.
TEST_CASE("a saving process killed at random moments 200 times never leaves a damaged file or a temporary") {
  // In memory where there is a tmpfs: fsync there is free, so 200 rounds take seconds, and what is
  // tested (rename is atomic, temporaries are cleaned up) does not depend on the disk.
  TempDir dir(fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path());
  const std::string model = dir.file("model.gnn");
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(16, 8));
  m.predict(Arr(xt::zeros<double>({1, 16})));
  m.save(model);
  std::mt19937 rng(11);
  int mid_save_versions = 0;
  for (int kill = 0; kill < 200; ++kill) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::dup2(ready[1], 3);
      ::execl(SAVE_CHILD_EXE, SAVE_CHILD_EXE, model.c_str(), "3", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);  // the child has saved at least once
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    gn::Sequential<double> loaded = gn::Sequential<double>::load(model);
    const Arr w = loaded.session().value(loaded.parameters()[0]);
    const double version = w(0);
    INFO("kill " << kill << ", version " << version);
    CHECK(version >= 1);
    CHECK(version == std::floor(version));
    CHECK(xt::all(xt::equal(w, version)));
    CHECK(xt::all(xt::equal(loaded.session().value(loaded.parameters()[1]), version)));
    if (version > 1) ++mid_save_versions;
    m.save(model);
    for (const auto& name : dir.entries()) CHECK_MESSAGE(name == "model.gnn", "left behind: " << name);
  }
  // The kills landed while saves were going on, not only before the first.
  CHECK(mid_save_versions > 50);
}

// ---- silent cases (item 10): each decided, documented in the README, tested ----

TEST_CASE("a placeholder fed twice in one feed list is an Error, on a new plan and on a cached one") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto y = gn::reduce_sum(x);
  const Arr a{{1.0, 2.0}}, b{{3.0, 4.0}};
  gn::Session<double> fresh(g);
  CHECK_ERROR(fresh.run({y}, {{x, a}, {x, b}}), "run: placeholder 'x' [batch, 2] is fed twice in one feed list");
  gn::Session<double> s(g);
  CHECK(s.run({y}, {{x, a}})[0]() == 3.0);
  CHECK_ERROR(s.run({y}, {{x, a}, {x, b}}), "run: placeholder 'x' [batch, 2] is fed twice in one feed list");
  CHECK(s.run({y}, {{x, b}})[0]() == 7.0);
}

TEST_CASE("a batch of 0 rows is an Error naming the call, not a NaN loss") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto loss = gn::reduce_mean(x);
  gn::Session<double> s(g);
  const Arr empty = Arr::from_shape({0, 2});
  CHECK_ERROR(s.run({loss}, {{x, empty}}), "run: feed for placeholder 'x' [batch, 2] has 0 rows (shape [0, 2])");
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 1));
  CHECK_ERROR(m.fit(empty, Arr::from_shape({0, 1})), "fit: no rows");
  CHECK_ERROR(m.predict(empty), "predict: no rows");
  CHECK_ERROR(m.evaluate(empty, Arr::from_shape({0, 1})), "evaluate: no rows");
}

TEST_CASE("NaN or Inf in feeds: Sequential rejects them; a raw Session names the feed under check_numerics") {
  const Arr bad{{1.0, NAN}};
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 1));
  CHECK_ERROR(m.predict(bad), "predict: x has a non-finite value (nan) at row 0, column 1");
  const Arr one = xt::ones<double>({1, 1});
  CHECK_ERROR(m.fit(Arr{{1.0, INFINITY}}, one), "fit: x has a non-finite value (inf) at row 0, column 1");
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto loss = gn::reduce_mean(x * 2.0);
  gn::Session<double> plain(g);  // documented: a plain run does not scan its feeds (a pass per step)
  CHECK(std::isnan(plain.run({loss}, {{x, bad}})[0]()));
  gn::SessionOptions checked;
  checked.check_numerics = true;
  gn::Session<double> s(g, checked);
  CHECK_ERROR(s.run({loss}, {{x, bad}}), "check_numerics: feed for placeholder 'x' [batch, 2] holds [1.000000, 1.000000] and 1 NaN");
  CHECK(s.run({loss}, {{x, Arr{{1.0, 2.0}}}})[0]() == 3.0);
}

TEST_CASE("predict before fit uses the initial weights (documented), drawn from the model's seed") {
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 1));
  m.set_seed(5);
  const Arr x{{1.0, 2.0}, {-3.0, 0.5}};
  const Arr p = m.predict(x);
  const Arr w = m.session().value(m.parameters()[0]), b = m.session().value(m.parameters()[1]);
  for (std::size_t r = 0; r < 2; ++r) CHECK(p(r, 0) == doctest::Approx(x(r, 0) * w(0, 0) + x(r, 1) * w(1, 0) + b(0)));
  CHECK(w(0, 0) != 0.0);  // drawn (xavier_uniform), not zeros
  gn::Sequential<double> same;
  same.add(gn::Linear<double>(2, 1));
  same.set_seed(5);
  CHECK(xt::all(xt::equal(same.predict(x), p)));
}

TEST_CASE("leaky_relu's alpha must be finite") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  CHECK_ERROR(gn::leaky_relu(x, double(NAN)), "op 'leaky_relu': alpha nan is not finite (input 'x' [batch, 2])");
  CHECK_ERROR(gn::leaky_relu(x, double(INFINITY)), "op 'leaky_relu': alpha inf is not finite");
  gn::Session<double> s(g);
  CHECK(s.run({gn::leaky_relu(x, -0.5)}, {{x, Arr{{-2.0, 3.0}}}})[0] == Arr{{1.0, 3.0}});
}
