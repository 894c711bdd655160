// Chefer et al.'s gradient-weighted relevance for an encoder-decoder Transformer (attn/models/transformer.h),
// cross-attention included: which source tokens, and which earlier target tokens, the decoder's choice of one
// target token rests on.
//
//   Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for Interpreting Bi-Modal and
//   Encoder-Decoder Transformers", ICCV, §3 (eq. 5-10); the same rules as the authors' DETR code
//   (github.com/hila-chefer/Transformer-MM-Explainability, DETR/modules/ExplanationGenerator.py).
//
// Shapes: S source tokens, T target positions (tgt_in = [BOS, y₁ … y_{T-1}], teacher forcing: row t writes
// y_{t+1}), H heads. The explained score is one logit y = logits[t, v] — by default v is the token the model
// wrote there. Every attention map A (per layer, (H, ·, ·), after softmax) and its gradient ∇A = ∂y/∂A come
// from one traced forward through the composed attention path and one grad() (trace_translation).
//
//   Ā = E_h[(∇A ⊙ A)⁺]                         each map, its heads' positive gradient-weighted mean (eq. 5)
//
// Three relevance maps, initialised R^ss = I (S×S), R^tt = I (T×T), R^ts = 0 (T×S):
//   each encoder self-attention layer (Ā: S×S), bottom first:
//     R^ss ← R^ss + Ā R^ss                                                                      (eq. 6)
//   then each decoder layer, bottom first: its self-attention (Ā: T×T, causal)
//     R^tt ← R^tt + Ā R^tt,     R^ts ← R^ts + Ā R^ts                                           (eq. 6, 7)
//   and its cross-attention (queries target, keys source; Ā: T×S)
//     R^ts ← R^ts + (R̄^tt)ᵀ Ā R̄^ss                                                            (eq. 10)
//   where R̄ normalises what the self-attention layers added to the identity (eq. 8, 9):
//     R̄ = rownorm(R − I) + I,   rownorm: each row divided by its sum; a row of R − I that is all 0
//     (nothing added: the token drew on no other, or every gradient there was negative) stays 0.
// (The paper's rule for co-attention where the source also attends to the target, R^tt ← R^tt + Ā R^st, adds
// nothing here: the encoder never attends to the target, R^st = 0.) R^ss is complete before the decoder starts: every
// cross-attention layer
// reads the encoder's final output.
//
// What to read: row t of R^ts — the source tokens' relevance for y (source_scores) — and row t of R^tt, the
// target prefix's (entries 0..t; the decoder is causal). Compare them with the raw cross-attention of the
// last layer (mean of heads), the map everyone draws. On a causal decoder ∇A is 0 on every row after t, so
// rows after t of R^tt stay those of I and (R̄^tt)ᵀ's row t is R̄^tt[t, t] e_t: the cross rule only rescales
// row t's own cross-attention, and what earlier target tokens drew from the source reaches row t through the
// self-attention rule R^ts ← R^ts + Ā R^ts of the layers above.
//
//   explain::TranslationRelevance r = explain::translation_relevance(model, "Der Hund bellt.");
//   // r.source (T, S): row t = R^ts[t] for y = logits[t, y_{t+1}], one traced backward per row
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/models/transformer.h"
#include "attn/models/translation_model.h"

namespace attn::explain {

// One traced forward + backward for one explained logit y = logits[position, token].
struct Seq2SeqTrace {
  std::vector<Tensor> encoder_attentions, encoder_grads;  // per encoder layer (H, S, S) and ∂y/∂A
  std::vector<Tensor> decoder_attentions, decoder_grads;  // per decoder layer (H, T, T), causal
  std::vector<Tensor> cross_attentions, cross_grads;      // per decoder layer (H, T, S)
  Tensor logits;                                          // (T, V) every position's logits under teacher forcing
  int64_t position = 0;                                   // t, the explained row of tgt_in
  int64_t token = 0;                                      // v, y = logits[t, v]
  int64_t predicted = 0;                                  // argmax_v logits[t, v] (the first one)
};

// source (S) ids, target_in (T) = [BOS, y₁ …]; one forward with every attention through the composed path
// (TransformerForwardOptions::attention_grad), eval mode (restored afterwards), then one grad() per explained
// position, the graph kept between them: positions[i] in 0..T-1, tokens[i] the explained token there (-1 or
// tokens empty: the predicted one). The parameters' .grad are not touched. attn::Error for an empty sequence,
// a position or token out of range (ids themselves are checked by the model).
std::vector<Seq2SeqTrace> trace_translation(models::Transformer& model, const std::vector<int64_t>& source,
                                            const std::vector<int64_t>& target_in,
                                            const std::vector<int64_t>& positions,
                                            const std::vector<int64_t>& tokens = {});
Seq2SeqTrace trace_translation(models::Transformer& model, const std::vector<int64_t>& source,
                               const std::vector<int64_t>& target_in, int64_t position, int64_t token = -1);

// Ā = E_h[(∇A ⊙ A)⁺]: (H, L, S) maps and their gradients -> (L, S). (1, H, L, S) is accepted too.
Tensor gradient_weighted_attention(const Tensor& attention, const Tensor& gradient);
// R̄ = rownorm(R − I) + I for a square R (n, n); rows of R − I that sum to 0 are left at 0 (eq. 8, 9).
Tensor normalize_residual(const Tensor& R);

struct Seq2SeqRelevance {
  Tensor source_self;    // R^ss (S, S)
  Tensor target_self;    // R^tt (T, T)
  Tensor target_source;  // R^ts (T, S)
  Tensor raw_cross;      // (T, S) the last decoder layer's cross-attention, mean of heads (for comparison)
};

// The rules above on a trace. Decoder self- and cross-attention alternate layer by layer: layer l's
// self-attention, then its cross-attention (a trace may have fewer self- than cross-attention layers —
// none at all for a decoder without self-attention; R^tt then stays I). attn::Error when the trace has no
// cross-attention, or shapes or gradients do not match.
Seq2SeqRelevance seq2seq_relevance(const Seq2SeqTrace& trace);

// Row `position` of R^ts (S): each source token's relevance for the trace's logit.
Tensor source_scores(const Seq2SeqRelevance& r, int64_t position);

// A sentence through a TranslationModel (arch "transformer" only: the RNN archs have no self-attention and
// their attention weights are not handed back in the graph — attn::Error naming the arch): the translation is
// made (greedy or beam), fed back under teacher forcing as TranslationModel::attention does, and every
// requested position explained for the token written there (</s> for the last row).
struct TranslationRelevance {
  std::string translation;
  std::vector<std::string> source_tokens;  // S subword pieces, ending in </s>
  std::vector<std::string> target_tokens;  // T pieces: the token each row writes, the last </s>
  std::vector<std::string> input_tokens;   // T pieces of tgt_in, R^tt's columns: <s>, then target_tokens but the last
  std::vector<int64_t> positions;          // the explained rows t_p, P of them
  Tensor source;                           // (P, S) row p = R^ts[t_p] of t_p's own trace
  Tensor prefix;                           // (P, T) row p = R^tt[t_p] over input_tokens (entries after t_p are 0)
  Tensor raw_cross;                        // (T, S) the last layer's cross-attention, mean of heads
};
// position < 0: every row 0..T-1; else that row only (attn::Error when it is not one).
TranslationRelevance translation_relevance(models::TranslationModel& model, const std::string& source,
                                           int64_t position = -1, int64_t beam = 1,
                                           float length_penalty = models::kDefaultLengthPenalty);

}  // namespace attn::explain
