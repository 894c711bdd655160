// Interventions (attn/explain/interventions.h) against direct computations on tiny random GPTs:
// an ablated head is the model with that head's columns of attn.c_proj zeroed; mean ablation is that plus
// the head's mean output folded into c_proj's bias; an ablated MLP is the model with mlp.c_proj zeroed;
// the batched grid equals one ablation at a time; the logit lens's last row is the model's output;
// patching clean into clean changes nothing and the first-layer patch at the differing token restores
// the clean run; the hooks themselves leave the forward unchanged when they only read.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/interventions.h"
#include "attn/ops/ops.h"
#include "gpt_fixtures.h"
#include "test_util.h"

namespace attn::testing {
namespace {

models::GPTConfig tiny(bool rope = false) {
  models::GPTConfig c;
  c.vocab_size = 13, c.n_layer = 3, c.n_head = 2, c.n_embd = 8, c.block_size = 12;
  c.rope = rope;
  return c;
}

// −log p(ids[t+1]) per position, from the plain forward.
std::vector<double> direct_token_loss(models::GPT& m, const std::vector<int64_t>& ids) {
  NoGradGuard ng;
  const auto T = static_cast<int64_t>(ids.size());
  const Tensor lp = log_softmax(m.forward(IndexTensor(ids, {1, T})), -1);  // (1, T, V)
  const int64_t V = lp.size(2);
  std::vector<double> out;
  for (int64_t t = 0; t + 1 < T; ++t) out.push_back(-lp.data()[t * V + ids[static_cast<size_t>(t + 1)]]);
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Zeroes head h's input columns of layer l's attn.c_proj (our Linear is (out, in): columns h·Dh .. ).
void zero_head_columns(models::GPT& m, int64_t l, int64_t h) {
  Tensor& w = m.h[static_cast<size_t>(l)]->attn->c_proj->weight;
  const int64_t C = w.size(0), Dh = m.config().head_dim();
  for (int64_t o = 0; o < C; ++o)
    for (int64_t d = 0; d < Dh; ++d) w.data()[o * C + h * Dh + d] = 0.f;
}

TEST(Interventions, ReadingHooksLeaveTheForwardUnchanged) {
  auto m = random_gpt(tiny(), 1);
  const auto ids = random_tokens(9, 13, 2);
  NoGradGuard ng;
  const Tensor plain = m->forward(IndexTensor(ids, {1, 9}));
  models::GPTHooks hooks;
  int calls = 0;
  hooks.resid_pre = [&](int64_t, const Tensor& x) {
    ++calls;
    return x;
  };
  hooks.head_z = [&](int64_t, const Tensor& z) {
    ++calls;
    return z;
  };
  hooks.mlp_out = [&](int64_t, const Tensor& y) {
    ++calls;
    return y;
  };
  models::GPTForwardOptions o;
  o.hooks = &hooks;
  const Tensor hooked = m->forward(IndexTensor(ids, {1, 9}), o).logits;
  EXPECT_EQ(calls, 4 + 3 + 3);  // resid_pre at blocks 0..2 and before ln_f; z and mlp_out per layer
  ASSERT_EQ(plain.to_vector(), hooked.to_vector());
  // A hook that returns the wrong shape is named.
  hooks.head_z = [](int64_t, const Tensor&) { return Tensor::zeros({1}); };
  EXPECT_THROW(m->forward(IndexTensor(ids, {1, 9}), o), Error);
}

TEST(Interventions, ZeroAblatedHeadIsTheModelWithoutItsOutputProjection) {
  for (bool rope : {false, true}) {
    auto m = random_gpt(tiny(rope), 3);
    auto edited = random_gpt(tiny(rope), 3);
    const auto ids = random_tokens(10, 13, 4);
    explain::AblationSpec spec;
    spec.heads = {{1, 0}, {2, 1}};
    const explain::AblationResult r = explain::ablate(*m, ids, spec);
    zero_head_columns(*edited, 1, 0);
    zero_head_columns(*edited, 2, 1);
    const std::vector<double> want = direct_token_loss(*edited, ids), intact = direct_token_loss(*m, ids);
    ASSERT_EQ(r.token_loss_ablated.size(), want.size());
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_NEAR(r.token_loss_ablated[t], want[t], 1e-4) << "t " << t << " rope " << rope;
      EXPECT_NEAR(r.token_loss[t], intact[t], 1e-4);
    }
    EXPECT_NEAR(r.loss_ablated, mean_of(want), 1e-4);
    EXPECT_NE(r.loss_ablated, r.loss);
    // Every position passes through the ablated heads, so KL is finite and non-negative everywhere.
    for (float kl : r.kl) EXPECT_TRUE(std::isfinite(kl) && kl >= 0.f);
  }
}

TEST(Interventions, MeanAblationIsZeroAblationPlusTheMeanInTheBias) {
  auto m = random_gpt(tiny(), 5);
  auto edited = random_gpt(tiny(), 5);
  const auto ids = random_tokens(11, 13, 6);
  const int64_t l = 1, h = 1, T = 11, Dh = m->config().head_dim(), C = m->config().n_embd;
  // The head's mean output over the text, read through a hook on the intact model.
  std::vector<double> mu(static_cast<size_t>(Dh), 0.0);
  {
    NoGradGuard ng;
    models::GPTHooks hooks;
    hooks.head_z = [&](int64_t layer, const Tensor& z) {
      if (layer == l)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t d = 0; d < Dh; ++d) mu[static_cast<size_t>(d)] += z.data()[(h * T + t) * Dh + d] / T;
      return z;
    };
    models::GPTForwardOptions o;
    o.hooks = &hooks;
    m->forward(IndexTensor(ids, {1, T}), o);
  }
  // edited: the head's columns zeroed and W_Oʰ · mean folded into the bias.
  {
    NoGradGuard ng;
    Tensor& w = edited->h[l]->attn->c_proj->weight;
    Tensor& b = edited->h[l]->attn->c_proj->bias;
    for (int64_t o = 0; o < C; ++o)
      for (int64_t d = 0; d < Dh; ++d)
        b.data()[o] += static_cast<float>(w.data()[o * C + h * Dh + d] * mu[static_cast<size_t>(d)]);
    zero_head_columns(*edited, l, h);
  }
  explain::AblationSpec spec;
  spec.heads = {{l, h}};
  spec.method = "mean";
  const explain::AblationResult r = explain::ablate(*m, ids, spec);
  const std::vector<double> want = direct_token_loss(*edited, ids);
  for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(r.token_loss_ablated[t], want[t], 1e-4) << t;
}

TEST(Interventions, ZeroAblatedMlpIsTheModelWithoutItsOutput) {
  auto m = random_gpt(tiny(), 7);
  auto edited = random_gpt(tiny(), 7);
  const auto ids = random_tokens(8, 13, 8);
  {
    NoGradGuard ng;
    edited->h[0]->mlp->c_proj->weight.fill_(0.f);
    edited->h[0]->mlp->c_proj->bias.fill_(0.f);
  }
  explain::AblationSpec spec;
  spec.mlps = {0};
  const explain::AblationResult r = explain::ablate(*m, ids, spec, 3, 4);
  const std::vector<double> want = direct_token_loss(*edited, ids);
  for (size_t t = 0; t < want.size(); ++t) EXPECT_NEAR(r.token_loss_ablated[t], want[t], 1e-4) << t;
  EXPECT_EQ(r.position, 3);
  ASSERT_EQ(r.top.size(), 4u);
  ASSERT_EQ(r.top_ablated.size(), 4u);
  EXPECT_GE(r.top[0].p, r.top[1].p);
  EXPECT_GE(r.top_ablated[0].p_ablated, r.top_ablated[3].p_ablated);
}

TEST(Interventions, GridIsEachHeadAndMlpAloneBatched) {
  for (const std::string method : {"zero", "mean", "resample"}) {
    auto m = random_gpt(tiny(), 9);
    const auto ids = random_tokens(12, 13, 10);
    const explain::AblationGrid g = explain::ablation_grid(*m, ids, method, 5);
    ASSERT_EQ(g.head_delta.shape(), (Shape{3, 2}));
    ASSERT_EQ(g.mlp_delta.shape(), (Shape{3}));
    for (int64_t l = 0; l < 3; ++l) {
      for (int64_t h = 0; h < 2; ++h) {
        explain::AblationSpec spec;
        spec.heads = {{l, h}};
        spec.method = method;
        spec.seed = 5;
        const explain::AblationResult r = explain::ablate(*m, ids, spec);
        EXPECT_NEAR(g.loss, r.loss, 1e-6);
        EXPECT_NEAR(g.head_delta.at({l, h}), r.loss_ablated - r.loss, 1e-4) << method << " head " << l << "." << h;
      }
      explain::AblationSpec spec;
      spec.mlps = {l};
      spec.method = method;
      spec.seed = 5;
      const explain::AblationResult r = explain::ablate(*m, ids, spec);
      EXPECT_NEAR(g.mlp_delta.at({l}), r.loss_ablated - r.loss, 1e-4) << method << " mlp " << l;
    }
  }
}

TEST(Interventions, LogitLensLastRowIsTheModelsPrediction) {
  auto m = random_gpt(tiny(), 11);
  const auto ids = random_tokens(7, 13, 12);
  const explain::LogitLens lens = explain::logit_lens(*m, ids, 3);
  ASSERT_EQ(lens.top_ids.shape(), (Shape{4, 7, 3}));
  ASSERT_EQ(lens.target_rank.shape(), (Shape{4, 6}));
  NoGradGuard ng;
  const Tensor p = softmax(m->forward(IndexTensor(ids, {1, 7})), -1);  // (1, T, V)
  for (int64_t t = 0; t < 7; ++t) {
    int64_t best = 0;
    for (int64_t v = 1; v < 13; ++v)
      if (p.data()[t * 13 + v] > p.data()[t * 13 + best]) best = v;
    EXPECT_EQ(lens.top_ids.at({3, t, 0}), static_cast<float>(best)) << t;
    EXPECT_NEAR(lens.top_probs.at({3, t, 0}), p.data()[t * 13 + best], 1e-5);
    EXPECT_GE(lens.top_probs.at({3, t, 0}), lens.top_probs.at({3, t, 1}));
    if (t < 6) {
      const int64_t next = ids[static_cast<size_t>(t + 1)];
      EXPECT_NEAR(lens.target_prob.at({3, t}), p.data()[t * 13 + next], 1e-5);
      int64_t rank = 0;
      for (int64_t v = 0; v < 13; ++v) rank += p.data()[t * 13 + v] > p.data()[t * 13 + next];
      EXPECT_EQ(lens.target_rank.at({3, t}), static_cast<float>(rank));
    }
  }
  // Row 0 decodes the embeddings alone: position t's lens depends on token t (and position) only.
  auto ids2 = ids;
  ids2[0] = (ids2[0] + 1) % 13;
  const explain::LogitLens lens2 = explain::logit_lens(*m, ids2, 3);
  EXPECT_EQ(lens.top_ids.at({0, 3, 0}), lens2.top_ids.at({0, 3, 0}));
  EXPECT_NEAR(lens.top_probs.at({0, 3, 0}), lens2.top_probs.at({0, 3, 0}), 1e-7);
}

TEST(Interventions, PatchingCleanIntoCleanChangesNothing) {
  auto m = random_gpt(tiny(), 13);
  const auto ids = random_tokens(6, 13, 14);
  const explain::PatchingResult r = explain::activation_patching(*m, ids, ids);
  EXPECT_NEAR(r.p_clean, r.p_corrupt, 1e-9);
  for (const Tensor* t : {&r.resid, &r.mlp, &r.heads})
    for (float v : t->to_vector()) EXPECT_NEAR(v, r.p_clean, 1e-5);
}

TEST(Interventions, PatchingTheDifferingTokenRestoresTheCleanRun) {
  auto m = random_gpt(tiny(), 15);
  const auto clean = random_tokens(8, 13, 16);
  auto corrupt = clean;
  corrupt[2] = (corrupt[2] + 5) % 13;  // one token differs
  const explain::PatchingResult r = explain::activation_patching(*m, clean, corrupt);
  EXPECT_GT(std::abs(r.p_clean - r.p_corrupt), 1e-4) << "the corruption should matter";
  // Block 0's input at position 2 is the whole difference: patching it restores p_clean.
  EXPECT_NEAR(r.resid.at({0, 2}), r.p_clean, 1e-5);
  // At the other positions block 0's inputs are equal: nothing changes.
  for (int64_t t : {0, 1, 3, 7}) EXPECT_NEAR(r.resid.at({0, t}), r.p_corrupt, 1e-5) << t;
  // Before ln_f the last position's stream is all that matters: patching it there restores p_clean.
  EXPECT_NEAR(r.resid.at({3, 7}), r.p_clean, 1e-5);
  EXPECT_NEAR(r.resid.at({3, 2}), r.p_corrupt, 1e-5);
  // Positions before the corruption carry nothing of it (causal attention).
  for (int64_t l = 0; l < 3; ++l) {
    EXPECT_NEAR(r.mlp.at({l, 0}), r.p_corrupt, 1e-5);
    EXPECT_NEAR(r.mlp.at({l, 1}), r.p_corrupt, 1e-5);
  }
  // The target is the clean prediction unless given.
  const explain::PatchingResult given = explain::activation_patching(*m, clean, corrupt, 4);
  EXPECT_EQ(given.target, 4);
}

TEST(Interventions, BadInputIsNamed) {
  auto m = random_gpt(tiny(), 17);
  const auto ids = random_tokens(5, 13, 18);
  auto expect_error = [](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  explain::AblationSpec spec;
  spec.heads = {{3, 0}};
  expect_error([&] { explain::ablate(*m, ids, spec); }, "layer 3");
  spec.heads = {{0, 2}};
  expect_error([&] { explain::ablate(*m, ids, spec); }, "head 2");
  spec.heads = {};
  spec.method = "noise";
  expect_error([&] { explain::ablate(*m, ids, spec); }, "noise");
  expect_error([&] { explain::ablation_grid(*m, {1}, "zero"); }, "1 tokens");
  expect_error([&] { explain::activation_patching(*m, ids, random_tokens(6, 13, 1)); }, "5 and 6");
  expect_error([&] { explain::logit_lens(*m, {1, 99}, 3); }, "99");
  expect_error([&] { explain::logit_lens(*m, random_tokens(13, 13, 2), 3); }, "13 tokens");
}

TEST(Interventions, RestoresTrainingMode) {
  auto m = random_gpt(tiny(), 19);
  m->train();
  explain::logit_lens(*m, random_tokens(4, 13, 1), 2);
  EXPECT_TRUE(m->is_training());
}

}  // namespace
}  // namespace attn::testing
