// Training-mode batch normalization of float32 NCHW tensors, optionally followed by ReLU, as a Paddle custom
// operator with its gradient (the batch's statistics, as Paddle's batch_norm in training):
//   x [N, C, H, W], scale [C], bias [C], running mean and variance [C] (buffers outside autograd, updated in
//   place as Paddle's kernel does: running = momentum * running + (1 - momentum) * batch, the variance biased)
//   -> y [N, C, H, W], saved_mean [C], saved_inv_std [C] (1 / sqrt(var + epsilon)).
// Channels are split over up to `threads` threads (one per kMinWork elements, openmp_team.h); sums run in 16 float lanes per
// image and plane, then in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "openmp_team.h"
#include "paddle/extension.h"

namespace {

constexpr int64_t kMinWork = 1 << 16;  // elements per thread, below which a thread costs more than it saves
constexpr int kLanes = 16;

struct Layout {
  int64_t images, channels, pixels;
};

Layout layout_of(const paddle::Tensor& x) {
  PD_CHECK(x.is_cpu() && x.dtype() == paddle::DataType::FLOAT32 && x.shape().size() == 4,
           "batch_norm_relu takes a float32 CPU tensor [N, C, H, W]");
  return {x.shape()[0], x.shape()[1], x.shape()[2] * x.shape()[3]};
}

// Calls body(c) for every channel, the channels split over up to `threads` threads of oneDNN's team.
template <class Body>
void for_channels(const Layout& l, int threads, Body body) {
  int64_t by_work = std::max<int64_t>(1, l.images * l.channels * l.pixels / kMinWork);
  openmp_team::for_range(l.channels, static_cast<int>(std::min<int64_t>(threads, by_work)),
                         [&](int64_t first, int64_t last) {
                           for (int64_t c = first; c < last; ++c) body(c);
                         });
}

// Adds term(i) for i < n to `total`, in kLanes float lanes (vectorized) summed in double.
template <class Term>
void add_lanes(int64_t n, Term term, double& total) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += term(i + j);
  for (; i < n; ++i) total += term(i);
  for (float lane : lanes) total += lane;
}

paddle::Tensor empty(const std::vector<int64_t>& shape) {
  return paddle::empty(shape, paddle::DataType::FLOAT32, paddle::CPUPlace());
}

}  // namespace

std::vector<paddle::Tensor> BatchNormReluForward(const paddle::Tensor& x_in, const paddle::Tensor& scale,
                                                 const paddle::Tensor& bias, const paddle::Tensor& running_mean,
                                                 const paddle::Tensor& running_var, float momentum, float epsilon,
                                                 bool relu, int threads) {
  auto x = x_in.contiguous();
  Layout l = layout_of(x);
  auto y = empty(x.shape()), saved_mean = empty({l.channels}), saved_inv_std = empty({l.channels});
  const float *xs = x.data<float>(), *gamma = scale.data<float>(), *beta = bias.data<float>();
  float *ys = y.data<float>(), *mean_out = saved_mean.data<float>(), *inv_out = saved_inv_std.data<float>();
  // Paddle's autograd refuses in-place outputs on these leaves; they take no gradient, so are written directly.
  float* run_mean = const_cast<float*>(running_mean.data<float>());
  float* run_var = const_cast<float*>(running_var.data<float>());
  const double count = static_cast<double>(l.images * l.pixels);
  const float floor = relu ? 0.0f : -INFINITY;
  for_channels(l, threads, [&](int64_t c) {
    double sum = 0.0, squares = 0.0;
    for (int64_t n = 0; n < l.images; ++n) {
      const float* p = xs + (n * l.channels + c) * l.pixels;
      add_lanes(l.pixels, [p](int64_t i) { return p[i]; }, sum);
    }
    const double mean = sum / count;
    const float centre = static_cast<float>(mean);
    for (int64_t n = 0; n < l.images; ++n) {
      const float* p = xs + (n * l.channels + c) * l.pixels;
      add_lanes(l.pixels, [p, centre](int64_t i) { return (p[i] - centre) * (p[i] - centre); }, squares);
    }
    const double var = squares / count, inv_std = 1.0 / std::sqrt(var + epsilon);
    const float a = static_cast<float>(gamma[c] * inv_std), b = static_cast<float>(beta[c] - mean * gamma[c] * inv_std);
    for (int64_t n = 0; n < l.images; ++n) {
      const float* p = xs + (n * l.channels + c) * l.pixels;
      float* q = ys + (n * l.channels + c) * l.pixels;
      for (int64_t i = 0; i < l.pixels; ++i) q[i] = std::max(p[i] * a + b, floor);
    }
    mean_out[c] = static_cast<float>(mean);
    inv_out[c] = static_cast<float>(inv_std);
    run_mean[c] = static_cast<float>(momentum * run_mean[c] + (1.0 - momentum) * mean);
    run_var[c] = static_cast<float>(momentum * run_var[c] + (1.0 - momentum) * var);
  });
  return {y, saved_mean, saved_inv_std};
}

std::vector<paddle::Tensor> BatchNormReluBackward(const paddle::Tensor& x_in, const paddle::Tensor& scale,
                                                  const paddle::Tensor& saved_mean,
                                                  const paddle::Tensor& saved_inv_std, const paddle::Tensor& y_in,
                                                  const paddle::Tensor& grad_in, float, float, bool relu,
                                                  int threads) {
  auto x = x_in.contiguous(), y = y_in.contiguous(), grad = grad_in.contiguous();
  Layout l = layout_of(x);
  auto dx = empty(x.shape()), d_scale = empty({l.channels}), d_bias = empty({l.channels});
  const float *xs = x.data<float>(), *ys = y.data<float>(), *gs = grad.data<float>();
  const float *gamma = scale.data<float>(), *means = saved_mean.data<float>(), *invs = saved_inv_std.data<float>();
  float *dxs = dx.data<float>(), *dg = d_scale.data<float>(), *db = d_bias.data<float>();
  const double count = static_cast<double>(l.images * l.pixels);
  const float floor = relu ? 0.0f : -INFINITY;  // the gradient passes where y > floor (ReLU's mask)
  for_channels(l, threads, [&](int64_t c) {
    const float mean = means[c], inv_std = invs[c];
    double sum_g = 0.0, sum_gx = 0.0;  // sums of g and of g * (x - mean), g the masked dy
    for (int64_t n = 0; n < l.images; ++n) {
      int64_t at = (n * l.channels + c) * l.pixels;
      const float *x_n = xs + at, *y_n = ys + at, *g_n = gs + at;
      auto g = [=](int64_t i) { return g_n[i] * static_cast<float>(y_n[i] > floor); };  // no branch: vectorizes
      add_lanes(l.pixels, g, sum_g);
      add_lanes(l.pixels, [=](int64_t i) { return g(i) * (x_n[i] - mean); }, sum_gx);
    }
    dg[c] = static_cast<float>(sum_gx * inv_std);
    db[c] = static_cast<float>(sum_g);
    const float k = gamma[c] * inv_std, mean_g = static_cast<float>(sum_g / count);
    const float proj = static_cast<float>(sum_gx * inv_std * inv_std / count);
    for (int64_t n = 0; n < l.images; ++n) {
      int64_t at = (n * l.channels + c) * l.pixels;
      for (int64_t i = 0; i < l.pixels; ++i) {
        float g = gs[at + i] * static_cast<float>(ys[at + i] > floor);
        dxs[at + i] = k * (g - mean_g - (xs[at + i] - mean) * proj);
      }
    }
  });
  return {dx, d_scale, d_bias};
}

std::vector<std::vector<int64_t>> BatchNormReluShape(const std::vector<int64_t>& x, const std::vector<int64_t>& c,
                                                     const std::vector<int64_t>&, const std::vector<int64_t>&,
                                                     const std::vector<int64_t>&, float, float, bool, int) {
  return {x, c, c};
}

std::vector<paddle::DataType> BatchNormReluDtype(const paddle::DataType& x, const paddle::DataType&,
                                                 const paddle::DataType&, const paddle::DataType&,
                                                 const paddle::DataType&) {
  return {x, x, x};
}

PD_BUILD_OP(batch_norm_relu)
    .Inputs({"X", "Scale", "Bias", "Mean", "Variance"})
    .Outputs({"Y", "SavedMean", "SavedInvStd"})
    .Attrs({"momentum: float", "epsilon: float", "relu: bool", "threads: int"})
    .SetKernelFn(PD_KERNEL(BatchNormReluForward))
    .SetInferShapeFn(PD_INFER_SHAPE(BatchNormReluShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(BatchNormReluDtype));

PD_BUILD_GRAD_OP(batch_norm_relu)
    .Inputs({"X", "Scale", "SavedMean", "SavedInvStd", "Y", paddle::Grad("Y")})
    .Outputs({paddle::Grad("X"), paddle::Grad("Scale"), paddle::Grad("Bias")})
    .Attrs({"momentum: float", "epsilon: float", "relu: bool", "threads: int"})
    .SetKernelFn(PD_KERNEL(BatchNormReluBackward));
