#pragma once
// What conv2d, its two gradient ops and the pools share: the window arithmetic
// (kernel, stride, dilation, padding -> output size, with errors that show the
// arithmetic) and the im2col / col2im tile copies.
//
// Why NHWC (channels last): a convolution is then one GEMM per tile of output
// pixels with no transposes anywhere. A pixel's receptive field, laid out as
// kernel rows x kernel columns x channels, is a row of the im2col tile `col`
// [pixels, KH*KW*C] copied in runs of C contiguous values; the filter stored as
// [KH, KW, C, F] already is the [KH*KW*C, F] matrix; and col x w writes
// [pixels, F], which is the NHWC output itself, in place. In NCHW each image
// needs its own GEMM (or the output a transpose), with column matrices built
// by strided gathers. The gradients are the same GEMM with one side transposed
// (a BLAS flag): dcol = dy w^T then col2im, dw = col^T dy.
//
// Tiles: the im2col matrix of a whole batch can be large (the sample's second
// conv: 12544 pixels x 800 = 40 MB in float), so the kernels walk the pixels
// in tiles of at most kTileElements; the tile is the op's planned workspace
// (Op::workspace_size), so a training step allocates nothing.
#include <cstddef>
#include <string>
#include <typeinfo>
#include <utility>

#include "graphnn/op.hpp"
#include "graphnn/ops.hpp"
#include "graphnn/shape.hpp"

namespace graphnn::conv {

// A window's settings as the op keeps them; a kernel of 0x0 means the
// filter's (conv2d and its input gradient read it from the filter's shape).
struct Window {
  Size2 kernel, stride, dilation;
  Padding padding;
  std::string to_string() const;  // "kernel=5x5, stride=1x1, dilation=1x1, padding=same"
  bool operator==(const Window& o) const;
};

// One dimension resolved: input and output extents, and the padding before.
struct Extent {
  std::size_t in = 0, out = 0, kernel = 1, stride = 1, dilation = 1, pad_before = 0;
};

// The plane of a window over an input of in_h x in_w.
struct Geometry {
  Extent h, w;
  std::size_t pixels_per_image() const { return h.out * w.out; }
};

// Resolves `window` on an in_h x in_w input. Throws Error with the arithmetic
// that failed ("input height 28 with kernel 5, stride 2, padding valid gives no
// output"). `pads_inside_window`: every window must hold an input cell (pools).
Geometry resolve(const Window& window, std::size_t in_h, std::size_t in_w, bool pads_inside_window = false);

// Checks a static NHWC shape: rank 4, only the leading dimension may be `batch`.
// `what` names the operand in the message ("input", "gradient").
void expect_image(const Shape& s, const char* what);

// conv2d's output shape for input x and filter w [KH, KW, C, F] (the kernel
// taken from w); throws Error naming the mismatch.
Shape conv2d_output(const Shape& x, const Shape& w, Window window);

// Image extents of a run, from an NHWC buffer's dims.
struct Image {
  std::size_t n = 0, h = 0, w = 0, c = 0;
  explicit Image(const Dims& d) : n(d[0]), h(d[1]), w(d[2]), c(d[3]) {}
};

// The input cells [h0, h1) x [w0, w1) under the window of output pixel (oh, ow),
// padding excluded (pools: no dilation).
struct Cells {
  std::size_t h0, h1, w0, w1;
  std::size_t count() const { return (h1 - h0) * (w1 - w0); }
};
Cells window_cells(const Geometry& g, std::size_t oh, std::size_t ow);

// A pool's settings: no dilation.
inline Window pool_window(Size2 window, Size2 stride, Padding padding) { return {window, stride, Size2(1), padding}; }

// A pool's output shape for input x: the window must fit and pads must stay inside it.
Shape pool_output(const Shape& x, const Window& window);

// Rows of output pixels per tile so a tile of `row_length` values stays within
// kTileElements (at least one row).
inline constexpr std::size_t kTileElements = std::size_t(1) << 18;
std::size_t tile_rows(std::size_t pixels, std::size_t row_length);

// True when the im2col of x is x itself (1x1 kernel, stride 1, no padding).
bool is_pointwise(const Geometry& g);

// col[r, :] = the receptive field of output pixel p0 + r, r < rows (zero where padded).
template <class T>
void im2col(const T* x, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* col);
// A tile of the receptive fields of pixels p0 .. p0 + rows, as im2col's
// col[r, k], or, for an input of one channel, as its transpose colT[k, r]: a
// row of colT is one cell of every window, so along an output row it is a run
// of neighbouring input values. A first layer (one channel, 5x5 kernel) then
// copies one run per output row and cell instead of one 5-value run per pixel
// and kernel row, which made its im2col cost more than its GEMM. `ld` is the
// leading dimension for gemm: op(A) = col is (transposed, ld) of the tile.
struct PatchTile {
  bool transposed = false;
  std::size_t ld = 0;
};
template <class T>
PatchTile patches(const T* x, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* tile);
// dx += the receptive-field rows of col scattered back (the adjoint of im2col).
template <class T>
void col2im_add(const T* col, const Image& im, const Geometry& g, std::size_t p0, std::size_t rows, T* dx);

// C = alpha op(A) op(B) + beta C, row-major, with leading dimensions (BLAS).
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

// The base of every windowed op: its window's text in to_dot and messages,
// and equality for CSE (same class, same window).
template <class T>
class WindowedOp : public Op<T> {
 public:
  explicit WindowedOp(Window window) : window_(std::move(window)) {}
  const Window& window() const { return window_; }
  std::string attributes() const override { return window_.to_string(); }
  bool same_as(const Op<T>& other) const override {
    return typeid(*this) == typeid(other) && static_cast<const WindowedOp&>(other).window_ == window_;
  }

 protected:
  // The window with the kernel of a filter of shape [KH, KW, C, F].
  Window with_kernel(std::size_t kh, std::size_t kw) const {
    Window w = window_;
    w.kernel = Size2(kh, kw);
    return w;
  }

 private:
  Window window_;
};

}  // namespace graphnn::conv
