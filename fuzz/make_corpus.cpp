// Writes the seed corpora under <dir>/<harness>/ with the library itself:
// models saved by Sequential::save (their payloads cut out for model_payload),
// arrays by save_npy, and small CSV and IDX files in the forms load_csv and
// load_idx read (graphnn writes neither format, so they are spelled out here).
// Usage: make_corpus <dir>   (the committed corpora are fuzz/corpus)
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw gn::Error("make_corpus: cannot write " + file.string());
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Four small models: a plain regression, a classifier with a normaliser and
// dropout, one without bias, and a small CNN with every other layer kind.
void models(const fs::path& dir) {
  const fs::path tmp = dir / "tmp.gnn";
  auto save = [&](gn::Sequential<double>& m, std::size_t features, const std::string& name) {
    m.predict(xt::xarray<double>(xt::zeros<double>({std::size_t{1}, features})));
    m.save(tmp.string());
    const std::string file = read(tmp);
    fs::remove(tmp);
    write(dir / "model_file" / name, file);
    write(dir / "model_payload" / name, file.substr(24, file.size() - 32));  // header 24 bytes, checksum 8
  };
  gn::Sequential<double> plain;
  plain.add(gn::Linear<double>(2, 3));
  plain.add(gn::Activation<double>("relu"));
  plain.add(gn::Linear<double>(3, 1));
  save(plain, 2, "regression.gnn");

  gn::Sequential<double> classifier;
  classifier.add(gn::Linear<double>(3, 4, gn::uniform(-0.5, 0.5)));
  classifier.add(gn::Activation<double>("tanh"));
  classifier.add(gn::Dropout<double>(0.25));
  classifier.add(gn::Linear<double>(4, 2));
  classifier.set_classifier("softmax");
  classifier.set_loss("cross_entropy");
  classifier.set_normalizer(gn::Normalizer<double>::min_max(xt::xarray<double>{{0, 1, 2}, {3, 5, 7}}));
  save(classifier, 3, "classifier.gnn");

  gn::Sequential<double> nobias;
  nobias.add(gn::Linear<double>(1, 1, gn::zeros(), false));
  save(nobias, 1, "nobias.gnn");

  // Every layer kind with settings of its own (sizes, paddings, numbers), so
  // the fuzzers reach their parsers.
  gn::Sequential<double> conv;
  conv.add(gn::Reshape<double>({4, 4, 1}));
  conv.add(gn::Conv2D<double>(2, 3, 1, gn::Padding::explicit_pads(1, 1, 0, 2)));
  conv.add(gn::BatchNorm<double>());
  conv.add(gn::MaxPool2D<double>(2));
  conv.add(gn::AvgPool2D<double>(gn::Size2(1, 2), 1, "same"));
  conv.add(gn::Flatten<double>());
  conv.add(gn::LayerNorm<double>(8));
  conv.add(gn::Linear<double>(8, 2));
  conv.set_classifier("softmax");
  save(conv, 16, "conv.gnn");
}

void arrays(const fs::path& dir) {
  gn::save_npy<double>((dir / "npy" / "matrix_f8.npy").string(), xt::xarray<double>{{1, 2, 3}, {4, 5, 6}});
  gn::save_npy<float>((dir / "npy" / "vector_f4.npy").string(), xt::xarray<float>{1.5f, -2.0f});
  gn::save_npy<double>((dir / "npy" / "scalar_f8.npy").string(), xt::xarray<double>(3.0));
  gn::save_npy<double>((dir / "npy" / "empty_f8.npy").string(), xt::xarray<double>::from_shape({0, 3}));
  gn::save_npy<float>((dir / "npy" / "rank3_f4.npy").string(), xt::xarray<float>::from_shape({2, 1, 2}));
}

// The csv harness reads the first byte as options: bit 0 header, bit 1 ';',
// bit 2 no labels, bit 3 labels {0, -1}.
void tables(const fs::path& dir) {
  write(dir / "csv" / "header.csv", std::string("\x01") + "a,b,label\n1,2,0\n3.5,-4e2,1\n");
  write(dir / "csv" / "semicolon.csv", std::string("\x02") + "1;2;3\r\n4;5;6\r\n\r\n");
  write(dir / "csv" / "no_labels.csv", std::string("\x05") + "x,y\n+1,2\n");
  write(dir / "csv" / "two_labels.csv", std::string("\x09") + "l,f,g,m\n0,1,2,1\n1,3,4,0\n");
  write(dir / "csv" / "gzip.csv", std::string("\x01") + gzip("a,label\n1,0\n2,1\n"));
}

std::string be32(std::uint32_t v) { return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)}; }

void idx_files(const fs::path& dir) {
  // 2 images of 2x3 ubyte pixels; load_idx_pair reads the file as images and labels
  write(dir / "idx" / "images_u8.idx", std::string("\0\0\x08\x03", 4) + be32(2) + be32(2) + be32(3) + std::string(12, '\x7f'));
  write(dir / "idx" / "labels_u8.idx", std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x02\x00", 3));
  write(dir / "idx" / "shorts_i16.idx", std::string("\0\0\x0b\x01", 4) + be32(2) + std::string("\x01\x00\xff\xfe", 4));
  write(dir / "idx" / "floats_f32.idx", std::string("\0\0\x0d\x01", 4) + be32(1) + std::string("\x3f\x80\x00\x00", 4));
  write(dir / "idx" / "doubles_f64.idx", std::string("\0\0\x0e\x02", 4) + be32(1) + be32(1) + std::string("\x3f\xf0", 2) + std::string(6, '\0'));
  write(dir / "idx" / "gzip.idx", gzip(std::string("\0\0\x09\x01", 4) + be32(2) + std::string("\x80\x7f", 2)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus <dir>\n";
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    for (const char* harness : {"model_file", "model_payload", "npy", "csv", "idx"}) fs::create_directories(dir / harness);
    models(dir);
    arrays(dir);
    tables(dir);
    idx_files(dir);
  } catch (const gn::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
