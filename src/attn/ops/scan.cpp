// Scans: cumsum (the prefix sum) and its backward, the reverse prefix sum.
#include <vector>

#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {

// y[o, i, k] = Σ_{j <= i} x[o, j, k] for x seen as (outer, n, inner). Row i is added into a running row
// of `inner` double accumulators (a long prefix sum in float32 drifts by O(n·ε)), so memory is read
// contiguously whatever the dim.
void cumsum_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for if (outer > 1 && outer * n * inner > 65536)
  for (int64_t o = 0; o < outer; ++o) {
    std::vector<double> acc(inner, 0.0);  // (inner) running sums
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + (o * n + i) * inner;
      float* yi = y + (o * n + i) * inner;
      for (int64_t k = 0; k < inner; ++k) yi[k] = static_cast<float>(acc[k] += xi[k]);
    }
  }
}
// in the forward pass this was: y[i] = Σ_{j <= i} x[j], so x[j] reached every y[i] with i >= j and
// now dx[j] += Σ_{i >= j} dy[i] — the same scan run from the end.
void cumsum_backward(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for if (outer > 1 && outer * n * inner > 65536)
  for (int64_t o = 0; o < outer; ++o) {
    std::vector<double> acc(inner, 0.0);
    for (int64_t i = n - 1; i >= 0; --i) {
      const float* gi = dy + (o * n + i) * inner;
      float* di = dx + (o * n + i) * inner;
      for (int64_t k = 0; k < inner; ++k) di[k] += static_cast<float>(acc[k] += gi[k]);
    }
  }
}

}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) {
  ATTN_CHECK(x.defined(), "cumsum", "input is undefined");
  dim = wrap_dim(dim, x.dim() == 0 ? 1 : x.dim(), "cumsum");  // a 0-d tensor scans over itself, as in torch
  const DimSplit s = x.dim() ? split_at_dim(x.shape(), dim) : DimSplit{1, 1, 1};
  Tensor y = Tensor::empty(x.shape());
  cumsum_forward(x.data(), y.data(), s.outer, s.size, s.inner);
  if (needs_grad({&x})) {
    record(y, "cumsum", {x}, [s](const Tensor& gy, std::vector<Tensor>& gin) {
      cumsum_backward(gy.data(), gin[0].data(), s.outer, s.size, s.inner);
    });
  }
  return y;
}

}  // namespace attn
