// The explanation methods and perturbation tests on a GPT (attn/explain/gpt_explain.h), on tiny random
// models: the trace's shapes, its gradients against finite differences, the removal forward against the
// masked model, the windows of the held-out text, flat curves for a model that ignores its input, errors.
// Every method's values against torch autograd are in tests/torch/test_explain_vs_torch.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/explain/gpt_explain.h"
#include "attn/ops/ops.h"
#include "gpt_fixtures.h"
#include "test_util.h"

namespace attn::testing {
namespace {

models::GPTConfig tiny(bool rope = false) {
  models::GPTConfig c;
  c.vocab_size = 11, c.n_layer = 2, c.n_head = 2, c.n_embd = 8, c.block_size = 12;
  c.rope = rope;
  return c;
}

// ∂f/∂x[i] by the 4th-order central difference, step 2^-7 (exact in float32), f evaluated in float.
double numeric(const std::function<double(const Tensor&)>& f, const Tensor& x, int64_t i) {
  const double h = 1.0 / 128;
  auto at = [&](double d) {
    Tensor y = x.clone();
    y.data()[i] += static_cast<float>(d);
    return f(y);
  };
  return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
}

TEST(ExplainGpt, TraceShapesAndEveryMethod) {
  const auto gpt = random_gpt(tiny(), 1);
  models::GPT& m = *gpt;
  m.train();  // trace_gpt runs in eval mode and restores this
  const std::vector<int64_t> ids = random_tokens(7, 11, 2);
  const explain::GPTTrace t = explain::trace_gpt(m, ids);
  EXPECT_TRUE(m.is_training());
  EXPECT_EQ(t.trace.query, 6);
  EXPECT_EQ(t.target, t.predicted);
  EXPECT_EQ(t.logits.shape(), Shape({11}));
  {
    NoGradGuard ng;
    m.eval();
    const Tensor full = m.forward(IndexTensor(ids, {1, 7}));
    EXPECT_LE(max_abs_diff(t.logits, reshape(slice(full, 1, 6, 7), {11})), 1e-5);
  }
  ASSERT_EQ(t.trace.attentions.size(), 2u);
  ASSERT_EQ(t.trace.attention_grads.size(), 2u);
  EXPECT_EQ(t.trace.attentions[1].shape(), Shape({1, 2, 7, 7}));
  EXPECT_EQ(t.trace.attention_grads[1].shape(), Shape({1, 2, 7, 7}));
  EXPECT_EQ(t.trace.input_grad.shape(), Shape({1, 7, 8}));
  EXPECT_EQ(t.trace.last_grad.shape(), Shape({1, 7, 8}));
  for (const std::string& method : explain::kMethods) {
    const Tensor s = explain::scores(method, t.trace);
    ASSERT_EQ(s.shape(), Shape({7})) << method;
    for (float v : s.to_vector()) EXPECT_TRUE(std::isfinite(v)) << method;
    EXPECT_EQ(explain::gpt_candidate_scores(method, t).size(), 6u) << method;
  }
  // Attention is causal, so the raw attention of the last row is a distribution over all 7 tokens.
  double total = 0;
  for (float v : explain::scores("raw_attention", t.trace).to_vector()) total += v;
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_EQ(explain::trace_gpt(m, ids, 3).target, 3);
  EXPECT_NE(error_of([&] { explain::trace_gpt(m, ids, 11); }).find("next token 11 outside the vocabulary 0..10"),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::trace_gpt(m, {}); }).find("the context has no tokens"), std::string::npos);
  EXPECT_NE(error_of([&] { explain::gpt_candidate_scores("random", t); }).find("needs a Generator"), std::string::npos);
}

TEST(ExplainGpt, TracedGradientsMatchFiniteDifferences) {
  for (bool rope : {false, true}) {
    const auto gpt = random_gpt(tiny(rope), 3);
    models::GPT& m = *gpt;
    m.eval();
    const int64_t T = 6, target = 4;
    const std::vector<int64_t> ids = random_tokens(T, 11, 4);
    const explain::GPTTrace t = explain::trace_gpt(m, ids, target);
    // y as a function of the input embeddings x₀ (1, T, C), and of the last block's output h_L.
    auto y_of_last = [&](const Tensor& h) {
      const Tensor logits = matmul(m.ln_f->forward(h), m.wte->weight, false, true);  // (1, T, V)
      return static_cast<double>(logits.data()[(T - 1) * 11 + target]);
    };
    auto y_of_input = [&](const Tensor& x0) {
      Tensor x = x0;
      for (auto& block : m.h) x = block->forward(x);
      return y_of_last(x);
    };
    NoGradGuard ng;
    const Tensor x0 = t.trace.input_embeddings.clone(), hL = t.trace.last_hidden.clone();
    EXPECT_LE(std::abs(y_of_input(x0) - t.logits.data()[target]), 1e-5);
    double worst_in = 0, worst_last = 0, scale_in = 0, scale_last = 0;
    for (int64_t i = 0; i < x0.numel(); ++i) {
      worst_in = std::max(worst_in, std::abs(numeric(y_of_input, x0, i) - t.trace.input_grad.data()[i]));
      worst_last = std::max(worst_last, std::abs(numeric(y_of_last, hL, i) - t.trace.last_grad.data()[i]));
      scale_in = std::max(scale_in, std::abs(static_cast<double>(t.trace.input_grad.data()[i])));
      scale_last = std::max(scale_last, std::abs(static_cast<double>(t.trace.last_grad.data()[i])));
    }
    EXPECT_GT(scale_in, 1e-2) << "rope " << rope;
    EXPECT_LE(worst_in, 2e-3 * scale_in + 1e-4) << "rope " << rope;
    EXPECT_LE(worst_last, 2e-3 * scale_last + 1e-4) << "rope " << rope;
    // Only the last row reads h_L: every other position's ∂y/∂h_L is exactly zero.
    for (int64_t i = 0; i < (T - 1) * 8; ++i) EXPECT_EQ(t.trace.last_grad.data()[i], 0.f);
  }
}

TEST(ExplainGpt, RemovalForwardIsTheMaskedModelsLastRow) {
  const auto gpt = random_gpt(tiny(), 5);
  models::GPT& m = *gpt;
  m.eval();
  const std::vector<int64_t> ids = random_tokens(6, 11, 6);
  const explain::RemovalForward f = explain::gpt_removal_forward(m, ids);
  const Tensor masks = Tensor::from_vector({0, 0, 0, 0, 0, 0,  //
                                            1, 0, 1, 0, 0, 0,  //
                                            1, 1, 1, 1, 1, 0},
                                           {3, 6});
  const Tensor logits = f(masks);
  ASSERT_EQ(logits.shape(), Shape({3, 11}));
  NoGradGuard ng;
  const Tensor full = m.forward(IndexTensor(ids, {1, 6}));
  EXPECT_LE(max_abs_diff(slice(logits, 0, 0, 1), reshape(slice(full, 1, 5, 6), {1, 11})), 1e-5);
  models::GPTForwardOptions o;
  o.removed = slice(masks, 0, 1, 2);
  const Tensor one = m.forward(IndexTensor(ids, {1, 6}), o).logits;
  EXPECT_LE(max_abs_diff(slice(logits, 0, 1, 2), reshape(slice(one, 1, 5, 6), {1, 11})), 1e-5);
  EXPECT_GT(max_abs_diff(slice(logits, 0, 1, 2), slice(logits, 0, 0, 1)), 1e-3);
  EXPECT_NE(error_of([&] { f(Tensor::zeros({2, 5})); }).find("removed must be (R, 6), got (2, 5)"), std::string::npos);
  EXPECT_NE(error_of([&] { f(Tensor::ones({1, 6})); }).find("cannot be removed"), std::string::npos);
}

TEST(ExplainGpt, WindowsAreEvenlySpreadOverTheText) {
  EXPECT_EQ(explain::gpt_window_starts(20, 5, 3), std::vector<int64_t>({0, 5, 10}));
  EXPECT_EQ(explain::gpt_window_starts(20, 5, 15),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(explain::gpt_window_starts(6, 5, 1), std::vector<int64_t>({0}));  // the window and its next token
  EXPECT_NE(error_of([] { explain::gpt_window_starts(20, 5, 16); }).find("holds 15 windows of 5 tokens"),
            std::string::npos);
}

TEST(ExplainGpt, FaithfulnessRunsOnATinyModel) {
  const auto gpt = random_gpt(tiny(), 7);
  models::GPT& m = *gpt;
  const std::vector<int64_t> text = random_tokens(40, 11, 8);
  std::vector<std::string> methods = explain::kMethods;
  methods.push_back("random");
  const auto rows = explain::gpt_faithfulness(m, text, methods, 3, 8, 1);
  ASSERT_EQ(rows.size(), methods.size());
  for (const auto& r : rows) {
    EXPECT_EQ(r.examples, 3) << r.method;
    EXPECT_EQ(r.positive.size(), explain::kPerturbationFractions.size());
    EXPECT_EQ(r.deletion.size(), explain::kDeletionFractions.size());
    for (double v : r.insertion) EXPECT_TRUE(v >= 0 && v <= 1) << r.method;
    // Nothing removed at f = 0: every method starts from the same prediction.
    EXPECT_EQ(r.positive.front(), rows.front().positive.front());
    EXPECT_NEAR(r.deletion.front(), rows.front().deletion.front(), 1e-7);
  }
  EXPECT_NE(error_of([&] { explain::gpt_faithfulness(m, text, methods, 3, 1); }).find("context 1 outside 2..12"),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::gpt_faithfulness(m, text, methods, 3, 13); }).find("context 13 outside 2..12"),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::gpt_faithfulness(m, text, methods, 33, 8); }).find("fewer than the 33 asked for"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { explain::gpt_faithfulness(m, text, {"saliency"}, 1, 8); }).find("unknown method \"saliency\""),
      std::string::npos);
}

TEST(ExplainGpt, AModelThatIgnoresItsInputGivesFlatCurves) {
  // ln_f's γ = 0: the final LayerNorm outputs its bias β whatever the tokens, so the logits are fixed.
  const auto gpt = random_gpt(tiny(), 9);
  models::GPT& m = *gpt;
  {
    NoGradGuard ng;
    for (int64_t i = 0; i < 8; ++i) m.ln_f->weight.data()[i] = 0.f;
  }
  const std::vector<int64_t> text = random_tokens(60, 11, 10);
  const auto rows = explain::gpt_faithfulness(m, text, {"rollout", "grad_x_input", "random"}, 6, 10, 2);
  for (const auto& r : rows) {
    for (double v : r.positive) EXPECT_EQ(v, r.positive.front()) << r.method;
    for (double v : r.negative) EXPECT_EQ(v, r.positive.front()) << r.method;
    for (double v : r.deletion) EXPECT_NEAR(v, r.deletion.front(), 1e-6) << r.method;
    for (double v : r.insertion) EXPECT_NEAR(v, r.deletion.front(), 1e-6) << r.method;
    EXPECT_NEAR(r.insertion_auc, r.deletion_auc, 1e-6) << r.method;
  }
}

}  // namespace
}  // namespace attn::testing
