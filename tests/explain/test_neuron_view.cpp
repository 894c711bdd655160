// The neuron view's breakdown (attn/explain/neuron_view.h): a hand example with a shared key head
// (grouped-query attention), causal and not, and agreement with scaled_dot_product_attention's own weights.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/attention/sdpa.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/explain/neuron_view.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn {
namespace {

// H = 2 query heads sharing Hkv = 1 key head, T = 3, Dh = 2. Query head 1 at position 2 is [1, 2];
// the keys are [1, 0], [0, 1], [1, 1].
Tensor hand_q() { return Tensor::from_vector({0, 0, 0, 0, 0, 0, /* head 1 */ 5, 5, 5, 5, 1, 2}, {1, 2, 3, 2}); }
Tensor hand_k() { return Tensor::from_vector({1, 0, 0, 1, 1, 1}, {1, 1, 3, 2}); }

TEST(ExplainNeuronView, HandExample) {
  // qk_j = q ⊙ k_j = [1, 0], [0, 2], [1, 2];  s = [1, 2, 3] / √2;  a = softmax(s)
  const explain::NeuronView v = explain::neuron_view(hand_q(), hand_k(), 1, 2);
  EXPECT_EQ(v.q, (std::vector<float>{1, 2}));
  ASSERT_EQ(v.k.size(), 3u);
  EXPECT_EQ(v.k[2], (std::vector<float>{1, 1}));
  EXPECT_EQ(v.qk, (std::vector<std::vector<float>>{{1, 0}, {0, 2}, {1, 2}}));
  const double r2 = std::sqrt(2.0);
  const double e[3] = {std::exp(1 / r2), std::exp(2 / r2), std::exp(3 / r2)};
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(v.scores[j], (j + 1) / r2, 1e-12);
    EXPECT_NEAR(v.weights[j], e[j] / (e[0] + e[1] + e[2]), 1e-12);
  }
}

TEST(ExplainNeuronView, CausalSeesKeysUpToTheQuery) {
  const explain::NeuronView c = explain::neuron_view(hand_q(), hand_k(), 1, 0);
  ASSERT_EQ(c.weights.size(), 1u);  // one key: weight 1
  EXPECT_DOUBLE_EQ(c.weights[0], 1.0);
  const explain::NeuronView full = explain::neuron_view(hand_q(), hand_k(), 1, 0, /*causal=*/false);
  EXPECT_EQ(full.weights.size(), 3u);  // [5, 5] · k_j = 5, 5, 10
  EXPECT_NEAR(full.scores[2], 10 / std::sqrt(2.0), 1e-12);
  // (H, T, Dh) without the batch dim
  const explain::NeuronView nb = explain::neuron_view(reshape(hand_q(), {2, 3, 2}), reshape(hand_k(), {1, 3, 2}), 1, 2);
  EXPECT_EQ(nb.qk, explain::neuron_view(hand_q(), hand_k(), 1, 2).qk);
}

TEST(ExplainNeuronView, WeightsAreTheAttentionRow) {
  Generator gen(3);
  const int64_t H = 4, Hkv = 2, T = 6, Dh = 8;
  Tensor q = Tensor::randn({1, H, T, Dh}, gen), k = Tensor::randn({1, Hkv, T, Dh}, gen);
  for (bool causal : {true, false}) {
    Tensor w = scaled_dot_product_attention_math(q, k, Tensor::randn({1, Hkv, T, 1}, gen),
                                                 SdpaOptions().causal(causal).weights())
                   .weights;  // (1, H, T, T)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const explain::NeuronView v = explain::neuron_view(q, k, h, i, causal);
        ASSERT_EQ(v.weights.size(), static_cast<size_t>(causal ? i + 1 : T));
        for (size_t j = 0; j < v.weights.size(); ++j)
          EXPECT_NEAR(v.weights[j], w.at({0, h, i, static_cast<int64_t>(j)}), 1e-6) << h << " " << i << " " << j;
      }
  }
}

TEST(ExplainNeuronView, RejectsOutOfRange) {
  using testing::error_of;
  EXPECT_NE(error_of([] { explain::neuron_view(hand_q(), hand_k(), 2, 0); }).find("head 2"), std::string::npos);
  EXPECT_NE(error_of([] { explain::neuron_view(hand_q(), hand_k(), 0, 3); }).find("query 3"), std::string::npos);
  EXPECT_NE(error_of([] {
              explain::neuron_view(hand_q(), Tensor::ones({1, 1, 3, 4}), 0, 0);
            }).find("head dim"),
            std::string::npos);
}

}  // namespace
}  // namespace attn
