#include "attn/kernels/elementwise.h"

#include <algorithm>
#include <cmath>

#include "attn/kernels/parallel.h"
#include "attn/kernels/vec_math.h"

namespace attn::kernels {

namespace {
// dx[i] += g(i), or dx[i] = g(i) when !accumulate: two loops, so that each vectorizes without a branch.
template <class G>
inline void write_grad(float* dx, int64_t n, bool accumulate, const G& g) {
  if (accumulate) parallel_for(n, [&](int64_t i) { dx[i] += g(i); });
  else parallel_for(n, [&](int64_t i) { dx[i] = g(i); });
}
}  // namespace

void add_inplace(float* dst, const float* src, int64_t n) {
  parallel_for(n, [&](int64_t i) { dst[i] += src[i]; });
}

void scale_inplace(float* dst, float s, int64_t n) {
  parallel_for(n, [&](int64_t i) { dst[i] *= s; });
}

void exp_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) { y[i] = std::exp(x[i]); });
}
void exp_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  // in the forward pass: y = exp(x), so dL/dx = dL/dy * y
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] * y[i]; });
}

void log_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) { y[i] = std::log(x[i]); });
}
void log_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] / x[i]; });
}

void sqrt_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) { y[i] = std::sqrt(x[i]); });
}
void sqrt_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] * 0.5f / y[i]; });
}

void pow_forward(const float* x, float p, float* y, int64_t n) {
  if (p == 2.f) {
    parallel_for(n, [&](int64_t i) { y[i] = x[i] * x[i]; });
    return;
  }
  parallel_for(n, [&](int64_t i) { y[i] = std::pow(x[i], p); });
}
void pow_backward(const float* x, float p, const float* dy, float* dx, int64_t n, bool accumulate) {
  // d/dx x^p = p x^(p-1); p = 0 has zero gradient everywhere (0 * x^-1 would be NaN at x = 0).
  if (p == 0.f) {
    if (!accumulate) std::fill(dx, dx + n, 0.f);
    return;
  }
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] * p * (p == 2.f ? x[i] : std::pow(x[i], p - 1.f)); });
}

void tanh_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) { y[i] = tanh_vec(x[i]); });
}
void tanh_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] * (1.f - y[i] * y[i]); });
}

void sigmoid_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) {
    // Two branches keep exp's argument ≤ 0, so it never overflows (and both are computed, then one is
    // selected: the loop vectorizes).
    const float e = exp_vec(-std::fabs(x[i]));
    y[i] = x[i] >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
  });
}
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) { return dy[i] * y[i] * (1.f - y[i]); });
}

void relu_forward(const float* x, float* y, int64_t n) {
  // x < 0 ? 0 : x rather than x > 0 ? x : 0, so that NaN stays NaN, as in torch
  parallel_for(n, [&](int64_t i) { y[i] = x[i] < 0.f ? 0.f : x[i]; });
}
void relu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) { return x[i] > 0.f ? dy[i] : 0.f; });
}

namespace {
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluC = 0.044715f;
}  // namespace

void gelu_forward(const float* x, float* y, int64_t n) {
  // Φ(x) = ½ (1 + erf(x/√2)) = ½ erfc(-x/√2): accurate in the negative tail too (vec_math.h)
  parallel_for(n, [&](int64_t i) { y[i] = 0.5f * x[i] * erfc_vec(-x[i] * kInvSqrt2); });
}
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) {
    const float cdf = 0.5f * erfc_vec(-x[i] * kInvSqrt2);
    const float pdf = kInvSqrt2Pi * exp_vec(-0.5f * x[i] * x[i]);
    return dy[i] * (cdf + x[i] * pdf);
  });
}

void gelu_tanh_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, [&](int64_t i) {
    const float u = kSqrt2OverPi * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    y[i] = 0.5f * x[i] * (1.f + tanh_vec(u));
  });
}
void gelu_tanh_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate) {
  write_grad(dx, n, accumulate, [&](int64_t i) {
    const float u = kSqrt2OverPi * (x[i] + kGeluC * x[i] * x[i] * x[i]);
    const float t = tanh_vec(u);
    const float du = kSqrt2OverPi * (1.f + 3.f * kGeluC * x[i] * x[i]);
    return dy[i] * (0.5f * (1.f + t) + 0.5f * x[i] * (1.f - t * t) * du);
  });
}

}  // namespace attn::kernels
