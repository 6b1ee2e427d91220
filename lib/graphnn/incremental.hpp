#pragma once
// Incremental evaluation, for numerical differentiation (the gradient checker,
// the two_layer_digits sample): the fetch as a function of one element of one
// variable, recomputing only what that element changes.
//
// It works from a Session::inspect plan (the user's ops one by one, every
// value kept) and needs nothing from an op beyond what every op already
// declares: an element-wise op (Op::traits().elementwise) is rerun on just the
// output elements its changed inputs reach, through its own forward on small
// gathered buffers; a built-in matmul gets a rank-one update per changed
// element of one operand; any other op is rerun whole. Each recomputed element
// goes through the same kernel as in a full run.
#include <cstddef>
#include <memory>

#include "graphnn/session.hpp"

namespace graphnn {

template <class T>
class ElementFunction;

template <class T>
ElementFunction<T> element_function(Session<T>& session, const Node<T>& fetch, const Node<T>& variable,
                                    ArrayRef<Feed<T>> feeds = {});

// f(i, v): the sum of the fetch with element i of the variable set to v.
// Made with one full run whose values it keeps; it sees the variables and
// feeds as they were then. The feeds and the session must outlive it.
template <class T>
class ElementFunction {
 public:
  ElementFunction(ElementFunction&&) noexcept;
  ElementFunction& operator=(ElementFunction&&) noexcept;
  ~ElementFunction();

  // The sum of the fetch with variable[index] = value; the variable, and every
  // value of the kept run, is left as it was (also when a kernel throws).
  double operator()(std::size_t index, T value);
  // Elements of the variable.
  std::size_t size() const;

 private:
  friend ElementFunction element_function<T>(Session<T>&, const Node<T>&, const Node<T>&, ArrayRef<Feed<T>>);
  struct State;
  explicit ElementFunction(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

extern template class ElementFunction<float>;
extern template class ElementFunction<double>;
extern template ElementFunction<float> element_function<float>(Session<float>&, const Node<float>&, const Node<float>&,
                                                               ArrayRef<Feed<float>>);
extern template ElementFunction<double> element_function<double>(Session<double>&, const Node<double>&,
                                                                 const Node<double>&, ArrayRef<Feed<double>>);

}  // namespace graphnn
