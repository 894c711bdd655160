#include "attn/kernels/norm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "attn/kernels/parallel.h"

namespace attn::kernels {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double m = 0.0;  // double accumulators: rows may be thousands wide
#pragma omp simd reduction(+ : m)
    for (int64_t i = 0; i < d; ++i) m += xr[i];
    m /= static_cast<double>(d);
    double v = 0.0;
#pragma omp simd reduction(+ : v)
    for (int64_t i = 0; i < d; ++i) v += (xr[i] - m) * (xr[i] - m);
    v /= static_cast<double>(d);
    const float rs = static_cast<float>(1.0 / std::sqrt(v + eps));
    const float mf = static_cast<float>(m);
    for (int64_t i = 0; i < d; ++i) {
      const float xhat = (xr[i] - mf) * rs;
      yr[i] = xhat * (gamma ? gamma[i] : 1.f) + (beta ? beta[i] : 0.f);
    }
    mean[r] = mf;
    rstd[r] = rs;
  }
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d, bool accumulate_dx) {
  // One pass over the rows, split over threads. dγ and dβ sum over rows: each thread sums its own rows
  // into its own (2, d) partial, and the partials are added to dγ, dβ at the end (no race, no atomics).
  const bool par = rows * d > kParallelGrain;
  const int threads = par ? omp_get_max_threads() : 1;
  const bool params = dgamma || dbeta;
  std::vector<float> partial(params ? static_cast<size_t>(threads) * 2 * d : 0, 0.f);
#pragma omp parallel num_threads(threads) if (par)
  {
    float* pg = params ? partial.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * d : nullptr;
    float* pb = params ? pg + d : nullptr;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * d;
      const float* dyr = dy + r * d;
      const float mu = mean[r], rs = rstd[r];
      if (params)
#pragma omp simd
        for (int64_t i = 0; i < d; ++i) {
          pg[i] += dyr[i] * (xr[i] - mu) * rs;
          pb[i] += dyr[i];
        }
      if (!dx) continue;
      // in the forward pass: y = x̂ γ + β with x̂ = (x - μ) rstd; with g = dy γ,
      // dx = rstd (g - mean(g) - x̂ mean(g x̂))
      double mg = 0.0, mgx = 0.0;
#pragma omp simd reduction(+ : mg, mgx)
      for (int64_t i = 0; i < d; ++i) {
        const float g = dyr[i] * (gamma ? gamma[i] : 1.f);
        const float xhat = (xr[i] - mu) * rs;
        mg += g;
        mgx += g * xhat;
      }
      const float a = static_cast<float>(mg / static_cast<double>(d));
      const float b = static_cast<float>(mgx / static_cast<double>(d));
      float* dxr = dx + r * d;
      if (accumulate_dx)
#pragma omp simd
        for (int64_t i = 0; i < d; ++i) dxr[i] += rs * (dyr[i] * (gamma ? gamma[i] : 1.f) - a - (xr[i] - mu) * rs * b);
      else
#pragma omp simd
        for (int64_t i = 0; i < d; ++i) dxr[i] = rs * (dyr[i] * (gamma ? gamma[i] : 1.f) - a - (xr[i] - mu) * rs * b);
    }
  }
  for (int t = 0; params && t < threads; ++t) {
    const float* pg = partial.data() + static_cast<size_t>(t) * 2 * d;
    for (int64_t i = 0; i < d; ++i) {
      if (dgamma) dgamma[i] += pg[i];
      if (dbeta) dbeta[i] += pg[d + i];
    }
  }
}

void rms_norm_forward(const float* x, const float* gamma, float eps, float* y, float* rrms, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float rr = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = xr[i] * rr * (gamma ? gamma[i] : 1.f);
    rrms[r] = rr;
  }
}

void rms_norm_backward(const float* x, const float* gamma, const float* rrms, const float* dy, float* dx, float* dgamma,
                       int64_t rows, int64_t d) {
  if (dgamma) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < d; ++i) dgamma[i] += dy[r * d + i] * x[r * d + i] * rrms[r];
  }
  if (!dx) return;
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    // in the forward pass: y_i = x_i r γ_i, r = (mean(x²) + ε)^(-1/2), ∂r/∂x_j = -r³ x_j / d, so
    // dx_j = r g_j - x_j r³ mean(g x),  g = dy γ
    const float rr = rrms[r];
    double mgx = 0.0;
    for (int64_t i = 0; i < d; ++i) mgx += dy[r * d + i] * (gamma ? gamma[i] : 1.f) * x[r * d + i];
    mgx /= static_cast<double>(d);
    const float c = static_cast<float>(mgx) * rr * rr * rr;
    for (int64_t i = 0; i < d; ++i) dx[r * d + i] += rr * dy[r * d + i] * (gamma ? gamma[i] : 1.f) - x[r * d + i] * c;
  }
}

}  // namespace attn::kernels
