#pragma once
// The names custom ops may not take. Ops are found by name where a graph is
// rebuilt from text (a loaded model's activations, set_classifier, set_loss),
// so a custom op called "relu" would be hidden there by the built-in, and it
// would read as the built-in in to_dot and in error messages.
//
// Each file that defines built-in ops (ops/*.cpp), and each list of names the
// training stack looks up (lib/layers.cpp, lib/model_graph.cpp), reserves its
// names with one line when the library loads, so a new op states its name
// next to its kernel and nowhere else. tests/test_custom.cpp checks that the
// type of every node the builders make is reserved.
#include <initializer_list>
#include <string>

namespace graphnn {

// True for the name of a built-in op or of a built-in activation or loss
// ("relu", "sigmoid", "matmul", "identity", "cross_entropy", ...).
bool is_builtin_op_name(const std::string& name);

// Adds names to the reserved ones; returns true (for a namespace-scope
// `const bool reserved = reserve_builtin_op_names({...});`).
bool reserve_builtin_op_names(std::initializer_list<const char*> names);

}  // namespace graphnn
