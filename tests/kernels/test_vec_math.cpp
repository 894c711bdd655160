// The vectorizable exp and tanh (attn/kernels/vec_math.h) against libm in double, over a dense sweep and
// the edges: overflow/underflow clamps, ±0, the branch point of tanh at |x| = 0.625.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/kernels/vec_math.h"

using attn::kernels::exp_vec;
using attn::kernels::tanh_vec;

TEST(VecMath, ExpIsWithinTwoUlpOverTheNormalRange) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 1.0 / 1024) {
    const float xf = static_cast<float>(x);
    const double ref = std::exp(static_cast<double>(xf));
    const double rel = std::fabs(exp_vec(xf) - ref) / ref;
    worst = std::max(worst, rel);
  }
  EXPECT_LT(worst, 2.5e-7) << "worst relative error";  // float's ulp is 1.19e-7 relative at most
  EXPECT_EQ(exp_vec(0.f), 1.f);
  EXPECT_EQ(exp_vec(-1000.f), 0.f);    // underflow: 0, never NaN
  EXPECT_EQ(exp_vec(-INFINITY), 0.f);  // a masked score
  EXPECT_GT(exp_vec(-87.3f), 1e-38f);
  EXPECT_TRUE(std::isnan(exp_vec(NAN)));
  EXPECT_TRUE(std::isnan(tanh_vec(NAN)));
  EXPECT_TRUE(std::isfinite(exp_vec(1000.f)));
  EXPECT_GT(exp_vec(1000.f), 1e38f);
}

TEST(VecMath, TanhIsWithinAFewUlpEverywhereIncludingNearZero) {
  double worst = 0;
  for (double x = -20.0; x <= 20.0; x += 1.0 / 4096) {
    const float xf = static_cast<float>(x);
    const double ref = std::tanh(static_cast<double>(xf));
    const double err = std::fabs(tanh_vec(xf) - ref) / std::max(std::fabs(ref), 1e-30);
    worst = std::max(worst, err);
  }
  EXPECT_LT(worst, 4e-7) << "worst relative error";
  for (float tiny : {1e-3f, 1e-6f, 1e-20f, -3e-5f}) EXPECT_NEAR(tanh_vec(tiny) / tiny, 1.0, 1e-6) << tiny;
  EXPECT_EQ(tanh_vec(0.f), 0.f);
  EXPECT_TRUE(std::signbit(tanh_vec(-0.f)));
  EXPECT_EQ(tanh_vec(100.f), 1.f);
  EXPECT_EQ(tanh_vec(-100.f), -1.f);
  EXPECT_NEAR(tanh_vec(0.625f), std::tanh(0.625), 2e-7);  // either side of the switch
  EXPECT_NEAR(tanh_vec(std::nextafter(0.625f, 0.f)), std::tanh(std::nextafter(0.625f, 0.f)), 2e-7);
}

TEST(VecMath, ErfcKeepsItsRelativeAccuracyInBothTails) {
  using attn::kernels::erfc_vec;
  // Relative error against double libm. Float rounds exp's argument -x² to ~x²·6e-8 absolute, which becomes
  // relative error growing with x² in the right tail (erfc(9) ≈ 4e-37 is still a normal float); how much
  // depends on whether the compiler fuses multiply-adds, so the far tail gets its own, looser bound.
  auto worst_on = [&](double lo, double hi) {
    double worst = 0;
    for (double x = lo; x <= hi; x += 1.0 / 2048) {
      const float xf = static_cast<float>(x);
      const double ref = std::erfc(static_cast<double>(xf));
      worst = std::max(worst, std::fabs(erfc_vec(xf) - ref) / ref);
    }
    return worst;
  };
  EXPECT_LT(worst_on(-2.0, 2.0), 6e-7) << "where GELU's inputs live";
  EXPECT_LT(worst_on(-6.0, 4.0), 2.5e-6) << "the left tail and the near right tail";
  EXPECT_LT(worst_on(4.0, 9.0), 1.5e-5) << "the far right tail";
  EXPECT_EQ(erfc_vec(100.f), 0.f);
  EXPECT_EQ(erfc_vec(-100.f), 2.f);
  EXPECT_NEAR(erfc_vec(0.f), 1.0, 2e-7);
  EXPECT_TRUE(std::isnan(erfc_vec(NAN)));
}
