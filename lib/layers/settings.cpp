// The settings text the conv layers share: sizes ("5x5") and pool settings.
#include <cstdio>

#include "graphnn/conv_layers.hpp"

namespace graphnn {

std::string size2_text(Size2 s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

Size2 parse_size2(const std::string& text, const std::string& what) {
  std::size_t h = 0, w = 0;
  char x = 0;
  if (std::sscanf(text.c_str(), "%zu%c%zu", &h, &x, &w) != 3 || x != 'x')
    throw Error(what + ": '" + text + "' is not a size like 5x5");
  return Size2(h, w);
}

LayerConfig PoolSettings::config() const {
  return {{"window", size2_text(window)}, {"stride", size2_text(effective_stride())}, {"padding", padding.to_string()}};
}

std::string PoolSettings::describe(const std::string& kind) const {
  return kind + "(" + size2_text(window) + ", stride " + size2_text(effective_stride()) + ", " + padding.to_string() + ")";
}

PoolSettings PoolSettings::parse(const LayerConfig& c, const std::string& kind) {
  return {parse_size2(config_value(c, "window", kind), kind + " window"),
          parse_size2(config_value(c, "stride", kind), kind + " stride"), Padding(config_value(c, "padding", kind))};
}

}  // namespace graphnn
