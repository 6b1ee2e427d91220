// plot_history: History -> <stem>.csv + <stem>.gp (+ <stem>.png by gnuplot).
// The samples' own figures (samples/common/plots.hpp) stay theirs; this is
// the one a user of the installed library gets.
#include "graphnn/plots.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

#include "graphnn/error.hpp"

namespace graphnn {
namespace {

namespace fs = std::filesystem;

struct Column {
  std::string name;
  const std::vector<double>* values;
};

bool any_finite(const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) return true;
  return false;
}

// A gnuplot string literal (the terminal is noenhanced: text printed as given).
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

// A POSIX shell word.
std::string shell_word(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  if (!(f << text) || !(f.flush())) throw Error("plot_history: cannot write '" + path.string() + "'");
}

// Panels: a title and the (1-based) CSV columns drawn in it.
struct Panel {
  std::string title;
  std::vector<std::pair<std::size_t, std::string>> curves;  // column, legend
};

std::string script(const std::string& png, const std::string& csv, const std::vector<Panel>& panels) {
  std::ostringstream gp;
  gp << "set terminal pngcairo size 800," << 280 * panels.size() << " noenhanced font 'sans,10'\n"
     << "set output " << quoted(png) << "\nset datafile separator ','\nset datafile missing 'nan'\n"
     << "set grid\nset key top right\nset xlabel 'iteration'\nset multiplot layout " << panels.size() << ",1\n";
  for (const Panel& p : panels) {
    gp << "set title " << quoted(p.title) << "\nplot";
    for (std::size_t i = 0; i < p.curves.size(); ++i)
      gp << (i ? ", \\\n    " : " ") << quoted(csv) << " skip 1 using 1:" << p.curves[i].first
         << " with lines title " << quoted(p.curves[i].second);
    gp << "\n";
  }
  gp << "unset multiplot\n";
  return gp.str();
}

}  // namespace

bool program_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  return false;
}

PlotFiles plot_history(const History& h, const std::string& png_path, std::ostream* note) {
  if (h.size() == 0) throw Error("plot_history: the history has no checkpoints");
  const fs::path png(png_path), dir = png.parent_path().empty() ? fs::path(".") : png.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("plot_history: cannot create the folder '" + dir.string() + "': " + ec.message());
  PlotFiles files{png.string(), (dir / png.stem()).string() + ".csv", (dir / png.stem()).string() + ".gp", false};

  // The columns after the iteration, and the panels that draw them.
  std::vector<Column> columns = {{"loss", &h.loss}, {"val_loss", &h.val_loss}};
  std::vector<Panel> panels = {{"loss", {{2, "train"}}}};
  if (any_finite(h.val_loss)) panels[0].curves.push_back({3, "validation"});
  auto add_family = [&](const std::string& name, const std::vector<double>& train, const std::vector<double>* val) {
    Panel p{name, {}};
    columns.push_back({name, &train});
    p.curves.push_back({columns.size() + 1, "train"});
    if (val) {
      columns.push_back({"val_" + name, val});
      if (any_finite(*val)) p.curves.push_back({columns.size() + 1, "validation"});
    }
    panels.push_back(p);
  };
  if (any_finite(h.accuracy)) add_family("accuracy", h.accuracy, &h.val_accuracy);
  for (const auto& [name, values] : h.metrics) {
    if (name.rfind("val_", 0) == 0) continue;
    const auto val = h.metrics.find("val_" + name);
    add_family(name, values, val == h.metrics.end() ? nullptr : &val->second);
  }

  std::ostringstream csv;
  csv << std::setprecision(10) << "iteration";
  for (const Column& c : columns) csv << ',' << c.name;
  csv << '\n';
  for (std::size_t i = 0; i < h.size(); ++i) {
    csv << h.iteration[i];
    for (const Column& c : columns) csv << ',' << (i < c.values->size() ? (*c.values)[i] : std::nan(""));
    csv << '\n';
  }
  write_file(files.data, csv.str());
  const std::string stem = png.stem().string();
  write_file(files.script, script(png.filename().string(), stem + ".csv", panels));

  if (!program_on_path("gnuplot")) {
    if (note)
      *note << "plot_history: gnuplot not found: wrote " << files.data << " and " << files.script << " (run `gnuplot "
            << stem << ".gp` in " << dir.string() << " to draw " << png.filename().string() << ")\n";
    return files;
  }
  const std::string command = "cd " + shell_word(dir.string()) + " && gnuplot " + shell_word(stem + ".gp");
  const int status = std::system(command.c_str());
  if (status != 0) throw Error("plot_history: `" + command + "` failed (status " + std::to_string(status) + ")");
  files.rendered = true;
  return files;
}

}  // namespace graphnn
