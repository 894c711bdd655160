// The k most likely next tokens: what a language model was choosing between at one step (the explorer's
// generation view shows them beside the token that was sampled).
//
//   p_v = softmax(z / τ)_v = exp((z_v − max z) / τ) / Σ_u exp((z_u − max z) / τ)
//
// over the whole vocabulary (logits z, shape (V)), then the k largest p_v, most likely first. τ is the
// sampling temperature (τ > 0; greedy decoding has no temperature: show τ = 1). Subtracting max z changes
// nothing mathematically and keeps exp from overflowing. The probabilities are accumulated in double.
//
// PyTorch, for comparison:
//   p, ids = torch.topk(torch.softmax(logits / tau, dim=-1), k)
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace attn::explain {

struct TokenProbability {
  int64_t id = 0;  // token id in [0, V)
  double p = 0;    // softmax(z / τ)[id]
};

// logits (V), k ≥ 1 (clamped to V), temperature > 0 -> min(k, V) entries, in decreasing probability
// (ties in any order).
std::vector<TokenProbability> topk_probabilities(std::span<const float> logits, int64_t k, float temperature = 1.f);

}  // namespace attn::explain
