#include "attn/kernels/softmax.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "attn/kernels/parallel.h"
#include "attn/kernels/vec_math.h"

namespace attn::kernels {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Each row is n elements `stride` apart. The last dim (stride 1, the common case: attention weights,
// logits over a vocabulary) is instantiated with the stride as a constant, so that the loops below
// vectorize (exp_vec, and `omp simd` reductions for the max and the sums); any other dim is strided.
using Contiguous = std::integral_constant<int64_t, 1>;

// max over the row, and whether any element is NaN (a NaN must not look like a masked row).
template <class Stride>
inline float row_max(const float* x, int64_t n, Stride stride, bool* has_nan) {
  float m = kNegInf;
  int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
  for (int64_t j = 0; j < n; ++j) {
    const float v = x[j * stride];
    m = v > m ? v : m;
    nan |= v != v;
  }
  *has_nan = nan != 0;
  return m;
}

template <class Stride>
void softmax_row(const float* x, float* y, int64_t n, Stride stride) {
  bool has_nan = false;
  const float m = row_max(x, n, stride, &has_nan);
  if (has_nan) {  // the exact answer is NaN everywhere, as in torch
    for (int64_t j = 0; j < n; ++j) y[j * stride] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  if (m == kNegInf) {  // fully masked row
    for (int64_t j = 0; j < n; ++j) y[j * stride] = 0.f;
    return;
  }
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    const float e = exp_vec(x[j * stride] - m);
    y[j * stride] = e;
    sum += e;
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j * stride] *= inv;
}

template <class Stride>
void softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n, Stride stride) {
  float dot = 0.f;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += dy[j * stride] * y[j * stride];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j * stride] += y[j * stride] * (dy[j * stride] - dot);
}

template <class Stride>
void log_softmax_row(const float* x, float* y, int64_t n, Stride stride) {
  bool has_nan = false;
  const float m = row_max(x, n, stride, &has_nan);
  // A NaN, or a row of -inf (exp(-inf - -inf) = NaN), gives NaN everywhere, as in torch.
  float sum = 0.f;
  if (!has_nan && m != kNegInf) {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) sum += exp_vec(x[j * stride] - m);
  }
  const float lse = has_nan || m == kNegInf ? std::numeric_limits<float>::quiet_NaN() : m + std::log(sum);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j * stride] = x[j * stride] - lse;
}

template <class Stride>
void log_softmax_backward_row(const float* y, const float* dy, float* dx, int64_t n, Stride stride) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += dy[j * stride];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j * stride] += dy[j * stride] - exp_vec(y[j * stride]) * s;
}

// Runs row(offset of the row's first element, stride) over the (outer, inner) rows, on all threads when
// the tensor is large enough to pay for waking them.
template <class RowContiguous, class RowStrided>
void for_rows(int64_t outer, int64_t n, int64_t inner, RowContiguous contiguous, RowStrided strided) {
  if (inner == 1) {
#pragma omp parallel for if (outer * n > kParallelGrain)
    for (int64_t o = 0; o < outer; ++o) contiguous(o * n);
    return;
  }
#pragma omp parallel for collapse(2) if (outer * inner * n > kParallelGrain)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) strided(o * n * inner + k);
}

}  // namespace

// Rows are strided by `inner`: element j of row (o, k) is at o*n*inner + j*inner + k.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  for_rows(
      outer, n, inner, [&](int64_t base) { softmax_row(x + base, y + base, n, Contiguous{}); },
      [&](int64_t base) { softmax_row(x + base, y + base, n, inner); });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
  // in the forward pass: y_i = e_i / Σ e_j, so ∂y_i/∂x_j = y_i (δ_ij - y_j) and
  // dx_j = Σ_i dy_i y_i (δ_ij - y_j) = y_j (dy_j - Σ_i dy_i y_i)
  for_rows(
      outer, n, inner, [&](int64_t base) { softmax_backward_row(y + base, dy + base, dx + base, n, Contiguous{}); },
      [&](int64_t base) { softmax_backward_row(y + base, dy + base, dx + base, n, inner); });
}

void log_softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  for_rows(
      outer, n, inner, [&](int64_t base) { log_softmax_row(x + base, y + base, n, Contiguous{}); },
      [&](int64_t base) { log_softmax_row(x + base, y + base, n, inner); });
}

void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
  // in the forward pass: y_i = x_i - lse(x), ∂lse/∂x_j = softmax_j = exp(y_j), so
  // dx_j = dy_j - exp(y_j) Σ_i dy_i
  for_rows(
      outer, n, inner, [&](int64_t base) { log_softmax_backward_row(y + base, dy + base, dx + base, n, Contiguous{}); },
      [&](int64_t base) { log_softmax_backward_row(y + base, dy + base, dx + base, n, inner); });
}

}  // namespace attn::kernels
