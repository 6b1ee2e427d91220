#pragma once
// Where a sample's files go: the output folder, CSV and text files, outside
// tools (gnuplot, dot) found on PATH, and the list of files written, which the
// sample prints at the end so the user knows what to open.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace samples {

// Creates `dir` with its parents; exits with a message when that fails.
inline std::string output_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    std::cerr << "cannot create the output folder '" << dir << "': " << ec.message() << "\n";
    std::exit(1);
  }
  return dir;
}

inline std::string join(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

// Every file the sample wrote, in order.
inline std::vector<std::string>& written_files() {
  static std::vector<std::string> files;
  return files;
}

inline void note_written(const std::string& path) { written_files().push_back(path); }

// "files written to out/x/: a.png a.csv ..." (names relative to `dir`).
inline void print_written(const std::string& dir, std::ostream& os = std::cout) {
  os << "files written to " << dir << "/:";
  for (const auto& f : written_files()) os << " " << std::filesystem::path(f).lexically_relative(dir).string();
  os << "\n";
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) {
    std::cerr << "cannot write '" << path << "'\n";
    std::exit(1);
  }
  note_written(path);
}

// Columns side by side under `header`; a shorter column leaves its cells empty
// below its end (gnuplot reads an empty CSV field as missing).
inline void write_csv(const std::string& path, const std::vector<std::string>& header,
                      const std::vector<std::vector<double>>& columns) {
  std::ostringstream os;
  os << std::setprecision(10);
  for (std::size_t c = 0; c < header.size(); ++c) os << (c ? "," : "") << header[c];
  os << "\n";
  std::size_t rows = 0;
  for (const auto& col : columns) rows = std::max(rows, col.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) os << ",";
      if (r < columns[c].size()) os << columns[c][r];
    }
    os << "\n";
  }
  write_text(path, os.str());
}

// True when an executable `name` is on PATH.
inline bool have_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access(join(dir, name).c_str(), X_OK) == 0) return true;
  return false;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `command` through the shell inside `dir`; prints one line when it fails.
inline bool run_in(const std::string& dir, const std::string& command) {
  const int rc = std::system(("cd " + shell_quote(dir) + " && " + command).c_str());
  if (rc != 0) std::cerr << "'" << command << "' failed in " << dir << " (status " << rc << ")\n";
  return rc == 0;
}

}  // namespace samples
