// The Transformer (Vaswani et al. 2017, "Attention Is All You Need"): an encoder-decoder for machine
// translation built from attention alone, laid out as torch.nn.Transformer so that a state dict maps 1:1.
//
// Shape legend: B batch, S source tokens, T target tokens, D = d_model, H = nhead, Dh = D / H,
// F = dim_feedforward, Vs / Vt source / target vocabulary, Le / Ld encoder / decoder layers.
//
//   x₀ = src_embed[src] · √D + PE[0 .. S-1]          (B, S, D)   sinusoidal positions, then dropout
//   encoder, each layer (post-LN, the paper's and torch's default):
//     x = norm1(x + SelfAttn(x, x, x; src padding masked))
//     x = norm2(x + linear2(relu(linear1(x))))                   linear1: D -> F, linear2: F -> D
//   memory = encoder.norm(x)                                     (B, S, D)
//   y₀ = tgt_embed[tgt_in] · √D + PE[0 .. T-1]       (B, T, D)   tgt_in = [BOS, y₁, …, y_{T-1}]
//   decoder, each layer:
//     y = norm1(y + SelfAttn(y, y, y; causal, target padding masked))
//     y = norm2(y + CrossAttn(y, memory, memory; source padding masked))   queries from the decoder
//     y = norm3(y + linear2(relu(linear1(y))))
//   logits = generator(decoder.norm(y))              (B, T, Vt)  generator: D -> Vt, no bias
//
// norm_first = true is the pre-LN variant (Xiong et al. 2020; what most models train with now):
//   x = x + SelfAttn(norm1(x)),  x = x + FF(norm2(x))  (decoder: + CrossAttn(norm2(y), memory), FF(norm3(y)))
// where the final encoder.norm / decoder.norm are essential. torch.nn.Transformer keeps the two final
// norms in the post-LN case too (then LN(LN(x)): redundant but harmless), and so do we, for a 1:1 map.
//
// Attention: MultiHead(Q, K, V) = Concat(head_1 … head_H) W^O, head_h = softmax(Q W_h^Q (K W_h^K)ᵀ / √Dh) V W_h^V,
// each an attn::nn::MultiheadAttention (torch layout, batch_first). Dropout (p = dropout, training only):
// on the embedding + position sums, on the attention weights, inside the feed-forward (after relu) and on
// every residual branch (torch's dropout, dropout1, dropout2, dropout3).
//
// Parameters, in order (torch.nn.Transformer's names, plus the embeddings and the output projection):
//   src_embed.weight (Vs, D), tgt_embed.weight (Vt, D),
//   encoder.layers.{i}.self_attn.in_proj_weight (3D, D) = [W^Q; W^K; W^V], .in_proj_bias (3D),
//     .self_attn.out_proj.weight (D, D)/.bias (D), .linear1.weight (F, D)/.bias (F),
//     .linear2.weight (D, F)/.bias (D), .norm1.weight/.bias (D), .norm2.weight/.bias (D),
//   encoder.norm.weight/.bias (D),
//   decoder.layers.{i}.self_attn.* and .multihead_attn.* (as above), .linear1, .linear2, .norm1/2/3,
//   decoder.norm.weight/.bias (D),
//   generator.weight (Vt, D).
//   count = (Vs + 2·Vt)·D + Le·(4D² + 4D + 2DF + F + D + 4D) + Ld·(8D² + 8D + 2DF + F + D + 6D) + 4D
// share_embeddings (the paper, §3.4; one vocabulary for both languages): src_embed, tgt_embed and
// generator hold the *same* (V, D) matrix; state_dict() lists it under all three names (as torch does after
// `tgt_embed.weight = generator.weight = src_embed.weight`), named_parameters() once, as src_embed.weight,
// and its gradient sums the three uses. Then count = V·D + the layers.
//
// Initialisation: every matrix of the encoder and decoder xavier_uniform_ (torch.nn.Transformer's
// _reset_parameters), attention biases 0, Linear biases torch's default, LayerNorm γ = 1, β = 0;
// embeddings and the generator N(0, 1/D) (fairseq's; with the √D scale the embedded tokens have unit
// variance), the pad row of each embedding 0 (padding_idx = pad_id: it never receives an embedding gradient).
//
// Decoding: encode() once, then one decode_step() per token with a cache (incremental decoding): each
// decoder layer keeps the keys and values of the target tokens so far (B, H, t, Dh) and the cross-attention
// keys/values of the memory (B, H, S, Dh), computed once; a step costs one token's projections (plus an
// O(t) copy: the cache grows by concatenation, and beam search reorders it with index_select). With
// use_cache = false a step re-runs the decoder over the whole prefix instead (O(t) tokens per step; the
// reference the cache is tested against). greedy_decode and beam_search accept either.
//
// For the explanation methods (attn/explain/seq2seq_explain.h), forward(src, tgt_in, TransformerForwardOptions)
// can run every attention (encoder self, decoder self, cross) as the composed
//   A = softmax(q kᵀ / √Dh + masks),  out = A v        (scaled_dot_product_attention_math)
// with `attention_grad`, so that the per-head weights it returns are the very tensors the output was computed
// from: ∂logit/∂A comes out of grad() — Chefer et al.'s relevance needs it. Every other path (training,
// translation, the explorer) is the fused kernel, unchanged.
//
// Beam search (batch 1; the search itself is beam_search.h's, shared with Seq2Seq) scores a hypothesis of n generated
// tokens (its EOS included, when it has one) as
//   score = log P(y | x) / lp(n),   lp(n) = ((5 + n) / 6)^α     (GNMT, Wu et al. 2016; α = 0: raw log-prob)
// Each step extends every live hypothesis by every token, keeps the 2k best (by log-prob), finishes the
// EOS candidates ranked among the first k and continues with the first k that are not EOS (fairseq's rule,
// so the beam stays full). It stops when k hypotheses have finished and no live one can still beat the
// k-th best of them — log-probabilities only fall as a hypothesis grows, so a live one can reach at most
// log_prob / lp(max_len) — or after max_len tokens (live ones are then kept, unfinished). (Stopping as soon
// as k have finished, as fairseq does, ends on a confident model with k short, poor hypotheses: the EOS
// candidates that rank 2nd..kth at early steps.) The n-best list is sorted by score. With k = 1 and α = 0
// this is greedy decoding exactly. Neither greedy decoding nor beam search ever emits pad_id.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attn/models/beam_search.h"
#include "attn/nn/layers.h"

namespace attn::nn {
class MultiheadAttention;
}

namespace attn::models {

struct TransformerConfig {
  int64_t src_vocab = 0;          // Vs
  int64_t tgt_vocab = 0;          // Vt
  bool share_embeddings = false;  // one (V, D) matrix for src_embed, tgt_embed and generator; Vs must equal Vt
  int64_t d_model = 512;
  int64_t nhead = 8;
  int64_t num_encoder_layers = 6;
  int64_t num_decoder_layers = 6;
  int64_t dim_feedforward = 2048;
  float dropout = 0.1f;
  std::string activation = "relu";  // "relu" | "gelu" (torch's two)
  bool norm_first = false;          // false: post-LN (the paper, torch's default); true: pre-LN
  float layer_norm_eps = 1e-5f;
  int64_t max_len = 512;                       // rows of the sinusoidal table: the longest source or target
  int64_t pad_id = 0, bos_id = 2, eos_id = 3;  // SentencePiece's ids (data/subword_tokenizer.h)

  int64_t head_dim() const { return d_model / nhead; }
  // Throws attn::Error naming Transformer.
  void validate() const;
};

// What forward/decode return. The attention lists are filled only when recording is asked for: one
// (B, H, L, S) tensor of per-head weights per layer (before attention dropout), without gradient, padded
// keys at 0. Recording does not change the logits: at inference the fused kernel hands the weights back
// from the same pass; while gradients are recorded they come from a second, gradient-free pass.
struct TransformerOutput {
  Tensor logits;                           // (B, T, Vt)
  std::vector<Tensor> encoder_attentions;  // (B, H, S, S) per encoder layer
  std::vector<Tensor> decoder_attentions;  // (B, H, T, T) per decoder layer (causal: upper triangle 0)
  std::vector<Tensor> cross_attentions;    // (B, H, T, S) per decoder layer: the alignment
};

// Options of forward(src, tgt_in, options), as GPTForwardOptions.
struct TransformerForwardOptions {
  bool output_attentions = false;  // record every attention's per-head weights (no gradient through them)
  // Every attention through the composed path, the recorded weights part of the graph (see the header
  // comment); implies output_attentions. Slower than the fused kernel: for explanations only.
  bool attention_grad = false;
  bool record() const { return output_attentions || attention_grad; }
};

// The encoder's result, kept for decoding.
struct TransformerMemory {
  Tensor memory;                           // (B, S, D), after encoder.norm
  Tensor src_padding;                      // (B, S): 1 = padding (cross-attention's key padding mask);
                                           // undefined when the source has no padding
  std::vector<Tensor> encoder_attentions;  // (B, H, S, S) per layer when recorded
};

// The state of incremental decoding (make with Transformer::start_decoding).
struct DecoderState {
  struct Layer {
    Tensor self_k, self_v;    // (B, H, t, Dh): the target tokens so far (use_cache only)
    Tensor cross_k, cross_v;  // (B, H, S, Dh): the memory's keys and values (use_cache only)
  };
  TransformerMemory memory;
  std::vector<Layer> layers;
  std::vector<std::vector<int64_t>> prefix;  // per row: the tokens fed so far (BOS first)
  bool use_cache = true;
  int64_t length() const { return prefix.empty() ? 0 : static_cast<int64_t>(prefix[0].size()); }
  int64_t batch() const { return static_cast<int64_t>(prefix.size()); }
};

// torch.nn.TransformerEncoderLayer.
class TransformerEncoderLayer : public nn::Module {
 public:
  TransformerEncoderLayer(const TransformerConfig& config, Generator& gen, uint64_t dropout_seed);
  // x (B, S, D), src_padding (B, S) or undefined -> (B, S, D). weights: receives (B, H, S, S); with grad_path
  // the attention runs through the composed path and they are its differentiable weights.
  Tensor forward(const Tensor& x, const Tensor& src_padding, Tensor* weights = nullptr, bool grad_path = false);
  std::string type_name() const override { return "TransformerEncoderLayer"; }

  std::shared_ptr<nn::MultiheadAttention> self_attn;
  std::shared_ptr<nn::Linear> linear1, linear2;
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::Dropout> dropout, dropout1, dropout2;
  bool norm_first;
  std::string activation;
};

// torch.nn.TransformerDecoderLayer.
class TransformerDecoderLayer : public nn::Module {
 public:
  TransformerDecoderLayer(const TransformerConfig& config, Generator& gen, uint64_t dropout_seed);
  // y (B, T, D), memory (B, S, D), paddings (B, T) / (B, S) or undefined -> (B, T, D). grad_path: both
  // attentions through the composed path, the weights handed back differentiable (as the encoder layer's).
  Tensor forward(const Tensor& y, const Tensor& memory, const Tensor& tgt_padding, const Tensor& src_padding,
                 Tensor* self_weights = nullptr, Tensor* cross_weights = nullptr, bool grad_path = false);
  // One new token y (B, 1, D) against the cached keys/values (appends its own). Inference only.
  Tensor forward_step(const Tensor& y, DecoderState::Layer& cache, const Tensor& src_padding,
                      Tensor* cross_weights = nullptr);
  std::string type_name() const override { return "TransformerDecoderLayer"; }

  std::shared_ptr<nn::MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<nn::Linear> linear1, linear2;
  std::shared_ptr<nn::LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<nn::Dropout> dropout, dropout1, dropout2, dropout3;
  bool norm_first;
  std::string activation;

 private:
  Tensor feed_forward(const Tensor& x);
  // The block's wiring around its two attention sublayers (post-LN: norm(x + f(x)); pre-LN: x + f(norm(x))),
  // shared by forward() and forward_step().
  Tensor residual_block(const Tensor& y, const std::function<Tensor(const Tensor&)>& self_attention,
                        const std::function<Tensor(const Tensor&)>& cross_attention);
};

// The output projection D -> Vt without bias; its weight may be another module's (tied embeddings).
class OutputProjection : public nn::Module {
 public:
  explicit OutputProjection(Tensor weight);  // (V, D): registered as "weight"
  Tensor forward(const Tensor& x) const;     // (..., D) -> (..., V)
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor weight;
};

class Transformer : public nn::Module {
 public:
  // Parameters drawn from `gen` (see Initialisation above); dropout masks from generators seeded by dropout_seed.
  Transformer(const TransformerConfig& config, Generator& gen, uint64_t dropout_seed = 0);

  // Teacher forcing: src (B, S) padded with pad_id, tgt_in (B, T) = [BOS, y₁ …] padded with pad_id
  // -> logits (B, T, Vt). Every id must be in range and S, T <= max_len.
  Tensor forward(const IndexTensor& src, const IndexTensor& tgt_in);
  // The same, also recording every attention's per-head weights when record_attention is set.
  TransformerOutput forward(const IndexTensor& src, const IndexTensor& tgt_in, bool record_attention);
  // The same with options: attention_grad puts the recorded weights in the graph (explanations).
  TransformerOutput forward(const IndexTensor& src, const IndexTensor& tgt_in,
                            const TransformerForwardOptions& options);
  // Mean cross-entropy of tgt_out (B, T) (= tgt_in shifted left, EOS last, pad_id after it), pad_id
  // ignored; label_smoothing ε spreads ε over all Vt classes (torch's convention; the paper used 0.1).
  Tensor loss(const IndexTensor& src, const IndexTensor& tgt_in, const IndexTensor& tgt_out,
              float label_smoothing = 0.f);

  // The two halves of forward: forward(src, tgt) = decode(tgt, encode(src)).
  TransformerMemory encode(const IndexTensor& src, bool record_attention = false);
  TransformerOutput decode(const IndexTensor& tgt_in, const TransformerMemory& memory, bool record_attention = false);
  TransformerMemory encode(const IndexTensor& src, const TransformerForwardOptions& options);
  TransformerOutput decode(const IndexTensor& tgt_in, const TransformerMemory& memory,
                           const TransformerForwardOptions& options);

  // Incremental decoding (inference: no gradients are recorded). start_decoding takes encode()'s result;
  // each decode_step feeds one token per row (B) at position state.length() and returns the logits
  // (B, Vt) for the next one. cross_weights (optional) receives each layer's (B, H, 1, S) weights.
  DecoderState start_decoding(const TransformerMemory& memory, bool use_cache = true);
  Tensor decode_step(DecoderState& state, const std::vector<int64_t>& tokens,
                     std::vector<Tensor>* cross_weights = nullptr);
  // Keeps row rows[i] of the old state as row i (beam search's reordering; rows may repeat).
  void reorder(DecoderState& state, const std::vector<int64_t>& rows) const;

  // Greedy decoding of each source row (B, S): at most max_len generated tokens, stopping at EOS.
  // Runs in eval mode without gradients (restores the mode it found). score = log_prob (α = 0).
  std::vector<Hypothesis> greedy_decode(const IndexTensor& src, int64_t max_len, bool use_cache = true);
  // Beam search for one source (1, S); the n-best list (up to beam_size hypotheses), best first.
  std::vector<Hypothesis> beam_search(const IndexTensor& src, const BeamSearchOptions& options = BeamSearchOptions());
  // GNMT's length normalisation: log_prob / ((5 + length) / 6)^alpha (models::length_normalized).
  static double length_normalized(double log_prob, int64_t length, float alpha) {
    return models::length_normalized(log_prob, length, alpha);
  }

  const TransformerConfig& config() const { return config_; }
  std::string type_name() const override { return "Transformer"; }

  std::shared_ptr<nn::Embedding> src_embed, tgt_embed;  // the same module with share_embeddings
  std::shared_ptr<nn::Module> encoder, decoder;         // torch's TransformerEncoder / TransformerDecoder
  std::vector<std::shared_ptr<TransformerEncoderLayer>> encoder_layers;  // encoder.layers.{i}
  std::vector<std::shared_ptr<TransformerDecoderLayer>> decoder_layers;  // decoder.layers.{i}
  std::shared_ptr<nn::LayerNorm> encoder_norm, decoder_norm;             // encoder.norm, decoder.norm
  std::shared_ptr<OutputProjection> generator;
  std::shared_ptr<nn::Dropout> src_dropout, tgt_dropout;  // on embeddings + positions

 private:
  void check_ids(const IndexTensor& ids, int64_t vocab, const char* what, const char* op) const;
  Tensor embed(const IndexTensor& ids, nn::Embedding& table, nn::Dropout& drop, int64_t start) const;
  Tensor padding_mask(const IndexTensor& ids) const;  // (B, L) 1 = pad_id, or undefined when there is none

  TransformerConfig config_;
  Tensor pe_;  // (max_len, D) sinusoidal table: not a parameter, not in the state dict
};

}  // namespace attn::models
