// float32 NCHW 2-D convolution through oneDNN's convolution primitives, as a Paddle custom operator
// with its gradient: x [N, C, H, W], w [O, C / G, kh, kw] -> out [N, O, Ho, Wo]; G = C / w[1] groups
// (1: dense, C: depthwise), the weights seen by oneDNN as [G, O / G, C / G, kh, kw].
// Attributes: strides [sh, sw], paddings [top, left, bottom, right], dilations [dh, dw] (Paddle's
// convention: 1 means none), threads (most OpenMP threads the primitives may use). Primitives are
// built once per shape and thread count and kept; tensors are reordered to and from the layouts
// oneDNN picks (format_tag::any) around each call.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "openmp_team.h"
#include "paddle/extension.h"

namespace {

using dnnl::memory;
using Dims = memory::dims;

struct ConvShape {
  Dims src, weights, dst, strides, dilations, pad_l, pad_r;
  int threads;  // OpenMP threads the primitives are built for and run on
  bool operator<(const ConvShape& o) const {
    return std::tie(src, weights, strides, dilations, pad_l, pad_r, threads) <
           std::tie(o.src, o.weights, o.strides, o.dilations, o.pad_l, o.pad_r, o.threads);
  }
};

// Sets the OpenMP thread count libdnnl builds and runs its primitives for (on the calling thread, through
// openmp_team.h's calls) for its lifetime and restores it after: Paddle's own kernels keep theirs. Without
// both calls found (a libdnnl of another build), the count is left alone.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) {
    const openmp_team::Calls& calls = openmp_team::calls();
    if (!calls.get_max_threads || !calls.set_num_threads) return;
    saved_ = calls.get_max_threads();
    if (threads != saved_) (set_ = calls.set_num_threads)(threads);
  }
  ~OmpThreads() {
    if (set_) set_(saved_);
  }

 private:
  int saved_ = 0;
  void (*set_)(int) = nullptr;
};

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc any_desc(const Dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

memory::desc plain_desc(const Dims& dims) {  // NCHW, OIHW or GOIHW
  return memory::desc(dims, memory::data_type::f32,
                      dims.size() == 5 ? memory::format_tag::abcde : memory::format_tag::abcd);
}

// The forward, backward-data and backward-weights primitives of one shape.
struct ConvPrimitives {
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_weights;

  explicit ConvPrimitives(const ConvShape& s) {
    auto& eng = cpu_engine();
    auto src = any_desc(s.src), weights = any_desc(s.weights), dst = any_desc(s.dst);
    fwd_pd = dnnl::convolution_forward::primitive_desc(
        eng, dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, weights,
        dst, s.strides, s.dilations, s.pad_l, s.pad_r);
    bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
        eng, dnnl::algorithm::convolution_direct, src, weights, dst, s.strides, s.dilations,
        s.pad_l, s.pad_r, fwd_pd);
    bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
        eng, dnnl::algorithm::convolution_direct, src, weights, dst, s.strides, s.dilations,
        s.pad_l, s.pad_r, fwd_pd);
    fwd = dnnl::convolution_forward(fwd_pd);
    bwd_data = dnnl::convolution_backward_data(bwd_data_pd);
    bwd_weights = dnnl::convolution_backward_weights(bwd_weights_pd);
  }
};

ConvPrimitives& primitives_for(const ConvShape& shape) {
  static std::mutex lock;
  static std::map<ConvShape, std::unique_ptr<ConvPrimitives>> cache;
  std::lock_guard<std::mutex> guard(lock);
  auto& entry = cache[shape];
  if (!entry) entry = std::make_unique<ConvPrimitives>(shape);
  return *entry;
}

Dims to_dims(const std::vector<int64_t>& v) { return Dims(v.begin(), v.end()); }

// Fewest multiply-adds per thread worth a second thread (a wake-up and a split costs more below).
constexpr double kMinMacsPerThread = 32e6;

ConvShape conv_shape(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                     const std::vector<int>& strides, const std::vector<int>& paddings,
                     const std::vector<int>& dilations, int threads = 1) {
  ConvShape s;
  s.src = to_dims(x);
  int64_t groups = x[1] / w[1];
  s.weights = groups == 1 ? to_dims(w) : Dims{groups, w[0] / groups, w[1], w[2], w[3]};
  s.strides = {strides[0], strides[1]};
  s.dilations = {dilations[0] - 1, dilations[1] - 1};
  s.pad_l = {paddings[0], paddings[1]};
  s.pad_r = {paddings[2], paddings[3]};
  Dims out{x[0], w[0], 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t span = (w[2 + i] - 1) * dilations[i] + 1;
    out[2 + i] = (x[2 + i] + paddings[i] + paddings[2 + i] - span) / strides[i] + 1;
  }
  s.dst = out;
  double macs = 1.0 * out[0] * out[1] * out[2] * out[3] * w[1] * w[2] * w[3];
  s.threads = std::max(1, std::min(threads, static_cast<int>(macs / kMinMacsPerThread)));
  return s;
}

// A memory object on `handle` (nullptr: one it allocates) through the C call every oneDNN 3.x
// library has; the C++ constructors of newer headers call a function older 3.x builds lack.
memory make_memory(const memory::desc& desc, void* handle) {
  dnnl_memory_t result;
  dnnl::error::wrap_c_api(
      dnnl_memory_create(&result, desc.get(), cpu_engine().get(), handle ? handle : DNNL_MEMORY_ALLOCATE),
      "could not create a memory object");
  return memory(result);
}

// A plain (NCHW / OIHW) buffer seen in the layout `want`: itself, or a reordered copy.
memory as_layout(memory plain, const memory::desc& want, dnnl::stream& strm) {
  if (plain.get_desc() == want) return plain;
  memory copy = make_memory(want, nullptr);
  dnnl::reorder(plain, copy).execute(strm, plain, copy);
  return copy;
}

// Runs `run` on a buffer in layout `want`, then leaves the result in `plain`.
template <typename Run>
void into_plain(memory plain, const memory::desc& want, dnnl::stream& strm, Run run) {
  if (plain.get_desc() == want) {
    run(plain);
    return;
  }
  memory result = make_memory(want, nullptr);
  run(result);
  dnnl::reorder(result, plain).execute(strm, result, plain);
}

memory wrap(const paddle::Tensor& t, const Dims& dims) {
  return make_memory(plain_desc(dims), const_cast<float*>(t.data<float>()));
}

void check_inputs(const paddle::Tensor& x, const paddle::Tensor& w) {
  PD_CHECK(x.is_cpu() && w.is_cpu(), "onednn_conv2d runs on CPU tensors only");
  PD_CHECK(x.dtype() == paddle::DataType::FLOAT32 && w.dtype() == paddle::DataType::FLOAT32,
           "onednn_conv2d takes float32 tensors only");
  PD_CHECK(x.shape().size() == 4 && w.shape().size() == 4 && x.shape()[1] % w.shape()[1] == 0 &&
               w.shape()[0] % (x.shape()[1] / w.shape()[1]) == 0,
           "onednn_conv2d takes x [N, C, H, W] and w [O, C / G, kh, kw] with O a multiple of G");
}

}  // namespace

std::vector<paddle::Tensor> OneDnnConv2dForward(const paddle::Tensor& x_in, const paddle::Tensor& w_in,
                                                const std::vector<int>& strides,
                                                const std::vector<int>& paddings,
                                                const std::vector<int>& dilations, int threads) {
  check_inputs(x_in, w_in);
  auto x = x_in.contiguous(), w = w_in.contiguous();
  auto s = conv_shape(x.shape(), w.shape(), strides, paddings, dilations, threads);
  OmpThreads omp(s.threads);
  auto& p = primitives_for(s);
  auto out = paddle::empty(std::vector<int64_t>(s.dst.begin(), s.dst.end()), paddle::DataType::FLOAT32,
                           paddle::CPUPlace());
  dnnl::stream strm(cpu_engine());
  auto src = as_layout(wrap(x, s.src), p.fwd_pd.src_desc(), strm);
  auto weights = as_layout(wrap(w, s.weights), p.fwd_pd.weights_desc(), strm);
  into_plain(wrap(out, s.dst), p.fwd_pd.dst_desc(), strm, [&](const memory& dst) {
    p.fwd.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  });
  strm.wait();
  return {out};
}

std::vector<paddle::Tensor> OneDnnConv2dBackward(const paddle::Tensor& x_in, const paddle::Tensor& w_in,
                                                 const paddle::Tensor& grad_out_in,
                                                 const std::vector<int>& strides,
                                                 const std::vector<int>& paddings,
                                                 const std::vector<int>& dilations, int threads) {
  check_inputs(x_in, w_in);
  auto x = x_in.contiguous(), w = w_in.contiguous(), grad_out = grad_out_in.contiguous();
  auto s = conv_shape(x.shape(), w.shape(), strides, paddings, dilations, threads);
  OmpThreads omp(s.threads);
  auto& p = primitives_for(s);
  auto grad_x = paddle::empty(x.shape(), paddle::DataType::FLOAT32, paddle::CPUPlace());
  auto grad_w = paddle::empty(w.shape(), paddle::DataType::FLOAT32, paddle::CPUPlace());
  dnnl::stream strm(cpu_engine());
  memory plain_dy = wrap(grad_out, s.dst);
  auto dy_data = as_layout(plain_dy, p.bwd_data_pd.diff_dst_desc(), strm);
  auto weights = as_layout(wrap(w, s.weights), p.bwd_data_pd.weights_desc(), strm);
  into_plain(wrap(grad_x, s.src), p.bwd_data_pd.diff_src_desc(), strm, [&](const memory& dx) {
    p.bwd_data.execute(strm, {{DNNL_ARG_DIFF_DST, dy_data}, {DNNL_ARG_WEIGHTS, weights},
                              {DNNL_ARG_DIFF_SRC, dx}});
  });
  auto src = as_layout(wrap(x, s.src), p.bwd_weights_pd.src_desc(), strm);
  auto dy_weights = p.bwd_weights_pd.diff_dst_desc() == dy_data.get_desc()
                        ? dy_data
                        : as_layout(plain_dy, p.bwd_weights_pd.diff_dst_desc(), strm);
  into_plain(wrap(grad_w, s.weights), p.bwd_weights_pd.diff_weights_desc(), strm, [&](const memory& dw) {
    p.bwd_weights.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dy_weights},
                                 {DNNL_ARG_DIFF_WEIGHTS, dw}});
  });
  strm.wait();
  return {grad_x, grad_w};
}

std::vector<std::vector<int64_t>> OneDnnConv2dShape(const std::vector<int64_t>& x,
                                                    const std::vector<int64_t>& w,
                                                    const std::vector<int>& strides,
                                                    const std::vector<int>& paddings,
                                                    const std::vector<int>& dilations, int) {
  auto dst = conv_shape(x, w, strides, paddings, dilations).dst;
  return {std::vector<int64_t>(dst.begin(), dst.end())};
}

std::vector<paddle::DataType> OneDnnConv2dDtype(const paddle::DataType& x, const paddle::DataType&) {
  return {x};
}

PD_BUILD_OP(onednn_conv2d)
    .Inputs({"X", "W"})
    .Outputs({"Out"})
    .Attrs({"strides: std::vector<int>", "paddings: std::vector<int>", "dilations: std::vector<int>",
            "threads: int"})
    .SetKernelFn(PD_KERNEL(OneDnnConv2dForward))
    .SetInferShapeFn(PD_INFER_SHAPE(OneDnnConv2dShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(OneDnnConv2dDtype));

PD_BUILD_GRAD_OP(onednn_conv2d)
    .Inputs({"X", "W", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X"), paddle::Grad("W")})
    .Attrs({"strides: std::vector<int>", "paddings: std::vector<int>", "dilations: std::vector<int>",
            "threads: int"})
    .SetKernelFn(PD_KERNEL(OneDnnConv2dBackward));
