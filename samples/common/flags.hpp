#pragma once
// A small command-line parser shared by the samples. Each option is bound to a
// variable whose current value is the default shown by --help:
//
//   samples::Flags flags("custom_functions", "Trains a network made of custom functions.");
//   int epochs = 500;
//   flags.add("epochs", epochs, "passes over the training data");
//   flags.add_switch("quick", quick, "a reduced run for tests");
//   flags.parse(argc, argv);  // exits 0 after --help, 2 on a bad command line
//
// Values are given as `--name value` or `--name=value`.
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace samples {

class Flags {
 public:
  Flags(std::string program, std::string description)
      : program_(std::move(program)), description_(std::move(description)) {}

  // A typed option (integers, floating point, std::string).
  template <class V>
  Flags& add(const std::string& name, V& target, const std::string& help) {
    auto set = [&target](const std::string& text) {
      std::istringstream in(text);
      V value{};
      if constexpr (std::is_same_v<V, std::string>) {
        value = text;
      } else {
        if (!text.empty() && text[0] == '-' && std::is_unsigned_v<V>) return false;
        if (!(in >> value) || in.peek() != std::char_traits<char>::eof()) return false;
      }
      target = value;
      return true;
    };
    std::ostringstream def;
    def << target;
    options_.push_back({name, help, def.str(), false, set});
    return *this;
  }

  // An option without a value: present means true.
  Flags& add_switch(const std::string& name, bool& target, const std::string& help) {
    options_.push_back({name, help, "", true, [&target](const std::string&) { return target = true; }});
    return *this;
  }

  void usage(std::ostream& os) const {
    os << "usage: " << program_ << " [options]\n" << description_ << "\n\noptions:\n";
    for (const auto& o : options_) {
      const std::string head = "--" + o.name + (o.is_switch ? "" : " X");
      os << "  " << std::left << std::setw(26) << head << std::right << o.help;
      if (!o.is_switch) os << " (default " << (o.default_text.empty() ? "\"\"" : o.default_text) << ")";
      os << "\n";
    }
    os << "  " << std::left << std::setw(26) << "--help" << std::right << "this text\n";
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i], value;
      if (arg == "--help" || arg == "-h") {
        usage(std::cout);
        std::exit(0);
      }
      const auto eq = arg.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      const Option* o = find(arg);
      if (!o) fail("unknown option '" + arg + "'");
      if (!o->is_switch && !inline_value) {
        if (i + 1 >= argc) fail("option '" + arg + "' needs a value");
        value = argv[++i];
      }
      if (o->is_switch && inline_value) fail("option '" + arg + "' takes no value");
      if (!o->set(value)) fail("bad value '" + value + "' for " + arg);
    }
  }

 private:
  struct Option {
    std::string name, help, default_text;
    bool is_switch;
    std::function<bool(const std::string&)> set;
  };

  const Option* find(const std::string& arg) const {
    for (const auto& o : options_)
      if (arg == "--" + o.name) return &o;
    return nullptr;
  }

  [[noreturn]] void fail(const std::string& why) const {
    std::cerr << program_ << ": " << why << "\n";
    usage(std::cerr);
    std::exit(2);
  }

  std::string program_, description_;
  std::vector<Option> options_;
};

}  // namespace samples
