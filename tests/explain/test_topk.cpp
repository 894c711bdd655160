// Top-k next-token probabilities (attn/explain/topk.h) against softmax worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/core/error.h"
#include "attn/explain/topk.h"
#include "test_util.h"

namespace attn {
namespace {

TEST(ExplainTopk, MostLikelyFirstWithSoftmaxProbabilities) {
  const std::vector<float> logits = {1, 3, 2, 0};
  // softmax: e^{z − 3} / (1 + e^{−1} + e^{−2} + e^{−3})
  const double Z = 1 + std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0);
  const auto top = explain::topk_probabilities(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 2);
  EXPECT_NEAR(top[0].p, 1 / Z, 1e-12);
  EXPECT_NEAR(top[1].p, std::exp(-1.0) / Z, 1e-12);
}

TEST(ExplainTopk, TemperatureDividesTheLogits) {
  const std::vector<float> logits = {1, 3, 2, 0};
  // τ = 2: softmax([0.5, 1.5, 1, 0])
  const double Z = 1 + std::exp(-0.5) + std::exp(-1.0) + std::exp(-1.5);
  const auto top = explain::topk_probabilities(logits, 4, 2.f);
  ASSERT_EQ(top.size(), 4u);
  const int64_t order[4] = {1, 2, 0, 3};
  double total = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(top[i].id, order[i]);
    EXPECT_NEAR(top[i].p, std::exp(-0.5 * i) / Z, 1e-12);
    total += top[i].p;
  }
  EXPECT_NEAR(total, 1.0, 1e-12);  // k = V: the whole distribution
}

TEST(ExplainTopk, KIsClampedToTheVocabulary) {
  const auto top = explain::topk_probabilities(std::vector<float>{0.f, 0.f}, 10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_DOUBLE_EQ(top[0].p, 0.5);
  EXPECT_DOUBLE_EQ(top[1].p, 0.5);
}

TEST(ExplainTopk, RejectsBadArguments) {
  using testing::error_of;
  const std::vector<float> logits = {1, 2};
  EXPECT_NE(error_of([&] { explain::topk_probabilities(logits, 0); }).find("k = 0"), std::string::npos);
  EXPECT_NE(error_of([&] { explain::topk_probabilities(logits, 1, 0.f); }).find("temperature"), std::string::npos);
  EXPECT_NE(error_of([&] { explain::topk_probabilities(std::vector<float>{}, 1); }).find("no logits"),
            std::string::npos);
}

}  // namespace
}  // namespace attn
