// The autograd engine itself: accumulation, no_grad, detach, retain_graph, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"

namespace attn {
namespace {

TEST(Autograd, ScalarBackwardOfSquare) {
  Tensor x = Tensor::from_vector({1.f, -2.f, 3.f}, {3}).requires_grad_();
  Tensor y = sum(x * x);  // dy/dx = 2x
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2.f, -4.f, 6.f}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = Tensor::from_vector({1.f, 2.f}, {2}).requires_grad_();
  sum(x * 3.f).backward();
  sum(x * 3.f).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{6.f, 6.f}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, InputUsedTwiceReceivesBothContributions) {
  Tensor x = Tensor::from_vector({2.f}, {1}).requires_grad_();
  Tensor y = sum(x * x + x);  // dy/dx = 2x + 1 = 5
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 5.f);
}

// Gradient buffers the engine does not zero (GradInit::MaybeUninitialized): an intermediate that feeds ops
// which overwrite (linear, gelu, add, reshape, merge_heads) and ops which cover only part of it (q, k and v
// taken as column ranges by split_heads), in both orders, gets every contribution exactly once.
TEST(Autograd, UninitializedGradientBuffersGetEveryContributionOnce) {
  Generator gen(7);
  const std::vector<Tensor> inputs = {Tensor::randn({2, 4, 12}, gen), Tensor::randn({12, 12}, gen),
                                      Tensor::randn({12}, gen)};
  auto f = [](const std::vector<Tensor>& x) {
    Tensor h = linear(x[0], x[1], x[2]);                              // (2, 4, 12), an intermediate
    Tensor q = split_heads(h, 2, 2, 0), v = split_heads(h, 2, 2, 8);  // partial: the first user zeroes
    Tensor whole = merge_heads(split_heads(h, 2, 6, 0));              // covers all of h
    Tensor g = gelu(h) + h + reshape(h, {8, 12}).reshape({2, 4, 12}) + whole;
    return concat({reshape(q, {-1}), reshape(v * 3.f, {-1}), reshape(g * 0.5f, {-1}), reshape(linear(h, x[1]), {-1})},
                  0);
  };
  const testing::GradCheckResult r = testing::gradcheck(f, inputs, {true, true, true});
  EXPECT_TRUE(r.ok) << r.report;
  // The same through .backward() twice: leaf gradients accumulate over the two calls (2×).
  std::vector<Tensor> leaves;
  for (const Tensor& t : inputs) leaves.push_back(t.clone().requires_grad_());
  sum(f(leaves)).backward();
  const std::vector<float> once = leaves[1].grad().to_vector();
  sum(f(leaves)).backward();
  const std::vector<float> twice = leaves[1].grad().to_vector();
  for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice[i], 2.f * once[i], 1e-4f * (1.f + std::fabs(once[i])));
}

TEST(Autograd, FirstWriteIsTrueOnceForAnUninitializedBuffer) {
  Tensor undefined;
  EXPECT_FALSE(first_write(undefined));
  Tensor g = Tensor::zeros({3});
  EXPECT_FALSE(first_write(g));  // an ordinary tensor holds its values
  g.impl()->grad_uninitialized = true;
  EXPECT_TRUE(first_write(g));
  EXPECT_FALSE(first_write(g));  // written from now on: the next contribution adds
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y;
  {
    NoGradGuard g;
    y = x * 2.f;
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(grad_enabled());
  EXPECT_THROW(sum(y).backward(), Error);
}

TEST(Autograd, DetachCutsTheGraphButSharesData) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = x * 2.f;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.data(), y.data());
  Tensor z = sum(d * x);  // gradient reaches x only through the direct use
  z.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2.f, 2.f}));
}

TEST(Autograd, SecondBackwardNeedsRetainGraph) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_NEAR(x.grad().at({0}), 2 * std::exp(1.f), 1e-5);
  EXPECT_THROW(y.backward(), Error);
}

TEST(Autograd, NonScalarNeedsExplicitGradient) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = x * 3.f;
  EXPECT_THROW(y.backward(), Error);
  y.backward(Tensor::from_vector({1.f, 2.f}, {2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3.f, 6.f}));
}

TEST(Autograd, RetainGradKeepsIntermediateGradient) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor h = x * 2.f;
  h.retain_grad();
  sum(h * h).backward();  // d/dh = 2h = 4
  EXPECT_EQ(h.grad().to_vector(), (std::vector<float>{4.f, 4.f}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{8.f, 8.f}));
}

TEST(Autograd, GradFunctionDoesNotTouchLeafGrad) {
  Tensor x = Tensor::from_vector({3.f}, {1}).requires_grad_();
  auto g = grad(sum(x * x), {x});
  EXPECT_FLOAT_EQ(g[0].item(), 6.f);
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Tensor::ones({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 0.f;
  sum(y).backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 1.f);
}

TEST(Autograd, RequiresGradOnlyOnLeaves) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = x * 2.f;
  EXPECT_THROW(y.requires_grad_(false), Error);
}

}  // namespace
}  // namespace attn
