// Attention scoring functions — how a query decides which keys matter — and the step they all share:
//
//   scores  e_ij = score(q_i, k_j)                     (B, L, S)
//   weights a_ij = softmax_j(e_ij + mask_ij)           (B, L, S), each row sums to 1
//   context c_i  = Σ_j a_ij v_j                        (B, L, Dv)
//
// The scores, from the papers (names as there):
//   additive (Bahdanau et al. 2014):  e_ij = v_aᵀ tanh(W_a q_i + U_a k_j)       W_a (A, Dq), U_a (A, Dk), v_a (A)
//   dot (Luong et al. 2015):          e_ij = q_iᵀ k_j                            needs Dq = Dk
//   general (Luong):                  e_ij = q_iᵀ W_a k_j                        W_a (Dq, Dk)
//   concat (Luong):                   e_ij = v_aᵀ tanh(W_a [q_i; k_j])           W_a (A, Dq + Dk), v_a (A)
//                                     (= additive with W_a split column-wise into [W_q | W_k])
//   scaled dot (Vaswani et al. 2017): e_ij = q_iᵀ k_j / √D
//
// Shape legend: B batch, L queries, S keys, Dq/Dk/Dv query/key/value sizes, A attention (hidden) size.
// Every function is composed of differentiable ops, so gradients flow to queries, keys and parameters.
#pragma once
#include <string>

#include "attn/attention/sdpa.h"
#include "attn/core/rng.h"
#include "attn/nn/module.h"

namespace attn {

Tensor additive_score(const Tensor& query, const Tensor& key, const Tensor& W_a, const Tensor& U_a, const Tensor& v_a);
// The same with the keys' half done beforehand: projected_key = U_a k (B, S, A). A decoder attends to the
// same encoder states at every step, so U_a k is computed once per sentence, not once per step (Bahdanau
// et al. 2015, appendix A.1.2): each step then costs O(S·A) instead of O(S·A·Dk).
Tensor additive_score_projected(const Tensor& query, const Tensor& projected_key, const Tensor& W_a, const Tensor& v_a);
Tensor dot_score(const Tensor& query, const Tensor& key);
Tensor general_score(const Tensor& query, const Tensor& key, const Tensor& W_a);
Tensor concat_score(const Tensor& query, const Tensor& key, const Tensor& W_a, const Tensor& v_a);
Tensor scaled_dot_score(const Tensor& query, const Tensor& key);

// Masked softmax over keys, then the weighted sum of values. `mask`: 1 = may attend, 0 = may not; either
// (B, S) — which keys exist, the same for every query (padding) — or 3-d, broadcastable to (B, L, S). Fully masked rows
// give zero weights and a zero context.
struct Attended {
  Tensor context;  // (B, L, Dv)
  Tensor weights;  // (B, L, S)
};
Attended attend(const Tensor& scores, const Tensor& value, const Tensor& mask = Tensor());

namespace nn {

// Bahdanau attention as a module: parameters W_a, U_a, v_a (the paper's names).
class AdditiveAttention : public Module {
 public:
  AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t attn_dim, Generator& gen);
  // query (B, L, Dq), key (B, S, Dk), value (B, S, Dv), mask as in attend(). An unbatched query (B, Dq)
  // — one decoder step — gives context (B, Dv) and weights (B, S).
  Attended forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask = Tensor());
  // For step-by-step decoding: project the keys once (B, S, A), then attend with them at every step.
  Tensor project_keys(const Tensor& key) const;
  Attended forward_projected(const Tensor& query, const Tensor& projected_key, const Tensor& value,
                             const Tensor& mask = Tensor());
  std::string type_name() const override { return "AdditiveAttention"; }
  Tensor W_a, U_a, v_a;
};

// Luong attention: score = "dot" | "general" | "concat" (the paper's three; "scaled_dot" also accepted).
class LuongAttention : public Module {
 public:
  LuongAttention(std::string score, int64_t query_dim, int64_t key_dim, Generator& gen, int64_t attn_dim = 0);
  Attended forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask = Tensor());
  Tensor scores(const Tensor& query, const Tensor& key) const;  // (B, L, S)
  // For step-by-step decoding: the part of the score that depends on the keys only, once per sentence —
  // dot: k; general: k W_aᵀ (so that s W_a kᵀ = s (k W_aᵀ)ᵀ); concat: W_k k (W_a = [W_q | W_k]).
  Tensor project_keys(const Tensor& key) const;
  Attended forward_projected(const Tensor& query, const Tensor& projected_key, const Tensor& value,
                             const Tensor& mask = Tensor());
  const std::string& score() const { return score_; }
  std::string type_name() const override { return "LuongAttention"; }
  Tensor W_a, v_a;  // per score: general W_a (Dq, Dk); concat W_a (A, Dq+Dk), v_a (A)

  // The score function, chosen once at construction from the name.
  enum class Score { Dot, ScaledDot, General, Concat };

 private:
  std::string score_;
  Score kind_;
};

}  // namespace nn
}  // namespace attn
