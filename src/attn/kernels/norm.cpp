#include "attn/kernels/norm.h"

#include <cmath>
#include <vector>

#include "attn/kernels/parallel.h"

namespace attn::kernels {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* mean, float* rstd, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double m = 0.0;  // double accumulators: rows may be thousands wide
    for (int64_t i = 0; i < d; ++i) m += xr[i];
    m /= static_cast<double>(d);
    double v = 0.0;
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

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd,
                         const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d) {
  // Parameter gradients sum over rows: serial over rows to keep the accumulation race-free.
  if (dgamma || dbeta) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * d;
      const float* dyr = dy + r * d;
      for (int64_t i = 0; i < d; ++i) {
        if (dgamma) dgamma[i] += dyr[i] * (xr[i] - mean[r]) * rstd[r];
        if (dbeta) dbeta[i] += dyr[i];
      }
    }
  }
  if (!dx) return;
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    const float* dyr = dy + r * d;
    // in the forward pass: y = x̂ γ + β with x̂ = (x - μ) rstd; with g = dy γ,
    // dx = rstd (g - mean(g) - x̂ mean(g x̂))
    double mg = 0.0, mgx = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      const float g = dyr[i] * (gamma ? gamma[i] : 1.f);
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      mg += g;
      mgx += g * xhat;
    }
    mg /= static_cast<double>(d);
    mgx /= static_cast<double>(d);
    for (int64_t i = 0; i < d; ++i) {
      const float g = dyr[i] * (gamma ? gamma[i] : 1.f);
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      dx[r * d + i] += rstd[r] * (g - static_cast<float>(mg) - xhat * static_cast<float>(mgx));
    }
  }
}

void rms_norm_forward(const float* x, const float* gamma, float eps, float* y, float* rrms, int64_t rows,
                      int64_t d) {
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

void rms_norm_backward(const float* x, const float* gamma, const float* rrms, const float* dy, float* dx,
                       float* dgamma, int64_t rows, int64_t d) {
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
    for (int64_t i = 0; i < d; ++i)
      dx[r * d + i] += rr * dy[r * d + i] * (gamma ? gamma[i] : 1.f) - x[r * d + i] * c;
  }
}

}  // namespace attn::kernels
