// Chefer et al.'s relevance for an encoder-decoder (attn/explain/seq2seq_explain.h): the rules by hand on a
// 3-token source and a 2-token target (two heads, negative gradients clamped, a zero row left alone), the
// trace of a tiny random Transformer (its logits, where the gradients must be zero, several positions in one
// pass equal to one at a time), translation_relevance on a tiny translation model, and errors. The traced
// gradients and R^ss, R^tt, R^ts against torch autograd are in tests/torch/test_explain_vs_torch.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/autograd/autograd.h"
#include "attn/explain/seq2seq_explain.h"
#include "attn/ops/ops.h"
#include "test_util.h"
#include "translation_fixtures.h"

namespace attn::testing {
namespace {

Tensor mat(std::vector<float> v, Shape shape) { return Tensor::from_vector(v, std::move(shape)); }

void expect_matrix(const Tensor& got, const std::vector<float>& want, const Shape& shape, const char* what) {
  ASSERT_EQ(got.shape(), shape) << what;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.data()[i], want[i], 1e-6) << what << " element " << i;
}

// One encoder layer (S = 3), one decoder layer (T = 2): the worked example of the rules.
explain::Seq2SeqTrace hand_trace() {
  explain::Seq2SeqTrace t;
  // Encoder, one head: (∇A ⊙ A)⁺ = [[1, 0, 0], [0, 1, 0], [1, 0, 1]] (the -0.5 is clamped).
  t.encoder_attentions = {mat({.5f, .5f, 0, 0, 1, 0, .25f, .25f, .5f}, {1, 3, 3})};
  t.encoder_grads = {mat({2, -1, 0, 0, 1, 0, 4, 0, 2}, {1, 3, 3})};
  // Decoder self-attention, two heads: (∇A ⊙ A)⁺ = [[0, 0], [1, 1]] and [[3, 0], [0, 3]], mean [[1.5, 0], [.5, 2]].
  t.decoder_attentions = {mat({1, 0, .5f, .5f, 1, 0, .25f, .75f}, {2, 2, 2})};
  t.decoder_grads = {mat({-1, 0, 2, 2, 3, 0, 0, 4}, {2, 2, 2})};
  // Cross-attention, one head: (∇A ⊙ A)⁺ = [[1, 1, 0], [0, 1, 0]].
  t.cross_attentions = {mat({.5f, .25f, .25f, 0, .5f, .5f}, {1, 2, 3})};
  t.cross_grads = {mat({2, 4, -4, 1, 2, -2}, {1, 2, 3})};
  return t;
}

TEST(ExplainSeq2Seq, TheRulesByHand) {
  // Ā with two heads and a negative product clamped before the mean.
  expect_matrix(explain::gradient_weighted_attention(hand_trace().decoder_attentions[0], hand_trace().decoder_grads[0]),
                {1.5f, 0, .5f, 2}, {2, 2}, "Ā");
  const explain::Seq2SeqRelevance r = explain::seq2seq_relevance(hand_trace());
  // R^ss = I + Ā = [[2, 0, 0], [0, 2, 0], [1, 0, 2]];  R̄^ss = rownorm(R^ss − I) + I = [[2, 0, 0], [0, 2, 0], [.5, 0,
  // 1.5]]
  expect_matrix(r.source_self, {2, 0, 0, 0, 2, 0, 1, 0, 2}, {3, 3}, "R^ss");
  expect_matrix(explain::normalize_residual(r.source_self), {2, 0, 0, 0, 2, 0, .5f, 0, 1.5f}, {3, 3}, "R̄^ss");
  // R^tt = I + Ā I = [[2.5, 0], [.5, 3]];  R̄^tt = [[2, 0], [.2, 1.8]];  R^ts = 0 + Ā · 0 = 0 before the cross rule.
  expect_matrix(r.target_self, {2.5f, 0, .5f, 3}, {2, 2}, "R^tt");
  expect_matrix(explain::normalize_residual(r.target_self), {2, 0, .2f, 1.8f}, {2, 2}, "R̄^tt");
  // Ā_c R̄^ss = [[2, 2, 0], [0, 2, 0]];  R^ts = (R̄^tt)ᵀ Ā_c R̄^ss = [[2, .2], [0, 1.8]] · that = [[4, 4.4, 0], [0,
  // 3.6, 0]]
  expect_matrix(r.target_source, {4, 4.4f, 0, 0, 3.6f, 0}, {2, 3}, "R^ts");
  expect_matrix(explain::source_scores(r, 1), {0, 3.6f, 0}, {3}, "row 1");
  expect_matrix(r.raw_cross, {.5f, .25f, .25f, 0, .5f, .5f}, {2, 3}, "raw cross-attention");
}

TEST(ExplainSeq2Seq, ASecondDecoderLayerCarriesEarlierRowsSourcesForward) {
  explain::Seq2SeqTrace t = hand_trace();
  // Layer 2: row 1 draws on row 0 (Ā = [[0, 0], [1, 0]]); its cross-attention has only negative gradients (Ā = 0).
  t.decoder_attentions.push_back(mat({1, 0, .5f, .5f}, {1, 2, 2}));
  t.decoder_grads.push_back(mat({-1, 0, 2, -1}, {1, 2, 2}));
  t.cross_attentions.push_back(mat({.5f, .25f, .25f, 0, .5f, .5f}, {1, 2, 3}));
  t.cross_grads.push_back(Tensor::full({1, 2, 3}, -1.f));
  const explain::Seq2SeqRelevance r = explain::seq2seq_relevance(t);
  // R^ts ← R^ts + Ā R^ts = [[4, 4.4, 0], [0, 3.6, 0]] + [[0, 0, 0], [4, 4.4, 0]]; R^tt = [[2.5, 0], [.5, 3]] + [[0, 0],
  // [2.5, 0]]
  expect_matrix(r.target_source, {4, 4.4f, 0, 4, 8, 0}, {2, 3}, "R^ts");
  expect_matrix(r.target_self, {2.5f, 0, 3, 3}, {2, 2}, "R^tt");
  expect_matrix(r.raw_cross, {.5f, .25f, .25f, 0, .5f, .5f}, {2, 3}, "raw cross-attention (the last layer)");
}

TEST(ExplainSeq2Seq, ResidualNormalisationLeavesEmptyRowsAlone) {
  // Row 0 of R − I is 0 (nothing was added): it stays, and R̄'s row 0 is I's. Row 1: [.3, 0] -> [1, 0].
  expect_matrix(explain::normalize_residual(mat({1, 0, .3f, 1}, {2, 2})), {1, 0, 1, 1}, {2, 2}, "R̄");
  // Without any layer (a decoder without self-attention) R^tt = I and R̄^tt = I: R^ts is Ā_c R̄^ss.
  explain::Seq2SeqTrace t = hand_trace();
  t.decoder_attentions.clear();
  t.decoder_grads.clear();
  expect_matrix(explain::seq2seq_relevance(t).target_source, {2, 2, 0, 0, 2, 0}, {2, 3}, "R^ts without decoder self");
  EXPECT_NE(error_of([] {
              explain::normalize_residual(Tensor::zeros({2, 3}));
            }).find("must be square"),
            std::string::npos);
}

TEST(ExplainSeq2Seq, BadTracesNameWhatIsWrong) {
  explain::Seq2SeqTrace t = hand_trace();
  t.cross_grads.clear();
  EXPECT_NE(error_of([&] { explain::seq2seq_relevance(t); }).find("cross-attention layer 0 has no gradient"),
            std::string::npos);
  t = hand_trace();
  t.encoder_attentions[0] = Tensor::zeros({1, 2, 2});
  t.encoder_grads[0] = Tensor::zeros({1, 2, 2});
  EXPECT_NE(error_of([&] {
              explain::seq2seq_relevance(t);
            }).find("encoder self-attention layer 0 is (2, 2), expected (3, 3)"),
            std::string::npos);
  EXPECT_NE(error_of([] { explain::seq2seq_relevance(explain::Seq2SeqTrace()); }).find("no cross-attention"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              explain::gradient_weighted_attention(Tensor::zeros({2, 2, 2}), Tensor::zeros({2, 2, 3}));
            }).find("differ in shape"),
            std::string::npos);
}

models::TransformerConfig tiny() {
  models::TransformerConfig c;
  c.src_vocab = 13, c.tgt_vocab = 11, c.d_model = 16, c.nhead = 2, c.num_encoder_layers = 2, c.num_decoder_layers = 2;
  c.dim_feedforward = 24, c.dropout = 0.f, c.max_len = 20;
  return c;
}

TEST(ExplainSeq2Seq, TraceOfATinyTransformer) {
  Generator gen(3);
  models::Transformer m(tiny(), gen);
  m.train();                                                                  // traced in eval mode, this mode restored
  const std::vector<int64_t> src = {5, 9, 4, 12, 3}, tgt = {2, 7, 6, 10, 8};  // S = 5, T = 5 (BOS first)
  const int64_t t = 2, S = 5, T = 5;
  const explain::Seq2SeqTrace tr = explain::trace_translation(m, src, tgt, t);
  EXPECT_TRUE(m.is_training());
  EXPECT_EQ(tr.position, t);
  EXPECT_EQ(tr.token, tr.predicted);
  {
    NoGradGuard ng;
    m.eval();
    const Tensor logits = m.forward(IndexTensor(src, {1, S}), IndexTensor(tgt, {1, T}));
    EXPECT_LE(max_abs_diff(tr.logits, reshape(logits, {T, 11})), 1e-5);
  }
  ASSERT_EQ(tr.encoder_attentions.size(), 2u);
  ASSERT_EQ(tr.cross_grads.size(), 2u);
  EXPECT_EQ(tr.encoder_grads[1].shape(), Shape({2, S, S}));
  EXPECT_EQ(tr.decoder_grads[1].shape(), Shape({2, T, T}));
  EXPECT_EQ(tr.cross_attentions[0].shape(), Shape({2, T, S}));
  // Rows after t of the decoder's maps do not reach logits[t]: zero gradient, so R^tt's rows after t stay
  // I's and R^ts's stay 0; R^tt's row t has nothing after t (causal).
  for (size_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t r = t + 1; r < T; ++r) {
        for (int64_t c = 0; c < T; ++c) EXPECT_EQ(tr.decoder_grads[l].at({h, r, c}), 0.f);
        for (int64_t c = 0; c < S; ++c) EXPECT_EQ(tr.cross_grads[l].at({h, r, c}), 0.f);
      }
  const explain::Seq2SeqRelevance rel = explain::seq2seq_relevance(tr);
  for (int64_t r = t + 1; r < T; ++r)
    for (int64_t c = 0; c < S; ++c) EXPECT_EQ(rel.target_source.at({r, c}), 0.f);
  for (int64_t c = t + 1; c < T; ++c) EXPECT_EQ(rel.target_self.at({t, c}), 0.f);
  double total = 0;
  for (float v : explain::source_scores(rel, t).to_vector()) {
    EXPECT_TRUE(std::isfinite(v) && v >= 0.f);
    total += v;
  }
  EXPECT_GT(total, 0.0);
  // Every R^ss entry is >= I's: relevance only accumulates.
  for (int64_t i = 0; i < S; ++i) EXPECT_GE(rel.source_self.at({i, i}), 1.f);

  // Several positions in one pass (the graph kept between the grad() calls) = one trace each; a chosen token.
  const auto many = explain::trace_translation(m, src, tgt, {4, 0, 2}, {3, -1, 5});
  ASSERT_EQ(many.size(), 3u);
  for (const auto& one : many) {
    const int64_t token = one.position == 4 ? 3 : one.position == 2 ? 5 : -1;
    const explain::Seq2SeqTrace alone = explain::trace_translation(m, src, tgt, one.position, token);
    EXPECT_EQ(one.token, alone.token);
    for (size_t l = 0; l < 2; ++l) {
      EXPECT_EQ(max_abs_diff(one.encoder_grads[l], alone.encoder_grads[l]), 0.0) << one.position;
      EXPECT_EQ(max_abs_diff(one.cross_grads[l], alone.cross_grads[l]), 0.0) << one.position;
    }
  }
  EXPECT_EQ(many[0].token, 3);
  EXPECT_EQ(many[1].token, many[1].predicted);

  EXPECT_NE(error_of([&] { explain::trace_translation(m, src, tgt, 5); }).find("target position 5 outside 0..4"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { explain::trace_translation(m, src, tgt, 0, 11); }).find("token 11 outside the vocabulary 0..10"),
      std::string::npos);
  EXPECT_NE(error_of([&] { explain::trace_translation(m, {}, tgt, 0); }).find("the source has no tokens"),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::trace_translation(m, src, {}, 0); }).find("the target has no tokens"),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::trace_translation(m, {5, 13}, tgt, 0); }).find("out of range"), std::string::npos);
}

TEST(ExplainSeq2Seq, TranslationRelevanceOnATinyModel) {
  models::TranslationModel model(tiny_translation("transformer"), tiny_subwords());
  const explain::TranslationRelevance r = explain::translation_relevance(model, "Der Hund bellt.");
  const auto S = static_cast<int64_t>(r.source_tokens.size()), T = static_cast<int64_t>(r.target_tokens.size());
  EXPECT_EQ(r.source_tokens.back(), "</s>");
  EXPECT_EQ(r.target_tokens.back(), "</s>");
  ASSERT_EQ(r.input_tokens.size(), r.target_tokens.size());
  EXPECT_EQ(r.input_tokens.front(), "<s>");
  for (size_t i = 1; i < r.input_tokens.size(); ++i) EXPECT_EQ(r.input_tokens[i], r.target_tokens[i - 1]);
  ASSERT_EQ(static_cast<int64_t>(r.positions.size()), T);
  EXPECT_EQ(r.source.shape(), Shape({T, S}));
  EXPECT_EQ(r.prefix.shape(), Shape({T, T}));
  EXPECT_EQ(r.raw_cross.shape(), Shape({T, S}));
  for (int64_t p = 0; p < T; ++p) {
    EXPECT_GE(r.prefix.at({p, p}), 1.f);  // R^tt ⊇ I
    for (int64_t c = p + 1; c < T; ++c) EXPECT_EQ(r.prefix.at({p, c}), 0.f);
    double raw = 0;
    for (int64_t s = 0; s < S; ++s) raw += r.raw_cross.at({p, s});
    EXPECT_NEAR(raw, 1.0, 1e-5);  // a softmax row, averaged over heads
  }
  // One position: the same row as in the full run.
  const explain::TranslationRelevance one = explain::translation_relevance(model, "Der Hund bellt.", T - 1);
  ASSERT_EQ(one.positions, std::vector<int64_t>{T - 1});
  EXPECT_LE(max_abs_diff(one.source, slice(r.source, 0, T - 1, T)), 1e-6);
  EXPECT_EQ(one.translation, r.translation);

  EXPECT_NE(error_of([&] { explain::translation_relevance(model, "Der Hund bellt.", T); }).find("outside 0.."),
            std::string::npos);
  EXPECT_NE(error_of([&] { explain::translation_relevance(model, ""); }).find("an empty sentence"), std::string::npos);
  models::TranslationModel rnn(tiny_translation("bahdanau"), tiny_subwords());
  EXPECT_NE(error_of([&] { explain::translation_relevance(rnn, "Der Hund bellt."); }).find("\"bahdanau\""),
            std::string::npos);
}

}  // namespace
}  // namespace attn::testing
