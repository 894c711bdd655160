// The explanation methods (relevance.h, flow.h) and the perturbation tests (faithfulness.h) on a GPT
// (attn/models/gpt.h): one context of T tokens, the prediction of token T.
//
//   GPTTrace t = explain::trace_gpt(model, ids, /*target=*/-1);   // -1: the predicted next token
//   Tensor s = explain::scores("relevance", t.trace);               // (T) one score per context token
//
// The explained score is y = logits[T-1, target], the next-token logit at the last position, so the query
// row of every method is q = T-1. Causal attention means row T-1 is the only row that sees every token;
// the other rows enter through the layers below (rollout, flow and relevance follow them there).
//
// Removing a token (the perturbation tests) masks it as a key in every layer (GPTForwardOptions::removed).
// The kept tokens keep their positions: with learned positions (wpe) or RoPE alike, this is the text with a
// gap where the token was — not the text with the token deleted and everything after it shifted left,
// which would change every later token's position embedding (or, with RoPE, the distances across the gap).
// Candidates are every context token but the query position T-1 (which cannot be removed).
//
// gpt_faithfulness's examples are windows of a held-out text (attn train gpt's validation tail: never
// trained on): window i holds text[s_i .. s_i + T - 1], s_i = ⌊i · (N - T) / count⌋ (evenly spread, in
// order; N tokens in the text), the model explains its own prediction at the last position, and the
// perturbation curves' "accuracy" is against the true next token text[s_i + T]; deletion/insertion follow
// p(predicted token).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/explain/faithfulness.h"
#include "attn/explain/relevance.h"
#include "attn/models/gpt.h"

namespace attn::explain {

struct GPTTrace {
  Trace trace;    // query = T-1
  Tensor logits;  // (V) the next-token logits at the last position, on the whole context
  int64_t predicted = 0, target = 0;
};

// One forward through the composed attention path (GPTForwardOptions::attention_grad) with every attention
// and hidden state kept, and one grad() from logits[T-1, target] (target < 0: the predicted token) that
// captures ∂y/∂A per layer, ∂y/∂x₀ and ∂y/∂h_L without touching the parameters' .grad. ids: the context,
// 1 <= T <= block_size. Eval mode (restored afterwards).
GPTTrace trace_gpt(models::GPT& model, const std::vector<int64_t>& ids, int64_t target = -1);

// The model on one context with tokens removed, as the perturbation tests call it: removed (R, T) -> the
// last position's logits (R, V), the context repeated R times, eval mode, no gradients. Holds `model` by
// reference.
RemovalForward gpt_removal_forward(models::GPT& model, const std::vector<int64_t>& ids);

// Scores (T - 1) of the candidate tokens 0 .. T-2 (every one but the query) for `method` (kMethods, or
// "random" with `gen`).
std::vector<float> gpt_candidate_scores(const std::string& method, const GPTTrace& t, Generator* gen = nullptr);

// The window starts s_i above: `count` of them for a text of `text_tokens` tokens and windows of `context`
// tokens followed by their next token. attn::Error if the text has fewer than count + context tokens.
std::vector<int64_t> gpt_window_starts(int64_t text_tokens, int64_t context, int64_t count);

// The perturbation tests of faithfulness.h on `count` windows of `context` tokens of `text` (token ids of a
// held-out text), for every method in `methods` ("random" allowed; its draws from Generator(seed, 11)).
// 2 <= context <= block_size.
std::vector<FaithfulnessSummary> gpt_faithfulness(models::GPT& model, const std::vector<int64_t>& text,
                                                  const std::vector<std::string>& methods, int64_t count,
                                                  int64_t context, uint64_t seed = 1);

}  // namespace attn::explain
