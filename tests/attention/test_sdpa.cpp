// Scaled dot-product attention, scoring functions and multi-head attention: finite differences for every
// backward path, and the properties the lessons rely on.
#include <gtest/gtest.h>

#include <functional>

#include <cmath>
#include <limits>

#include "attn/attention/masks.h"
#include "attn/attention/multihead.h"
#include "attn/attention/scoring.h"
#include "attn/attention/sdpa.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"

namespace attn {
namespace {

using testing::gradcheck;

void expect_grads_ok(const testing::OpFn& f, const std::vector<Tensor>& in, const char* what) {
  auto r = gradcheck(f, in, std::vector<bool>(in.size(), true));
  EXPECT_TRUE(r.ok) << what << ": " << r.report;
}

TEST(AttnMasks, CausalSlidingAndPadding) {
  EXPECT_EQ(causal_mask(3, 3).to_vector(), (std::vector<float>{1, 0, 0, 1, 1, 0, 1, 1, 1}));
  // Two new queries after two cached keys: the first sees 3 keys, the second all 4.
  EXPECT_EQ(causal_mask(2, 4).to_vector(), (std::vector<float>{1, 1, 1, 0, 1, 1, 1, 1}));
  EXPECT_EQ(sliding_window_mask(4, 4, 2).to_vector(),
            (std::vector<float>{1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1}));
  EXPECT_EQ(key_padding_mask({2, 3}, 3).to_vector(), (std::vector<float>{0, 0, 1, 0, 0, 0}));
  EXPECT_THROW(key_padding_mask({4}, 3), Error);
  EXPECT_THROW(sliding_window_mask(2, 2, 0), Error);
}

TEST(AttnSdpa, WeightsAreARowStochasticMatrix) {
  Generator g(1);
  Tensor q = Tensor::randn({2, 3, 5, 8}, g), k = Tensor::randn({2, 3, 7, 8}, g), v = Tensor::randn({2, 3, 7, 4}, g);
  auto a = scaled_dot_product_attention(q, k, v, SdpaOptions().weights());
  ASSERT_EQ(a.output.shape(), (Shape{2, 3, 5, 4}));
  ASSERT_EQ(a.weights.shape(), (Shape{2, 3, 5, 7}));
  Tensor rows = sum(a.weights, {-1});
  for (float r : rows.to_vector()) EXPECT_NEAR(r, 1.f, 1e-5);
}

TEST(AttnSdpa, CausalMaskZeroesTheFuture) {
  Generator g(2);
  Tensor q = Tensor::randn({1, 1, 4, 8}, g), k = Tensor::randn({1, 1, 4, 8}, g), v = Tensor::randn({1, 1, 4, 8}, g);
  auto a = scaled_dot_product_attention(q, k, v, SdpaOptions().causal().weights());
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = i + 1; j < 4; ++j) EXPECT_EQ(a.weights.at({0, 0, i, j}), 0.f);
  // The first query can only look at the first key: its output is v_0.
  for (int64_t d = 0; d < 8; ++d) EXPECT_NEAR(a.output.at({0, 0, 0, d}), v.at({0, 0, 0, d}), 1e-6);
}

TEST(AttnSdpa, FullyMaskedRowsGiveZerosNotNan) {
  Generator g(3);
  Tensor q = Tensor::randn({2, 1, 3, 4}, g).requires_grad_(), k = Tensor::randn({2, 1, 3, 4}, g).requires_grad_(),
         v = Tensor::randn({2, 1, 3, 4}, g).requires_grad_();
  Tensor pad = key_padding_mask({0, 3}, 3);  // sequence 0 has no real keys at all
  auto a = scaled_dot_product_attention(q, k, v, SdpaOptions().padding(pad).weights());
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(a.output.at({0, 0, i, d}), 0.f);
  sum(a.output).backward();
  for (float x : q.grad().to_vector()) EXPECT_FALSE(std::isnan(x));
  for (float x : k.grad().to_vector()) EXPECT_FALSE(std::isnan(x));
}

TEST(AttnSdpa, BooleanAndAdditiveMasksAgree) {
  Generator g(4);
  Tensor q = Tensor::randn({1, 2, 4, 4}, g), k = Tensor::randn({1, 2, 6, 4}, g), v = Tensor::randn({1, 2, 6, 3}, g);
  Tensor allowed = Tensor::ones({4, 6});
  allowed.at({1, 2}) = 0.f;
  allowed.at({3, 0}) = 0.f;
  auto a = scaled_dot_product_attention(q, k, v, SdpaOptions().mask_bool(allowed));
  auto b = scaled_dot_product_attention(q, k, v, SdpaOptions().mask(to_additive_mask(allowed)));
  EXPECT_EQ(a.output.to_vector(), b.output.to_vector());
}

TEST(AttnSdpa, ErrorsNameTheOpAndShapes) {
  Tensor q = Tensor::zeros({1, 2, 3, 4}), k = Tensor::zeros({1, 2, 5, 4}), v = Tensor::zeros({1, 2, 5, 4});
  try {
    scaled_dot_product_attention(Tensor::zeros({3, 4}), k, v);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[scaled_dot_product_attention] query has 2 dims"), std::string::npos);
  }
  EXPECT_THROW(scaled_dot_product_attention(q, Tensor::zeros({1, 2, 5, 3}), v), Error);
  EXPECT_THROW(scaled_dot_product_attention(q, k, Tensor::zeros({1, 2, 4, 4})), Error);
  EXPECT_THROW(scaled_dot_product_attention(q, k, v, SdpaOptions().mask(Tensor::zeros({3, 4}))), Error);
  EXPECT_THROW(scaled_dot_product_attention(q, k, v, SdpaOptions().padding(Tensor::zeros({1, 4}))), Error);
  EXPECT_THROW(scaled_dot_product_attention(q, Tensor::zeros({1, 3, 5, 4}), Tensor::zeros({1, 3, 5, 4})), Error);
}

TEST(AttnSdpa, GradientsMatchFiniteDifferences) {
  Generator g(5);
  auto q = Tensor::randn({2, 2, 3, 4}, g), k = Tensor::randn({2, 2, 5, 4}, g), v = Tensor::randn({2, 2, 5, 3}, g);
  expect_grads_ok(
      [](const std::vector<Tensor>& x) { return scaled_dot_product_attention_math(x[0], x[1], x[2]).output; },
      {q, k, v}, "plain");
  auto qs = Tensor::randn({1, 2, 5, 4}, g);
  Tensor pad = key_padding_mask({3}, 5);
  expect_grads_ok(
      [pad](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention_math(x[0], x[1], x[2], SdpaOptions().causal().padding(pad)).output;
      },
      {qs, Tensor::randn({1, 2, 5, 4}, g), Tensor::randn({1, 2, 5, 3}, g)}, "causal + padding");
  expect_grads_ok(
      [](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention_math(x[0], x[1], x[2], SdpaOptions().with_scale(0.3f)).output;
      },
      {q, k, v}, "custom scale");
  // Grouped-query: 4 query heads share 2 kv heads.
  expect_grads_ok(
      [](const std::vector<Tensor>& x) { return scaled_dot_product_attention_math(x[0], x[1], x[2]).output; },
      {Tensor::randn({1, 4, 3, 4}, g), Tensor::randn({1, 2, 3, 4}, g), Tensor::randn({1, 2, 3, 4}, g)}, "gqa");
  // A learnable additive bias (as ALiBi or relative positions are) gets its gradient too.
  expect_grads_ok(
      [](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention_math(x[0], x[1], x[2], SdpaOptions().mask(x[3])).output;
      },
      {q, k, v, Tensor::randn({3, 5}, g)}, "additive bias");
}

TEST(AttnSdpa, GqaEqualsMhaWithRepeatedHeads) {
  Generator g(6);
  Tensor q = Tensor::randn({2, 4, 3, 8}, g), k = Tensor::randn({2, 2, 3, 8}, g), v = Tensor::randn({2, 2, 3, 8}, g);
  auto a = scaled_dot_product_attention(q, k, v, SdpaOptions().causal());
  auto b = scaled_dot_product_attention(q, repeat_kv(k, 2), repeat_kv(v, 2), SdpaOptions().causal());
  EXPECT_EQ(a.output.to_vector(), b.output.to_vector());
}

TEST(AttnScoring, GradientsOfEveryScoreMatchFiniteDifferences) {
  Generator g(7);
  Tensor q = Tensor::randn({2, 3, 4}, g), k = Tensor::randn({2, 5, 6}, g), k4 = Tensor::randn({2, 5, 4}, g);
  expect_grads_ok([](const std::vector<Tensor>& x) { return additive_score(x[0], x[1], x[2], x[3], x[4]); },
                  {q, k, Tensor::randn({7, 4}, g), Tensor::randn({7, 6}, g), Tensor::randn({7}, g)}, "additive");
  expect_grads_ok([](const std::vector<Tensor>& x) { return dot_score(x[0], x[1]); }, {q, k4}, "dot");
  expect_grads_ok([](const std::vector<Tensor>& x) { return general_score(x[0], x[1], x[2]); },
                  {q, k, Tensor::randn({4, 6}, g)}, "general");
  expect_grads_ok([](const std::vector<Tensor>& x) { return concat_score(x[0], x[1], x[2], x[3]); },
                  {q, k, Tensor::randn({5, 10}, g), Tensor::randn({5}, g)}, "concat");
  Tensor mask = key_padding_mask({5, 3}, 5);
  Tensor allowed = rsub(mask, 1.f);
  expect_grads_ok(
      [allowed](const std::vector<Tensor>& x) { return attend(dot_score(x[0], x[1]), x[2], allowed).context; },
      {q, k4, Tensor::randn({2, 5, 3}, g)}, "attend with mask");
}

TEST(AttnScoring, ConcatEqualsAdditiveWithSplitWeights) {
  Generator g(8);
  Tensor q = Tensor::randn({1, 2, 3}, g), k = Tensor::randn({1, 4, 5}, g);
  Tensor W = Tensor::randn({6, 8}, g), v = Tensor::randn({6}, g);
  Tensor c = concat_score(q, k, W, v);
  auto parts = split(W, std::vector<int64_t>{3, 5}, 1);
  Tensor a = additive_score(q, k, parts[0], parts[1], v);
  EXPECT_EQ(c.to_vector(), a.to_vector());
  // And the definition itself, for one pair: v·tanh(W [q; k]).
  Tensor qk = concat({slice(slice(q, 1, 1, 2), 0, 0, 1), slice(slice(k, 1, 2, 3), 0, 0, 1)}, 2);  // (1, 1, 8)
  const float direct = sum(matmul(tanh(linear(qk, W)), v)).item();
  EXPECT_NEAR(c.at({0, 1, 2}), direct, 1e-5);
}

TEST(AttnModules, AdditiveAndLuongModulesAttendOneDecoderStep) {
  Generator g(9);
  nn::AdditiveAttention add(4, 6, 8, g);
  Tensor s = Tensor::randn({2, 4}, g), h = Tensor::randn({2, 5, 6}, g);
  Attended a = add.forward(s, h, h, rsub(key_padding_mask({5, 2}, 5), 1.f));
  EXPECT_EQ(a.context.shape(), (Shape{2, 6}));
  EXPECT_EQ(a.weights.shape(), (Shape{2, 5}));
  EXPECT_NEAR(sum(a.weights, {1}).at({1}), 1.f, 1e-6);
  EXPECT_EQ(a.weights.at({1, 3}), 0.f);  // padded key
  EXPECT_EQ(add.named_parameters().size(), 3u);
  for (const char* score : {"dot", "general", "concat"}) {
    nn::LuongAttention l(score, 6, 6, g);
    Attended b = l.forward(Tensor::randn({2, 6}, g), h, h);
    EXPECT_EQ(b.context.shape(), (Shape{2, 6})) << score;
  }
  EXPECT_THROW(nn::LuongAttention("dot", 4, 6, g), Error);
  EXPECT_THROW(nn::LuongAttention("cosine", 4, 4, g), Error);
}

TEST(AttnModules, ProjectedKeysGiveTheSameAttentionAndGradients) {
  // Keys projected once per sentence (what a decoder does) == the keys projected inside every call,
  // in values and in the gradients that reach the keys and the weights.
  Generator g(19);
  nn::AdditiveAttention add(4, 6, 8, g);
  nn::LuongAttention dot("dot", 6, 6, g), general("general", 4, 6, g), concat("concat", 4, 6, g, 5);
  struct Case {
    const char* name;
    std::function<Attended(const Tensor&, const Tensor&)> direct, projected;
    nn::Module* m;
  };
  std::vector<Case> cases = {
      {"additive", [&](const Tensor& q, const Tensor& k) { return add.forward(q, k, k); },
       [&](const Tensor& q, const Tensor& k) { return add.forward_projected(q, add.project_keys(k), k); }, &add},
      {"general", [&](const Tensor& q, const Tensor& k) { return general.forward(q, k, k); },
       [&](const Tensor& q, const Tensor& k) { return general.forward_projected(q, general.project_keys(k), k); },
       &general},
      {"concat", [&](const Tensor& q, const Tensor& k) { return concat.forward(q, k, k); },
       [&](const Tensor& q, const Tensor& k) { return concat.forward_projected(q, concat.project_keys(k), k); },
       &concat}};
  for (Case& c : cases) {
    const Tensor q0 = Tensor::randn({2, 4}, g), k0 = Tensor::randn({2, 5, 6}, g), w = Tensor::randn({2, 6}, g);
    auto run = [&](const std::function<Attended(const Tensor&, const Tensor&)>& f, std::vector<Tensor>& grads) {
      for (auto& [n, p] : c.m->named_parameters()) p.zero_grad();
      Tensor q = q0.clone().requires_grad_(), k = k0.clone().requires_grad_();
      Attended a = f(q, k);
      sum(a.context * w).backward();
      grads = {k.grad()};
      for (auto& [n, p] : c.m->named_parameters()) grads.push_back(p.grad().clone());
      return a;
    };
    std::vector<Tensor> g1, g2;
    const Attended a1 = run(c.direct, g1), a2 = run(c.projected, g2);
    for (int64_t i = 0; i < a1.weights.numel(); ++i)
      EXPECT_NEAR(a1.weights.data()[i], a2.weights.data()[i], 1e-6) << c.name;
    ASSERT_EQ(g1.size(), g2.size());
    for (size_t t = 0; t < g1.size(); ++t)
      for (int64_t i = 0; i < g1[t].numel(); ++i)
        EXPECT_NEAR(g1[t].data()[i], g2[t].data()[i], 1e-5) << c.name << " grad " << t;
  }
  const Tensor h = Tensor::randn({2, 5, 6}, g);
  EXPECT_EQ(dot.project_keys(h).data(), h.data()) << "dot scores use the keys as they are";
}

TEST(AttnMultihead, GradientsMatchFiniteDifferences) {
  Generator g(10);
  nn::MultiheadAttention mha(4, 2, g, nn::MultiheadAttentionOptions().with_batch_first(true));
  Tensor x = Tensor::randn({2, 3, 4}, g);
  auto params = mha.named_parameters();
  // Analytic gradients of L = Σ w ⊙ MHA(x) for every parameter, then a central difference on one entry of
  // each (the parameters live inside the module, so perturb them in place).
  for (auto& [n, p] : params) p.zero_grad();
  Tensor xin = x.clone().requires_grad_();
  Generator gw(11);
  Tensor w = Tensor::uniform({2, 3, 4}, -1.f, 1.f, gw);
  sum(mha.forward(xin, xin, xin, nn::MhaForward().causal()).output * w).backward();
  // Numerical gradient of one entry of every parameter.
  for (auto& [n, p] : params) {
    const float orig = p.data()[1], h = 1.f / 128;
    auto L = [&](float val) {
      NoGradGuard ng;
      p.data()[1] = val;
      return static_cast<double>(sum(mha.forward(x, x, x, nn::MhaForward().causal()).output * w).item());
    };
    const double num = (L(orig + h) - L(orig - h)) / (2 * h);
    p.data()[1] = orig;
    EXPECT_NEAR(p.grad().data()[1], num, 2e-3 + 1e-2 * std::fabs(num)) << n;
  }
}

TEST(AttnMultihead, GqaWithAllHeadsEqualsMultiheadAttention) {
  Generator g(12);
  const int64_t E = 8, H = 2;
  nn::MultiheadAttention mha(E, H, g, nn::MultiheadAttentionOptions().with_batch_first(true));
  nn::GroupedQueryAttention gqa(E, H, H, g, /*bias=*/true);
  // Copy MHA's stacked projections into the separate q/k/v projections.
  auto w = split(mha.in_proj_weight, E, 0);
  auto b = split(mha.in_proj_bias, E, 0);
  gqa.q_proj->weight.copy_(w[0]);
  gqa.k_proj->weight.copy_(w[1]);
  gqa.v_proj->weight.copy_(w[2]);
  gqa.q_proj->bias.copy_(b[0]);
  gqa.k_proj->bias.copy_(b[1]);
  gqa.v_proj->bias.copy_(b[2]);
  gqa.o_proj->weight.copy_(mha.out_proj->weight);
  gqa.o_proj->bias.copy_(mha.out_proj->bias);
  Tensor x = Tensor::randn({2, 5, E}, g);
  Tensor a = mha.forward(x, x, x, nn::MhaForward().causal()).output;
  Tensor c = gqa.forward(x, nn::GqaForward().causal(true)).output;
  auto av = a.to_vector(), cv = c.to_vector();
  for (size_t i = 0; i < av.size(); ++i) EXPECT_NEAR(av[i], cv[i], 1e-6);
  // Multi-query: one kv head, fewer parameters.
  nn::GroupedQueryAttention mqa(E, 4, 1, g);
  EXPECT_EQ(mqa.k_proj->weight.shape(), (Shape{2, E}));
  EXPECT_EQ(mqa.forward(x).output.shape(), (Shape{2, 5, E}));
  EXPECT_THROW(nn::GroupedQueryAttention(E, 4, 3, g), Error);
}

// project_q/k/v are the projections forward() applies, packed weights or separate (kdim/vdim ≠ E): the
// attention of the projected heads through out_proj gives forward()'s output, and project_qkv equals the three.
TEST(AttnMultihead, ProjectionsAreWhatForwardApplies) {
  Generator g(14);
  for (const auto& [kdim, vdim] : {std::pair<int64_t, int64_t>{0, 0}, {5, 3}}) {
    nn::MultiheadAttention mha(8, 2, g,
                               nn::MultiheadAttentionOptions().with_batch_first(true).with_kdim(kdim).with_vdim(vdim));
    Tensor x = Tensor::randn({2, 4, 8}, g), k = Tensor::randn({2, 6, mha.kdim}, g),
           v = Tensor::randn({2, 6, mha.vdim}, g);
    Tensor q_h = mha.project_q(x), k_h = mha.project_k(k), v_h = mha.project_v(v);
    EXPECT_EQ(q_h.shape(), (Shape{2, 2, 4, 4}));
    EXPECT_EQ(k_h.shape(), (Shape{2, 2, 6, 4}));
    EXPECT_EQ(v_h.shape(), (Shape{2, 2, 6, 4}));
    Tensor by_hand = mha.out_proj->forward(nn::merge_heads(scaled_dot_product_attention(q_h, k_h, v_h).output));
    Tensor out = mha.forward(x, k, v).output;
    auto a = by_hand.to_vector(), b = out.to_vector();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << "kdim " << kdim;
    if (kdim == 0) {
      const auto qkv = mha.project_qkv(x);
      const Tensor separate[3] = {q_h, mha.project_k(x), mha.project_v(x)};
      for (int i = 0; i < 3; ++i) {
        auto p = qkv[i].to_vector(), s = separate[i].to_vector();
        for (size_t j = 0; j < p.size(); ++j) EXPECT_NEAR(p[j], s[j], 1e-5);
      }
    }
  }
}

TEST(AttnMultihead, ParameterNamesAreTorchs) {
  Generator g(13);
  nn::MultiheadAttention a(8, 2, g);
  std::vector<std::string> names;
  for (auto& [n, p] : a.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}));
  nn::MultiheadAttention c(8, 2, g, nn::MultiheadAttentionOptions().with_kdim(5).with_vdim(3));
  names.clear();
  for (auto& [n, p] : c.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                                             "out_proj.weight", "out_proj.bias"}));
  EXPECT_THROW(nn::MultiheadAttention(6, 4, g), Error);
}

}  // namespace
}  // namespace attn
