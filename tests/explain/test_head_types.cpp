// Head-type scores (attn/explain/head_types.h) on constructed attention patterns whose answers are known:
// a pure previous-token head scores 1 on previous_token, a pure first-token head 1 on first_token, a pure
// induction head 1 on induction, and a uniform causal head the harmonic sums worked out below.
#include <gtest/gtest.h>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/explain/head_types.h"
#include "test_util.h"

namespace attn {
namespace {

constexpr int64_t n = 3, T = 2 * n;  // the probe: 3 tokens, twice

// One (T, T) head whose row i puts all its weight on key target(i).
template <class F>
std::vector<float> one_hot_head(F target) {
  std::vector<float> w(T * T, 0.f);
  for (int64_t i = 0; i < T; ++i) w[i * T + target(i)] = 1.f;
  return w;
}

TEST(ExplainHeadTypes, PurePatternsScoreOne) {
  std::vector<float> all;
  auto add = [&](const std::vector<float>& h) { all.insert(all.end(), h.begin(), h.end()); };
  add(one_hot_head([](int64_t i) { return i == 0 ? 0 : i - 1; }));     // previous token
  add(one_hot_head([](int64_t) { return int64_t{0}; }));               // first token
  add(one_hot_head([](int64_t i) { return i < n ? i : i - n + 1; }));  // induction (itself before)
  const std::vector<explain::HeadTypeScores> s = explain::head_type_scores(Tensor::from_vector(all, {3, T, T}), n);
  ASSERT_EQ(s.size(), 3u);
  // previous-token head: row 1's previous token is token 0, so first_token = 1/(T−1); never i−n+1
  EXPECT_DOUBLE_EQ(s[0].previous_token, 1.0);
  EXPECT_DOUBLE_EQ(s[0].first_token, 1.0 / (T - 1));
  EXPECT_DOUBLE_EQ(s[0].induction, 0.0);
  // first-token head: row 1 again counts for both
  EXPECT_DOUBLE_EQ(s[1].first_token, 1.0);
  EXPECT_DOUBLE_EQ(s[1].previous_token, 1.0 / (T - 1));
  EXPECT_DOUBLE_EQ(s[1].induction, 0.0);
  // induction head: rows 3, 4, 5 look at 1, 2, 3
  EXPECT_DOUBLE_EQ(s[2].induction, 1.0);
  EXPECT_DOUBLE_EQ(s[2].previous_token, 0.0);
  EXPECT_DOUBLE_EQ(s[2].first_token, 0.0);
  EXPECT_STREQ(explain::head_type_label(s[0]), "previous-token");
  EXPECT_STREQ(explain::head_type_label(s[1]), "first-token");
  EXPECT_STREQ(explain::head_type_label(s[2]), "induction");
}

TEST(ExplainHeadTypes, UniformCausalHeadByHand) {
  // A[i, j] = 1/(i+1) for j ≤ i:
  //   previous_token = first_token = (1/2 + 1/3 + 1/4 + 1/5 + 1/6) / 5 = 0.29
  //   induction = (1/4 + 1/5 + 1/6) / 3
  std::vector<float> w(T * T, 0.f);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j) w[i * T + j] = 1.f / static_cast<float>(i + 1);
  const auto s = explain::head_type_scores(Tensor::from_vector(w, {1, 1, T, T}), n);  // (B, H, T, T) works too
  ASSERT_EQ(s.size(), 1u);
  const double prev = (1.0 / 2 + 1.0 / 3 + 1.0 / 4 + 1.0 / 5 + 1.0 / 6) / 5;
  EXPECT_NEAR(s[0].previous_token, prev, 1e-7);
  EXPECT_NEAR(s[0].first_token, prev, 1e-7);
  EXPECT_NEAR(s[0].induction, (1.0 / 4 + 1.0 / 5 + 1.0 / 6) / 3, 1e-7);
  EXPECT_EQ(explain::head_type_label(s[0]), nullptr);  // 0.29 < 0.4: no type
}

TEST(ExplainHeadTypes, LabelNeedsTheThresholdAndTiesGoToTheEarlierType) {
  EXPECT_EQ(explain::head_type_label({0.39, 0.1, 0.2}), nullptr);
  // the threshold is the float 0.4f = 0.4000000059604645 (what /api/head_types reports), so a double 0.4 is under it
  EXPECT_EQ(explain::head_type_label({0.4, 0.1, 0.2}), nullptr);
  EXPECT_STREQ(explain::head_type_label({explain::kHeadTypeThreshold, 0.1, 0.2}), "previous-token");
  EXPECT_STREQ(explain::head_type_label({0.5, 0.5, 0.2}), "previous-token");
  EXPECT_STREQ(explain::head_type_label({0.1, 0.6, 0.6}), "first-token");
  EXPECT_STREQ(explain::head_type_label({0.1, 0.2, 0.3}, 0.25), "induction");
}

TEST(ExplainHeadTypes, TheProbeIsRandomTokensTwice) {
  const std::vector<int64_t> ids = explain::repeated_random_tokens(40, 83);
  ASSERT_EQ(ids.size(), 80u);
  Generator gen(1234);
  for (size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(ids[i], gen.randint(83));  // Generator(seed) draws, in order
    EXPECT_EQ(ids[i + 40], ids[i]);
  }
  EXPECT_EQ(explain::repeated_random_tokens(40, 83), ids);  // deterministic
  EXPECT_NE(explain::repeated_random_tokens(40, 83, 99), ids);
}

TEST(ExplainHeadTypes, RejectsBadShapes) {
  using testing::error_of;
  EXPECT_NE(error_of([] { explain::head_type_scores(Tensor::ones({2, 3, 4}), 1); }).find("square"), std::string::npos);
  EXPECT_NE(error_of([] { explain::head_type_scores(Tensor::ones({1, 4, 4}), 4); }).find("period"), std::string::npos);
}

}  // namespace
}  // namespace attn
