#pragma once
// The one exception type graphnn throws on user input.
#include <stdexcept>
#include <string>

namespace graphnn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace graphnn
