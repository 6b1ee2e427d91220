#pragma once
// Op<T>: what a node computes. One subclass per op, in ops/: its shape rule
// (infer), its kernel (forward) and its gradient rule (backward) side by side.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "graphnn/node.hpp"
#include "graphnn/shape.hpp"

namespace graphnn {

// A planned tensor: contiguous row-major storage owned by the session's plan,
// a variable, a constant or a feed.
template <class T>
struct Buffer {
  T* data = nullptr;
  Dims dims;
  std::size_t size = 0;
  // Scratch for this step alone (Op::workspace_size elements), planned in the
  // session's arena like any buffer; null when the op asks for none.
  T* workspace = nullptr;
};

// What a gradient rule sees: the node's inputs, its output and dL/d(output),
// all as graph nodes, so the rule builds more graph (gradients of gradients work).
template <class T>
struct GradArgs {
  const Nodes<T>& inputs;
  Node<T> output;
  Node<T> grad;
};

// The gradient for an input the output does not depend on differentiably
// (class ids, masks, comparisons): the one spelling of "no gradient".
template <class T>
Node<T> no_gradient() {
  return Node<T>();
}

enum class OpKind { compute, placeholder, variable, constant, assign };

// An op's identity for the graph compiler's rewrite rules (graph/passes/):
// rules match these, never the user-visible type string, so a custom op that
// calls itself "sigmoid" is never taken for the built-in one. Opaque: no rule
// looks inside.
enum class OpCode {
  opaque, add, sub, mul, neg, add_n, transpose, matmul, ones_like, zeros_like,
  sigmoid, sigmoid_grad, binary_cross_entropy, binary_cross_entropy_grad, plain_sgd_update, relu_grad,
};

// What the compiler may assume of an op beyond its kernel.
struct OpTraits {
  OpCode code = OpCode::opaque;
  // Output element i reads only element i of each input (under numpy
  // broadcasting), so the kernel gives the right rows when run on any block of
  // leading rows: element-wise fusion runs it block by block.
  bool elementwise = false;
  // Same inputs, same output: constant folding and CSE may evaluate it once
  // (a random mask may not).
  bool pure = true;
};

// An op that combines a buffer across processes (ops/allreduce.cpp). Its step
// only puts the input in place; the plan groups neighbouring ones into buckets
// laid out contiguously, starts a bucket right after its last member's step
// and waits for it before the first step that reads it, so the transfer
// overlaps the steps in between (graph/collectives.hpp).
template <class T>
class Op;

template <class T>
class Collective {
 public:
  // One bucket's operation on `size` elements, made when a plan is compiled
  // and reused by every run of it. wait() after start() only.
  class Bucket {
   public:
    virtual ~Bucket() = default;
    // The bucket's storage, which it owns (shared memory, say): the planner
    // puts its members' values here back to back, so nothing is copied in.
    virtual T* data() = 0;
    virtual void start() = 0;
    virtual void wait() = 0;
    // Called after every step while the bucket is in flight: MPI moves a
    // non-blocking collective forward only inside MPI calls.
    virtual void progress() {}
    // The run ended early on this process (an error, `why`), or it ran to
    // its end: the processes may no longer meet in the same collectives.
    virtual void run_interrupted(const std::string& /*why*/) {}
    virtual void run_completed() {}
  };
  virtual ~Collective() = default;
  // Every process compiles (and drops) the same plans in the same order, so
  // making and destroying a bucket may be collective calls (persistent
  // requests, shared-memory windows).
  virtual std::unique_ptr<Bucket> bucket(std::size_t size) const = 0;
  // Ops whose members may share a bucket (the same operation on the same processes).
  virtual bool combines_with(const Collective<T>& other) const = 0;
  // The largest bucket, in bytes.
  virtual std::size_t bucket_bytes() const = 0;
  // A collective whose result is the sum over the processes of its input
  // times a factor (a mean: 1 / processes) may instead take inputs already
  // multiplied by it, when that gives the same bits: input_scale() is then the
  // factor and with_scaled_inputs() that op. The compiler's rule
  // mean_scale_into_product moves the factor onto the GEMM that computes the
  // input, which saves the pass over the bucket after the transfer.
  virtual std::optional<T> input_scale() const { return std::nullopt; }
  virtual std::shared_ptr<const Op<T>> with_scaled_inputs() const { return nullptr; }
};

// What an op changes from run to run (dropout's random stream). An op is
// shared by every Session over its graph, and sessions may run on several
// threads, so such state lives in each session: the session asks the op for
// a fresh one (Op::make_state) and passes it back at every run.
class OpState {
 public:
  virtual ~OpState() = default;
};

template <class T>
class Op {
 public:
  virtual ~Op() = default;

  // The op's name as users know it ("matmul", "relu", "softsign").
  virtual std::string type() const = 0;
  // Static output shape from the input shapes; throws Error (the graph adds
  // the op, node and input names and shapes to the message).
  virtual Shape infer(const std::vector<Shape>& inputs) const = 0;
  // Writes the output buffer (already sized) from the input buffers.
  virtual void forward(const std::vector<const Buffer<T>*>& inputs, Buffer<T>& out) const = 0;
  // One gradient per input, built with graph ops; an empty Node means zero.
  // The default says the op has no gradient rule.
  virtual Nodes<T> backward(const GradArgs<T>& args) const;
  // Ops with run-to-run state: a fresh state for one session (nullptr: the op
  // has none). A session runs such an op only by the forward below, with it.
  virtual std::unique_ptr<OpState> make_state() const { return nullptr; }
  virtual void forward_with_state(const std::vector<const Buffer<T>*>& inputs, Buffer<T>& out, OpState& state) const {
    (void)state;
    forward(inputs, out);
  }

  virtual OpKind kind() const { return OpKind::compute; }
  virtual OpTraits traits() const { return {}; }
  // True when `other` computes the same function of the same inputs, so two
  // nodes of the two ops on the same inputs are one (common-subexpression
  // elimination). By default only the op itself is: an op must say more.
  virtual bool same_as(const Op<T>& other) const { return this == &other; }
  // >= 0: the output is input k's storage, unchanged (reshape, stop_gradient)
  // or updated in place (assign); the plan allocates nothing for it.
  virtual int alias_input() const { return -1; }
  // Elements of scratch the kernel needs for one run with these input and
  // output dims (im2col tiles); the planner places it in the arena for the
  // step alone, so a step allocates nothing. Handed to forward as out.workspace.
  virtual std::size_t workspace_size(const std::vector<Dims>& /*inputs*/, const Dims& /*out*/) const { return 0; }
  // >= 0: the output may be written over input k, which the planner allows
  // when nothing else reads that input's storage; the kernel works either way.
  virtual int may_overwrite_input() const { return -1; }
  // Non-null for an op that works across processes (see Collective).
  virtual const Collective<T>* collective() const { return nullptr; }
  // Values held by the op itself (constants; a variable's initial value).
  virtual const xt::xarray<T>* value() const { return nullptr; }
  // Extra text for to_dot and error messages ("axis=1").
  virtual std::string attributes() const { return {}; }
};

template <class T>
using OpPtr = std::shared_ptr<const Op<T>>;

}  // namespace graphnn
