// Losses. Each is one fused, numerically stable kernel whose gradient is
// written with graph ops; all return a scalar mean.
#include "graphnn/checked_size.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"
#include "vector_math.hpp"

namespace graphnn {
namespace {

void check_same_shape(const std::vector<Shape>& in, const char* what) {
  kit::expect_inputs(in, 2);
  try {
    unify_shapes(in[0], in[1]);
  } catch (const Error& e) {
    throw Error(std::string(what) + " must have the same shape (losses do not broadcast): " + e.what());
  }
}

template <class T>
std::size_t class_index(T id, std::size_t classes, std::size_t row, const std::string& op) {
  if (!(id >= T(0) && id < static_cast<T>(classes)) || id != std::floor(id))
    throw Error(op + ": class id " + std::to_string(id) + " at row " + std::to_string(row) +
                " is not an integer in [0, " + std::to_string(classes) + ")");
  return static_cast<std::size_t>(id);
}

// Class ids: shape [rows] or [rows, 1] for logits [rows, classes].
void check_class_ids(const Shape& logits, const Shape& ids) {
  if (logits.size() != 2) throw Error("logits must be 2-D [rows, classes]");
  const bool ok = (ids.size() == 1 || (ids.size() == 2 && ids[1] == 1)) && shapes_unify({ids[0]}, {logits[0]});
  if (!ok) throw Error("class ids must have shape [rows] or [rows, 1] with the logits' rows");
}

template <class T>
class Mse final : public Op<T> {
 public:
  std::string type() const override { return "mse"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    check_same_shape(in, "prediction and target");
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T *p = in[0]->data, *y = in[1]->data;
    double total = 0;
    for (std::size_t i = 0; i < in[0]->size; ++i) {
      const double d = double(p[i]) - double(y[i]);
      total += d * d;
    }
    out.data[0] = static_cast<T>(total / static_cast<double>(in[0]->size));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T> d = mean_grad(a.grad, a.inputs[0]) * (a.inputs[0] - a.inputs[1]) * T(2);
    return {d, -d};
  }
};

// Binary cross-entropy from logits: max(z,0) - z*y + log(1 + exp(-|z|)).
template <class T>
class SigmoidCrossEntropy final : public Op<T> {
 public:
  std::string type() const override { return "sigmoid_cross_entropy"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    check_same_shape(in, "logits and target");
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T *z = in[0]->data, *y = in[1]->data;
    double total = 0;
    for (std::size_t i = 0; i < in[0]->size; ++i)
      total += std::max(z[i], T(0)) - z[i] * y[i] + std::log1p(std::exp(-std::abs(z[i])));
    out.data[0] = static_cast<T>(total / static_cast<double>(in[0]->size));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&z = a.inputs[0], &y = a.inputs[1];
    const Node<T> m = mean_grad(a.grad, z);
    return {m * (sigmoid(z) - y), -(m * z)};
  }
};

template <class T>
constexpr T kProbabilityEps = std::is_same_v<T, float> ? T(1e-7) : T(1e-12);

template <class T> Node<T> bce_grad(const Node<T>& p, const Node<T>& y);

// d/dp of -(y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps]:
// (p - y) / (p (1 - p)) inside, 0 where clipped, NaN where p or y is NaN (a
// NaN probability is bad data, never a clipped one). Its own gradient (second
// order) with q = p (1 - p): d/dp = (1 - f (1 - 2p)) / q, d/dy = -1 / q.
template <class T>
struct BceGrad {
  static constexpr const char* name = "binary_cross_entropy_grad";
  static constexpr OpCode code = OpCode::binary_cross_entropy_grad;
  T f(T p, T y) const {
    const T eps = kProbabilityEps<T>;
    if (std::isnan(p) || std::isnan(y)) return p + y;
    if (!(p > eps && p < T(1) - eps)) return T(0);
    return (p - y) / (p * (T(1) - p));
  }
  std::pair<Node<T>, Node<T>> grad(const Node<T>& p, const Node<T>&, const Node<T>& f, const Node<T>& g) const {
    const T eps = kProbabilityEps<T>;
    const Node<T> pc = clip(p, eps, T(1) - eps), q = pc * (T(1) - pc);
    const Node<T> inside = step(p - eps) * step(scalar_like(p, T(1) - eps) - p);
    const Node<T> g_in = g * inside / q;
    return {g_in * (T(1) - f * (T(1) - pc * T(2))), -g_in};
  }
};

template <class T> Node<T> bce_grad(const Node<T>& p, const Node<T>& y) { return kit::binary<T, BceGrad>(p, y); }

// Binary cross-entropy from probabilities: the mean of
// -(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps] (the gradient
// for p is 0 where it was clipped). When p is a built-in sigmoid the graph
// compiler computes the value from the logits instead (rules bce_of_sigmoid
// and bce_of_sigmoid_gradient).
template <class T>
class BinaryCrossEntropy final : public Op<T> {
 public:
  static constexpr T eps = kProbabilityEps<T>;
  std::string type() const override { return "binary_cross_entropy"; }
  OpTraits traits() const override { return {OpCode::binary_cross_entropy, false, true}; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    check_same_shape(in, "probabilities and target");
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T *p = in[0]->data, *y = in[1]->data;
    double total = 0;
    for (std::size_t i = 0; i < in[0]->size; ++i) {
      const T pc = std::min(std::max(p[i], eps), T(1) - eps);
      total += y[i] * std::log(pc) + (T(1) - y[i]) * std::log(T(1) - pc);
    }
    out.data[0] = static_cast<T>(-total / static_cast<double>(in[0]->size));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&p = a.inputs[0], &y = a.inputs[1];
    const Node<T> m = mean_grad(a.grad, p), pc = clip(p, eps, T(1) - eps);
    return {m * bce_grad(p, y), m * (log(T(1) - pc) - log(pc))};
  }
};

// Mean over rows of -sum(onehot * log_softmax(logits)).
template <class T>
class SoftmaxCrossEntropy final : public Op<T> {
 public:
  std::string type() const override { return "softmax_cross_entropy"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    check_same_shape(in, "logits and labels");
    if (in[0].size() != 2) throw Error("logits must be 2-D [rows, classes]");
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t rows = in[0]->dims[0], c = in[0]->dims[1];
    const T *z = in[0]->data, *y = in[1]->data;
    double total = 0;
    // -log_softmax = log_sum - (z - m): the large logit cancels in z - m before any rounding
    vmath::for_each_log_sum_exp(z, rows, c, [z, y, c, &total](std::size_t r, T m, double log_sum) {
      double row = 0;  // a local sum: `total` in memory would be stored and reloaded per element
      for (std::size_t j = r * c; j < (r + 1) * c; ++j) row += double(y[j]) * (log_sum - double(z[j] - m));
      total += row;
    });
    out.data[0] = static_cast<T>(total / static_cast<double>(rows));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&z = a.inputs[0], &y = a.inputs[1];
    const Node<T> per_row = mean_grad(a.grad, z) * static_cast<T>(z.shape()[1]);  // g / rows
    // d/dz is softmax(z) * sum(y) - y: rows of y need not sum to 1 (smoothed or weighted labels)
    const Node<T> row_mass = expand_dims(reduce_sum(y, -1), -1);
    return {(softmax(z) * row_mass - y) * per_row, -(log_softmax(z) * per_row)};
  }
};

template <class T>
class SparseSoftmaxCrossEntropy final : public Op<T> {
 public:
  std::string type() const override { return "sparse_softmax_cross_entropy"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    check_class_ids(in[0], in[1]);
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t rows = in[0]->dims[0], c = in[0]->dims[1];
    double total = 0;
    vmath::for_each_log_sum_exp(in[0]->data, rows, c, [&](std::size_t r, T m, double log_sum) {
      total += log_sum - double(in[0]->data[r * c + class_index(in[1]->data[r], c, r, type())] - m);
    });
    out.data[0] = static_cast<T>(total / static_cast<double>(rows));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&z = a.inputs[0], &ids = a.inputs[1];
    const Node<T> per_row = mean_grad(a.grad, z) * static_cast<T>(z.shape()[1]);
    return {(softmax(z) - one_hot(ids, z.shape()[1])) * per_row, no_gradient<T>()};
  }
};

template <class T>
class OneHot final : public Op<T> {
 public:
  explicit OneHot(std::int64_t classes) : classes_(classes) {}
  std::string type() const override { return "one_hot"; }
  bool same_as(const Op<T>& o) const override {
    const OneHot* h = kit::same_class(*this, o);
    return h && h->classes_ == classes_;
  }
  std::string attributes() const override { return "classes=" + std::to_string(classes_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    if (classes_ <= 0) throw Error("the number of classes must be positive");
    check_class_ids(Shape{in[0].empty() ? 0 : in[0][0], classes_}, in[0]);
    checked_product(Shape{in[0][0], classes_}, sizeof(T), "the one-hot rows");  // rows x classes must not overflow
    return {in[0][0], classes_};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = static_cast<std::size_t>(classes_);
    for (std::size_t i = 0; i < out.size; ++i) out.data[i] = T(0);
    for (std::size_t r = 0; r < out.dims[0]; ++r) out.data[r * c + class_index(in[0]->data[r], c, r, type())] = T(1);
  }
  Nodes<T> backward(const GradArgs<T>&) const override { return {no_gradient<T>()}; }

 private:
  std::int64_t classes_;
};

}  // namespace

template <class T> Node<T> mse(const Node<T>& p, const Node<T>& y) { return kit::make<Mse<T>>(Nodes<T>{p, y}); }
template <class T> Node<T> sigmoid_cross_entropy(const Node<T>& z, const Node<T>& y) {
  return kit::make<SigmoidCrossEntropy<T>>(Nodes<T>{z, y});
}

template <class T> Node<T> binary_cross_entropy(const Node<T>& p, const Node<T>& y) {
  return kit::make<BinaryCrossEntropy<T>>(Nodes<T>{p, y});
}
template <class T> Node<T> softmax_cross_entropy(const Node<T>& z, const Node<T>& y) {
  return kit::make<SoftmaxCrossEntropy<T>>(Nodes<T>{z, y});
}
template <class T> Node<T> sparse_softmax_cross_entropy(const Node<T>& z, const Node<T>& ids) {
  return kit::make<SparseSoftmaxCrossEntropy<T>>(Nodes<T>{z, ids});
}
template <class T> Node<T> one_hot(const Node<T>& ids, std::int64_t classes) {
  return kit::make<OneHot<T>>(Nodes<T>{ids}, classes);
}

#define INSTANTIATE(T)                                                                 \
  template Node<T> mse<T>(const Node<T>&, const Node<T>&);                             \
  template Node<T> sigmoid_cross_entropy<T>(const Node<T>&, const Node<T>&);           \
  template Node<T> binary_cross_entropy<T>(const Node<T>&, const Node<T>&);            \
  template Node<T> softmax_cross_entropy<T>(const Node<T>&, const Node<T>&);           \
  template Node<T> sparse_softmax_cross_entropy<T>(const Node<T>&, const Node<T>&);    \
  template Node<T> one_hot<T>(const Node<T>&, std::int64_t);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"mse", "binary_cross_entropy", "binary_cross_entropy_grad", "sigmoid_cross_entropy", "softmax_cross_entropy", "sparse_softmax_cross_entropy", "one_hot"});
}  // namespace

}  // namespace graphnn
