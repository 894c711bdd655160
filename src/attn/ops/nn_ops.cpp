// softmax, log_softmax, layer_norm, rms_norm, dropout.
#include <cmath>

#include "attn/core/error.h"
#include "attn/kernels/norm.h"
#include "attn/kernels/softmax.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {
Tensor softmax_like(const Tensor& x, int64_t dim, bool log_space) {
  const char* name = log_space ? "log_softmax" : "softmax";
  ATTN_CHECK(x.defined(), name, "input is undefined");
  dim = wrap_dim(dim, x.dim(), name);
  const DimSplit s = x.dim() ? split_at_dim(x.shape(), dim) : DimSplit{1, 1, 1};
  Tensor y = Tensor::empty(x.shape());
  if (log_space) kernels::log_softmax_forward(x.data(), y.data(), s.outer, s.size, s.inner);
  else kernels::softmax_forward(x.data(), y.data(), s.outer, s.size, s.inner);
  if (needs_grad({&x})) {
    Tensor sy = y.detach();  // both backward passes need only the output
    record(y, name, {x}, [sy, s, log_space](const Tensor& gy, std::vector<Tensor>& gin) {
      if (log_space) kernels::log_softmax_backward(sy.data(), gy.data(), gin[0].data(), s.outer, s.size, s.inner);
      else kernels::softmax_backward(sy.data(), gy.data(), gin[0].data(), s.outer, s.size, s.inner);
    });
  }
  return y;
}

// Checks that `normalized_shape` is x's trailing shape and returns (rows, d).
std::pair<int64_t, int64_t> norm_geometry(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                                          const Tensor& bias, const char* op) {
  ATTN_CHECK(x.defined(), op, "input is undefined");
  const size_t k = normalized_shape.size();
  ATTN_CHECK(k >= 1 && k <= x.shape().size() &&
                 std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k),
             op,
             "normalized_shape " << shape_str(normalized_shape) << " is not the trailing shape of input "
                                 << shape_str(x.shape()));
  if (weight.defined())
    ATTN_CHECK(weight.shape() == normalized_shape, op,
               "weight shape " << shape_str(weight.shape()) << " differs from normalized_shape "
                               << shape_str(normalized_shape));
  if (bias.defined())
    ATTN_CHECK(
        bias.shape() == normalized_shape, op,
        "bias shape " << shape_str(bias.shape()) << " differs from normalized_shape " << shape_str(normalized_shape));
  const int64_t d = numel(normalized_shape);
  return {d ? x.numel() / d : 0, d};
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_like(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_like(x, dim, true); }

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, float eps) {
  // (rows, d) as plain variables: the backward lambda captures them (clang < 16 cannot capture a structured binding).
  const std::pair<int64_t, int64_t> geometry = norm_geometry(x, normalized_shape, weight, bias, "layer_norm");
  const int64_t rows = geometry.first, d = geometry.second;
  Tensor y = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});  // saved statistics, (rows,)
  kernels::layer_norm_forward(x.data(), weight.defined() ? weight.data() : nullptr,
                              bias.defined() ? bias.data() : nullptr, eps, y.data(), mean.data(), rstd.data(), rows, d);
  if (needs_grad({&x, &weight, &bias})) {
    Tensor sx = x.detach(), sw = weight.defined() ? weight.detach() : Tensor();
    record(
        y, "layer_norm", {x, weight, bias},
        [sx, sw, mean, rstd, rows, d](const Tensor& gy, std::vector<Tensor>& gin) {
          for (int i = 1; i < 3; ++i)  // dγ, dβ are sums over rows: start from zero
            if (first_write(gin[i])) gin[i].fill_(0.f);
          const bool accumulate_dx = !first_write(gin[0]);
          kernels::layer_norm_backward(sx.data(), sw.defined() ? sw.data() : nullptr, mean.data(), rstd.data(),
                                       gy.data(), gin[0].defined() ? gin[0].data() : nullptr,
                                       gin[1].defined() ? gin[1].data() : nullptr,
                                       gin[2].defined() ? gin[2].data() : nullptr, rows, d, accumulate_dx);
        },
        GradInit::MaybeUninitialized);
  }
  return y;
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, float eps) {
  const std::pair<int64_t, int64_t> geometry = norm_geometry(x, normalized_shape, weight, Tensor(), "rms_norm");
  const int64_t rows = geometry.first, d = geometry.second;
  Tensor y = Tensor::empty(x.shape());
  Tensor rrms = Tensor::empty({rows});  // 1 / rms per row, (rows,)
  kernels::rms_norm_forward(x.data(), weight.defined() ? weight.data() : nullptr, eps, y.data(), rrms.data(), rows, d);
  if (needs_grad({&x, &weight})) {
    Tensor sx = x.detach(), sw = weight.defined() ? weight.detach() : Tensor();
    record(y, "rms_norm", {x, weight}, [sx, sw, rrms, rows, d](const Tensor& gy, std::vector<Tensor>& gin) {
      kernels::rms_norm_backward(sx.data(), sw.defined() ? sw.data() : nullptr, rrms.data(), gy.data(),
                                 gin[0].defined() ? gin[0].data() : nullptr, gin[1].defined() ? gin[1].data() : nullptr,
                                 rows, d);
    });
  }
  return y;
}

Tensor dropout(const Tensor& x, float p, bool training, Generator* gen) {
  ATTN_CHECK(x.defined(), "dropout", "input is undefined");
  ATTN_CHECK(p >= 0.f && p <= 1.f, "dropout", "probability must be in [0, 1], got " << p);
  if (!training || p == 0.f) return x;
  Generator& g = gen ? *gen : default_generator();
  // mask[i] = 0 with probability p, else 1/(1-p) so that E[out] = x (p = 1 drops everything).
  Tensor mask = Tensor::empty(x.shape());
  const float keep_scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  const int64_t n = mask.numel();
  float* m = mask.data();
  for (int64_t i = 0; i < n; ++i) m[i] = g.uniform() < p ? 0.f : keep_scale;
  Tensor y = Tensor::empty(x.shape());
  const float* xd = x.data();
  float* yd = y.data();
  for (int64_t i = 0; i < n; ++i) yd[i] = xd[i] * m[i];
  if (needs_grad({&x})) {
    record(y, "dropout", {x}, [mask](const Tensor& gy, std::vector<Tensor>& gin) {
      const int64_t k = gy.numel();
      const float *gyd = gy.data(), *md = mask.data();
      float* gx = gin[0].data();
      for (int64_t i = 0; i < k; ++i) gx[i] += gyd[i] * md[i];
    });
  }
  return y;
}

}  // namespace attn
