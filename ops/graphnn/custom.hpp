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
#include <deque>
#include <mutex>
#include <type_traits>
#include <typeinfo>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include "graphnn/op_names.hpp"
#include "graphnn/ops.hpp"

namespace graphnn {

namespace custom_detail {

// A 1-D view of n contiguous values, without allocation.
template <class P>
auto view(P* data, std::size_t n) {
  return xt::adapt(data, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

inline void check_same_shape(const Shape& a, const Shape& b, const std::string& what) {
  if (!shapes_unify(a, b)) throw Error(what + " must have the same shape");
}

// Whether an xtensor expression type holds a reference to an expression or
// array other than the function's arguments `Args`. xtensor expressions keep
// their lvalue operands by reference: in `auto s = 1.0 / (1.0 + xt::exp(-z));
// return s * z;` the result refers to the local `s`, which is gone when the
// function returns, and evaluating it reads freed memory. A returned container
// (xt::eval) or an expression of the arguments, temporaries and named numbers
// (pi, a captured alpha) is safe.
template <class E, class... Args>
struct refers_to_local : std::false_type {};
template <class R, class... Args>
struct refers_to_local<R&, Args...>
    : std::bool_constant<!std::is_arithmetic_v<std::remove_cv_t<R>> &&
                         !(std::is_same_v<std::remove_cv_t<R>, std::remove_cv_t<Args>> || ...)> {};
template <template <class...> class Tmpl, class... Ts, class... Args>
struct refers_to_local<Tmpl<Ts...>, Args...> : std::bool_constant<(refers_to_local<Ts, Args...>::value || ...)> {};

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

// What defining a custom op under a name that is taken does.
enum class Redefine {
  refuse,   // throw, unless it is the same functions again: then the op defined first is returned
  replace,  // the new definition wins (handles made before keep the op they were made with)
};


namespace custom_detail {

// One definition: the callable, and what identifies the functions that made it.
template <class Fn>
struct Definition {
  Fn fn;
  std::string functions;
};

// Guards every registry below: ops may be defined and looked up from several threads.
std::mutex& registry_mutex();

// Custom ops by name, so a saved model that uses one can find it again when
// loaded. A Definition is never changed or freed once made (a replacement is a
// new one), so a pointer that find returned stays valid and unchanged while
// another thread redefines the name.
template <class T, class Fn>
std::map<std::string, const Definition<Fn>*>& registry() {
  static std::map<std::string, const Definition<Fn>*> r;
  return r;
}
template <class T, class Fn>
const Definition<Fn>* keep(Definition<Fn> d) {  // call with registry_mutex() held
  static std::deque<Definition<Fn>> all;
  all.push_back(std::move(d));
  return &all.back();
}

unsigned long next_incomparable();  // a fresh number, for functions whose captures cannot be compared

// What makes two definitions "the same functions": the closure's type (one per
// lambda expression, so the same lambda again, not a copy of its text), and
// its captured values when they can be compared as bytes (a captured double,
// a reference). Closures holding something else (a std::vector) are never the
// same as another; redefining such an op needs Redefine::replace.
template <class F>
std::string identity_of(const F& f) {
  std::string id = typeid(F).name();
  if constexpr (std::is_empty_v<F>) {
    return id;
  } else if constexpr (std::is_trivially_copyable_v<F>) {
    return id + ":" + std::string(reinterpret_cast<const char*>(&f), sizeof(F));
  } else {
    return id + ":#" + std::to_string(next_incomparable());
  }
}

// Registers `fn` under `name` and returns the op the name now stands for.
template <class T, class Fn>
Fn define(const char* what, const std::string& name, Fn fn, std::string functions, Redefine redefine) {
  if (name.empty()) throw Error(std::string(what) + ": a custom op needs a name");
  if (is_builtin_op_name(name))
    throw Error(std::string(what) + ": '" + name + "' is the name of a built-in op; give the custom op a name of " +
                "its own (a model or set_classifier/set_loss would otherwise find one in place of the other)");
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry<T, Fn>();
  auto it = r.find(name);
  if (it != r.end() && redefine == Redefine::refuse) {
    if (it->second->functions == functions) return it->second->fn;
    throw Error(std::string(what) + ": a custom op named '" + name + "' is already defined by other functions " +
                "(or by a lambda whose captured values differ or cannot be compared); pass gn::Redefine::replace " +
                "to replace it");
  }
  const Definition<Fn>* d = keep<T, Fn>({std::move(fn), std::move(functions)});
  r[name] = d;
  return d->fn;
}

template <class T, class Fn>
const Fn* find(const std::string& name) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry<T, Fn>();
  auto it = r.find(name);
  return it == r.end() ? nullptr : &it->second->fn;
}

}  // namespace custom_detail

template <class T>
const ElementwiseFn<T>* find_elementwise(const std::string& name) {
  return custom_detail::find<T, ElementwiseFn<T>>(name);
}
template <class T>
const LossFn<T>* find_custom_loss(const std::string& name) {
  return custom_detail::find<T, LossFn<T>>(name);
}

namespace custom_detail {

// y = f(x) element-wise, f on xtensor expressions or on scalars.
template <class T, class F, bool derivative>
auto unary_kernel(F f) {
  return [f](const T* x, T* y, std::size_t n) {
    if constexpr (!std::is_invocable_v<F, decltype(view(x, n))>) {  // on scalars: nothing can dangle
      static_assert(std::is_invocable_v<F, T>, "graphnn::elementwise: a function takes one xtensor expression "
                                               "([](const auto& z) { ... }) or one number ([](double z) { ... })");
      for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<T>(f(x[i]));
    } else {
      auto in = view(x, n);
      auto out = view(y, n);
      using Result = std::decay_t<decltype(f(in))>;
      static_assert(derivative || !refers_to_local<Result, decltype(in)>::value,
                    "graphnn::elementwise: the forward function returns an xtensor expression that refers to a local "
                    "variable (an `auto` intermediate expression or array), which is gone once it returns. Return "
                    "xt::eval(expression), or write the function on scalars: [](double z) { ... }");
      static_assert(!derivative || !refers_to_local<Result, decltype(in)>::value,
                    "graphnn::elementwise: the derivative returns an xtensor expression that refers to a local "
                    "variable (an `auto` intermediate expression or array), which is gone once it returns. Return "
                    "xt::eval(expression), or write the derivative on scalars: [](double z) { ... }");
      xt::noalias(out) = f(in);
    }
  };
}

// f(a, y) element-wise over a prediction and a target, f on expressions or scalars.
template <class T, class F, bool derivative, class Each>
void binary_kernel(const F& f, const T* a, const T* y, std::size_t n, Each&& each) {
  if constexpr (!std::is_invocable_v<F, decltype(view(a, n)), decltype(view(y, n))>) {  // on scalars
    static_assert(std::is_invocable_v<F, T, T>, "graphnn::custom_loss: a function takes two xtensor expressions "
                                                "([](const auto& a, const auto& y) { ... }) or two numbers");
    for (std::size_t i = 0; i < n; ++i) each(i, f(a[i], y[i]));
  } else {
    auto va = view(a, n);
    auto vy = view(y, n);
    using Result = std::decay_t<decltype(f(va, vy))>;
    static_assert(derivative || !refers_to_local<Result, decltype(va)>::value,
                  "graphnn::custom_loss: the loss function returns an xtensor expression that refers to a local "
                  "variable (an `auto` intermediate expression or array), which is gone once it returns. Return "
                  "xt::eval(expression), or write it on scalars: [](double a, double y) { ... }");
    static_assert(!derivative || !refers_to_local<Result, decltype(va)>::value,
                  "graphnn::custom_loss: the derivative returns an xtensor expression that refers to a local "
                  "variable (an `auto` intermediate expression or array), which is gone once it returns. Return "
                  "xt::eval(expression), or write it on scalars: [](double a, double y) { ... }");
    const auto e = f(va, vy);
    for (std::size_t i = 0; i < n; ++i) each(i, e(i));
  }
}

}  // namespace custom_detail

// f and its derivative on xtensor expressions ([](const auto& z) { ... }) or
// on scalars ([](double z) { ... }).
template <class T, class F, class DF>
ElementwiseFn<T> elementwise(const std::string& name, F forward, DF derivative, Redefine redefine = Redefine::refuse) {
  auto d = std::make_shared<const CustomUnaryOp<T>>(name + "'", custom_detail::unary_kernel<T, DF, true>(derivative),
                                                    nullptr);
  ElementwiseFn<T> fn(
      std::make_shared<const CustomUnaryOp<T>>(name, custom_detail::unary_kernel<T, F, false>(forward), d));
  return custom_detail::define<T>("elementwise", name, std::move(fn),
                                  custom_detail::identity_of(forward) + "|" + custom_detail::identity_of(derivative),
                                  redefine);
}

// f(a, y) and df/da on xtensor expressions or on scalars.
template <class T, class F, class DF>
LossFn<T> custom_loss(const std::string& name, F f, DF df_da, Redefine redefine = Redefine::refuse) {
  auto sum = [f](const T* a, const T* y, std::size_t n) {
    double total = 0;
    custom_detail::binary_kernel<T, F, false>(f, a, y, n, [&](std::size_t, auto v) { total += static_cast<double>(v); });
    return total;
  };
  auto derivative = [df_da](const T* a, const T* y, T* out, std::size_t n) {
    custom_detail::binary_kernel<T, DF, true>(df_da, a, y, n, [out](std::size_t i, auto v) { out[i] = static_cast<T>(v); });
  };
  auto d = std::make_shared<const CustomBinaryOp<T>>(name + "'", derivative);
  LossFn<T> fn(std::make_shared<const CustomLossOp<T>>(name, sum, d));
  return custom_detail::define<T>("custom_loss", name, std::move(fn),
                                  custom_detail::identity_of(f) + "|" + custom_detail::identity_of(df_da), redefine);
}

}  // namespace graphnn
