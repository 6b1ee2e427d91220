#pragma once
// Static shapes. A dimension equal to `batch` is the leading dimension fixed
// only when the graph is fed; every other dimension is known when a node is made.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace graphnn {

using Shape = std::vector<std::int64_t>;   // static: may contain `batch`
using Dims = std::vector<std::size_t>;     // concrete: known at run time

inline constexpr std::int64_t batch = -1;

// "[batch, 2]", "[]" for a scalar.
std::string to_string(const Shape& s);
std::string to_string(const Dims& d);

// Unification, the one rule for "these dimensions must agree". `batch` is one
// unknown size shared by the whole graph (the feeds must agree on it), so a
// known size n meeting `batch` agrees and the result keeps n; the rule then
// binds the batch to n, and the session refuses a feed of another size when it
// binds the batch (TensorFlow checks an unknown dimension the same way, at run
// time). Two different known sizes throw graphnn::Error naming both.
std::int64_t unify_dims(std::int64_t a, std::int64_t b);
// Same rank and every dimension unified: the shape rule of ops that do not broadcast.
Shape unify_shapes(const Shape& a, const Shape& b);
// unify_shapes as a test: false when a and b do not unify; when they do, it
// binds the batch as unify_shapes does (for rules with their own message).
bool shapes_unify(const Shape& a, const Shape& b);

// numpy broadcasting of two static shapes, a size-1 dimension stretching and
// the other dimensions unified; throws graphnn::Error on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// True when `from` broadcasts (numpy rules, unifying `batch` in `from` with a
// known size) to exactly `to`.
bool broadcasts_to(const Shape& from, const Shape& to);

// While alive, records the size the shape rules on this thread bind the batch
// to (Graph::add wraps each op's shape rule in one: Op::infer returns only a
// shape, and the graph keeps the binding with the node). Scopes nest; a rule
// that binds the batch to two sizes throws.
class BatchBindingScope {
 public:
  BatchBindingScope();
  ~BatchBindingScope();
  BatchBindingScope(const BatchBindingScope&) = delete;
  BatchBindingScope& operator=(const BatchBindingScope&) = delete;
  // The bound size, or `batch` when no rule bound it.
  std::int64_t bound() const { return bound_; }
  // Called by unify_dims.
  void bind(std::int64_t size);

 private:
  std::int64_t bound_ = batch;
  BatchBindingScope* outer_;
};

// `s` with every `batch` replaced by `batch_size`.
Dims resolve(const Shape& s, std::size_t batch_size);

std::size_t num_elements(const Dims& d);
bool has_batch(const Shape& s);

}  // namespace graphnn
