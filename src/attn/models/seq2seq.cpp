#include "attn/models/seq2seq.h"

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::models {

Seq2Seq::Seq2Seq(const Seq2SeqConfig& c, Generator& gen) : config_(c) {
  const char* op = "Seq2Seq";
  ATTN_CHECK(c.src_vocab > 0 && c.tgt_vocab > 0, op, "vocabulary sizes must be positive");
  ATTN_CHECK(c.dropout >= 0.f && c.dropout < 1.f, op, "dropout = " << c.dropout << " must be in [0, 1)");
  ATTN_CHECK(c.attention == "none" || c.attention == "additive" || c.attention == "dot" || c.attention == "general" ||
                 c.attention == "concat",
             op, "attention must be none, additive, dot, general or concat; got \"" << c.attention << "\"");
  const int64_t E = c.embed_dim, H = c.hidden_dim;
  src_embed_ = register_module("src_embed", std::make_shared<nn::Embedding>(c.src_vocab, E, gen, c.pad_id));
  tgt_embed_ = register_module("tgt_embed", std::make_shared<nn::Embedding>(c.tgt_vocab, E, gen));
  encoder_ = register_module(
      "encoder", std::make_shared<nn::GRU>(E, H, gen, nn::RNNOptions().bidirectional(true).batch_first(true)));
  memory_proj_ = register_module("memory_proj", std::make_shared<nn::Linear>(2 * H, H, gen));
  bridge_ = register_module("bridge", std::make_shared<nn::Linear>(2 * H, H, gen));
  decoder_ = register_module("decoder", std::make_shared<nn::GRUCell>(E + H, H, gen));
  if (c.attention == "additive")
    additive_ = register_module("attention", std::make_shared<nn::AdditiveAttention>(H, H, H, gen));
  else if (c.attention != "none")
    luong_ = register_module("attention", std::make_shared<nn::LuongAttention>(c.attention, H, H, gen));
  combine_ = register_module("combine", std::make_shared<nn::Linear>(2 * H, H, gen));
  out_ = register_module("out", std::make_shared<nn::Linear>(H, c.tgt_vocab, gen));
  embed_drop_ = register_module("embed_dropout", std::make_shared<nn::Dropout>(c.dropout, c.dropout_seed));
  out_drop_ = register_module("out_dropout", std::make_shared<nn::Dropout>(c.dropout, c.dropout_seed));
  out_drop_->generator() = Generator(c.dropout_seed, 1);
}

Seq2Seq::Memory Seq2Seq::encode(const IndexTensor& src) {
  ATTN_CHECK(src.dim() == 2 && src.shape[1] > 0, "Seq2Seq",
             "src must be (B, S) token ids, got " << shape_str(src.shape));
  const int64_t B = src.shape[0], S = src.shape[1], H = config_.hidden_dim;
  Tensor mask = Tensor::empty({B, S});
  std::vector<int64_t> lengths(B, 0);  // real tokens come first; padding fills the rest
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < S; ++j) {
      const bool real = src[b * S + j] != config_.pad_id;
      mask.data()[b * S + j] = real ? 1.f : 0.f;
      if (real) lengths[b] = j + 1;
    }
  for (int64_t b = 0; b < B; ++b) ATTN_CHECK(lengths[b] > 0, "Seq2Seq", "source sequence " << b << " is all padding");
  // The encoder stops at each sequence's end (and the backward direction starts there), so a sentence
  // encodes the same alone or padded in a batch.
  auto enc = encoder_->forward(embed_drop_->forward(src_embed_->forward(src)), Tensor(),
                               lengths);              // output (B, S, 2H), h_n (2, B, H)
  Tensor memory = memory_proj_->forward(enc.output);  // (B, S, H)
  // Final states of both directions: forward after the last token, backward after the first.
  Tensor last = concat({squeeze(slice(enc.h_n, 0, 0, 1), 0), squeeze(slice(enc.h_n, 0, 1, 2), 0)}, 1);  // (B, 2H)
  (void)H;
  Tensor keys = additive_ ? additive_->project_keys(memory) : luong_ ? luong_->project_keys(memory) : Tensor();
  return {memory, keys, mask, tanh(bridge_->forward(last))};
}

Seq2Seq::StepOut Seq2Seq::step(const IndexTensor& y_prev, const Tensor& state, const Tensor& feed, const Memory& m) {
  Tensor e = embed_drop_->forward(tgt_embed_->forward(y_prev));  // (B, E)
  StepOut o;
  if (config_.attention == "none") {
    o.state = decoder_->forward(concat({e, m.s0}, 1), state);      // (B, H)
    o.feed = tanh(combine_->forward(concat({o.state, m.s0}, 1)));  // (B, H)
  } else if (additive_) {
    Attended a = additive_->forward_projected(state, m.keys, m.memory, m.mask);  // from s_{t-1}
    o.state = decoder_->forward(concat({e, a.context}, 1), state);
    o.feed = tanh(combine_->forward(concat({o.state, a.context}, 1)));
    o.weights = a.weights;
  } else {
    o.state = decoder_->forward(concat({e, feed}, 1), state);                   // input feeding
    Attended a = luong_->forward_projected(o.state, m.keys, m.memory, m.mask);  // from s_t
    o.feed = tanh(combine_->forward(concat({o.state, a.context}, 1)));
    o.weights = a.weights;
  }
  o.logits = out_->forward(out_drop_->forward(o.feed));  // (B, V)
  return o;
}

Seq2SeqOutput Seq2Seq::forward(const IndexTensor& src, const IndexTensor& tgt_in) {
  ATTN_CHECK(src.dim() == 2, "Seq2Seq", "src must be (B, S) token ids, got " << shape_str(src.shape));
  ATTN_CHECK(
      tgt_in.dim() == 2 && tgt_in.shape[0] == src.shape[0], "Seq2Seq",
      "tgt_in must be (B, T) with B = " << (src.dim() ? src.shape[0] : 0) << ", got " << shape_str(tgt_in.shape));
  const Memory m = encode(src);
  const int64_t B = tgt_in.shape[0], T = tgt_in.shape[1];
  Tensor state = m.s0, feed = Tensor::zeros({B, config_.hidden_dim});
  std::vector<Tensor> logits, weights;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int64_t> y(B);
    for (int64_t b = 0; b < B; ++b) y[b] = tgt_in[b * T + t];
    StepOut o = step(IndexTensor(y), state, feed, m);
    state = o.state;
    feed = o.feed;
    logits.push_back(o.logits);
    if (o.weights.defined()) weights.push_back(o.weights);
  }
  return {stack(logits, 1), weights.empty() ? Tensor() : stack(weights, 1)};  // (B, T, V), (B, T, S)
}

Decoded Seq2Seq::greedy_decode(const IndexTensor& src, int64_t max_len) {
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);
  eval();
  const Memory m = encode(src);
  const int64_t B = src.shape[0];
  Tensor state = m.s0, feed = Tensor::zeros({B, config_.hidden_dim});
  std::vector<int64_t> y(B, config_.bos_id);
  std::vector<bool> done(B, false);
  Decoded d;
  d.tokens.resize(B);
  std::vector<Tensor> weights;
  for (int64_t t = 0; t < max_len; ++t) {
    StepOut o = step(IndexTensor(y), state, feed, m);
    state = o.state;
    feed = o.feed;
    if (o.weights.defined()) weights.push_back(o.weights);
    IndexTensor best;
    max(o.logits, 1, false, &best);
    bool all_done = true;
    for (int64_t b = 0; b < B; ++b) {
      y[b] = best[b];
      if (!done[b]) {
        if (y[b] == config_.eos_id) done[b] = true;
        else d.tokens[b].push_back(y[b]);
      }
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  if (!weights.empty()) d.attention = stack(weights, 1);
  return d;
}

std::vector<Hypothesis> Seq2Seq::beam_search(const IndexTensor& src, const BeamSearchOptions& o) {
  constexpr const char* op = "Seq2Seq::beam_search";
  ATTN_CHECK(src.dim() == 2 && src.shape[0] == 1, op,
             "beam search takes one source (1, S), got " << shape_str(src.shape));
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);
  eval();
  Memory m = encode(src);  // one row; repeated as the beam grows
  Tensor state = m.s0, feed = Tensor::zeros({1, config_.hidden_dim});
  auto step_fn = [&](const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens) {
    const IndexTensor rows(parents);
    state = index_select(state, 0, rows);
    feed = index_select(feed, 0, rows);
    if (m.memory.shape()[0] != static_cast<int64_t>(parents.size())) {  // all rows share the one source
      const IndexTensor zeros(std::vector<int64_t>(parents.size(), 0));
      m.memory = index_select(m.memory, 0, zeros), m.mask = index_select(m.mask, 0, zeros);
      if (m.keys.defined()) m.keys = index_select(m.keys, 0, zeros);
      m.s0 = index_select(m.s0, 0, zeros);
    }
    StepOut out = step(IndexTensor(tokens), state, feed, m);
    state = out.state;
    feed = out.feed;
    return out.logits;
  };
  return models::beam_search(step_fn, config_.tgt_vocab, config_.bos_id, config_.eos_id, config_.pad_id, o, op);
}

}  // namespace attn::models
