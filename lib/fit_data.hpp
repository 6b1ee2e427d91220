#pragma once
// The checks Sequential makes on the arrays a caller gives to fit, evaluate
// and predict, and the row slices it runs batch by batch. They sit apart from
// the model so that every entry point reports bad data with the same words.
#include <string>

#include <xtensor/xarray.hpp>

namespace graphnn::fit_data {

// Inputs 2-D with rows; labels (when given) 2-D with as many rows. `what` names the caller ("fit").
template <class T>
void check_shapes(const xt::xarray<T>& data, const xt::xarray<T>* labels, const std::string& what);

// Throws naming the first NaN or infinity of a 2-D `a` by the caller's row and column.
template <class T>
void check_finite(const xt::xarray<T>& a, const std::string& what, const char* name);

// Class-id labels (one column) must be integers in [0, classes); throws naming
// the caller's row, before training shuffles the rows into batches.
template <class T>
void check_class_ids(const xt::xarray<T>& labels, std::size_t classes, const std::string& what, const char* name);

// Rows [begin, end) of a row-major 2-D array: `a` itself when that is all of it, else a copy made in `part`.
template <class T>
const xt::xarray<T>& rows(const xt::xarray<T>& a, std::size_t begin, std::size_t end, xt::xarray<T>& part);

// "nan", "inf", "-inf" or the number with 6 significant digits (std::to_string gives "-nan" and six decimals).
std::string value_text(double v);

}  // namespace graphnn::fit_data
