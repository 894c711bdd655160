// exp and tanh for float32 written so that the compiler vectorizes loops over them (no libm call, no
// branch), for the elementwise kernels where libm's scalar expf/tanhf dominated (tanh-GELU: ~30% of a GPT
// training step).
//
//   exp(x):  n = round(x / ln 2), r = x - n·ln 2 (ln 2 split in two for exactness), |r| ≤ ln2 / 2
//            exp(x) = 2ⁿ · (1 + r + r²/2 + … ), the polynomial being Cephes' minimax fit (≈ 1 ulp),
//            2ⁿ built from the exponent bits. Below x = -87.34 the result is 0 (libm gives subnormals
//            down to -103.9; a masked score, -inf, gives exactly 0); above 88.37 (overflow) it saturates at
//            float's largest power of two times the polynomial instead of inf. NaN stays NaN.
//   tanh(x): |x| < 0.625: x + x³·P(x²) (Cephes' minimax polynomial, no cancellation near 0)
//            otherwise:  sign(x) · (1 - 2 / (exp(2|x|) + 1))
//            Both are computed and one is selected, so the loop has no branch. Error ≈ 2 ulp.
//   erfc(x): t = 1 / (1 + |x|/2),  erfc(|x|) = t · exp(-x² + P(t)),  erfc(x) = 2 - erfc(|x|) for x < 0
//            (Numerical Recipes' erfcc, a Chebyshev fit: relative error < 1.2e-7 for every x, so the tail
//            that exact GELU's Φ(x) = ½ erfc(-x/√2) needs for negative x keeps its digits; 1 - erf would not).
//
// Vectorizing needs every step to be a plain vector instruction under the project's flags (-O3, no
// -ffast-math, trapping math on). Two obvious spellings are not: std::floor is a call to floorf unless
// -fno-trapping-math, and std::fmin/fmax have NaN rules of their own; either one leaves the whole loop
// scalar (GCC 12: "control flow in loop"), 10× slower. So n is rounded with the 1.5·2²³ trick (adding it
// pushes the fraction bits out, to nearest even; exact for |n| < 2²²), and the clamps are comparisons
// (a NaN compares false and passes through both).
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace attn::kernels {

inline float exp_vec(float x) {
  const bool underflow = x < -87.33654f;
  x = underflow ? -87.33654f : x;
  x = x > 88.37626f ? 88.37626f : x;
  constexpr float kRound = 12582912.f;                           // 1.5 · 2²³
  const float n = (x * 1.44269504088896341f + kRound) - kRound;  // round(x / ln 2)
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;     // x - n·ln2, ln2 = 0.693359375 - 2.12194440e-4
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  // 2ⁿ from the exponent bits (a NaN x gives n = NaN: converted as 0, which would be undefined otherwise;
  // the polynomial is NaN already)
  const auto bits = static_cast<uint32_t>(static_cast<int32_t>(n == n ? n : 0.f) + 127) << 23;
  return underflow ? 0.f : p * std::bit_cast<float>(bits);
}

inline float tanh_vec(float x) {
  const float a = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float big = 1.f - 2.f / (exp_vec(2.f * a) + 1.f);
  return std::copysign(a < 0.625f ? small : big, x);  // small already has x's sign; this keeps -0
}

inline float erfc_vec(float x) {
  const float z = std::fabs(x);
  const float t = 1.f / (1.f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float r = t * exp_vec(p - z * z);  // erfc(|x|)
  return x < 0.f ? 2.f - r : r;
}

}  // namespace attn::kernels
