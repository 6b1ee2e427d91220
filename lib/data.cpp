#include "graphnn/data.hpp"

#include "graphnn/checked_size.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>
#include <string_view>

namespace graphnn {

namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

template <class S>
std::string shape_text(const S& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

template <class V>
std::string number_text(V v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The whole file. gzread decompresses when the file starts with the gzip magic
// 1f 8b and passes any other file through unchanged.
std::string read_file(const std::string& path, const std::string& who) {
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(who + ": cannot open " + quoted(path) + ": " + (errno ? std::strerror(errno) : "out of memory"));
  gzbuffer(f, 1 << 17);
  std::string bytes;
  char chunk[1 << 16];
  int got;
  while ((got = gzread(f, chunk, sizeof chunk)) > 0) bytes.append(chunk, static_cast<std::size_t>(got));
  int code = Z_OK;
  const char* message = gzerror(f, &code);
  std::string reason = code == Z_ERRNO ? std::strerror(errno) : message;
  if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);  // zlib prefixes the path
  gzclose(f);
  if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) throw Error(who + ": cannot read " + quoted(path) + ": " + reason);
  return bytes;
}

// ---- CSV ----

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

void split_fields(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  for (std::size_t start = 0;;) {
    const std::size_t end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

template <class T>
bool parse_number(std::string_view field, T& value) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  const char* last = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), last, value);
  return !field.empty() && ec == std::errc() && ptr == last;
}

// Indices of the label columns among `columns`; negative entries count from the end.
std::vector<std::size_t> resolve_label_columns(const std::vector<int>& wanted, std::size_t columns,
                                               const std::string& where) {
  std::vector<std::size_t> out;
  const int n = static_cast<int>(columns);
  for (int c : wanted) {
    if (c < -n || c >= n)
      throw Error(where + ": label column " + std::to_string(c) + " is out of range for " + std::to_string(columns) +
                  " columns (valid: " + std::to_string(-n) + ".." + std::to_string(n - 1) + ")");
    const std::size_t index = static_cast<std::size_t>(c < 0 ? c + n : c);
    if (std::find(out.begin(), out.end(), index) != out.end())
      throw Error(where + ": label column " + std::to_string(c) + " is listed twice");
    out.push_back(index);
  }
  return out;
}

// Rows of a numeric table, parsed line by line.
template <class T>
struct CsvTable {
  std::vector<std::string> names;  // from the header, if any
  std::size_t columns = 0, rows = 0;
  std::vector<T> values;  // row-major
};

template <class T>
void add_csv_row(CsvTable<T>& table, const std::vector<std::string_view>& fields, std::size_t line,
                 const std::string& where) {
  if (table.columns == 0) table.columns = fields.size();
  if (fields.size() != table.columns)
    throw Error(where + ": line " + std::to_string(line) + " has " + std::to_string(fields.size()) +
                " fields, expected " + std::to_string(table.columns));
  for (std::size_t c = 0; c < fields.size(); ++c) {
    T v;
    const bool number = parse_number(fields[c], v);
    if (!number || !std::isfinite(v)) {
      // nan and inf would reach training as a NaN loss; fit rejects them too.
      const std::string name = c < table.names.size() ? " ('" + table.names[c] + "')" : "";
      throw Error(where + ": line " + std::to_string(line) + ", column " + std::to_string(c + 1) + name + ": '" +
                  std::string(fields[c]) + "' is not " + (number ? "a finite number" : "a number"));
    }
    table.values.push_back(v);
  }
  ++table.rows;
}

template <class T>
CsvTable<T> parse_csv(const std::string& text, const CsvOptions& options, const std::string& where) {
  CsvTable<T> table;
  std::vector<std::string_view> fields;
  bool header_pending = options.header;
  std::size_t line = 0;
  for (std::size_t start = 0; start < text.size(); ++line) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view row = trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (row.empty()) continue;
    split_fields(row, options.delimiter, fields);
    if (header_pending) {
      header_pending = false;
      table.columns = fields.size();
      for (auto f : fields) table.names.emplace_back(f);
      continue;
    }
    add_csv_row(table, fields, line + 1, where);
  }
  if (table.rows == 0) throw Error(where + ": no data rows");
  return table;
}

// Columns `pick` of the table as [rows, pick.size()].
template <class T>
xt::xarray<T> take_columns(const CsvTable<T>& table, const std::vector<std::size_t>& pick) {
  xt::xarray<T> out = xt::xarray<T>::from_shape({table.rows, pick.size()});
  T* dst = out.data();
  for (std::size_t r = 0; r < table.rows; ++r)
    for (std::size_t c : pick) *dst++ = table.values[r * table.columns + c];
  return out;
}

// ---- IDX ----

struct IdxHeader {
  std::uint8_t type = 0;
  std::vector<std::size_t> dims;
  std::size_t data_offset = 0;
};

std::uint32_t read_u32_be(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

std::size_t idx_element_size(std::uint8_t type, const std::string& where) {
  switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
  }
  std::ostringstream os;
  os << where << ": unknown element type 0x" << std::hex << int(type)
     << " (expected 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float or 0x0e double)";
  throw Error(os.str());
}

IdxHeader parse_idx_header(const std::string& bytes, const std::string& where) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0) {
    std::ostringstream os;
    os << where << ": bad magic number (the file must start with 00 00 <type> <ndims>; it starts with";
    for (std::size_t i = 0; i < std::min<std::size_t>(4, bytes.size()); ++i)
      os << ' ' << std::hex << (p[i] < 16 ? "0" : "") << int(p[i]);
    throw Error(os.str() + ")");
  }
  IdxHeader h;
  h.type = p[2];
  idx_element_size(h.type, where);
  const std::size_t ndims = p[3];
  if (ndims == 0) throw Error(where + ": the header declares 0 dimensions");
  h.data_offset = 4 + 4 * ndims;
  if (bytes.size() < h.data_offset)
    throw Error(where + ": truncated header: expected " + std::to_string(h.data_offset) + " bytes, got " +
                std::to_string(bytes.size()));
  for (std::size_t i = 0; i < ndims; ++i) h.dims.push_back(read_u32_be(p + 4 + 4 * i));
  return h;
}

// Number of data bytes the header promises; a shape whose size overflows is an
// Error (even with a zero dimension: xtensor forms strides from the others).
std::size_t idx_data_bytes(const IdxHeader& h, const std::string& where) {
  const std::size_t element = idx_element_size(h.type, where);
  return checked_product(h.dims, element, where + ": header dimensions") * element;
}

template <class U>
U read_be(const unsigned char* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | p[i]);
  return v;
}

// Big-endian elements stored as S, read through the unsigned U of the same size.
template <class S, class U, class T>
void decode(const unsigned char* src, std::size_t n, T* dst) {
  static_assert(sizeof(S) == sizeof(U));
  for (std::size_t i = 0; i < n; ++i) {
    const U bits = read_be<U>(src + i * sizeof(U));
    S v;
    std::memcpy(&v, &bits, sizeof v);
    dst[i] = static_cast<T>(v);
  }
}

template <class T>
void decode_idx(std::uint8_t type, const unsigned char* src, std::size_t n, T* dst) {
  switch (type) {
    case 0x08: decode<std::uint8_t, std::uint8_t>(src, n, dst); break;
    case 0x09: decode<std::int8_t, std::uint8_t>(src, n, dst); break;
    case 0x0B: decode<std::int16_t, std::uint16_t>(src, n, dst); break;
    case 0x0C: decode<std::int32_t, std::uint32_t>(src, n, dst); break;
    case 0x0D: decode<float, std::uint32_t>(src, n, dst); break;
    case 0x0E: decode<double, std::uint64_t>(src, n, dst); break;
  }
}

// The array and its IDX element type.
template <class T>
std::pair<xt::xarray<T>, std::uint8_t> read_idx(const std::string& path) {
  const std::string where = "load_idx: " + quoted(path);
  const std::string bytes = read_file(path, "load_idx");
  const IdxHeader h = parse_idx_header(bytes, where);
  const std::size_t expected = idx_data_bytes(h, where), got = bytes.size() - h.data_offset;
  if (got != expected)
    throw Error(where + ": " + (got < expected ? "truncated data" : "trailing bytes") + " for shape " +
                shape_text(h.dims) + ": expected " + std::to_string(expected) + " bytes, got " + std::to_string(got));
  xt::xarray<T> out = xt::xarray<T>::from_shape(h.dims);
  decode_idx(h.type, reinterpret_cast<const unsigned char*>(bytes.data()) + h.data_offset, out.size(), out.data());
  return {std::move(out), h.type};
}

// ---- rows ----

std::size_t row_length(const std::vector<std::size_t>& shape) {
  return std::accumulate(shape.begin() + 1, shape.end(), std::size_t{1}, std::multiplies<>());
}

template <class T>
std::vector<std::size_t> dims_of(const xt::xarray<T>& a) {
  return {a.shape().begin(), a.shape().end()};
}

template <class T>
void check_same_rows(const xt::xarray<T>& x, const xt::xarray<T>& y, const std::string& who) {
  if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0])
    throw Error(who + ": x and y must have the same number of rows (x has shape " + shape_text(x.shape()) +
                ", y has shape " + shape_text(y.shape()) + ")");
}

// Rows idx[0..count) of `src` (row_len values each) to consecutive rows of `dst`.
template <class T>
void copy_rows(const T* src, std::size_t row_len, const std::size_t* idx, std::size_t count, T* dst) {
  // Shuffled rows sit anywhere in the data, mostly out of cache: asking for
  // the next row while this one is copied hides most of its latency (a
  // training batch of workload c gathers a third faster).
  constexpr std::size_t line = 64, max_prefetch = 64 * line;
  const std::size_t bytes = std::min(row_len * sizeof(T), max_prefetch);
  for (std::size_t i = 0; i < count; ++i) {
    if (i + 1 < count) {
      const char* next = reinterpret_cast<const char*>(src + idx[i + 1] * row_len);
      for (std::size_t b = 0; b < bytes; b += line) __builtin_prefetch(next + b);
    }
    std::copy_n(src + idx[i] * row_len, row_len, dst + i * row_len);
  }
}

template <class T>
xt::xarray<T> take_rows(const xt::xarray<T>& a, const std::size_t* idx, std::size_t count) {
  std::vector<std::size_t> shape = dims_of(a);
  shape[0] = count;
  xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
  copy_rows(a.data(), row_length(shape), idx, count, out.data());
  return out;
}

// Fisher-Yates with the raw generator output, so an order depends only on the
// seed, not on the standard library's distributions.
void shuffle_in_place(std::vector<std::size_t>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// ---- normaliser ----

struct ColumnStats {
  std::vector<double> min, max, mean, std;
};

template <class T>
ColumnStats column_stats(const xt::xarray<T>& x, const std::string& who) {
  if (x.dimension() != 2 || x.shape()[0] == 0 || x.shape()[1] == 0)
    throw Error(who + ": expected a non-empty [rows, columns] array, got shape " + shape_text(x.shape()));
  const std::size_t rows = x.shape()[0], cols = x.shape()[1];
  ColumnStats s{std::vector<double>(cols, INFINITY), std::vector<double>(cols, -INFINITY),
                   std::vector<double>(cols, 0.0), std::vector<double>(cols, 0.0)};
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const double v = x(r, c);
      if (!std::isfinite(v))
        throw Error(who + ": row " + std::to_string(r) + ", column " + std::to_string(c) + " is " + number_text(v));
      s.min[c] = std::min(s.min[c], v);
      s.max[c] = std::max(s.max[c], v);
      s.mean[c] += v / static_cast<double>(rows);
    }
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) s.std[c] += std::pow(double(x(r, c)) - s.mean[c], 2) / double(rows);
  for (auto& v : s.std) v = std::sqrt(v);
  return s;
}

template <class T>
xt::xarray<T> to_array(const std::vector<double>& v) {
  xt::xarray<T> out = xt::xarray<T>::from_shape({v.size()});
  std::transform(v.begin(), v.end(), out.begin(), [](double d) { return static_cast<T>(d); });
  return out;
}

}  // namespace

// ---- loaders ----

template <class T>
Dataset<T> load_csv(const std::string& path, const CsvOptions& options) {
  const std::string where = "load_csv: " + quoted(path);
  const CsvTable<T> table = parse_csv<T>(read_file(path, "load_csv"), options, where);
  const std::vector<std::size_t> labels = resolve_label_columns(options.label_columns, table.columns, where);
  std::vector<std::size_t> features;
  for (std::size_t c = 0; c < table.columns; ++c)
    if (std::find(labels.begin(), labels.end(), c) == labels.end()) features.push_back(c);
  return {take_columns(table, features), take_columns(table, labels)};
}

template <class T>
xt::xarray<T> load_idx(const std::string& path) {
  return read_idx<T>(path).first;
}

template <class T>
Dataset<T> load_idx_pair(const std::string& images_path, const std::string& labels_path) {
  auto [x, type] = read_idx<T>(images_path);
  xt::xarray<T> y = load_idx<T>(labels_path);
  if (y.dimension() != 1)
    throw Error("load_idx_pair: labels " + quoted(labels_path) + " must be one-dimensional, got shape " +
                shape_text(y.shape()));
  if (x.shape()[0] != y.shape()[0])
    throw Error("load_idx_pair: " + quoted(images_path) + " has " + std::to_string(x.shape()[0]) + " images but " +
                quoted(labels_path) + " has " + std::to_string(y.shape()[0]) + " labels");
  const std::size_t n = x.shape()[0];
  x.reshape({n, n ? x.size() / n : row_length(dims_of(x))});
  if (type == 0x08) x /= T(255);
  y.reshape({n, std::size_t{1}});
  return {std::move(x), std::move(y)};
}

// ---- Normalizer ----

template <class T>
Normalizer<T>::Normalizer(std::string kind, xt::xarray<T> offset, xt::xarray<T> scale) : kind_(std::move(kind)) {
  const std::string who = "Normalizer(" + kind_ + ")";
  if (kind_ == "none") return;  // the identity has no parameters; offset and scale are ignored
  if (kind_ != "min_max" && kind_ != "z_score")
    throw Error("Normalizer: unknown kind '" + kind_ + "' (expected none, min_max or z_score)");
  if (offset.dimension() != 1 || offset.size() == 0 || scale.shape() != offset.shape())
    throw Error(who + ": offset and scale must be [columns] of the same size, got " + shape_text(offset.shape()) +
                " and " + shape_text(scale.shape()));
  for (std::size_t c = 0; c < scale.size(); ++c)
    if (!std::isfinite(double(offset(c))) || !std::isfinite(double(scale(c))) || scale(c) == T(0))
      throw Error(who + ": column " + std::to_string(c) + " has offset " + number_text(offset(c)) + " and scale " +
                  number_text(scale(c)) + " (both must be finite, scale non-zero)");
  offset_ = std::move(offset);
  scale_ = std::move(scale);
}

template <class T>
Normalizer<T> Normalizer<T>::min_max(const xt::xarray<T>& x) {
  const ColumnStats s = column_stats(x, "Normalizer::min_max");
  std::vector<double> scale(s.min.size());
  for (std::size_t c = 0; c < scale.size(); ++c) scale[c] = s.max[c] > s.min[c] ? 1.0 / (s.max[c] - s.min[c]) : 1.0;
  return Normalizer("min_max", to_array<T>(s.min), to_array<T>(scale));
}

template <class T>
Normalizer<T> Normalizer<T>::z_score(const xt::xarray<T>& x) {
  const ColumnStats s = column_stats(x, "Normalizer::z_score");
  std::vector<double> scale(s.std.size());
  // A constant column is tested exactly (max == min): its computed std may be a rounding residue, not 0.
  for (std::size_t c = 0; c < scale.size(); ++c)
    scale[c] = s.max[c] > s.min[c] && s.std[c] > 0 ? 1.0 / s.std[c] : 1.0;
  return Normalizer("z_score", to_array<T>(s.mean), to_array<T>(scale));
}

template <class T>
void Normalizer<T>::check_columns(const xt::xarray<T>& x, const char* what) const {
  if (x.dimension() != 2 || x.shape()[1] != columns())
    throw Error(std::string("Normalizer(") + kind_ + ")::" + what + ": expected [rows, " + std::to_string(columns()) +
                "], got shape " + shape_text(x.shape()));
}

template <class T>
xt::xarray<T> Normalizer<T>::apply(const xt::xarray<T>& x) const {
  if (kind_ == "none") return x;
  check_columns(x, "apply");
  xt::xarray<T> out = xt::xarray<T>::from_shape(x.shape());
  apply(x.data(), out.data(), x.shape()[0]);
  return out;
}

template <class T>
void Normalizer<T>::apply(const T* in, T* out, std::size_t rows) const {
  if (kind_ == "none") {
    if (in != out) throw Error("Normalizer(none)::apply(in, out, rows): the identity has no column count; pass in == out");
    return;
  }
  const std::size_t cols = columns();
  const T* offset = offset_.data();
  const T* scale = scale_.data();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] = (in[r * cols + c] - offset[c]) * scale[c];
}

template <class T>
xt::xarray<T> Normalizer<T>::invert(const xt::xarray<T>& x) const {
  if (kind_ == "none") return x;
  check_columns(x, "invert");
  xt::xarray<T> out = xt::xarray<T>::from_shape(x.shape());
  const std::size_t rows = x.shape()[0], cols = columns();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out(r, c) = x(r, c) / scale_(c) + offset_(c);
  return out;
}

// ---- labels ----

template <class T>
xt::xarray<T> one_hot_encode(const xt::xarray<T>& class_ids, std::size_t classes) {
  const bool column = class_ids.dimension() == 2 && class_ids.shape()[1] == 1;
  if (class_ids.dimension() != 1 && !column)
    throw Error("one_hot_encode: class ids must be [n] or [n, 1], got shape " + shape_text(class_ids.shape()));
  if (classes == 0) throw Error("one_hot_encode: classes must be at least 1");
  const std::size_t n = class_ids.shape()[0];
  xt::xarray<T> out = xt::zeros<T>({n, classes});
  for (std::size_t i = 0; i < n; ++i) {
    const double id = class_ids.data()[i];
    if (std::floor(id) != id)  // also rejects NaN and infinities
      throw Error("one_hot_encode: row " + std::to_string(i) + " has class id " + number_text(id) +
                  ", not an integer");
    if (id < 0 || id >= double(classes))
      throw Error("one_hot_encode: row " + std::to_string(i) + " has class id " + number_text(id) + ", outside [0, " +
                  std::to_string(classes) + ")");
    out(i, static_cast<std::size_t>(id)) = T(1);
  }
  return out;
}

template <class T>
xt::xarray<T> argmax_rows(const xt::xarray<T>& scores) {
  if (scores.dimension() != 2 || scores.shape()[1] == 0)
    throw Error("argmax_rows: expected [n, classes] with at least one class, got shape " + shape_text(scores.shape()));
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  xt::xarray<T> out = xt::xarray<T>::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) {
    const T* row = scores.data() + i * c;
    out(i) = static_cast<T>(std::max_element(row, row + c) - row);
  }
  return out;
}

// ---- split and batches ----

template <class T>
std::pair<Dataset<T>, Dataset<T>> split(const Dataset<T>& d, double validation_fraction, unsigned seed) {
  check_same_rows(d.x, d.y, "split");
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    throw Error("split: validation_fraction must be in [0, 1), got " + number_text(validation_fraction));
  const std::size_t n = d.x.shape()[0];
  if (validation_fraction > 0 && n < 2)
    throw Error("split: cannot hold out a validation set from " + std::to_string(n) + " row(s)");
  std::size_t n_val = 0;
  if (validation_fraction > 0)
    n_val = std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(n * validation_fraction)), 1, n - 1);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  shuffle_in_place(order, rng);
  const std::size_t n_train = n - n_val;
  const std::size_t* tail = order.data() + n_train;
  return {Dataset<T>{take_rows(d.x, order.data(), n_train), take_rows(d.y, order.data(), n_train)},
          Dataset<T>{take_rows(d.x, tail, n_val), take_rows(d.y, tail, n_val)}};
}

template <class T>
BatchIterator<T>::BatchIterator(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size, bool shuffle,
                                unsigned seed)
    : x_(x), y_(y), shuffle_(shuffle), rng_(seed) {
  check_same_rows(x, y, "BatchIterator");
  if (batch_size == 0) throw Error("BatchIterator: batch_size must be at least 1");
  rows_ = x.shape()[0];
  if (rows_ == 0) throw Error("BatchIterator: empty data (x has shape " + shape_text(x.shape()) + ")");
  batch_size_ = std::min(batch_size, rows_);
  std::vector<std::size_t> xs = dims_of(x), ys = dims_of(y);
  x_row_ = row_length(xs);
  y_row_ = row_length(ys);
  xs[0] = ys[0] = batch_size_;
  x_full_ = xt::xarray<T>::from_shape(xs);
  y_full_ = xt::xarray<T>::from_shape(ys);
  xs[0] = ys[0] = rows_ % batch_size_;
  if (xs[0] != 0) {
    x_last_ = xt::xarray<T>::from_shape(xs);
    y_last_ = xt::xarray<T>::from_shape(ys);
  }
  order_.resize(rows_);
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  if (shuffle_) shuffle_in_place(order_, rng_);
}

template <class T>
bool BatchIterator<T>::next() {
  if (position_ >= rows_) return false;
  const std::size_t count = std::min(batch_size_, rows_ - position_);
  last_ = count < batch_size_;
  copy_rows(x_.data(), x_row_, order_.data() + position_, count, x_batch().data());
  copy_rows(y_.data(), y_row_, order_.data() + position_, count, y_batch().data());
  position_ += count;
  return true;
}

template <class T>
void BatchIterator<T>::reset() {
  position_ = 0;
  if (shuffle_) shuffle_in_place(order_, rng_);
}

template <class T>
void BatchIterator<T>::resume(const std::mt19937_64& generator, const std::vector<std::size_t>& order) {
  if (order.size() != rows_)
    throw Error("BatchIterator::resume: the order has " + std::to_string(order.size()) + " rows, the data " +
                std::to_string(rows_));
  std::vector<bool> seen(rows_, false);
  for (const std::size_t r : order) {
    if (r >= rows_ || seen[r])
      throw Error("BatchIterator::resume: the order is not a permutation of the " + std::to_string(rows_) +
                  " rows (row " + std::to_string(r) + ")");
    seen[r] = true;
  }
  rng_ = generator;
  order_ = order;
  position_ = rows_;  // the epoch of that order is over: next() waits for reset()
}

#define INSTANTIATE(T)                                                                                   \
  template struct Dataset<T>;                                                                            \
  template Dataset<T> load_csv<T>(const std::string&, const CsvOptions&);                                \
  template xt::xarray<T> load_idx<T>(const std::string&);                                                \
  template Dataset<T> load_idx_pair<T>(const std::string&, const std::string&);                          \
  template class Normalizer<T>;                                                                          \
  template xt::xarray<T> one_hot_encode<T>(const xt::xarray<T>&, std::size_t);                           \
  template xt::xarray<T> argmax_rows<T>(const xt::xarray<T>&);                                           \
  template std::pair<Dataset<T>, Dataset<T>> split<T>(const Dataset<T>&, double, unsigned);              \
  template class BatchIterator<T>;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
