// Op behaviour beyond gradients: known values, edge cases, and the error messages users see.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn {
namespace {

using testing::error_of;

TEST(Ops, MatmulKnownValues) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector({5, 6, 7, 8}, {2, 2});
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<float>{19, 22, 43, 50}));
  EXPECT_EQ(matmul(a, b, false, true).to_vector(), (std::vector<float>{17, 23, 39, 53}));
  EXPECT_EQ(matmul(a, b, true, false).to_vector(), (std::vector<float>{26, 30, 38, 44}));
}

TEST(Ops, MatmulErrorNamesShapes) {
  const std::string e = error_of([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); });
  EXPECT_EQ(e, "[matmul] inner dims differ: (2, 3) @ (4, 5) (3 vs 4)");
  EXPECT_NE(error_of([] {
              matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 4}));
            }).find("do not broadcast"),
            std::string::npos);
}

TEST(Ops, LinearValidatesWeightAndBias) {
  EXPECT_NE(error_of([] { linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); }).find("[linear]"), std::string::npos);
  EXPECT_NE(error_of([] {
              linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({3}));
            }).find("bias"),
            std::string::npos);
}

TEST(Ops, SoftmaxOfFullyMaskedRowIsZeroNotNan) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::from_vector({-inf, -inf, 0.f, 1.f}, {2, 2});
  Tensor y = softmax(x, -1);
  EXPECT_EQ(y.at({0, 0}), 0.f);
  EXPECT_EQ(y.at({0, 1}), 0.f);
  EXPECT_NEAR(y.at({1, 0}) + y.at({1, 1}), 1.f, 1e-6);
}

TEST(Ops, SoftmaxIsStableForLargeScores) {
  Tensor y = softmax(Tensor::from_vector({1000.f, 1000.f}, {2}), 0);
  EXPECT_FLOAT_EQ(y.at({0}), 0.5f);
  Tensor l = log_softmax(Tensor::from_vector({1000.f, 0.f}, {2}), 0);
  EXPECT_FLOAT_EQ(l.at({0}), 0.f);
  EXPECT_FLOAT_EQ(l.at({1}), -1000.f);
}

TEST(Ops, MaskedFillWithMinusInfThenSoftmaxIsACausalMask) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor scores = Tensor::zeros({3, 3});
  Tensor upper = Tensor::from_vector({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3});  // j > i
  Tensor w = softmax(masked_fill(scores, upper, -inf), -1);
  EXPECT_EQ(w.to_vector(), (std::vector<float>{1, 0, 0, 0.5f, 0.5f, 0, 1 / 3.f, 1 / 3.f, 1 / 3.f}));
}

TEST(Ops, ReductionsKnownValues) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x).item(), 21.f);
  EXPECT_EQ(sum(x, {0}).to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(mean(x, {-1}).to_vector(), (std::vector<float>{2, 5}));
  IndexTensor arg;
  EXPECT_EQ(max(x, 1, false, &arg).to_vector(), (std::vector<float>{3, 6}));
  EXPECT_EQ(arg.data, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(max(x).item(), 6.f);
  EXPECT_NE(error_of([&] { sum(x, {0, 0}); }).find("more than once"), std::string::npos);
  EXPECT_NE(error_of([&] { sum(x, {2}); }).find("out of range"), std::string::npos);
}

TEST(Ops, SumToShapeInvertsBroadcasting) {
  Tensor g = Tensor::ones({2, 3, 4});
  EXPECT_EQ(sum_to_shape(g, {3, 1}).to_vector(), (std::vector<float>{8, 8, 8}));
  EXPECT_EQ(sum_to_shape(g, {4}).to_vector(), (std::vector<float>{6, 6, 6, 6}));
}

TEST(Ops, ReshapeIsAViewAndInfersOneDim) {
  Tensor x = Tensor::arange(6);
  Tensor y = reshape(x, {2, -1});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.data(), x.data());
  EXPECT_NE(error_of([&] { reshape(x, {4, -1}); }).find("[reshape]"), std::string::npos);
  EXPECT_NE(error_of([&] { reshape(x, {-1, -1}); }).find("only one dim"), std::string::npos);
}

TEST(Ops, PermuteTransposeKnownValues) {
  Tensor x = Tensor::arange(6).reshape({2, 3});
  EXPECT_EQ(transpose(x, 0, 1).to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_NE(error_of([&] { permute(x, {0, 0}); }).find("repeats"), std::string::npos);
}

TEST(Ops, SplitHeadsReadsItsColumnsAndMergeHeadsInvertsIt) {
  // x (B 1, T 2, W 5): heads of width 2 from column 1 -> out[0, h, t, d] = x[0, t, 1 + 2h + d]
  Tensor x = Tensor::arange(10).reshape({1, 2, 5});
  Tensor h = split_heads(x, 2, 2, 1);
  EXPECT_EQ(h.shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(h.to_vector(), (std::vector<float>{1, 2, 6, 7, 3, 4, 8, 9}));
  EXPECT_EQ(merge_heads(h).to_vector(), (std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9}));
  EXPECT_EQ(merge_heads(split_heads(x, 5, 1)).to_vector(), x.to_vector());
  EXPECT_NE(error_of([&] { split_heads(x, 2, 2, 2); }).find("outside the input's 5"), std::string::npos);
  EXPECT_NE(error_of([&] { split_heads(x, 0, 2); }).find("must be positive"), std::string::npos);
  EXPECT_NE(error_of([&] { split_heads(x, 1, 1, -1); }).find("outside"), std::string::npos);
  EXPECT_NE(error_of([&] { split_heads(Tensor::zeros({2, 5}), 1, 1); }).find("(B, T, W)"), std::string::npos);
  EXPECT_NE(error_of([&] { merge_heads(x); }).find("(B, H, T, Dh)"), std::string::npos);
}

TEST(Ops, ConcatSplitSliceRoundTrip) {
  Tensor x = Tensor::arange(12).reshape({2, 6});
  auto parts = split(x, 4, 1);  // sizes 4 and 2
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].shape(), (Shape{2, 2}));
  EXPECT_EQ(concat(parts, 1).to_vector(), x.to_vector());
  EXPECT_EQ(slice(x, 1, -2, 100).to_vector(), (std::vector<float>{4, 5, 10, 11}));
  EXPECT_EQ(slice(x, 1, 0, 6, 3).to_vector(), (std::vector<float>{0, 3, 6, 9}));
  EXPECT_EQ(slice(x, 1, 4, 2).numel(), 0);
  EXPECT_NE(error_of([&] { concat({x, Tensor::zeros({3, 6})}, 1); }).find("incompatible"), std::string::npos);
  EXPECT_NE(error_of([&] { split(x, std::vector<int64_t>{1, 2}, 1); }).find("add up to 3"), std::string::npos);
}

TEST(Ops, IndexingRejectsOutOfRange) {
  Tensor w = Tensor::zeros({5, 2});
  EXPECT_EQ(error_of([&] { embedding(IndexTensor({0, 5}), w); }), "[embedding] id 5 is out of range for 5 embeddings");
  EXPECT_NE(error_of([&] { index_select(w, 0, IndexTensor({-1})); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { gather(w, 1, IndexTensor({0, 2}, {1, 2})); }).find("out of range"), std::string::npos);
}

TEST(Ops, CrossEntropyKnownValuesAndErrors) {
  // Uniform logits over C classes: loss = log C.
  Tensor logits = Tensor::zeros({2, 4});
  EXPECT_NEAR(cross_entropy(logits, IndexTensor({1, 3})).item(), std::log(4.f), 1e-6);
  // Every target ignored: 0, not NaN.
  EXPECT_EQ(cross_entropy(logits, IndexTensor({-100, -100})).item(), 0.f);
  EXPECT_NE(error_of([&] {
              cross_entropy(logits, IndexTensor({1, 4}));
            }).find("target 4 at position 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              cross_entropy(Tensor::zeros({2, 3, 4}), IndexTensor({1, 2}));
            }).find("(N, C)"),
            std::string::npos);
}

TEST(Ops, DropoutIsSeededAndScaled) {
  Tensor x = Tensor::ones({1000});
  Generator g1(9), g2(9);
  Tensor a = dropout(x, 0.25f, true, &g1), b = dropout(x, 0.25f, true, &g2);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  int zeros = 0;
  for (float v : a.to_vector()) {
    if (v == 0.f) ++zeros;
    else EXPECT_FLOAT_EQ(v, 1.f / 0.75f);
  }
  EXPECT_NEAR(zeros / 1000.0, 0.25, 0.05);
  EXPECT_TRUE(dropout(x, 0.5f, false).same(x));  // eval: identity
  EXPECT_THROW(dropout(x, 1.5f), Error);
}

TEST(Ops, GeluVariantsAgreeClosely) {
  Tensor x = Tensor::from_vector({-2, -0.5f, 0, 0.5f, 2}, {5});
  Tensor e = gelu(x), t = gelu(x, "tanh");
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(e.data()[i], t.data()[i], 1e-3);
  EXPECT_THROW(gelu(x, "fast"), Error);
}

TEST(Ops, LayerNormNormalizes) {
  Generator g(1);
  Tensor x = Tensor::randn({4, 64}, g) * 3.f + 2.f;
  Tensor y = layer_norm(x, {64});
  Tensor m = mean(y, {-1}), v = mean(pow(y, 2.f), {-1});
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(m.data()[i], 0.f, 1e-5);
    EXPECT_NEAR(v.data()[i], 1.f, 1e-3);
  }
  EXPECT_NE(error_of([&] { layer_norm(x, {32}); }).find("not the trailing shape"), std::string::npos);
}

}  // namespace
}  // namespace attn
