// The window arithmetic and tile copies of the convolution family
// (conv_geometry.hpp says why NHWC and why tiles).
#include "conv_geometry.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "graphnn/checked_size.hpp"
#include "graphnn/error.hpp"
#include "graphnn/runtime_info.hpp"

namespace graphnn {

namespace {

// "explicit(1,2,3,4)": four plain decimal sizes (no sign, no wrap: the text may come from a damaged file).
bool parse_explicit(const std::string& name, std::size_t* pads[4]) {
  const std::string open = "explicit(";
  if (name.compare(0, open.size(), open) != 0 || name.back() != ')') return false;
  const std::vector<std::size_t> sizes = parse_size_list(name.substr(open.size(), name.size() - open.size() - 1), ',',
                                                         kMaxGeometry, "padding '" + name + "'");
  if (sizes.size() != 4) return false;
  for (std::size_t k = 0; k < 4; ++k) *pads[k] = sizes[k];
  return true;
}

}  // namespace

Padding::Padding(const char* name) : Padding(std::string(name ? name : "")) {}

Padding::Padding(const std::string& name) {
  if (name == "valid") kind = Kind::valid;
  else if (name == "same") kind = Kind::same;
  else if (std::size_t* pads[] = {&top, &bottom, &left, &right}; parse_explicit(name, pads))
    kind = Kind::explicit_pads;
  else
    throw Error("padding '" + name + "' is not \"valid\", \"same\" or explicit(top,bottom,left,right)");
}

Padding Padding::explicit_pads(std::size_t top, std::size_t bottom, std::size_t left, std::size_t right) {
  Padding p;
  p.kind = Kind::explicit_pads;
  p.top = top, p.bottom = bottom, p.left = left, p.right = right;
  return p;
}

std::string Padding::to_string() const {
  switch (kind) {
    case Kind::valid: return "valid";
    case Kind::same: return "same";
    case Kind::explicit_pads: break;
  }
  return "explicit(" + std::to_string(top) + "," + std::to_string(bottom) + "," + std::to_string(left) + "," +
         std::to_string(right) + ")";
}

namespace conv {
namespace {

std::string pair_text(const Size2& s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

// "input height 28 with kernel 5, stride 2, padding valid": the setting an error names.
std::string setting_text(const char* dim, std::size_t in, std::size_t kernel, std::size_t stride,
                         std::size_t dilation, const Padding& p) {
  std::string text = "input " + std::string(dim) + " " + std::to_string(in) + " with kernel " + std::to_string(kernel);
  if (dilation > 1)
    text += " dilated " + std::to_string(dilation) + " (span " + std::to_string((kernel - 1) * dilation + 1) + ")";
  return text + ", stride " + std::to_string(stride) + ", padding " + p.to_string();
}

// One dimension: `before`/`after` are the explicit pads (ignored otherwise).
// Called by kernels at every run: no allocation unless it throws.
Extent resolve_extent(const char* dim, std::size_t in, std::size_t kernel, std::size_t stride, std::size_t dilation,
                      const Padding& p, std::size_t before, std::size_t after, bool pads_inside_window) {
  Extent e{in, 0, kernel, stride, dilation, 0};
  const std::size_t span = (kernel - 1) * dilation + 1;
  std::size_t padded = in;
  if (p.kind == Padding::Kind::same) {
    e.out = (in + stride - 1) / stride;
    const std::size_t needed = e.out == 0 ? 0 : (e.out - 1) * stride + span;
    const std::size_t total = needed > in ? needed - in : 0;
    e.pad_before = total / 2;
    padded = in + total;
  } else if (p.kind == Padding::Kind::explicit_pads) {
    if (pads_inside_window && (before >= span || after >= span))
      throw Error(setting_text(dim, in, kernel, stride, dilation, p) + ": a pad of " +
                  std::to_string(std::max(before, after)) + " leaves windows with no input cell " +
                  "(pads must be smaller than the window's span " + std::to_string(span) + ")");
    e.pad_before = before;
    padded = in + before + after;
  }
  if (p.kind != Padding::Kind::same) e.out = padded >= span ? (padded - span) / stride + 1 : 0;
  if (e.out == 0) throw Error(setting_text(dim, in, kernel, stride, dilation, p) + " gives no output");
  return e;
}

}  // namespace

std::string Window::to_string() const {
  std::string s = kernel.h == 0 ? "" : "kernel=" + pair_text(kernel) + ", ";  // 0: the filter's
  s += "stride=" + pair_text(stride);
  if (dilation.h != 1 || dilation.w != 1) s += ", dilation=" + pair_text(dilation);
  return s + ", padding=" + padding.to_string();
}

bool Window::operator==(const Window& o) const {
  auto same = [](const Size2& a, const Size2& b) { return a.h == b.h && a.w == b.w; };
  return same(kernel, o.kernel) && same(stride, o.stride) && same(dilation, o.dilation) &&
         padding.to_string() == o.padding.to_string();
}

Geometry resolve(const Window& win, std::size_t in_h, std::size_t in_w, bool pads_inside_window) {
  auto positive = [](const Size2& s, const char* what) {
    if (s.h == 0 || s.w == 0) throw Error(std::string(what) + " must be at least 1, got " + pair_text(s));
  };
  positive(win.kernel, "kernel");
  positive(win.stride, "stride");
  positive(win.dilation, "dilation");
  const Padding& p = win.padding;
  return {resolve_extent("height", in_h, win.kernel.h, win.stride.h, win.dilation.h, p, p.top, p.bottom,
                         pads_inside_window),
          resolve_extent("width", in_w, win.kernel.w, win.stride.w, win.dilation.w, p, p.left, p.right,
                         pads_inside_window)};
}

void expect_image(const Shape& s, const char* what) {
  if (s.size() != 4)
    throw Error(std::string(what) + " must be 4-D [batch, height, width, channels] (NHWC), got " + graphnn::to_string(s));
  for (std::size_t k = 1; k < 4; ++k)
    if (s[k] <= 0) throw Error(std::string(what) + " " + graphnn::to_string(s) + " needs fixed, positive height, width and channels");
}

Shape conv2d_output(const Shape& x, const Shape& w, Window window) {
  expect_image(x, "input");
  if (w.size() != 4 || std::any_of(w.begin(), w.end(), [](std::int64_t d) { return d <= 0; }))
    throw Error("filter must be 4-D [kernel height, kernel width, in channels, out channels] with fixed sizes, got " +
                graphnn::to_string(w));
  if (w[2] != x[3])
    throw Error("filter " + graphnn::to_string(w) + " takes " + std::to_string(w[2]) + " input channels, input " +
                graphnn::to_string(x) + " has " + std::to_string(x[3]));
  window.kernel = Size2(std::size_t(w[0]), std::size_t(w[1]));
  const Geometry g = resolve(window, std::size_t(x[1]), std::size_t(x[2]));
  return {x[0], std::int64_t(g.h.out), std::int64_t(g.w.out), w[3]};
}

Cells window_cells(const Geometry& g, std::size_t oh, std::size_t ow) {
  auto range = [](const Extent& e, std::size_t o, std::size_t& lo, std::size_t& hi) {
    const long start = long(o * e.stride) - long(e.pad_before);
    lo = std::size_t(std::max(start, 0L));
    hi = std::size_t(std::min(start + long(e.kernel), long(e.in)));
  };
  Cells c{};
  range(g.h, oh, c.h0, c.h1);
  range(g.w, ow, c.w0, c.w1);
  return c;
}

Shape pool_output(const Shape& x, const Window& window) {
  expect_image(x, "input");
  const Geometry g = resolve(window, std::size_t(x[1]), std::size_t(x[2]), /*pads_inside_window=*/true);
  return {x[0], std::int64_t(g.h.out), std::int64_t(g.w.out), x[3]};
}

std::size_t tile_rows(std::size_t pixels, std::size_t row_length) {
  return std::max<std::size_t>(1, std::min(pixels, kTileElements / std::max<std::size_t>(row_length, 1)));
}

bool is_pointwise(const Geometry& g) {
  auto plain = [](const Extent& e) { return e.kernel == 1 && e.stride == 1 && e.pad_before == 0 && e.out == e.in; };
  return plain(g.h) && plain(g.w);
}

namespace {

// Calls f(row, first cell, cells, input offset or -1 when padded) over runs
// of cells of the receptive fields of pixels p0 .. p0 + rows, cells of C values
// each. Along a kernel row without dilation the cells inside the image are
// neighbours in x (NHWC), so one run copies them all, with a padded run on
// either side where the window leaves the image; with dilation each cell is a
// run of its own. The first layer of a CNN has C = 1: a run per cell would
// copy one value at a time.
template <class F>
void for_each_run(const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, F&& f) {
  const std::size_t per_image = g.pixels_per_image(), kw = g.w.kernel;
  const long width = long(im.w), channels = long(im.c);
  std::size_t n = p0 / per_image, oh = (p0 % per_image) / g.w.out, ow = p0 % g.w.out;
  for (std::size_t r = 0; r < rows; ++r) {
    const long h0 = long(oh * g.h.stride) - long(g.h.pad_before), w0 = long(ow * g.w.stride) - long(g.w.pad_before);
    for (std::size_t i = 0; i < g.h.kernel; ++i) {
      const std::size_t first = i * kw;
      const long ih = h0 + long(i * g.h.dilation);
      if (ih < 0 || ih >= long(im.h)) {
        f(r, first, kw, -1L);
        continue;
      }
      const long row_start = (long(n * im.h) + ih) * width;  // pixel (n, ih, 0)
      if (g.w.dilation != 1) {
        for (std::size_t j = 0; j < kw; ++j) {
          const long iw = w0 + long(j * g.w.dilation);
          f(r, first + j, 1, iw >= 0 && iw < width ? (row_start + iw) * channels : -1L);
        }
        continue;
      }
      // Cells [0, lead) lie left of the image, [lead, stop) inside it, [stop, kw) right of it.
      const long cells = long(kw), lead = std::clamp(-w0, 0L, cells);
      const long stop = std::max(lead, std::clamp(width - w0, 0L, cells));
      if (lead > 0) f(r, first, std::size_t(lead), -1L);
      if (stop > lead) f(r, first + std::size_t(lead), std::size_t(stop - lead), (row_start + w0 + lead) * channels);
      if (cells > stop) f(r, first + std::size_t(stop), std::size_t(cells - stop), -1L);
    }
    if (++ow == g.w.out) {
      ow = 0;
      if (++oh == g.h.out) oh = 0, ++n;
    }
  }
}

}  // namespace

// Copies n values. Runs are short (5 values in a first layer), where a call
// to memcpy, or a loop, costs more than the copy: a run shorter than 8 values
// is one fixed-size copy the compiler inlines, a longer one moves in blocks
// of 8.
template <std::size_t N, class T>
inline void copy_fixed(const T* src, T* dst) {
  __builtin_memcpy(dst, src, N * sizeof(T));
}
template <class T>
inline void copy_run(const T* src, std::size_t n, T* dst) {
  switch (n) {
    case 1: return copy_fixed<1>(src, dst);
    case 2: return copy_fixed<2>(src, dst);
    case 3: return copy_fixed<3>(src, dst);
    case 4: return copy_fixed<4>(src, dst);
    case 5: return copy_fixed<5>(src, dst);
    case 6: return copy_fixed<6>(src, dst);
    case 7: return copy_fixed<7>(src, dst);
    default: break;
  }
  std::size_t k = 0;
  for (; k + 8 <= n; k += 8) copy_fixed<8>(src + k, dst + k);
  for (; k < n; ++k) dst[k] = src[k];
}

template <class T>
void im2col(const T* x, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* col) {
  const std::size_t c = im.c, row_length = g.h.kernel * g.w.kernel * c;
  for_each_run(im, g, p0, rows, [&](std::size_t r, std::size_t cell, std::size_t cells, long at) {
    T* dst = col + r * row_length + cell * c;
    const std::size_t count = cells * c;
    if (at < 0) std::fill(dst, dst + count, T(0));
    else copy_run(x + at, count, dst);
  });
}

namespace {

// The output pixels [lo, hi) of the row segment [ow, ow + count) whose input
// column ow * stride + offset lies inside [0, width).
std::pair<std::size_t, std::size_t> inside_columns(std::size_t ow, std::size_t count, std::size_t stride, long offset,
                                                   long width) {
  const long s = long(stride);
  const long first = offset >= 0 ? 0 : (-offset + s - 1) / s;
  const long end = width - offset <= 0 ? 0 : (width - offset - 1) / s + 1;
  const long lo = std::clamp(first, long(ow), long(ow + count)), hi = std::clamp(end, lo, long(ow + count));
  return {std::size_t(lo), std::size_t(hi)};
}

// colT[q, r] for an input of one channel: per kernel cell q, the pixels'
// values under it, a row segment (pixels sharing an output row) at a time.
template <class T>
void im2col_transposed(const T* x, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* col) {
  const std::size_t per_image = g.pixels_per_image();
  for (std::size_t i = 0; i < g.h.kernel; ++i)
    for (std::size_t j = 0; j < g.w.kernel; ++j) {
      T* dst = col + (i * g.w.kernel + j) * rows;
      const long offset = long(j * g.w.dilation) - long(g.w.pad_before);
      std::size_t n = p0 / per_image, oh = (p0 % per_image) / g.w.out, ow = p0 % g.w.out;
      for (std::size_t r = 0; r < rows;) {
        const std::size_t count = std::min(rows - r, g.w.out - ow);
        const long ih = long(oh * g.h.stride) - long(g.h.pad_before) + long(i * g.h.dilation);
        T* out = dst + r - ow;  // indexed by ow
        if (ih < 0 || ih >= long(im.h)) {
          std::fill(out + ow, out + ow + count, T(0));
        } else {
          const T* row = x + (n * im.h + std::size_t(ih)) * im.w;
          const auto [lo, hi] = inside_columns(ow, count, g.w.stride, offset, long(im.w));
          std::fill(out + ow, out + lo, T(0));
          if (g.w.stride == 1) std::copy(row + long(lo) + offset, row + long(hi) + offset, out + lo);
          else
            for (std::size_t q = lo; q < hi; ++q) out[q] = row[long(q * g.w.stride) + offset];
          std::fill(out + hi, out + ow + count, T(0));
        }
        r += count;
        if ((ow += count) == g.w.out) {
          ow = 0;
          if (++oh == g.h.out) oh = 0, ++n;
        }
      }
    }
}

}  // namespace

template <class T>
PatchTile patches(const T* x, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* tile) {
  if (im.c == 1) {
    im2col_transposed(x, im, g, p0, rows, tile);
    return {true, rows};
  }
  im2col(x, im, g, p0, rows, tile);
  return {false, g.h.kernel * g.w.kernel * im.c};
}

template <class T>
void col2im_add(const T* col, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* dx) {
  const std::size_t c = im.c, row_length = g.h.kernel * g.w.kernel * c;
  for_each_run(im, g, p0, rows, [&](std::size_t r, std::size_t cell, std::size_t cells, long at) {
    if (at < 0) return;
    const T* src = col + r * row_length + cell * c;
    T* dst = dx + at;
    for (std::size_t k = 0; k < cells * c; ++k) dst[k] += src[k];
  });
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  warn_if_generic_blas();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  warn_if_generic_blas();
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

#define INSTANTIATE(T)                                                                                    \
  template void im2col<T>(const T*, const Image&, const Geometry&, std::size_t, std::size_t, T*);       \
  template PatchTile patches<T>(const T*, const Image&, const Geometry&, std::size_t, std::size_t, T*); \
  template void col2im_add<T>(const T*, const Image&, const Geometry&, std::size_t, std::size_t, T*);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace conv
}  // namespace graphnn
