#include "attn/explain/seq2seq_explain.h"

#include <algorithm>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "explain (seq2seq)";

// (1, H, L, S) or (H, L, S) -> (H, L, S), detached.
Tensor heads(const Tensor& a, const char* what) {
  ATTN_CHECK(
      a.defined() && (a.dim() == 3 || (a.dim() == 4 && a.size(0) == 1)), kOp,
      what << " must be (1, H, L, S) or (H, L, S), got " << (a.defined() ? shape_str(a.shape()) : std::string("none")));
  return a.dim() == 4 ? reshape(a.detach(), {a.size(1), a.size(2), a.size(3)}) : a.detach();
}

// Ā of layer l of one list, its shape checked against (rows, cols).
Tensor layer_bar(const std::vector<Tensor>& maps, const std::vector<Tensor>& grads, size_t l, int64_t rows,
                 int64_t cols, const char* what) {
  ATTN_CHECK(l < grads.size(), kOp, what << " layer " << l << " has no gradient: trace the model with gradients");
  const Tensor a = gradient_weighted_attention(maps[l], grads[l]);  // (rows, cols)
  ATTN_CHECK(a.size(0) == rows && a.size(1) == cols, kOp,
             what << " layer " << l << " is " << shape_str(a.shape()) << ", expected (" << rows << ", " << cols << ")");
  return a;
}

}  // namespace

std::vector<Seq2SeqTrace> trace_translation(models::Transformer& model, const std::vector<int64_t>& source,
                                            const std::vector<int64_t>& target_in,
                                            const std::vector<int64_t>& positions, const std::vector<int64_t>& tokens) {
  const auto S = static_cast<int64_t>(source.size()), T = static_cast<int64_t>(target_in.size());
  const int64_t V = model.config().tgt_vocab;
  ATTN_CHECK(S > 0, kOp, "nothing to explain: the source has no tokens");
  ATTN_CHECK(T > 0, kOp, "nothing to explain: the target has no tokens (it starts with BOS)");
  ATTN_CHECK(!positions.empty(), kOp, "no target position to explain");
  ATTN_CHECK(tokens.empty() || tokens.size() == positions.size(), kOp,
             tokens.size() << " tokens given for " << positions.size() << " positions");
  for (size_t i = 0; i < positions.size(); ++i) {
    ATTN_CHECK(positions[i] >= 0 && positions[i] < T, kOp,
               "target position " << positions[i] << " outside 0.." << T - 1);
    if (!tokens.empty())
      ATTN_CHECK(tokens[i] >= -1 && tokens[i] < V, kOp,
                 "token " << tokens[i] << " outside the vocabulary 0.." << V - 1);
  }
  nn::ModeGuard mode(model);
  model.eval();
  EnableGradGuard grad_on;
  models::TransformerForwardOptions o;
  o.attention_grad = true;
  const models::TransformerOutput out =
      model.forward(IndexTensor(source, {1, S}), IndexTensor(target_in, {1, T}), o);  // logits (1, T, V)

  Seq2SeqTrace common;
  common.logits = reshape(out.logits.detach(), {T, V}).clone();
  std::vector<Tensor> wrt;  // every map, in the lists' order
  for (const auto* list : {&out.encoder_attentions, &out.decoder_attentions, &out.cross_attentions})
    wrt.insert(wrt.end(), list->begin(), list->end());
  for (const Tensor& a : out.encoder_attentions) common.encoder_attentions.push_back(heads(a, "encoder attention"));
  for (const Tensor& a : out.decoder_attentions) common.decoder_attentions.push_back(heads(a, "decoder attention"));
  for (const Tensor& a : out.cross_attentions) common.cross_attentions.push_back(heads(a, "cross-attention"));
  const size_t Le = out.encoder_attentions.size(), Ld = out.decoder_attentions.size();

  std::vector<Seq2SeqTrace> traces;
  for (size_t i = 0; i < positions.size(); ++i) {
    Seq2SeqTrace t = common;  // shares the maps' storage
    t.position = positions[i];
    const float* row = t.logits.data() + t.position * V;
    t.predicted = std::max_element(row, row + V) - row;
    t.token = tokens.empty() || tokens[i] < 0 ? t.predicted : tokens[i];
    // y = logits[0, t, v]; ∂y/∂A for every map, the graph kept for the next position.
    const Tensor y = sum(slice(slice(out.logits, 1, t.position, t.position + 1), 2, t.token, t.token + 1));  // ()
    const std::vector<Tensor> g = grad(y, wrt, Tensor(), /*retain_graph=*/i + 1 < positions.size());
    for (size_t l = 0; l < g.size(); ++l) {
      std::vector<Tensor>& dst = l < Le ? t.encoder_grads : l < Le + Ld ? t.decoder_grads : t.cross_grads;
      dst.push_back(heads(g[l], "attention gradient"));
    }
    traces.push_back(std::move(t));
  }
  return traces;
}

Seq2SeqTrace trace_translation(models::Transformer& model, const std::vector<int64_t>& source,
                               const std::vector<int64_t>& target_in, int64_t position, int64_t token) {
  return std::move(
      trace_translation(model, source, target_in, std::vector<int64_t>{position}, std::vector<int64_t>{token}).front());
}

Tensor gradient_weighted_attention(const Tensor& attention, const Tensor& gradient) {
  NoGradGuard no_grad;
  const Tensor A = heads(attention, "attention"), dA = heads(gradient, "attention gradient");
  ATTN_CHECK(
      A.shape() == dA.shape(), kOp,
      "attention " << shape_str(A.shape()) << " and its gradient " << shape_str(dA.shape()) << " differ in shape");
  return mean(relu(dA * A), {0});  // (L, S) = E_h[(∇A ⊙ A)⁺]
}

Tensor normalize_residual(const Tensor& R) {
  NoGradGuard no_grad;
  ATTN_CHECK(R.defined() && R.dim() == 2 && R.size(0) == R.size(1), kOp,
             "a relevance map to normalise must be square (n, n), got "
                 << (R.defined() ? shape_str(R.shape()) : std::string("none")));
  const int64_t n = R.size(0);
  Tensor out = R.detach() - Tensor::eye(n);  // what the layers added: R − I (a new tensor)
  float* p = out.data();
  for (int64_t i = 0; i < n; ++i) {
    float s = 0.f;
    for (int64_t j = 0; j < n; ++j) s += p[i * n + j];
    if (s != 0.f)
      for (int64_t j = 0; j < n; ++j) p[i * n + j] /= s;  // rows sum to 1 ...
    p[i * n + i] += 1.f;                                  // ... + I
  }
  return out;
}

Seq2SeqRelevance seq2seq_relevance(const Seq2SeqTrace& t) {
  NoGradGuard no_grad;
  ATTN_CHECK(!t.cross_attentions.empty(), kOp, "the trace recorded no cross-attention");
  ATTN_CHECK(t.decoder_attentions.size() <= t.cross_attentions.size(), kOp,
             t.decoder_attentions.size() << " decoder self-attention layers for " << t.cross_attentions.size()
                                         << " cross-attention layers");
  const Tensor last = heads(t.cross_attentions.back(), "cross-attention");  // (H, T, S)
  const int64_t T = last.size(1), S = last.size(2);

  Seq2SeqRelevance r;
  r.source_self = Tensor::eye(S);                             // R^ss = I
  for (size_t l = 0; l < t.encoder_attentions.size(); ++l) {  // encoder, bottom first
    const Tensor A = layer_bar(t.encoder_attentions, t.encoder_grads, l, S, S, "encoder self-attention");  // (S, S)
    r.source_self = r.source_self + matmul(A, r.source_self);  // R^ss ← R^ss + Ā R^ss
  }
  const Tensor ss_bar = normalize_residual(r.source_self);  // R̄^ss (S, S)

  r.target_self = Tensor::eye(T);                           // R^tt = I
  r.target_source = Tensor::zeros({T, S});                  // R^ts = 0
  for (size_t l = 0; l < t.cross_attentions.size(); ++l) {  // decoder, bottom first
    if (l < t.decoder_attentions.size()) {                  // its self-attention
      const Tensor A = layer_bar(t.decoder_attentions, t.decoder_grads, l, T, T, "decoder self-attention");  // (T, T)
      r.target_source = r.target_source + matmul(A, r.target_source);  // R^ts ← R^ts + Ā R^ts
      r.target_self = r.target_self + matmul(A, r.target_self);        // R^tt ← R^tt + Ā R^tt
    }
    const Tensor A = layer_bar(t.cross_attentions, t.cross_grads, l, T, S, "cross-attention");  // (T, S)
    const Tensor tt_bar = normalize_residual(r.target_self);                                    // R̄^tt (T, T)
    r.target_source = r.target_source + matmul(tt_bar, matmul(A, ss_bar), /*transpose_a=*/true);  // + (R̄^tt)ᵀ Ā R̄^ss
  }
  r.raw_cross = mean(last, {0});  // (T, S)
  return r;
}

Tensor source_scores(const Seq2SeqRelevance& r, int64_t position) {
  ATTN_CHECK(r.target_source.defined() && r.target_source.dim() == 2, kOp, "no R^ts: run seq2seq_relevance first");
  const int64_t T = r.target_source.size(0), S = r.target_source.size(1);
  ATTN_CHECK(position >= 0 && position < T, kOp, "target position " << position << " outside 0.." << T - 1);
  return reshape(slice(r.target_source, 0, position, position + 1), {S});
}

TranslationRelevance translation_relevance(models::TranslationModel& m, const std::string& source, int64_t position,
                                           int64_t beam, float length_penalty) {
  using Tok = data::SubwordTokenizer;
  ATTN_CHECK(m.transformer() != nullptr, kOp,
             "relevance needs the Transformer's attention maps in the graph; the \""
                 << m.arch() << "\" model has none there (arch \"transformer\" only)");
  ATTN_CHECK(!source.empty(), kOp, "an empty sentence");
  models::Transformer& tf = *m.transformer();
  const Tok& tok = m.tokenizer();
  std::vector<int64_t> src = tok.encode(source);  // subwords + </s>, as translate() does
  src.push_back(Tok::eos_id);
  const auto S = static_cast<int64_t>(src.size());
  ATTN_CHECK(S <= tf.config().max_len, kOp,
             "the sentence has " << S << " tokens, more than the model's " << tf.config().max_len << " positions");
  const std::vector<int64_t> out = m.translate_ids(IndexTensor(src, {1, S}), 2 * S + 10, beam, length_penalty)[0];

  TranslationRelevance r;
  r.translation = tok.decode(out);
  for (int64_t id : src) r.source_tokens.push_back(tok.piece(id));
  std::vector<int64_t> tgt_in = {Tok::bos_id};  // row t writes out[t]; the last row </s>
  tgt_in.insert(tgt_in.end(), out.begin(), out.end());
  tgt_in.resize(std::min<size_t>(tgt_in.size(), static_cast<size_t>(tf.config().max_len)));
  const auto T = static_cast<int64_t>(tgt_in.size());
  std::vector<int64_t> written(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    written[static_cast<size_t>(t)] = t < static_cast<int64_t>(out.size()) ? out[static_cast<size_t>(t)] : Tok::eos_id;
    r.target_tokens.push_back(tok.piece(written[static_cast<size_t>(t)]));
    r.input_tokens.push_back(tok.piece(tgt_in[static_cast<size_t>(t)]));
  }
  ATTN_CHECK(position < T, kOp,
             "target position " << position << " outside 0.." << T - 1 << " (the translation has " << T
                                << " tokens with </s>)");
  std::vector<int64_t> tokens;
  if (position >= 0) {
    r.positions = {position};
  } else {
    for (int64_t t = 0; t < T; ++t) r.positions.push_back(t);
  }
  for (int64_t t : r.positions) tokens.push_back(written[static_cast<size_t>(t)]);

  const std::vector<Seq2SeqTrace> traces = trace_translation(tf, src, tgt_in, r.positions, tokens);
  std::vector<Tensor> source_rows, prefix_rows;
  for (const Seq2SeqTrace& t : traces) {
    const Seq2SeqRelevance rel = seq2seq_relevance(t);
    source_rows.push_back(source_scores(rel, t.position));                                       // (S)
    prefix_rows.push_back(reshape(slice(rel.target_self, 0, t.position, t.position + 1), {T}));  // (T)
    if (!r.raw_cross.defined()) r.raw_cross = rel.raw_cross;
  }
  r.source = stack(source_rows, 0);  // (P, S)
  r.prefix = stack(prefix_rows, 0);  // (P, T)
  return r;
}

}  // namespace attn::explain
