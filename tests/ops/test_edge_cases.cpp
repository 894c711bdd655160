// Edge cases found in review: absurd shapes, 0-d tensors, empty dims, NaN, undefined tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn {
namespace {

using testing::error_of;

TEST(EdgeCases, ShapesTooLargeForMemoryAreErrorsNotOverflows) {
  EXPECT_NE(error_of([] { Tensor::zeros({int64_t{1} << 62}); }).find("[Tensor]"), std::string::npos);
  EXPECT_NE(error_of([] {
              Tensor::zeros({int64_t{1} << 32, int64_t{1} << 32});
            }).find("too many elements"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              reshape(Tensor::zeros({0}), {int64_t{1} << 62, 4, 1 << 20});
            }).find("[reshape]"),
            std::string::npos);
}

TEST(EdgeCases, ZeroDimTensors) {
  Tensor s = Tensor::scalar(2.f);
  EXPECT_THROW(s.size(0), Error);
  EXPECT_EQ(transpose(s, 0, 0).item(), 2.f);
  EXPECT_NE(error_of([&] { gather(s, 0, IndexTensor({0}, {})); }).find("[gather]"), std::string::npos);
  EXPECT_EQ(sum(s).item(), 2.f);
  Tensor x = Tensor::scalar(3.f).requires_grad_();
  (x * x).backward();
  EXPECT_EQ(x.grad().item(), 6.f);
}

TEST(EdgeCases, LinearWithNoInputFeaturesIsTheBias) {
  Tensor b = Tensor::from_vector({1.f, 2.f, 3.f}, {3}).requires_grad_();
  Tensor y = linear(Tensor::zeros({5, 0}), Tensor::zeros({3, 0}), b);
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  for (int64_t r = 0; r < 5; ++r) EXPECT_EQ(y.at({r, 2}), 3.f);
  sum(y).backward();
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{5.f, 5.f, 5.f}));
}

TEST(EdgeCases, SliceWithAHugeStepTakesOneElement) {
  Tensor x = Tensor::arange(5);
  Tensor y = slice(x, 0, 1, 5, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1.f}));
}

TEST(EdgeCases, NanPropagatesThroughSoftmaxAndRelu) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tensor s = softmax(Tensor::from_vector({nan, -inf}, {2}), 0);
  EXPECT_TRUE(std::isnan(s.at({0})));
  EXPECT_TRUE(std::isnan(relu(Tensor::from_vector({nan}, {1})).item()));
}

TEST(EdgeCases, UndefinedTensorsNameTheOp) {
  EXPECT_NE(error_of([] { Tensor().detach(); }).find("[detach]"), std::string::npos);
  EXPECT_NE(error_of([] { unsqueeze(Tensor(), 0); }).find("[unsqueeze]"), std::string::npos);
  EXPECT_NE(error_of([] { stack({Tensor::zeros({1}), Tensor()}, 0); }).find("[stack]"), std::string::npos);
  EXPECT_NE(error_of([] { exp(Tensor()); }).find("[exp]"), std::string::npos);
}

TEST(EdgeCases, BackwardReleasesIntermediateActivations) {
  Tensor x = Tensor::ones({1000}).requires_grad_();
  std::weak_ptr<TensorImpl> h_impl;
  Tensor loss;
  {
    Tensor h = exp(x * 2.f);  // intermediate activations
    h_impl = h.impl_ptr();
    loss = sum(h * h);
  }
  EXPECT_FALSE(h_impl.expired());  // the graph holds it until backward
  loss.backward();
  EXPECT_TRUE(h_impl.expired());         // released even though `loss` is still held
  EXPECT_THROW(loss.backward(), Error);  // and a second pass says why it cannot run
}

TEST(EdgeCases, RetainGraphKeepsTheGraph) {
  Tensor x = Tensor::ones({3}).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward(Tensor(), true);
  loss.backward();
  EXPECT_NEAR(x.grad().at({0}), 2 * std::exp(1.f), 1e-5);
}

TEST(EdgeCases, OptimizerStateWithAbsurdIndexIsAnAttnError) {
  Generator g(0);
  nn::Linear lin(2, 2, g);
  nn::Adam opt(lin.parameters());
  nn::StateDict sd;
  sd.insert("exp_avg.99999999999999999999", Tensor::zeros({2, 2}));
  EXPECT_THROW(opt.load_state_dict(sd), Error);
}

TEST(EdgeCases, RandintNeedsAPositiveBound) {
  Generator g(0);
  EXPECT_THROW(g.randint(0), Error);
}

}  // namespace
}  // namespace attn
