// OctConv's resampling as Paddle custom operators with their gradients, float32 NCHW on CPU, for any
// H and W (odd sizes as F.avg_pool2d's ceil_mode + exclusive and a cropped nearest up-sampling):
//   octave_avg_pool2x2(x [N, C, H, W]) -> [N, C, ceil(H/2), ceil(W/2)]: mean of each 2x2 window's pixels;
//   octave_upsample_add(big [N, C, H, W], small [N, C, ceil(H/2), ceil(W/2)]) -> big + nearest_up(small).
// Each is its own adjoint's other half: pool's gradient spreads g / count, up-sampling's sums g per window.
// Work is split over the N*C planes on up to `threads` threads (one per kMinWork elements) of oneDNN's team.
#include <algorithm>
#include <vector>

#include "openmp_team.h"
#include "paddle/extension.h"

namespace {

constexpr int64_t kMinWork = 1 << 15;  // elements per thread, below which a thread costs more than it saves

struct Planes {
  int64_t count, height, width, half_h, half_w;  // count = N * C; half_* = ceil(size / 2)
};

Planes planes_of(const std::vector<int64_t>& shape) {
  PD_CHECK(shape.size() == 4, "octave resampling takes [N, C, H, W] tensors");
  return {shape[0] * shape[1], shape[2], shape[3], (shape[2] + 1) / 2, (shape[3] + 1) / 2};
}

void check_float32_cpu(const paddle::Tensor& t) {
  PD_CHECK(t.is_cpu() && t.dtype() == paddle::DataType::FLOAT32, "octave resampling takes float32 CPU tensors");
}

// Calls body(first, last) over [0, p.count) planes, split over up to `threads` threads.
template <class Body>
void for_planes(const Planes& p, int threads, Body body) {
  int64_t by_work = std::max<int64_t>(1, p.count * p.height * p.width / kMinWork);
  openmp_team::for_range(p.count, static_cast<int>(std::min<int64_t>(threads, by_work)), body);
}

// out[i][j] = mean of x's window (2i.., 2j..), summed in F.avg_pool2d's order (rows, then columns).
void pool_plane(const float* x, float* out, const Planes& p) {
  for (int64_t i = 0; i < p.half_h; ++i) {
    const float* a = x + 2 * i * p.width;
    const float* b = 2 * i + 1 < p.height ? a + p.width : nullptr;
    float* o = out + i * p.half_w;
    int64_t pairs = p.width / 2;
    if (b) {
      for (int64_t j = 0; j < pairs; ++j) o[j] = (((a[2 * j] + a[2 * j + 1]) + b[2 * j]) + b[2 * j + 1]) * 0.25f;
      if (p.width % 2) o[pairs] = (a[2 * pairs] + b[2 * pairs]) * 0.5f;
    } else {
      for (int64_t j = 0; j < pairs; ++j) o[j] = (a[2 * j] + a[2 * j + 1]) * 0.5f;
      if (p.width % 2) o[pairs] = a[2 * pairs];
    }
  }
}

// dx[r][c] = g[r/2][c/2] / (pixels in that window).
void pool_grad_plane(const float* g, float* dx, const Planes& p) {
  for (int64_t r = 0; r < p.height; ++r) {
    const float* gi = g + (r / 2) * p.half_w;
    float* d = dx + r * p.width;
    bool full_rows = (r / 2) * 2 + 1 < p.height;
    float scale = full_rows ? 0.25f : 0.5f;
    int64_t pairs = p.width / 2;
    for (int64_t j = 0; j < pairs; ++j) d[2 * j] = d[2 * j + 1] = gi[j] * scale;
    if (p.width % 2) d[2 * pairs] = gi[pairs] * (scale * 2.0f);
  }
}

// out[r][c] = big[r][c] + small[r/2][c/2].
void upsample_add_plane(const float* big, const float* small, float* out, const Planes& p) {
  for (int64_t r = 0; r < p.height; ++r) {
    const float* s = small + (r / 2) * p.half_w;
    const float* b = big + r * p.width;
    float* o = out + r * p.width;
    for (int64_t c = 0; c < p.width; ++c) o[c] = b[c] + s[c / 2];
  }
}

// ds[i][j] = sum of g over window (2i.., 2j..).
void window_sum_plane(const float* g, float* ds, const Planes& p) {
  for (int64_t i = 0; i < p.half_h; ++i) {
    const float* a = g + 2 * i * p.width;
    const float* b = 2 * i + 1 < p.height ? a + p.width : nullptr;
    float* o = ds + i * p.half_w;
    for (int64_t j = 0; j < p.half_w; ++j) {
      bool pair = 2 * j + 1 < p.width;
      float top = pair ? a[2 * j] + a[2 * j + 1] : a[2 * j];
      o[j] = b ? top + (pair ? b[2 * j] + b[2 * j + 1] : b[2 * j]) : top;
    }
  }
}

std::vector<int64_t> half_shape(const std::vector<int64_t>& shape) {
  return {shape[0], shape[1], (shape[2] + 1) / 2, (shape[3] + 1) / 2};
}

paddle::Tensor empty_like_shape(const std::vector<int64_t>& shape) {
  return paddle::empty(shape, paddle::DataType::FLOAT32, paddle::CPUPlace());
}

// A new [N, C, ...] tensor of `out_shape` from `in`, plane by plane: fn(in plane, out plane), the planes
// `in_plane` and `out_plane` floats apart.
template <class Fn>
paddle::Tensor per_plane(const paddle::Tensor& in, const std::vector<int64_t>& out_shape, const Planes& p,
                         int threads, int64_t in_plane, int64_t out_plane, Fn fn) {
  auto out = empty_like_shape(out_shape);
  const float* src = in.data<float>();
  float* dst = out.data<float>();
  for_planes(p, threads, [&](int64_t first, int64_t last) {
    for (int64_t k = first; k < last; ++k) fn(src + k * in_plane, dst + k * out_plane);
  });
  return out;
}

}  // namespace

std::vector<paddle::Tensor> AvgPoolForward(const paddle::Tensor& x_in, int threads) {
  check_float32_cpu(x_in);
  auto x = x_in.contiguous();
  Planes p = planes_of(x.shape());
  return {per_plane(x, half_shape(x.shape()), p, threads, p.height * p.width, p.half_h * p.half_w,
                    [&p](const float* in, float* out) { pool_plane(in, out, p); })};
}

std::vector<paddle::Tensor> AvgPoolBackward(const paddle::Tensor& x, const paddle::Tensor& grad_in, int threads) {
  Planes p = planes_of(x.shape());
  return {per_plane(grad_in.contiguous(), x.shape(), p, threads, p.half_h * p.half_w, p.height * p.width,
                    [&p](const float* in, float* out) { pool_grad_plane(in, out, p); })};
}

std::vector<paddle::Tensor> UpsampleAddForward(const paddle::Tensor& big_in, const paddle::Tensor& small_in,
                                               int threads) {
  check_float32_cpu(big_in);
  check_float32_cpu(small_in);
  PD_CHECK(small_in.shape() == half_shape(big_in.shape()),
           "octave_upsample_add takes big [N, C, H, W] and small [N, C, ceil(H/2), ceil(W/2)]");
  auto big = big_in.contiguous(), small = small_in.contiguous();
  Planes p = planes_of(big.shape());
  auto out = empty_like_shape(big.shape());
  const float *b = big.data<float>(), *s = small.data<float>();
  float* o = out.data<float>();
  for_planes(p, threads, [&](int64_t first, int64_t last) {
    for (int64_t k = first; k < last; ++k) {
      int64_t at = k * p.height * p.width;
      upsample_add_plane(b + at, s + k * p.half_h * p.half_w, o + at, p);
    }
  });
  return {out};
}

std::vector<paddle::Tensor> UpsampleAddBackward(const paddle::Tensor& grad_in, int threads) {
  auto grad = grad_in.contiguous();
  Planes p = planes_of(grad.shape());
  auto d_small = per_plane(grad, half_shape(grad.shape()), p, threads, p.height * p.width, p.half_h * p.half_w,
                           [&p](const float* in, float* out) { window_sum_plane(in, out, p); });
  return {grad, d_small};  // d big = g itself
}

std::vector<std::vector<int64_t>> HalfShape(const std::vector<int64_t>& x, int) { return {half_shape(x)}; }

std::vector<std::vector<int64_t>> BigShape(const std::vector<int64_t>& big, const std::vector<int64_t>&, int) {
  return {big};
}

std::vector<paddle::DataType> SameDtype(const paddle::DataType& x) { return {x}; }

std::vector<paddle::DataType> FirstDtype(const paddle::DataType& x, const paddle::DataType&) { return {x}; }

PD_BUILD_OP(octave_avg_pool2x2)
    .Inputs({"X"})
    .Outputs({"Out"})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(AvgPoolForward))
    .SetInferShapeFn(PD_INFER_SHAPE(HalfShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(SameDtype));

PD_BUILD_GRAD_OP(octave_avg_pool2x2)
    .Inputs({"X", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X")})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(AvgPoolBackward));

PD_BUILD_OP(octave_upsample_add)
    .Inputs({"Big", "Small"})
    .Outputs({"Out"})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(UpsampleAddForward))
    .SetInferShapeFn(PD_INFER_SHAPE(BigShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(FirstDtype));

PD_BUILD_GRAD_OP(octave_upsample_add)
    .Inputs({paddle::Grad("Out")})
    .Outputs({paddle::Grad("Big"), paddle::Grad("Small")})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(UpsampleAddBackward));
