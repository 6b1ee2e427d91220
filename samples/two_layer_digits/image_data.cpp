#include "image_data.hpp"

#include <filesystem>
#include <vector>

#include <xtensor/xview.hpp>

namespace two_layer {

namespace {

// The first existing spelling of one of the four MNIST files, or "".
std::string find_idx_file(const std::string& dir, const std::string& set, const std::string& kind, int rank) {
  const std::string r = "idx" + std::to_string(rank);
  for (const std::string& base : {set + "-" + kind + "-" + r + "-ubyte", set + "-" + kind + "." + r + "-ubyte"})
    for (const char* suffix : {".gz", ""}) {
      const std::string path = (std::filesystem::path(dir) / (base + suffix)).string();
      if (std::filesystem::is_regular_file(path)) return path;
    }
  return "";
}

}  // namespace

ImageData load_idx_folder(const std::string& dir, const std::string& install_hint) {
  std::vector<std::string> paths;
  for (const std::string set : {"train", "t10k"})
    for (const auto& [kind, rank] : {std::pair<std::string, int>{"images", 3}, {"labels", 1}}) {
      paths.push_back(find_idx_file(dir, set, kind, rank));
      if (paths.back().empty())
        throw DataMissing("no " + set + "-" + kind + "-idx" + std::to_string(rank) + "-ubyte[.gz] in " + dir + "; " +
                          install_hint);
    }
  ImageData d;
  d.train = gn::load_idx_pair<double>(paths[0], paths[1]);
  d.test = gn::load_idx_pair<double>(paths[2], paths[3]);
  d.description = std::to_string(d.train.x.shape()[0]) + " training and " + std::to_string(d.test.x.shape()[0]) +
                  " test images of " + std::to_string(d.train.x.shape()[1]) + " pixels from " + dir;
  return d;
}

ImageData load_sklearn_digits(const std::string& path, double test_fraction, unsigned seed) {
  if (!std::filesystem::is_regular_file(path))
    throw DataMissing(path + " not found; the handwritten digits come with scikit-learn: "
                      "sudo apt-get install python3-sklearn");
  gn::CsvOptions csv;
  csv.header = false;
  gn::Dataset<double> all = gn::load_csv<double>(path, csv);
  all.x /= 16.0;  // pixels are 0..16
  auto [train, test] = gn::split(all, test_fraction, seed);
  ImageData d;
  d.train = std::move(train);
  d.test = std::move(test);
  d.description = std::to_string(d.train.x.shape()[0]) + " training and " + std::to_string(d.test.x.shape()[0]) +
                  " held-out 8x8 digit images from " + path;
  return d;
}

void limit_training_rows(ImageData& data, std::size_t rows) {
  if (rows == 0 || rows >= data.train.x.shape()[0]) return;
  data.train.x = xt::view(data.train.x, xt::range(0, rows));
  data.train.y = xt::view(data.train.y, xt::range(0, rows));
  data.description += " (training on the first " + std::to_string(rows) + ")";
}

}  // namespace two_layer
