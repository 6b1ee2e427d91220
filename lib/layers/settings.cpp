// The settings text the conv layers share: sizes ("5x5") and pool settings.
#include "graphnn/checked_size.hpp"
#include "graphnn/conv_layers.hpp"

namespace graphnn {

std::string size2_text(Size2 s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

// A model file may be damaged: each part must be plain decimal digits (no
// sign, no wrap), and no larger than any real kernel, stride or window.
Size2 parse_size2(const std::string& text, const std::string& what) {
  if (text.find('x') == std::string::npos) throw Error(what + ": '" + text + "' is not a size like 5x5");
  const std::vector<std::size_t> hw = parse_size_list(text, 'x', kMaxGeometry, what + " '" + text + "'");
  if (hw.size() != 2) throw Error(what + ": '" + text + "' is not a size like 5x5");
  return Size2(hw[0], hw[1]);
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
