// Attention rollout (attn/explain/rollout.h) against hand computations on 2- and 3-token examples: the
// head mean, the residual ½·I, the row renormalisation and the layer product, causal and full attention,
// with and without a batch dim. The live PyTorch check is tests/torch/test_explain_vs_torch.cpp.
#include <gtest/gtest.h>

#include "attn/attention/masks.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/explain/rollout.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn {
namespace {

void expect_matrix_near(const Tensor& got, const Shape& shape, const std::vector<float>& want, double tol = 1e-6) {
  ASSERT_EQ(got.shape(), shape);
  const std::vector<float> g = got.to_vector();
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << "element " << i;
}

// Two layers of two heads over 3 tokens, causal:
//   layer 0: head 0 always looks at token 0, head 1 at itself
//   layer 1: head 0 looks at token 0 from rows 0–1 and at token 1 from row 2, head 1 likewise but row 2 at itself
std::vector<Tensor> two_layers() {
  Tensor a0 = Tensor::from_vector({1, 0, 0, 1, 0, 0, 1, 0, 0,   //
                                   1, 0, 0, 0, 1, 0, 0, 0, 1},  //
                                  {2, 3, 3});
  Tensor a1 = Tensor::from_vector({1, 0, 0, 1, 0, 0, 0, 1, 0,   //
                                   1, 0, 0, 1, 0, 0, 0, 0, 1},  //
                                  {2, 3, 3});
  return {a0, a1};
}

TEST(ExplainRollout, MeanHeadsAveragesOverTheHeadDim) {
  const std::vector<Tensor> att = two_layers();
  expect_matrix_near(explain::mean_heads(att[0]), {3, 3}, {1, 0, 0, .5f, .5f, 0, .5f, 0, .5f});
  expect_matrix_near(explain::mean_heads(reshape(att[1], {1, 2, 3, 3})), {1, 3, 3}, {1, 0, 0, 1, 0, 0, 0, .5f, .5f});
}

TEST(ExplainRollout, ResidualAttentionIsHalfMeanPlusHalfIdentity) {
  const std::vector<Tensor> att = two_layers();
  // Â_0 = ½·[[1,0,0],[½,½,0],[½,0,½]] + ½·I
  expect_matrix_near(explain::residual_attention(att[0]), {3, 3}, {1, 0, 0, .25f, .75f, 0, .25f, 0, .75f});
  // Â_1 = ½·[[1,0,0],[1,0,0],[0,½,½]] + ½·I
  expect_matrix_near(explain::residual_attention(att[1]), {3, 3}, {1, 0, 0, .5f, .5f, 0, 0, .25f, .75f});
}

TEST(ExplainRollout, TwoLayersByHand) {
  // R = Â_1 · Â_0:
  //   row 0: [1, 0, 0]
  //   row 1: ½·[1, 0, 0] + ½·[¼, ¾, 0]          = [5/8, 3/8, 0]
  //   row 2: ¼·[¼, ¾, 0] + ¾·[¼, 0, ¾]          = [1/4, 3/16, 9/16]
  const std::vector<float> want = {1, 0, 0, .625f, .375f, 0, .25f, .1875f, .5625f};
  const std::vector<Tensor> att = two_layers();
  expect_matrix_near(explain::attention_rollout(att), {3, 3}, want);
  // one layer: R_0 = Â_0
  expect_matrix_near(explain::attention_rollout({att[0]}), {3, 3}, {1, 0, 0, .25f, .75f, 0, .25f, 0, .75f});
  // step by step gives the same
  Tensor R0 = explain::rollout_step(att[0]);
  expect_matrix_near(explain::rollout_step(att[1], R0), {3, 3}, want);
}

TEST(ExplainRollout, RowsAreRenormalised) {
  // A row of zeros (a query that was masked out entirely) becomes the identity row: ½·0 + ½·I, renormalised.
  expect_matrix_near(explain::residual_attention(Tensor::from_vector({1, 0, 0, 0}, {1, 2, 2})), {2, 2}, {1, 0, 0, 1});
  // A row summing to 2: ½·[1, 1] + ½·[0, 1] = [½, 1] -> [1/3, 2/3].
  expect_matrix_near(explain::residual_attention(Tensor::from_vector({2, 0, 1, 1}, {1, 2, 2})), {2, 2},
                     {1, 0, 1.f / 3, 2.f / 3});
}

TEST(ExplainRollout, FullAttentionFillsTheMatrix) {
  // A ViT-like layer attending uniformly to both tokens: Â = [[¾, ¼], [¼, ¾]], and Â² = [[5/8, 3/8], [3/8, 5/8]].
  Tensor uniform = Tensor::full({3, 2, 2}, 0.5f);
  expect_matrix_near(explain::attention_rollout({uniform, uniform}), {2, 2}, {.625f, .375f, .375f, .625f});
}

TEST(ExplainRollout, BatchesAreRolledOutIndependently) {
  Generator gen(5);
  const int64_t B = 2, H = 3, T = 5, L = 3;
  std::vector<Tensor> batched;
  for (int64_t l = 0; l < L; ++l)
    batched.push_back(softmax(Tensor::randn({B, H, T, T}, gen) + to_additive_mask(causal_mask(T, T)), -1));
  Tensor R = explain::attention_rollout(batched);  // (B, T, T)
  ASSERT_EQ(R.shape(), (Shape{B, T, T}));
  for (int64_t b = 0; b < B; ++b) {
    std::vector<Tensor> one;
    for (const Tensor& a : batched) one.push_back(reshape(slice(a, 0, b, b + 1), {H, T, T}));
    const Tensor Rb = explain::attention_rollout(one);
    const std::vector<float> want = Rb.to_vector();
    expect_matrix_near(reshape(slice(R, 0, b, b + 1), {T, T}), {T, T}, want);
    for (int64_t i = 0; i < T; ++i) {
      double row = 0;
      for (int64_t j = 0; j < T; ++j) {
        row += Rb.at({i, j});
        if (j > i) {
          EXPECT_EQ(Rb.at({i, j}), 0.f) << "causal attention rolls out lower-triangular";
        }
      }
      EXPECT_NEAR(row, 1.0, 1e-5);
    }
  }
}

TEST(ExplainRollout, RejectsWhatIsNotAttention) {
  using testing::error_of;
  EXPECT_NE(error_of([] { explain::attention_rollout({}); }).find("no layers"), std::string::npos);
  EXPECT_NE(error_of([] { explain::mean_heads(Tensor::ones({3, 3})); }).find("(H, T, T)"), std::string::npos);
  EXPECT_NE(error_of([] { explain::residual_attention(Tensor::ones({2, 3, 4})); }).find("square"), std::string::npos);
  EXPECT_NE(error_of([] {
              explain::attention_rollout({Tensor::ones({1, 3, 3}), Tensor::ones({2, 3, 3})});
            }).find("same shape"),
            std::string::npos);
}

}  // namespace
}  // namespace attn
