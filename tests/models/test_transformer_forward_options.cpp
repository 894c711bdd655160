// Transformer::forward(src, tgt_in, TransformerForwardOptions), the explanation path (attn/models/transformer.h):
// default options are the fused path exactly and record nothing; output_attentions is forward(…, true) exactly;
// attention_grad runs every attention through the composed path — the same logits and weights (padding and
// causal masks included), post-LN and pre-LN — with the weights in the graph: the gradient of one logit reaches
// every map, and is zero on the rows the causal decoder keeps from it.
#include <gtest/gtest.h>

#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/models/transformer.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn::testing {
namespace {

models::TransformerConfig tiny(bool norm_first) {
  models::TransformerConfig c;
  c.src_vocab = 13;
  c.tgt_vocab = 11;
  c.d_model = 16;
  c.nhead = 4;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.dim_feedforward = 24;
  c.dropout = 0.f;
  c.max_len = 20;
  c.norm_first = norm_first;
  return c;  // pad 0, bos 2, eos 3
}

// Random ids in [4, V), (B, L); row b from `pad_from[b]` on set to pad (0) when given.
IndexTensor random_ids(int64_t B, int64_t L, int64_t V, uint64_t seed, std::vector<int64_t> pad_from = {}) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(B * L));
  for (auto& x : v) x = 4 + g.randint(static_cast<uint32_t>(V - 4));
  for (size_t b = 0; b < pad_from.size(); ++b)
    for (int64_t t = pad_from[b]; t < L; ++t) v[b * static_cast<size_t>(L) + static_cast<size_t>(t)] = 0;
  return IndexTensor(v, {B, L});
}

std::vector<Tensor> all_maps(const models::TransformerOutput& o) {
  std::vector<Tensor> maps = o.encoder_attentions;
  maps.insert(maps.end(), o.decoder_attentions.begin(), o.decoder_attentions.end());
  maps.insert(maps.end(), o.cross_attentions.begin(), o.cross_attentions.end());
  return maps;
}

class TransformerExplainPath : public ::testing::TestWithParam<bool> {};

TEST_P(TransformerExplainPath, DefaultAndRecordingOptionsAreTheFusedPathExactly) {
  Generator gen(1);
  models::Transformer m(tiny(GetParam()), gen);
  m.eval();
  const IndexTensor src = random_ids(2, 7, 13, 2, {7, 5}), tgt = random_ids(2, 6, 11, 3, {6, 4});
  NoGradGuard ng;
  const Tensor fused = m.forward(src, tgt);
  const models::TransformerOutput plain = m.forward(src, tgt, models::TransformerForwardOptions());
  EXPECT_EQ(max_abs_diff(plain.logits, fused), 0.0);
  EXPECT_TRUE(plain.encoder_attentions.empty() && plain.decoder_attentions.empty() && plain.cross_attentions.empty());
  models::TransformerForwardOptions rec;
  rec.output_attentions = true;
  const models::TransformerOutput a = m.forward(src, tgt, rec), b = m.forward(src, tgt, true);
  EXPECT_EQ(max_abs_diff(a.logits, fused), 0.0);
  const std::vector<Tensor> ma = all_maps(a), mb = all_maps(b);
  ASSERT_EQ(ma.size(), 6u);
  ASSERT_EQ(mb.size(), 6u);
  for (size_t i = 0; i < ma.size(); ++i) EXPECT_EQ(max_abs_diff(ma[i], mb[i]), 0.0) << i;
}

TEST_P(TransformerExplainPath, ComposedPathGivesTheSameNumbersWithWeightsInTheGraph) {
  Generator gen(4);
  models::Transformer m(tiny(GetParam()), gen);
  m.eval();
  const IndexTensor src = random_ids(2, 7, 13, 5, {7, 5}), tgt = random_ids(2, 6, 11, 6, {6, 4});
  models::TransformerOutput recorded;
  {
    NoGradGuard ng;
    recorded = m.forward(src, tgt, true);
  }
  models::TransformerForwardOptions o;
  o.attention_grad = true;
  const models::TransformerOutput g = m.forward(src, tgt, o);
  EXPECT_LE(max_abs_diff(g.logits, recorded.logits), 1e-5);
  const std::vector<Tensor> maps = all_maps(g), ref = all_maps(recorded);
  ASSERT_EQ(maps.size(), 6u);
  for (size_t i = 0; i < maps.size(); ++i) {
    EXPECT_EQ(maps[i].shape(), ref[i].shape()) << i;
    EXPECT_LE(max_abs_diff(maps[i], ref[i]), 1e-5) << i;
    EXPECT_TRUE(maps[i].requires_grad()) << i;
  }
  // Row 1's padded source keys (5, 6) get no weight in the encoder and in the cross-attention.
  EXPECT_EQ(g.cross_attentions[1].at({1, 2, 3, 6}), 0.f);
  EXPECT_EQ(g.encoder_attentions[0].at({1, 0, 2, 5}), 0.f);

  // y = logits[0, t, v]: its gradient reaches every map; causal rows after t get none, and in the last layer
  // only row t of the cross-attention matters.
  const int64_t t = 3, v = 7, S = 7, T = 6;
  const Tensor y = sum(slice(slice(slice(g.logits, 0, 0, 1), 1, t, t + 1), 2, v, v + 1));
  const std::vector<Tensor> d = grad(y, maps);
  for (size_t i = 0; i < d.size(); ++i) {
    double batch0 = 0, batch1 = 0;
    const int64_t per_row = d[i].size(2) * d[i].size(3) * d[i].size(1);
    for (int64_t k = 0; k < per_row; ++k) batch0 = std::max(batch0, std::abs(double(d[i].data()[k])));
    for (int64_t k = per_row; k < 2 * per_row; ++k) batch1 = std::max(batch1, std::abs(double(d[i].data()[k])));
    EXPECT_GT(batch0, 1e-6) << "map " << i << " gets no gradient";
    EXPECT_EQ(batch1, 0.0) << "map " << i << ": the other sentence got a gradient";
  }
  for (size_t i = 2; i < 6; ++i)  // decoder self (2, 3) and cross (4, 5)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t r = t + 1; r < T; ++r)
        for (int64_t c = 0; c < d[i].size(3); ++c) EXPECT_EQ(d[i].at({0, h, r, c}), 0.f) << i << " row " << r;
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t r = 0; r < T; ++r)
      for (int64_t c = 0; c < S && r != t; ++c) EXPECT_EQ(d[5].at({0, h, r, c}), 0.f) << "last cross row " << r;
}

INSTANTIATE_TEST_SUITE_P(Transformer, TransformerExplainPath, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "pre_ln" : "post_ln"; });

}  // namespace
}  // namespace attn::testing
