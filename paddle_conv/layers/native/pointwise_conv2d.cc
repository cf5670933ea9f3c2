// 1x1 convolution (groups 1, stride 1, no padding) of float32 NCHW tensors as per-image GEMMs (MKL's
// cblas_sgemm, from the libmklml_intel.so Paddle's wheel ships), as a Paddle custom operator with its gradient:
//   x [N, C, H, W], w [O, C, 1, 1] -> out [N, O, H, W]: out[n] = w [O, C] . x[n] [C, H*W].
// The images are split over up to `threads` threads (openmp_team.h), each running single-threaded GEMMs (MKL's thread count
// is set per calling thread): Paddle's own kernel runs the same GEMMs one image after another on one thread.
// The weight gradient sums each thread's images into its own buffer, then the buffers in thread order.
#include <algorithm>
#include <vector>

#include "openmp_team.h"
#include "paddle/extension.h"

extern "C" {
void cblas_sgemm(int layout, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
int MKL_Set_Num_Threads_Local(int threads);  // the C interface (the lowercase symbol is Fortran's)
}

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
constexpr int64_t kMinMacs = 1 << 22;  // multiply-adds per thread below which a thread costs more than it saves

struct Shape {
  int64_t images, in_channels, out_channels, pixels;
};

Shape shape_of(const paddle::Tensor& x, const paddle::Tensor& w) {
  PD_CHECK(x.is_cpu() && w.is_cpu() && x.dtype() == paddle::DataType::FLOAT32 &&
               w.dtype() == paddle::DataType::FLOAT32,
           "pointwise_conv2d takes float32 CPU tensors");
  auto xs = x.shape(), ws = w.shape();
  PD_CHECK(xs.size() == 4 && ws.size() == 4 && ws[1] == xs[1] && ws[2] == 1 && ws[3] == 1,
           "pointwise_conv2d takes x [N, C, H, W] and w [O, C, 1, 1]");
  return {xs[0], xs[1], ws[0], xs[2] * xs[3]};
}

// Calls body(thread, first, last) over [0, s.images) images on up to `threads` threads of oneDNN's team
// (thread < threads), each running MKL on one thread.
template <class Body>
void for_images(const Shape& s, int threads, Body body) {
  int64_t by_work = std::max<int64_t>(1, s.images * s.in_channels * s.out_channels * s.pixels / kMinMacs);
  int t = static_cast<int>(std::min<int64_t>({static_cast<int64_t>(std::max(threads, 1)), s.images, by_work}));
  openmp_team::run(t, [&](int k, int team) {
    int saved = MKL_Set_Num_Threads_Local(1);
    body(k, s.images * k / team, s.images * (k + 1) / team);
    MKL_Set_Num_Threads_Local(saved);
  });
}

paddle::Tensor empty(const std::vector<int64_t>& shape) {
  return paddle::empty(shape, paddle::DataType::FLOAT32, paddle::CPUPlace());
}

}  // namespace

std::vector<paddle::Tensor> PointwiseForward(const paddle::Tensor& x_in, const paddle::Tensor& w_in, int threads) {
  auto x = x_in.contiguous(), w = w_in.contiguous();
  Shape s = shape_of(x, w);
  auto out = empty({s.images, s.out_channels, x.shape()[2], x.shape()[3]});
  const float *xs = x.data<float>(), *ws = w.data<float>();
  float* ys = out.data<float>();
  int o = s.out_channels, c = s.in_channels, p = s.pixels;
  for_images(s, threads, [&](int, int64_t first, int64_t last) {
    for (int64_t n = first; n < last; ++n)
      cblas_sgemm(kRowMajor, kNoTrans, kNoTrans, o, p, c, 1.0f, ws, c, xs + n * c * p, p, 0.0f, ys + n * o * p, p);
  });
  return {out};
}

std::vector<paddle::Tensor> PointwiseBackward(const paddle::Tensor& x_in, const paddle::Tensor& w_in,
                                              const paddle::Tensor& grad_in, int threads) {
  auto x = x_in.contiguous(), w = w_in.contiguous(), grad = grad_in.contiguous();
  Shape s = shape_of(x, w);
  auto dx = empty(x.shape());
  int o = s.out_channels, c = s.in_channels, p = s.pixels;
  std::vector<std::vector<float>> partial_dw(std::max(threads, 1), std::vector<float>(o * c, 0.0f));
  const float *xs = x.data<float>(), *ws = w.data<float>(), *gs = grad.data<float>();
  float* dxs = dx.data<float>();
  for_images(s, threads, [&](int k, int64_t first, int64_t last) {
    float* dw = partial_dw[k].data();
    for (int64_t n = first; n < last; ++n) {
      const float* g = gs + n * o * p;
      cblas_sgemm(kRowMajor, kTrans, kNoTrans, c, p, o, 1.0f, ws, c, g, p, 0.0f, dxs + n * c * p, p);
      cblas_sgemm(kRowMajor, kNoTrans, kTrans, o, c, p, 1.0f, g, p, xs + n * c * p, p, 1.0f, dw, c);
    }
  });
  auto dw = empty(w.shape());
  float* dws = dw.data<float>();
  std::copy(partial_dw[0].begin(), partial_dw[0].end(), dws);
  for (size_t k = 1; k < partial_dw.size(); ++k)  // the buffers of threads that ran no image hold zeros
    for (int64_t i = 0; i < o * c; ++i) dws[i] += partial_dw[k][i];
  return {dx, dw};
}

std::vector<std::vector<int64_t>> PointwiseShape(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                                                 int) {
  return {{x[0], w[0], x[2], x[3]}};
}

std::vector<paddle::DataType> PointwiseDtype(const paddle::DataType& x, const paddle::DataType&) { return {x}; }

PD_BUILD_OP(pointwise_conv2d)
    .Inputs({"X", "W"})
    .Outputs({"Out"})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(PointwiseForward))
    .SetInferShapeFn(PD_INFER_SHAPE(PointwiseShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(PointwiseDtype));

PD_BUILD_GRAD_OP(pointwise_conv2d)
    .Inputs({"X", "W", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X"), paddle::Grad("W")})
    .Attrs({"threads: int"})
    .SetKernelFn(PD_KERNEL(PointwiseBackward));
