// What the custom-op registry (graphnn/custom.hpp) needs outside its templates:
// the reserved names (graphnn/op_names.hpp), and the one lock over its maps.
#include <atomic>
#include <set>

#include "graphnn/custom.hpp"

namespace graphnn {

namespace {

// Filled while the library loads (each op file's namespace-scope line), read after.
std::set<std::string>& reserved_names() {
  static std::set<std::string> names;
  return names;
}

}  // namespace

bool reserve_builtin_op_names(std::initializer_list<const char*> names) {
  for (const char* name : names) reserved_names().insert(name);
  return true;
}

bool is_builtin_op_name(const std::string& name) { return reserved_names().count(name) != 0; }

namespace {
// The graph's leaves (graph/graphnn/source_ops.hpp).
[[maybe_unused]] const bool leaves_reserved = reserve_builtin_op_names({"placeholder", "variable", "constant"});
}  // namespace

namespace custom_detail {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

unsigned long next_incomparable() {
  static std::atomic<unsigned long> n{0};
  return ++n;
}

}  // namespace custom_detail
}  // namespace graphnn
