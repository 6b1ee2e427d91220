#pragma once
// The model file's payload (inside the container of serialize.hpp): the
// architecture, the normaliser and every saved variable, in that order. Kept
// apart from the model so that the format is read and written in one place.
#include <string>

#include "model_graph.hpp"

namespace graphnn {

// Writes `model` (built) to `path`, atomically.
template <class T>
void save_model_file(ModelGraph<T>& model, const std::string& path);

// Fills `model`, fresh, from the file at `path`; errors name the file.
template <class T>
void load_model_file(const std::string& path, ModelGraph<T>& model);

}  // namespace graphnn
