// Softmax and log-softmax over one dim of a tensor seen as (outer, n, inner).
//
//   softmax:      y_i = exp(x_i - m) / Σ_j exp(x_j - m),  m = max_j x_j  (subtracting m avoids overflow)
//   backward:     dx_i += y_i (dy_i - Σ_j dy_j y_j)
//   log_softmax:  y_i = x_i - m - log Σ_j exp(x_j - m)
//   backward:     dx_i += dy_i - exp(y_i) Σ_j dy_j
// A row that is all -inf (every position masked) gives zeros for softmax, not NaN.
#pragma once
#include <cstdint>

namespace attn::kernels {

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner);

void log_softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);
void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner);

}  // namespace attn::kernels
