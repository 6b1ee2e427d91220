// Variable updates. An assignment writes into the variable's own storage (its
// output aliases it) and runs after every other node of a Session::run.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

enum class Mode { set, add, sub };

template <class T>
class Assign final : public Op<T> {
 public:
  explicit Assign(Mode mode) : mode_(mode) {}
  std::string type() const override {
    return mode_ == Mode::set ? "assign" : mode_ == Mode::add ? "assign_add" : "assign_sub";
  }
  OpKind kind() const override { return OpKind::assign; }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    if (!shapes_unify(broadcast_shapes(in[0], in[1]), in[0]))
      throw Error("value " + to_string(in[1]) + " does not fit variable " + to_string(in[0]));
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    switch (mode_) {
      case Mode::set: kit::binary_map(*in[0], *in[1], out, [](T, T v) { return v; }); break;
      case Mode::add: kit::binary_map(*in[0], *in[1], out, [](T x, T v) { return x + v; }); break;
      case Mode::sub: kit::binary_map(*in[0], *in[1], out, [](T x, T v) { return x - v; }); break;
    }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    throw Error("gradients: '" + a.output.name() + "' is an assignment; differentiate the value it assigns");
  }

 private:
  Mode mode_;
};

template <class T>
Node<T> make_assign(const Node<T>& variable, const Node<T>& value, Mode mode) {
  if (variable.valid() && variable.graph()->data(variable).op->kind() != OpKind::variable)
    throw Error("op 'assign': " + describe(variable) + " is not a variable");
  return kit::make<Assign<T>>(Nodes<T>{variable, value}, mode);
}

}  // namespace

template <class T> Node<T> assign(const Node<T>& v, const Node<T>& x) { return make_assign(v, x, Mode::set); }
template <class T> Node<T> assign_add(const Node<T>& v, const Node<T>& x) { return make_assign(v, x, Mode::add); }
template <class T> Node<T> assign_sub(const Node<T>& v, const Node<T>& x) { return make_assign(v, x, Mode::sub); }

#define INSTANTIATE(T)                                                 \
  template Node<T> assign<T>(const Node<T>&, const Node<T>&);          \
  template Node<T> assign_add<T>(const Node<T>&, const Node<T>&);      \
  template Node<T> assign_sub<T>(const Node<T>&, const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"assign", "assign_add", "assign_sub"});
}  // namespace

}  // namespace graphnn
