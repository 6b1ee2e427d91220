#pragma once
// Figures for the samples. Each writer puts the data (CSV) and a gnuplot or
// Graphviz script next to each other in the output folder and renders the PNG
// when the tool is installed; when it is not, it says so in one line, and the
// user can render later by running the script in that folder.
//
//   samples::line_plot(dir, "loss", {"training loss", "epoch", "loss"},
//                      {{"train", epochs, loss}, {"validation", epochs, val_loss}});
//   samples::surface_plot(dir, "landscape", {"loss over (w1, w2)", "w1", "w2", "loss"}, w1s, w2s, z);
//   samples::graph_picture(dir, "graph", gn::to_dot(g));
//
// Each returns true when the PNG was rendered.
#include <string>
#include <vector>

#include "output.hpp"

namespace samples {

struct Series {
  std::string title;
  std::vector<double> x, y;
  std::string style = "lines";  // a gnuplot `with` clause: "points pt 7 ps 0.6", "linespoints", ...
};

struct Axes {
  std::string title, xlabel, ylabel, zlabel = {};
  bool log_y = false;
  std::string key = "top right";  // gnuplot's `set key` position: "outside right", "bottom left", ...
};

namespace plot_detail {

// A gnuplot string literal. The terminal is `noenhanced`, so text is printed as given.
inline std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

inline std::string header(const std::string& png, const Axes& a, const char* size = "800,500") {
  return "set terminal pngcairo size " + std::string(size) + " noenhanced font 'sans,10'\nset output " + quoted(png) +
         "\nset datafile separator ','\nset title " + quoted(a.title) + "\nset xlabel " + quoted(a.xlabel) +
         "\nset ylabel " + quoted(a.ylabel) + "\nset grid\n" + (a.log_y ? "set logscale y\n" : "");
}

// Renders `name.gp` in `dir` with gnuplot, or says why it could not.
inline bool render_gnuplot(const std::string& dir, const std::string& name, const std::vector<std::string>& pngs) {
  if (!have_tool("gnuplot")) {
    std::cout << "gnuplot not found: wrote " << name << ".csv and " << name << ".gp in " << dir
              << " (run `gnuplot " << name << ".gp` there to draw it)\n";
    return false;
  }
  if (!run_in(dir, "gnuplot " + shell_quote(name + ".gp"))) return false;
  for (const auto& png : pngs) note_written(join(dir, png));
  return true;
}

}  // namespace plot_detail

// Several curves in one figure; each series gets an x and a y column in name.csv.
inline bool line_plot(const std::string& dir, const std::string& name, const Axes& axes,
                      const std::vector<Series>& series) {
  using plot_detail::quoted;
  std::vector<std::string> head;
  std::vector<std::vector<double>> columns;
  std::string plot = "plot";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    head.push_back("series" + std::to_string(i + 1) + "_x");
    head.push_back("series" + std::to_string(i + 1) + "_y");
    columns.push_back(s.x);
    columns.push_back(s.y);
    plot += std::string(i ? ", \\\n     ''" : " " + quoted(name + ".csv")) + " skip 1 using " +
            std::to_string(2 * i + 1) + ":" + std::to_string(2 * i + 2) + " with " + s.style + " title " +
            quoted(s.title);
  }
  write_csv(join(dir, name + ".csv"), head, columns);
  const std::string key = "set key " + axes.key + "\n";
  write_text(join(dir, name + ".gp"), plot_detail::header(name + ".png", axes) + key + plot + "\n");
  return plot_detail::render_gnuplot(dir, name, {name + ".png"});
}

// z[iy][ix] = f(x[ix], y[iy]) as a 3-D surface (name.png) and a contour map
// (name_contour.png); `marks` (e.g. a minimum or a descent path) are drawn on the map.
inline bool surface_plot(const std::string& dir, const std::string& name, const Axes& axes,
                         const std::vector<double>& x, const std::vector<double>& y,
                         const std::vector<std::vector<double>>& z, const std::vector<Series>& marks = {}) {
  using plot_detail::quoted;
  std::ostringstream csv;
  csv << std::setprecision(10) << "x,y,z\n";
  for (std::size_t iy = 0; iy < y.size(); ++iy) {  // gnuplot's grid format: one block per y, blank line between
    for (std::size_t ix = 0; ix < x.size(); ++ix) csv << x[ix] << "," << y[iy] << "," << z[iy][ix] << "\n";
    csv << "\n";
  }
  write_text(join(dir, name + ".csv"), csv.str());
  std::vector<std::string> mark_head;
  std::vector<std::vector<double>> mark_columns;
  std::string mark_plot;
  for (std::size_t i = 0; i < marks.size(); ++i) {
    mark_head.insert(mark_head.end(), {"mark" + std::to_string(i + 1) + "_x", "mark" + std::to_string(i + 1) + "_y"});
    mark_columns.insert(mark_columns.end(), {marks[i].x, marks[i].y});
    mark_plot += ", \\\n      " + quoted(name + "_marks.csv") + " skip 1 using " + std::to_string(2 * i + 1) + ":" +
                 std::to_string(2 * i + 2) + ":(0) nocontour with " + marks[i].style + " title " +
                 quoted(marks[i].title);
  }
  if (!marks.empty()) write_csv(join(dir, name + "_marks.csv"), mark_head, mark_columns);
  const std::string data = quoted(name + ".csv") + " skip 1 using 1:2:3";
  const std::string surface = "set zlabel " + quoted(axes.zlabel) +
                              " rotate parallel\n"
                              "set ticslevel 0\n"
                              "set pm3d interpolate 2,2\n"
                              "set palette rgb 33,13,10\n"
                              "splot " + data + " with pm3d notitle\n";
  const std::string contour = "set output " + quoted(name + "_contour.png") +
                              "\n"
                              "set view map\n"
                              "set contour base\n"
                              "set cntrparam levels 20\n"
                              "unset clabel\n"
                              "set key bottom left box opaque\n"
                              "splot " + data + " with pm3d notitle, \\\n      " + data +
                              " nosurface with lines lc rgb 'black' notitle" + mark_plot + "\n";
  const std::string gp = plot_detail::header(name + ".png", axes, "900,650") + surface + "\n" + contour;
  write_text(join(dir, name + ".gp"), gp);
  return plot_detail::render_gnuplot(dir, name, {name + ".png", name + "_contour.png"});
}

// The graph as name.dot, rendered to name.png with Graphviz's dot.
inline bool graph_picture(const std::string& dir, const std::string& name, const std::string& dot_text) {
  write_text(join(dir, name + ".dot"), dot_text);
  if (!have_tool("dot")) {
    std::cout << "graphviz (dot) not found: wrote " << name << ".dot in " << dir << " (run `dot -Tpng " << name
              << ".dot -o " << name << ".png` there to draw it)\n";
    return false;
  }
  if (!run_in(dir, "dot -Tpng " + shell_quote(name + ".dot") + " -o " + shell_quote(name + ".png"))) return false;
  note_written(join(dir, name + ".png"));
  return true;
}

}  // namespace samples
