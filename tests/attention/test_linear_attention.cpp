// Linear attention: the factored (linear-cost) form equals the quadratic reference, causal and not;
// causality; the feature map; gradients by finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/attention/linear_attention.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"

namespace attn {
namespace {

using testing::gradcheck;

double rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double diff = 0, scale = 1e-12;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b.data()[i])));
  }
  return diff / scale;
}

TEST(AttnLinear, FeatureMapIsEluPlusOne) {
  Tensor x = Tensor::from_vector({-3.f, -0.5f, 0.f, 0.25f, 2.f, 100.f}, {6});
  Tensor y = elu_feature_map(x);
  const std::vector<float> want = {std::exp(-3.f), std::exp(-0.5f), 1.f, 1.25f, 3.f, 101.f};
  for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y.data()[i], want[i]);
  // gradient: 1 for x >= 0 (elu is C¹ at 0), exp(x) below; large x must not overflow into NaN
  Tensor xg = Tensor::from_vector({-2.f, 0.f, 1.f, 500.f}, {4}).requires_grad_();
  sum(elu_feature_map(xg)).backward();
  EXPECT_FLOAT_EQ(xg.grad().data()[0], std::exp(-2.f));
  EXPECT_FLOAT_EQ(xg.grad().data()[1], 1.f);
  EXPECT_FLOAT_EQ(xg.grad().data()[2], 1.f);
  EXPECT_FLOAT_EQ(xg.grad().data()[3], 1.f);
}

struct Shapes {
  int64_t B, H, Hkv, L, S, D, Dv;
};

TEST(AttnLinear, FactoredEqualsQuadratic) {
  Generator gen(1, 1);
  for (Shapes s : {Shapes{1, 1, 1, 1, 1, 1, 1}, Shapes{2, 3, 3, 7, 5, 4, 6}, Shapes{1, 2, 1, 6, 9, 8, 3},
                   Shapes{2, 2, 2, 33, 33, 16, 16}}) {
    Tensor q = Tensor::randn({s.B, s.H, s.L, s.D}, gen), k = Tensor::randn({s.B, s.Hkv, s.S, s.D}, gen),
           v = Tensor::randn({s.B, s.Hkv, s.S, s.Dv}, gen);
    Tensor fast = linear_attention(q, k, v, false), ref = linear_attention_quadratic(q, k, v, false);
    EXPECT_EQ(fast.shape(), Shape({s.B, s.H, s.L, s.Dv}));
    EXPECT_LT(rel_diff(fast, ref), 1e-5) << "non-causal L=" << s.L << " S=" << s.S;
    if (s.L == s.S) {
      Tensor fc = linear_attention(q, k, v, true), rc = linear_attention_quadratic(q, k, v, true);
      EXPECT_LT(rel_diff(fc, rc), 1e-5) << "causal L=" << s.L;
    }
  }
}

TEST(AttnLinear, CausalIgnoresTheFuture) {
  Generator gen(2, 2);
  const int64_t T = 6;
  Tensor q = Tensor::randn({1, 2, T, 4}, gen), k = Tensor::randn({1, 2, T, 4}, gen),
         v = Tensor::randn({1, 2, T, 3}, gen);
  Tensor a = linear_attention(q, k, v, true);
  // change keys and values from position 4 on: outputs 0..3 stay, 4.. change
  Tensor k2 = k.clone(), v2 = v.clone();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 4; t < T; ++t) {
      for (int64_t d = 0; d < 4; ++d) k2.at({0, h, t, d}) += 1.f;
      for (int64_t d = 0; d < 3; ++d) v2.at({0, h, t, d}) -= 2.f;
    }
  Tensor b = linear_attention(q, k2, v2, true);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < 3; ++d) {
        if (t < 4) EXPECT_EQ(a.at({0, h, t, d}), b.at({0, h, t, d}));
        else EXPECT_NE(a.at({0, h, t, d}), b.at({0, h, t, d}));
      }
  // the first query sees only the first key: out_0 = v_0 up to eps
  for (int64_t d = 0; d < 3; ++d) EXPECT_NEAR(a.at({0, 1, 0, d}), v.at({0, 1, 0, d}), 1e-5);
}

TEST(AttnLinear, LastCausalRowEqualsNonCausal) {
  Generator gen(3, 3);
  Tensor q = Tensor::randn({2, 1, 5, 3}, gen), k = Tensor::randn({2, 1, 5, 3}, gen),
         v = Tensor::randn({2, 1, 5, 2}, gen);
  Tensor c = linear_attention(q, k, v, true), n = linear_attention(q, k, v, false);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t d = 0; d < 2; ++d) EXPECT_NEAR(c.at({b, 0, 4, d}), n.at({b, 0, 4, d}), 1e-5);
}

class AttnLinearGrad : public ::testing::TestWithParam<bool> {};  // param: causal

TEST_P(AttnLinearGrad, MatchesFiniteDifferences) {
  const bool causal = GetParam();
  Generator gen(4, 4);
  const int64_t S = causal ? 4 : 5;
  std::vector<Tensor> in = {Tensor::randn({2, 2, 4, 3}, gen), Tensor::randn({2, 2, S, 3}, gen),
                            Tensor::randn({2, 2, S, 2}, gen)};
  auto r = gradcheck([=](const std::vector<Tensor>& x) { return linear_attention(x[0], x[1], x[2], causal); }, in,
                     {true, true, true});
  EXPECT_TRUE(r.ok) << r.report;
  auto rq =
      gradcheck([=](const std::vector<Tensor>& x) { return linear_attention_quadratic(x[0], x[1], x[2], causal); }, in,
                {true, true, true});
  EXPECT_TRUE(rq.ok) << rq.report;
  // broadcast key/value heads: their gradient sums over the query heads
  std::vector<Tensor> bc = {Tensor::randn({1, 3, 4, 2}, gen), Tensor::randn({1, 1, S, 2}, gen),
                            Tensor::randn({1, 1, S, 3}, gen)};
  auto rb = gradcheck([=](const std::vector<Tensor>& x) { return linear_attention(x[0], x[1], x[2], causal); }, bc,
                      {true, true, true});
  EXPECT_TRUE(rb.ok) << rb.report;
}

INSTANTIATE_TEST_SUITE_P(Attn, AttnLinearGrad, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "causal" : "full"; });

TEST(AttnLinear, ErrorsNameTheOp) {
  Generator gen(5, 5);
  Tensor q = Tensor::randn({1, 1, 4, 3}, gen), k = Tensor::randn({1, 1, 5, 3}, gen),
         v = Tensor::randn({1, 1, 5, 2}, gen);
  auto msg = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      msg([&] { linear_attention(q, k, v, true); }).find("[linear_attention] causal linear attention needs L == S"),
      std::string::npos);
  EXPECT_NE(msg([&] {
              linear_attention(reshape(q, {1, 4, 3}), k, v);
            }).find("query has 3 dims, expected 4"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              linear_attention(q, k, Tensor::randn({1, 1, 4, 2}, gen));
            }).find("key length 5 differs"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              linear_attention_quadratic(q, Tensor::randn({1, 1, 5, 2}, gen), v);
            }).find("[linear_attention_quadratic] query head dim 3"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              linear_attention(Tensor::randn({1, 2, 4, 3}, gen), Tensor::randn({1, 3, 5, 3}, gen), v);
            }).find("do not broadcast"),
            std::string::npos);
}

}  // namespace
}  // namespace attn
