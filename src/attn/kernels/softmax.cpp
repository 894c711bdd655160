#include "attn/kernels/softmax.h"

#include <cmath>
#include <limits>

namespace attn::kernels {

// Rows are strided by `inner`: element j of row (o, k) is at o*n*inner + j*inner + k.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) if (outer * inner * n > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const float* xr = x + o * n * inner + k;
      float* yr = y + o * n * inner + k;
      float m = -std::numeric_limits<float>::infinity();
      bool has_nan = false;
      for (int64_t j = 0; j < n; ++j) {
        m = std::fmax(m, xr[j * inner]);
        has_nan |= std::isnan(xr[j * inner]);
      }
      if (m == -std::numeric_limits<float>::infinity() && !has_nan) {  // fully masked row
        for (int64_t j = 0; j < n; ++j) yr[j * inner] = 0.f;
        continue;
      }
      float sum = 0.f;
      for (int64_t j = 0; j < n; ++j) {
        const float e = std::exp(xr[j * inner] - m);
        yr[j * inner] = e;
        sum += e;
      }
      const float inv = 1.f / sum;
      for (int64_t j = 0; j < n; ++j) yr[j * inner] *= inv;
    }
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
  // in the forward pass: y_i = e_i / Σ e_j, so ∂y_i/∂x_j = y_i (δ_ij - y_j) and
  // dx_j = Σ_i dy_i y_i (δ_ij - y_j) = y_j (dy_j - Σ_i dy_i y_i)
#pragma omp parallel for collapse(2) if (outer * inner * n > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t base = o * n * inner + k;
      float dot = 0.f;
      for (int64_t j = 0; j < n; ++j) dot += dy[base + j * inner] * y[base + j * inner];
      for (int64_t j = 0; j < n; ++j) {
        const int64_t i = base + j * inner;
        dx[i] += y[i] * (dy[i] - dot);
      }
    }
}

void log_softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) if (outer * inner * n > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t base = o * n * inner + k;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n; ++j) m = std::fmax(m, x[base + j * inner]);
      float sum = 0.f;
      for (int64_t j = 0; j < n; ++j) sum += std::exp(x[base + j * inner] - m);
      const float lse = m + std::log(sum);
      for (int64_t j = 0; j < n; ++j) y[base + j * inner] = x[base + j * inner] - lse;
    }
}

void log_softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n,
                          int64_t inner) {
  // in the forward pass: y_i = x_i - lse(x), ∂lse/∂x_j = softmax_j = exp(y_j), so
  // dx_j = dy_j - exp(y_j) Σ_i dy_i
#pragma omp parallel for collapse(2) if (outer * inner * n > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) {
      const int64_t base = o * n * inner + k;
      float s = 0.f;
      for (int64_t j = 0; j < n; ++j) s += dy[base + j * inner];
      for (int64_t j = 0; j < n; ++j) {
        const int64_t i = base + j * inner;
        dx[i] += dy[i] - std::exp(y[i]) * s;
      }
    }
}

}  // namespace attn::kernels
