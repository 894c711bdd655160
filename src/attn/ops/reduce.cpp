// Reductions: sum, mean, max — and sum_to_shape, the inverse of broadcasting.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/ops/broadcast.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {

// Which dims are reduced, as a bool per dim (sorted, deduplicated, wrapped); empty list = all dims.
std::vector<bool> reduced_dims(const Shape& shape, const std::vector<int64_t>& dims, const char* op) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<bool> r(nd, dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, op);
    ATTN_CHECK(nd == 0 || !r[w], op, "dim " << d << " appears more than once");
    if (nd) r[w] = true;
  }
  return r;
}

// out[j] (the kept shape, reduced dims as size 1) = scale * Σ x over the reduced dims. Double accumulators.
Tensor sum_impl(const Tensor& x, const std::vector<bool>& red, float scale) {
  Shape kept = x.shape();
  for (size_t d = 0; d < kept.size(); ++d)
    if (red[d]) kept[d] = 1;
  Tensor out = Tensor::empty(kept);
  const int64_t m = out.numel();
  if (m == 1) {
    double s = 0.0;
    const float* p = x.data();
#pragma omp parallel for reduction(+ : s) if (x.numel() > 65536)
    for (int64_t i = 0; i < x.numel(); ++i) s += p[i];
    out.data()[0] = static_cast<float>(s * scale);
    return out;
  }
  std::vector<double> acc(m, 0.0);
  const std::vector<int64_t> strides[1] = {broadcast_strides(kept, x.shape())};
  const float* p = x.data();
  detail::for_each_broadcast(x.shape(), strides, [&](int64_t i, int64_t j) { acc[j] += p[i]; });
  for (int64_t j = 0; j < m; ++j) out.data()[j] = static_cast<float>(acc[j] * scale);
  return out;
}

Shape drop_reduced(const Shape& shape, const std::vector<bool>& red) {
  Shape s;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!red[d]) s.push_back(shape[d]);
  return s;
}

Tensor reduce_sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool average, const char* name) {
  ATTN_CHECK(x.defined(), name, "input is undefined");
  const std::vector<bool> red = reduced_dims(x.shape(), dims, name);
  int64_t count = 1;
  for (size_t d = 0; d < red.size(); ++d)
    if (red[d]) count *= x.shape()[d];
  const float scale = average ? 1.f / static_cast<float>(std::max<int64_t>(count, 1)) : 1.f;
  Tensor out = sum_impl(x, red, scale);
  const Shape kept = out.shape();
  if (!keepdim) out.impl()->shape = drop_reduced(x.shape(), red);  // same data, fewer dims
  if (needs_grad({&x})) {
    record(out, name, {x}, [kept, scale](const Tensor& gy, std::vector<Tensor>& gin) {
      // in the forward pass: out[j] = scale Σ_{i ↦ j} x[i], so each x[i] gets scale * gy[j]
      Tensor& dx = gin[0];
      const std::vector<int64_t> strides[1] = {broadcast_strides(kept, dx.shape())};
      const float* g = gy.data();
      float* d = dx.data();
      detail::for_each_broadcast(dx.shape(), strides, [&](int64_t i, int64_t j) { d[i] += scale * g[j]; });
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce_sum(x, {}, false, false, "sum"); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  ATTN_CHECK(!dims.empty(), "sum", "dims is empty; use sum(x) to reduce every dim");
  return reduce_sum(x, dims, keepdim, false, "sum");
}
Tensor mean(const Tensor& x) { return reduce_sum(x, {}, false, true, "mean"); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  ATTN_CHECK(!dims.empty(), "mean", "dims is empty; use mean(x) to reduce every dim");
  return reduce_sum(x, dims, keepdim, true, "mean");
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim, IndexTensor* indices) {
  ATTN_CHECK(x.defined(), "max", "input is undefined");
  dim = wrap_dim(dim, x.dim(), "max");
  ATTN_CHECK(x.dim() == 0 || x.shape()[dim] > 0, "max", "cannot reduce over an empty dim " << dim);
  const DimSplit s = x.dim() ? split_at_dim(x.shape(), dim) : DimSplit{1, 1, 1};
  Shape kept = x.shape();
  if (x.dim()) kept[dim] = 1;
  Tensor out = Tensor::empty(kept);
  std::vector<int64_t> arg(s.outer * s.inner);
  const float* p = x.data();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t k = 0; k < s.inner; ++k) {
      int64_t best = 0;
      float bv = p[o * s.size * s.inner + k];
      for (int64_t j = 1; j < s.size; ++j) {
        const float v = p[(o * s.size + j) * s.inner + k];
        if (v > bv || (std::isnan(v) && !std::isnan(bv))) {  // NaN propagates, as in PyTorch
          bv = v;
          best = j;
        }
      }
      out.data()[o * s.inner + k] = bv;
      arg[o * s.inner + k] = best;
    }
  if (!keepdim && x.dim()) {
    Shape sq = x.shape();
    sq.erase(sq.begin() + dim);
    out.impl()->shape = sq;
  }
  if (indices) *indices = IndexTensor(arg, out.shape());
  if (needs_grad({&x})) {
    record(out, "max", {x}, [arg, s](const Tensor& gy, std::vector<Tensor>& gin) {
      // Only the (first) maximal element of each slice influenced the output.
      const float* g = gy.data();
      float* dx = gin[0].data();
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t k = 0; k < s.inner; ++k)
          dx[(o * s.size + arg[o * s.inner + k]) * s.inner + k] += g[o * s.inner + k];
    });
  }
  return out;
}

Tensor max(const Tensor& x) {
  ATTN_CHECK(x.defined() && x.numel() > 0, "max", "input is undefined or empty");
  return max(reshape(x, {x.numel()}), 0, false);
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const Shape b = broadcast_shapes(shape, x.shape(), "sum_to_shape");
  ATTN_CHECK(b == x.shape(), "sum_to_shape",
             "shape " << shape_str(shape) << " does not broadcast to " << shape_str(x.shape()));
  const size_t lead = x.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (d < lead || shape[d - lead] == 1) dims.push_back(static_cast<int64_t>(d));
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return reshape(s, shape);
}

}  // namespace attn
