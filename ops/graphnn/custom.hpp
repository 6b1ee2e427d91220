#pragma once
// Custom ops from a forward function and its local derivative, both written
// on xtensor expressions:
//
//   auto softsign = gn::elementwise<double>("softsign",
//       [](const auto& z) { return z / (1.0 + xt::abs(z)); },
//       [](const auto& z) { return 1.0 / xt::square(1.0 + xt::abs(z)); });
//   auto a = softsign(x);
//
//   auto my_loss = gn::custom_loss<double>("exp_loss", f, df_da);  // mean of f(a, y)
//   auto l = my_loss(a, y);
//
// The chain rule is graphnn's: the gradient is dL/dy * derivative(x). The
// derivative node itself has no gradient (a custom op gives one order).
// An op whose gradient is built from graph ops is a subclass of Op<T>; see
// ops/activations.cpp and the README ("Adding an op").
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include "graphnn/ops.hpp"

namespace graphnn {

namespace custom_detail {

// A 1-D view of n contiguous values, without allocation.
template <class P>
auto view(P* data, std::size_t n) {
  return xt::adapt(data, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

inline void check_same_shape(const Shape& a, const Shape& b, const std::string& what) {
  if (a != b) throw Error(what + " must have the same shape");
}

}  // namespace custom_detail

// y = f(x) element-wise; `derivative` is another CustomUnaryOp (f'), or null.
template <class T>
class CustomUnaryOp final : public Op<T> {
 public:
  using Kernel = std::function<void(const T*, T*, std::size_t)>;
  CustomUnaryOp(std::string name, Kernel f, std::shared_ptr<const CustomUnaryOp> derivative)
      : name_(std::move(name)), f_(std::move(f)), derivative_(std::move(derivative)) {}
  std::string type() const override { return name_; }
  // Element-wise: fusable with its neighbours; opaque to every rewrite rule.
  OpTraits traits() const override { return {OpCode::opaque, true, true}; }
  Shape infer(const std::vector<Shape>& in) const override {
    if (in.size() != 1) throw Error("expects 1 input");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    f_(in[0]->data, out.data, out.size);
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    if (!derivative_) return Op<T>::backward(a);
    return {a.grad * a.inputs[0].graph()->add(derivative_, {a.inputs[0]})};
  }

 private:
  std::string name_;
  Kernel f_;
  std::shared_ptr<const CustomUnaryOp> derivative_;
};

// out = f(a, y) element-wise (a custom loss's local derivative); no gradient.
template <class T>
class CustomBinaryOp final : public Op<T> {
 public:
  using Kernel = std::function<void(const T*, const T*, T*, std::size_t)>;
  CustomBinaryOp(std::string name, Kernel f) : name_(std::move(name)), f_(std::move(f)) {}
  std::string type() const override { return name_; }
  OpTraits traits() const override { return {OpCode::opaque, true, true}; }
  Shape infer(const std::vector<Shape>& in) const override {
    if (in.size() != 2) throw Error("expects 2 inputs");
    custom_detail::check_same_shape(in[0], in[1], "prediction and target");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    f_(in[0]->data, in[1]->data, out.data, out.size);
  }

 private:
  std::string name_;
  Kernel f_;
};

// mean(f(a, y)) over all elements; its gradient for a is mean_grad * f'(a, y).
template <class T>
class CustomLossOp final : public Op<T> {
 public:
  using Kernel = std::function<double(const T*, const T*, std::size_t)>;
  CustomLossOp(std::string name, Kernel sum, std::shared_ptr<const CustomBinaryOp<T>> derivative)
      : name_(std::move(name)), sum_(std::move(sum)), derivative_(std::move(derivative)) {}
  std::string type() const override { return name_; }
  Shape infer(const std::vector<Shape>& in) const override {
    if (in.size() != 2) throw Error("expects 2 inputs");
    custom_detail::check_same_shape(in[0], in[1], "prediction and target (after broadcasting the target)");
    return {};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    out.data[0] = static_cast<T>(sum_(in[0]->data, in[1]->data, in[0]->size) / static_cast<double>(in[0]->size));
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&p = a.inputs[0], &y = a.inputs[1];
    return {mean_grad(a.grad, p) * p.graph()->add(derivative_, {p, y}), no_gradient<T>()};
  }

 private:
  std::string name_;
  Kernel sum_;
  std::shared_ptr<const CustomBinaryOp<T>> derivative_;
};

// A callable that applies a custom element-wise op to a node.
template <class T>
class ElementwiseFn {
 public:
  explicit ElementwiseFn(std::shared_ptr<const CustomUnaryOp<T>> op) : op_(std::move(op)) {}
  Node<T> operator()(const Node<T>& x) const {
    if (!x.valid()) throw Error("op '" + op_->type() + "': empty node (default-constructed Node is not part of any graph)");
    return x.graph()->add(op_, {x});
  }
  std::string name() const { return op_->type(); }
  OpPtr<T> op() const { return op_; }

 private:
  std::shared_ptr<const CustomUnaryOp<T>> op_;
};

// A callable that applies a custom loss to (prediction, target).
template <class T>
class LossFn {
 public:
  explicit LossFn(std::shared_ptr<const CustomLossOp<T>> op) : op_(std::move(op)) {}
  // A target that broadcasts to the prediction's shape (e.g. labels [batch, 1]
  // against outputs [batch, 4]) is broadcast first, as numpy would.
  Node<T> operator()(const Node<T>& a, const Node<T>& y) const {
    if (!a.valid()) throw Error("op '" + op_->type() + "': empty node (default-constructed Node is not part of any graph)");
    if (y.valid() && y.graph() == a.graph() && y.shape() != a.shape() && broadcasts_to(y.shape(), a.shape()))
      return a.graph()->add(op_, {a, broadcast_to(y, a)});
    return a.graph()->add(op_, {a, y});
  }
  std::string name() const { return op_->type(); }

 private:
  std::shared_ptr<const CustomLossOp<T>> op_;
};

// Custom ops by name, so a saved model that uses one can find it again when
// loaded: creating a custom op registers it (a newer one of the same name wins).
template <class T, class Fn>
std::map<std::string, Fn>& custom_registry() {
  static std::map<std::string, Fn> registry;
  return registry;
}
template <class T>
const ElementwiseFn<T>* find_elementwise(const std::string& name) {
  auto& r = custom_registry<T, ElementwiseFn<T>>();
  auto it = r.find(name);
  return it == r.end() ? nullptr : &it->second;
}
template <class T>
const LossFn<T>* find_custom_loss(const std::string& name) {
  auto& r = custom_registry<T, LossFn<T>>();
  auto it = r.find(name);
  return it == r.end() ? nullptr : &it->second;
}

template <class T, class F, class DF>
ElementwiseFn<T> elementwise(const std::string& name, F forward, DF derivative) {
  using custom_detail::view;
  auto kernel = [](auto f) {
    return [f](const T* x, T* y, std::size_t n) {
      auto in = view(x, n);
      auto out = view(y, n);
      xt::noalias(out) = f(in);
    };
  };
  auto d = std::make_shared<const CustomUnaryOp<T>>(name + "'", kernel(derivative), nullptr);
  ElementwiseFn<T> fn(std::make_shared<const CustomUnaryOp<T>>(name, kernel(forward), d));
  custom_registry<T, ElementwiseFn<T>>().insert_or_assign(name, fn);
  return fn;
}

template <class T, class F, class DF>
LossFn<T> custom_loss(const std::string& name, F f, DF df_da) {
  using custom_detail::view;
  auto sum = [f](const T* a, const T* y, std::size_t n) {
    auto va = view(a, n);
    auto vy = view(y, n);
    auto e = f(va, vy);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += static_cast<double>(e(i));
    return total;
  };
  auto derivative = [df_da](const T* a, const T* y, T* out, std::size_t n) {
    auto va = view(a, n);
    auto vy = view(y, n);
    auto vo = view(out, n);
    xt::noalias(vo) = df_da(va, vy);
  };
  auto d = std::make_shared<const CustomBinaryOp<T>>(name + "'", derivative);
  LossFn<T> fn(std::make_shared<const CustomLossOp<T>>(name, sum, d));
  custom_registry<T, LossFn<T>>().insert_or_assign(name, fn);
  return fn;
}

}  // namespace graphnn
