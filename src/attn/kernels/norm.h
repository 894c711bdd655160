// Normalization kernels over the last `d` elements of each of `rows` rows.
//
// LayerNorm (Ba et al. 2016):  μ = mean(x),  σ² = mean((x-μ)²),  x̂ = (x-μ) / √(σ²+ε),  y = x̂ γ + β
//   saved: mean (rows), rstd = 1/√(σ²+ε) (rows)
//   backward: dβ += Σ_rows dy;  dγ += Σ_rows dy x̂;
//             g = dy γ;  dx += rstd (g - mean(g) - x̂ mean(g x̂))
// RMSNorm (Zhang & Sennrich 2019):  r = 1/√(mean(x²)+ε),  y = x r γ
//   backward: dγ += Σ_rows dy x r;  g = dy γ;  dx += r g - x r³ mean(g x)
// gamma/beta may be null (no affine parameters); their gradients may be null (not needed). With
// accumulate_dx = false, LayerNorm's backward writes dx (=) instead of adding to it.
#pragma once
#include <cstdint>

namespace attn::kernels {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t d);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d, bool accumulate_dx = true);

void rms_norm_forward(const float* x, const float* gamma, float eps, float* y, float* rrms, int64_t rows, int64_t d);
void rms_norm_backward(const float* x, const float* gamma, const float* rrms, const float* dy, float* dx, float* dgamma,
                       int64_t rows, int64_t d);

}  // namespace attn::kernels
