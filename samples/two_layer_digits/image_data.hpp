#pragma once
// The images the two-layer net learns: MNIST-format IDX files (Fashion-MNIST
// from Debian's dataset-fashion-mnist by default, or any folder of IDX files
// such as the original MNIST), or the 8x8 handwritten digits that scikit-learn
// ships as a CSV file.
#include <cstddef>
#include <stdexcept>
#include <string>

#include <graphnn/data.hpp>

namespace two_layer {

namespace gn = graphnn;

constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
constexpr const char* sklearn_digits_csv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

struct ImageData {
  gn::Dataset<double> train, test;  // x [n, pixels] scaled to [0, 1], y [n, 1] class ids
  std::string description;
  std::size_t classes = 10;
};

// The data files are not there; the message says what to install.
struct DataMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// train-{images-idx3,labels-idx1}-ubyte and t10k-... in `dir`, each gzip-compressed
// (.gz) or not; the "train-images.idx3-ubyte" spelling is accepted too.
// `install_hint` ends the DataMissing message.
ImageData load_idx_folder(const std::string& dir, const std::string& install_hint);

// digits.csv.gz: 1797 rows of 64 pixels (0-16) then the label, no header.
// A seeded `test_fraction` of the rows is held out.
ImageData load_sklearn_digits(const std::string& path, double test_fraction, unsigned seed);

// Keeps the first `rows` training rows (all of them when rows is 0 or too many).
void limit_training_rows(ImageData& data, std::size_t rows);

}  // namespace two_layer
