#pragma once
// What the graph compiler does to a session's plans, and how to switch it off.
// Session::plan_summary reports a compiled plan; to_dot(PlanSummary) draws it.
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

namespace graphnn {

// The passes a session runs when it compiles a plan. Every rule can be turned
// off by name, and all of them together, so that a fast path can always be
// compared with the graph exactly as written.
struct PassOptions {
  bool enabled = true;                // false: the plan runs the user's nodes as built
  std::vector<std::string> disabled;  // rule names to skip (rule_names() lists them)
  // Every run also runs the plan compiled without passes, on copies of the
  // variables, and throws graphnn::Error when a fetched value or an updated
  // variable differs by more than a relative 1e-12 (float64; 1e-4 for float32).
  bool verify = false;

  // The defaults, changed by the environment: GRAPHNN_PASSES=off turns every
  // pass off; GRAPHNN_PASSES=no-cse,no-elementwise_fusion skips the named
  // rules; GRAPHNN_VERIFY_PASSES=1 turns verify on.
  static PassOptions from_environment();
};

struct SessionOptions {
  PassOptions passes = PassOptions::from_environment();
  // Stop a run at the first node whose output holds a NaN or an infinity, with
  // an Error naming the node, its op and the ranges of its inputs (TensorFlow's
  // check_numerics). Off, it costs one branch per run.
  bool check_numerics = false;
  // How many compiled plans a session keeps (one per fetch set and batch
  // size); past it the least recently used is dropped and compiled again if
  // asked for, so a server's predict on ever new row counts stays bounded.
  std::size_t plan_cache_size = 32;
};

// Every rule and pass name PassOptions::disabled accepts, in the order they run.
const std::vector<std::string>& rule_names();

struct RuleCount {
  std::string rule;
  std::size_t count = 0;  // times it rewrote the graph of this plan
};

struct FusedGroup {
  std::string node;                  // the fused node of the plan
  std::vector<std::string> members;  // "name (op)", in evaluation order; the last is the group's output
};

// One node of a compiled plan, for drawing it.
struct PlanNode {
  std::string name, op, attributes, shape;
  std::vector<std::size_t> inputs;  // indices into PlanSummary::nodes
  std::vector<std::string> members;  // a fused node's members
  bool leaf = false;                 // placeholder, variable or constant
  bool assign = false;
};

struct PlanSummary {
  bool passes = true;
  std::size_t nodes_before = 0;  // compute and assign nodes the fetches need, as the user built them
  std::size_t nodes_after = 0;   // the same after the passes: one kernel each per step
  std::vector<RuleCount> rules;
  std::vector<FusedGroup> groups;
  std::size_t buffers = 0;      // values the plan holds (arena blocks, aliases, leaves)
  std::size_t arena_bytes = 0;  // the planned memory for intermediate values (the arena and the allreduce buckets)
  std::size_t kernels = 0;      // kernel calls per run
  std::vector<PlanNode> nodes;
};

std::ostream& operator<<(std::ostream& os, const PlanSummary& s);

// Graphviz text of a compiled plan: a fused group is one node listing its members.
std::string to_dot(const PlanSummary& plan);

}  // namespace graphnn
