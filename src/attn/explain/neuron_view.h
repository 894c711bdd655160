// The neuron view (Vig 2019, "A Multiscale Visualization of Attention in the Transformer Model", ACL demos;
// BertViz's neuron view): where one head's attention row comes from. For head h and query position i,
// with q_i the query and k_j the keys (Dh = head dim):
//
//   qk_j = q_i ⊙ k_j                 elementwise: each dimension's share of the dot product     (Dh)
//   s_j  = Σ_d qk_j[d] / √Dh         the scaled score, q_i · k_j / √Dh                          (keys)
//   a_j  = exp(s_j − max s) / Σ_j' exp(s_j' − max s)     softmax over the keys: the row itself  (keys)
//
// Causal: keys j = 0 … i + (S − T) (j ≤ i when S = T); otherwise every key j = 0 … S−1.
//
// Shapes: q (H, T, Dh) or (1, H, T, Dh), k (Hkv, S, Dh) or (1, Hkv, S, Dh) — GPT::queries_and_keys gives
// them after RoPE, so a_j reproduces the model's recorded weights. With grouped-query attention (Hkv
// dividing H), query head h reads key head h / (H / Hkv).
//
// PyTorch, for comparison:
//   qk = q[h, i] * k[h // (H // Hkv), :n_keys]            # (keys, Dh)
//   scores = qk.sum(-1) / math.sqrt(Dh); weights = scores.softmax(-1)
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::explain {

struct NeuronView {
  std::vector<float> q;                // (Dh) the query q_i
  std::vector<std::vector<float>> k;   // (keys, Dh) the keys k_j it sees
  std::vector<std::vector<float>> qk;  // (keys, Dh) q_i ⊙ k_j
  std::vector<double> scores;          // (keys) s_j = Σ_d qk_j[d] / √Dh
  std::vector<double> weights;         // (keys) softmax(s)
};

NeuronView neuron_view(const Tensor& q, const Tensor& k, int64_t head, int64_t query, bool causal = true);

}  // namespace attn::explain
