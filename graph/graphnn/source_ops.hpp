#pragma once
// The leaves of a graph: placeholders (fed), variables (held by sessions),
// constants (held by the graph). They compute nothing and stop gradients.
#include "graphnn/op.hpp"

namespace graphnn {

template <class T>
class SourceOp : public Op<T> {
 public:
  Shape infer(const std::vector<Shape>&) const override { return {}; }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {}
};

template <class T>
class PlaceholderOp final : public SourceOp<T> {
 public:
  std::string type() const override { return "placeholder"; }
  OpKind kind() const override { return OpKind::placeholder; }
};

template <class T>
class VariableOp final : public SourceOp<T> {
 public:
  explicit VariableOp(xt::xarray<T> initial) : initial_(std::move(initial)) {}
  std::string type() const override { return "variable"; }
  OpKind kind() const override { return OpKind::variable; }
  const xt::xarray<T>* value() const override { return &initial_; }

 private:
  xt::xarray<T> initial_;
};

template <class T>
class ConstantOp final : public SourceOp<T> {
 public:
  explicit ConstantOp(xt::xarray<T> value) : value_(std::move(value)) {}
  std::string type() const override { return "constant"; }
  OpKind kind() const override { return OpKind::constant; }
  const xt::xarray<T>* value() const override { return &value_; }

 private:
  xt::xarray<T> value_;
};

}  // namespace graphnn
