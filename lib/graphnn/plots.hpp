#pragma once
// Training curves as a library call: plot_history(history, "curves.png").
// The data (CSV) and a gnuplot script are always written next to the PNG, so
// the figure can be redrawn or restyled later; gnuplot renders it when it is
// on the PATH, and when it is not the call says so and leaves the script.
#include <iosfwd>
#include <string>

#include "graphnn/training_log.hpp"

namespace graphnn {

struct PlotFiles {
  std::string png, data, script;  // <stem>.png, <stem>.csv, <stem>.gp
  bool rendered = false;          // false: gnuplot is not installed (`gnuplot <stem>.gp` in that folder draws it)
};

// One panel per curve family, against the iteration: the loss (train and
// validation), the accuracy for a classifier, then each further metric of
// History::metrics (with its "val_" partner). Creates the PNG's folder.
// `note` (null: silent) gets one line when gnuplot is missing. Throws Error
// naming the file or the command that failed.
PlotFiles plot_history(const History& history, const std::string& png_path, std::ostream* note = nullptr);

// True when `program` is an executable file in a folder of the PATH.
bool program_on_path(const std::string& program);

}  // namespace graphnn
