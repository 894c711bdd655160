// GPT::forward(ids, GPTForwardOptions), the explanation options (attn/models/gpt.h): default options are the
// fused path exactly; the composed attention path gives the same numbers with weights in the graph;
// removed tokens get zero weight in every layer, change nothing before them and equal the text with those
// tokens left out (positions kept); bad options name what is wrong. Every variant (GQA, RoPE, no bias).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "attn/autograd/autograd.h"
#include "attn/models/gpt.h"
#include "attn/ops/ops.h"
#include "gpt_fixtures.h"
#include "test_util.h"

namespace attn::testing {
namespace {

struct Variant {
  std::string name;
  models::GPTConfig config;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

std::vector<Variant> variants() {
  models::GPTConfig c;
  c.vocab_size = 13, c.n_layer = 2, c.n_head = 4, c.n_embd = 16, c.block_size = 12;
  std::vector<Variant> v{{"gpt2", c}};
  models::GPTConfig g = c;
  g.n_kv_head = 2;
  v.push_back({"gqa", g});
  models::GPTConfig r = c;
  r.rope = true;
  r.n_kv_head = 1;
  v.push_back({"rope_mqa", r});
  models::GPTConfig nb = c;
  nb.bias = false;
  v.push_back({"no_bias", nb});
  return v;
}

IndexTensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = g.randint(static_cast<uint32_t>(V));
  return IndexTensor(v, {B, T});
}

// Rows [from, to) of position axis 1 of (B, T, V) logits.
Tensor positions(const Tensor& logits, int64_t from, int64_t to) { return slice(logits, 1, from, to); }

bool all_finite(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.data()[i])) return false;
  return true;
}

class GptForwardOptions : public ::testing::TestWithParam<Variant> {};

TEST_P(GptForwardOptions, DefaultOptionsAreTheFusedPathExactly) {
  const auto gpt = random_gpt(GetParam().config, 1);
  models::GPT& m = *gpt;
  const IndexTensor ids = random_ids(2, 9, m.config().vocab_size, 2);
  NoGradGuard ng;
  const Tensor plain = m.forward(ids);
  EXPECT_EQ(max_abs_diff(m.forward(ids, models::GPTForwardOptions()).logits, plain), 0.0);
  models::GPTForwardOptions o;
  o.removed = Tensor::zeros({2, 9});  // nothing removed: the same model
  EXPECT_LE(max_abs_diff(m.forward(ids, o).logits, plain), 1e-5);
  o.logits_to_keep = 3;  // the last rows only
  const Tensor last = m.forward(ids, o).logits;
  ASSERT_EQ(last.shape(), Shape({2, 3, m.config().vocab_size}));
  EXPECT_LE(max_abs_diff(last, positions(plain, 6, 9)), 1e-5);
  o = models::GPTForwardOptions();
  o.output_hidden_states = true;
  const models::GPTOutput h = m.forward(ids, o);
  ASSERT_EQ(h.hidden_states.size(), static_cast<size_t>(m.config().n_layer + 1));
  EXPECT_EQ(h.hidden_states[0].shape(), Shape({2, 9, 16}));
  EXPECT_LE(max_abs_diff(matmul(m.ln_f->forward(h.hidden_states.back()), m.wte->weight, false, true), plain), 1e-5);
  EXPECT_TRUE(h.attentions.empty());
}

TEST_P(GptForwardOptions, ComposedAttentionGivesTheSameNumbersWithWeightsInTheGraph) {
  const auto gpt = random_gpt(GetParam().config, 3);
  models::GPT& m = *gpt;
  const int64_t T = 8;
  const IndexTensor ids = random_ids(1, T, m.config().vocab_size, 4);
  models::GPTOutput fused;
  {
    NoGradGuard ng;
    fused = m.forward(ids, true);  // the fused kernel's weights
  }
  models::GPTForwardOptions o;
  o.attention_grad = true;
  o.output_hidden_states = true;
  const models::GPTOutput composed = m.forward(ids, o);
  EXPECT_LE(max_abs_diff(composed.logits, fused.logits), 1e-5);
  ASSERT_EQ(composed.attentions.size(), fused.attentions.size());
  for (size_t l = 0; l < fused.attentions.size(); ++l) {
    EXPECT_EQ(composed.attentions[l].shape(), Shape({1, 4, T, T}));
    EXPECT_LE(max_abs_diff(composed.attentions[l], fused.attentions[l]), 1e-5) << "layer " << l;
    EXPECT_TRUE(composed.attentions[l].requires_grad()) << "layer " << l;
  }
  // The weights are what the output was computed from: a logit has a gradient with respect to them.
  const Tensor y = sum(slice(slice(composed.logits, 1, T - 1, T), 2, 5, 6));
  const std::vector<Tensor> g = grad(y, {composed.attentions[0], composed.hidden_states[0]});
  EXPECT_GT(max_abs_diff(g[0], Tensor::zeros(g[0].shape())), 1e-4);
  EXPECT_GT(max_abs_diff(g[1], Tensor::zeros(g[1].shape())), 1e-4);
}

TEST_P(GptForwardOptions, RemovedTokensGetZeroWeightAndChangeNothingBeforeThem) {
  const auto gpt = random_gpt(GetParam().config, 5);
  models::GPT& m = *gpt;
  const int64_t T = 10;
  const IndexTensor ids = random_ids(2, T, m.config().vocab_size, 6);
  // Row 0 removes tokens 3 and 6, row 1 removes token 0 (so query 0 has no key at all) and 7.
  Tensor removed = Tensor::zeros({2, T});
  for (int64_t j : {3, 6}) removed.data()[j] = 1.f;
  for (int64_t j : {0, 7}) removed.data()[T + j] = 1.f;
  models::GPTForwardOptions o;
  o.removed = removed;
  o.output_attentions = true;
  models::GPTOutput masked, plain;
  {
    NoGradGuard ng;
    masked = m.forward(ids, o);
    plain = m.forward(ids, false);
  }
  EXPECT_TRUE(all_finite(masked.logits));
  // Before the first removed token of each row the logits are those of the whole text.
  EXPECT_LE(max_abs_diff(slice(positions(masked.logits, 0, 3), 0, 0, 1), slice(positions(plain.logits, 0, 3), 0, 0, 1)),
            1e-5);
  EXPECT_GT(max_abs_diff(slice(positions(masked.logits, 3, T), 0, 0, 1), slice(positions(plain.logits, 3, T), 0, 0, 1)),
            1e-3);
  // The composed path (with gradients on) agrees, and both give exactly zero weight to removed keys.
  models::GPTForwardOptions og = o;
  og.attention_grad = true;
  const models::GPTOutput composed = m.forward(ids, og);
  EXPECT_LE(max_abs_diff(composed.logits, masked.logits), 1e-5);
  const int64_t H = m.config().n_head;
  for (const std::vector<Tensor>* atts :
       std::vector<const std::vector<Tensor>*>{&masked.attentions, &composed.attentions}) {
    for (const Tensor& a : *atts) {
      ASSERT_EQ(a.shape(), Shape({2, H, T, T}));
      EXPECT_TRUE(all_finite(a));
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < T; ++i) {
            double row = 0;
            for (int64_t j = 0; j < T; ++j) {
              const float w = a.data()[((b * H + h) * T + i) * T + j];
              if (removed.data()[b * T + j] > 0 || j > i) {
                EXPECT_EQ(w, 0.f) << "b " << b << " h " << h << " i " << i << " j " << j;
              }
              row += w;
            }
            // A query with no key left (row 1, query 0) attends to nothing; every other row is a distribution.
            EXPECT_NEAR(row, (b == 1 && i == 0) ? 0.0 : 1.0, 1e-5) << "b " << b << " i " << i;
          }
    }
  }
}

TEST(GptForwardOptionsByHand, RemovedTokensAreTheTextWithThemLeftOutAndPositionsKept) {
  const auto gpt = random_gpt(variants().front().config, 7);
  models::GPT& m = *gpt;
  const int64_t T = 9;
  const IndexTensor ids = random_ids(1, T, m.config().vocab_size, 8);
  const std::vector<int64_t> kept = {0, 1, 3, 4, 5, 7, 8};  // tokens 2 and 6 removed
  Tensor removed = Tensor::zeros({1, T});
  removed.data()[2] = removed.data()[6] = 1.f;
  models::GPTForwardOptions o;
  o.removed = removed;
  NoGradGuard ng;
  const Tensor masked = m.forward(ids, o).logits;  // (1, T, V)
  // By hand: the kept tokens with their own positions, through the same blocks (causal over what is left).
  std::vector<int64_t> kept_ids;
  for (int64_t t : kept) kept_ids.push_back(ids.data[static_cast<size_t>(t)]);
  const int64_t K = static_cast<int64_t>(kept.size());
  Tensor x = m.wte->forward(IndexTensor(kept_ids, {1, K})) + m.wpe->forward(IndexTensor(kept));  // (1, K, C)
  for (auto& block : m.h) x = block->forward(x);
  const Tensor by_hand = matmul(m.ln_f->forward(x), m.wte->weight, false, true);  // (1, K, V)
  EXPECT_LE(max_abs_diff(index_select(masked, 1, IndexTensor(kept)), by_hand), 1e-5);
  // Deleting the tokens instead (positions renumbered 0 .. K-1) is another model input altogether.
  EXPECT_GT(max_abs_diff(slice(m.forward(IndexTensor(kept_ids, {1, K})), 1, K - 1, K), slice(by_hand, 1, K - 1, K)),
            1e-3);
}

TEST(GptForwardOptionsByHand, BadOptionsNameTheArgument) {
  const auto gpt = random_gpt(variants().front().config, 9);
  models::GPT& m = *gpt;
  const IndexTensor ids = random_ids(2, 5, m.config().vocab_size, 10);
  models::GPTForwardOptions o;
  o.removed = Tensor::zeros({2, 5});
  o.removed.data()[9] = 1.f;  // row 1, the last position
  std::string e = error_of([&] { m.forward(ids, o); });
  EXPECT_NE(e.find("removed: the last position (column 4, row 1) cannot be removed"), std::string::npos) << e;
  o.removed = Tensor::zeros({1, 5});
  e = error_of([&] { m.forward(ids, o); });
  EXPECT_NE(e.find("removed must be (B, T) = (2, 5), got (1, 5)"), std::string::npos) << e;
  o.removed = Tensor::zeros({2, 5});
  o.removed.data()[1] = 0.5f;
  e = error_of([&] { m.forward(ids, o); });
  EXPECT_NE(e.find("removed must hold 0 (kept) or 1 (removed), got 0.5 at (b = 0, t = 1)"), std::string::npos) << e;
  o = models::GPTForwardOptions();
  o.logits_to_keep = -1;
  EXPECT_NE(error_of([&] { m.forward(ids, o); }).find("logits_to_keep = -1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Models, GptForwardOptions, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

}  // namespace
}  // namespace attn::testing
