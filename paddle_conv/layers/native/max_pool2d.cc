// 2-D max pooling of float32 NCHW tensors as a Paddle custom operator with its gradient, the windows of
// F.max_pool2d (kernel [kh, kw], strides [sh, sw], paddings [ph, pw] of -inf, ceil_mode):
//   x [N, C, H, W] -> out [N, C, Ho, Wo], index [N, C, Ho, Wo] (int32: the first maximum's offset in its plane,
//   the pixel Paddle's gradient goes to). The gradient adds each output's to that pixel. A NaN in a window is its
//   maximum (torch's rule; Paddle's kernel keeps or drops it by its place in the window).
// Work is split over the N*C planes on up to `threads` threads (one per kMinWork elements, openmp_team.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "openmp_team.h"
#include "paddle/extension.h"

namespace {

constexpr int64_t kMinWork = 1 << 15;  // input elements per thread, below which a thread costs more than it saves

struct Window {
  int64_t planes, height, width, out_h, out_w;
  int kh, kw, sh, sw, ph, pw;
};

int64_t out_size(int64_t size, int kernel, int stride, int pad, bool ceil_mode) {
  return (size + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0)) / stride + 1;
}

Window window_of(const std::vector<int64_t>& shape, const std::vector<int>& kernel, const std::vector<int>& strides,
                 const std::vector<int>& paddings, bool ceil_mode) {
  PD_CHECK(shape.size() == 4 && kernel.size() == 2 && strides.size() == 2 && paddings.size() == 2,
           "max_pool2d takes x [N, C, H, W] and [h, w] kernel, strides and paddings");
  return {shape[0] * shape[1], shape[2], shape[3],
          out_size(shape[2], kernel[0], strides[0], paddings[0], ceil_mode),
          out_size(shape[3], kernel[1], strides[1], paddings[1], ceil_mode),
          kernel[0], kernel[1], strides[0], strides[1], paddings[0], paddings[1]};
}

void pool_plane(const float* x, float* out, int* index, const Window& w) {
  for (int64_t i = 0; i < w.out_h; ++i) {
    int64_t top = i * w.sh - w.ph, bottom = std::min<int64_t>(top + w.kh, w.height);
    top = std::max<int64_t>(top, 0);
    for (int64_t j = 0; j < w.out_w; ++j) {
      int64_t left = j * w.sw - w.pw, right = std::min<int64_t>(left + w.kw, w.width);
      left = std::max<int64_t>(left, 0);
      float best = -std::numeric_limits<float>::infinity();
      int64_t at = top * w.width + left;
      for (int64_t r = top; r < bottom; ++r)
        for (int64_t c = left; c < right; ++c)
          if (float v = x[r * w.width + c]; v > best || (std::isnan(v) && !std::isnan(best))) {
            best = v;  // strictly greater: the first maximum keeps the gradient; a NaN wins (as torch's)
            at = r * w.width + c;
          }
      out[i * w.out_w + j] = best;
      index[i * w.out_w + j] = static_cast<int>(at);
    }
  }
}

}  // namespace

std::vector<paddle::Tensor> MaxPoolForward(const paddle::Tensor& x_in, const std::vector<int>& kernel,
                                           const std::vector<int>& strides, const std::vector<int>& paddings,
                                           bool ceil_mode, int threads) {
  PD_CHECK(x_in.is_cpu() && x_in.dtype() == paddle::DataType::FLOAT32, "max_pool2d takes float32 CPU tensors");
  auto x = x_in.contiguous();
  Window w = window_of(x.shape(), kernel, strides, paddings, ceil_mode);
  std::vector<int64_t> shape = {x.shape()[0], x.shape()[1], w.out_h, w.out_w};
  auto out = paddle::empty(shape, paddle::DataType::FLOAT32, paddle::CPUPlace());
  auto index = paddle::empty(shape, paddle::DataType::INT32, paddle::CPUPlace());
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  int* is = index.data<int>();
  int64_t by_work = std::max<int64_t>(1, w.planes * w.height * w.width / kMinWork);
  openmp_team::for_range(w.planes, static_cast<int>(std::min<int64_t>(threads, by_work)),
                         [&](int64_t first, int64_t last) {
                           for (int64_t k = first; k < last; ++k)
                             pool_plane(xs + k * w.height * w.width, os + k * w.out_h * w.out_w,
                                        is + k * w.out_h * w.out_w, w);
                         });
  return {out, index};
}

std::vector<paddle::Tensor> MaxPoolBackward(const paddle::Tensor& x, const paddle::Tensor& index_in,
                                            const paddle::Tensor& grad_in, const std::vector<int>& kernel,
                                            const std::vector<int>& strides, const std::vector<int>& paddings,
                                            bool ceil_mode, int threads) {
  auto index = index_in.contiguous(), grad = grad_in.contiguous();
  Window w = window_of(x.shape(), kernel, strides, paddings, ceil_mode);
  auto dx = paddle::empty(x.shape(), paddle::DataType::FLOAT32, paddle::CPUPlace());
  const float* gs = grad.data<float>();
  const int* is = index.data<int>();
  float* ds = dx.data<float>();
  int64_t by_work = std::max<int64_t>(1, w.planes * w.height * w.width / kMinWork);
  openmp_team::for_range(w.planes, static_cast<int>(std::min<int64_t>(threads, by_work)),
                         [&](int64_t first, int64_t last) {
                           for (int64_t k = first; k < last; ++k) {
                             float* d = ds + k * w.height * w.width;
                             std::fill(d, d + w.height * w.width, 0.0f);
                             const float* g = gs + k * w.out_h * w.out_w;
                             const int* i = is + k * w.out_h * w.out_w;
                             for (int64_t o = 0; o < w.out_h * w.out_w; ++o) d[i[o]] += g[o];
                           }
                         });
  return {dx};
}

std::vector<std::vector<int64_t>> MaxPoolShape(const std::vector<int64_t>& x, const std::vector<int>& kernel,
                                               const std::vector<int>& strides, const std::vector<int>& paddings,
                                               bool ceil_mode, int) {
  Window w = window_of(x, kernel, strides, paddings, ceil_mode);
  return {{x[0], x[1], w.out_h, w.out_w}, {x[0], x[1], w.out_h, w.out_w}};
}

std::vector<paddle::DataType> MaxPoolDtype(const paddle::DataType& x) { return {x, paddle::DataType::INT32}; }

PD_BUILD_OP(max_pool2d)
    .Inputs({"X"})
    .Outputs({"Out", "Index"})
    .Attrs({"kernel: std::vector<int>", "strides: std::vector<int>", "paddings: std::vector<int>",
            "ceil_mode: bool", "threads: int"})
    .SetKernelFn(PD_KERNEL(MaxPoolForward))
    .SetInferShapeFn(PD_INFER_SHAPE(MaxPoolShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(MaxPoolDtype));

PD_BUILD_GRAD_OP(max_pool2d)
    .Inputs({"X", "Index", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X")})
    .Attrs({"kernel: std::vector<int>", "strides: std::vector<int>", "paddings: std::vector<int>",
            "ceil_mode: bool", "threads: int"})
    .SetKernelFn(PD_KERNEL(MaxPoolBackward));
