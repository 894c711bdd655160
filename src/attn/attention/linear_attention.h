// Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs").
//
// Softmax attention weighs value j by exp(q_i·k_j) / Σ_j' exp(q_i·k_j'). Replace the similarity exp(q·k)
// by a kernel φ(q)ᵀφ(k) with a positive feature map φ, and the sums factor:
//
//   out_i = Σ_j φ(q_i)ᵀφ(k_j) v_j / Σ_j φ(q_i)ᵀφ(k_j)
//         = φ(q_i)ᵀ (Σ_j φ(k_j) v_jᵀ)  /  (φ(q_i)ᵀ Σ_j φ(k_j) + eps)
//                    └── KV (D, Dv) ─┘                └ z (D) ┘
//
// KV and z are computed once for all queries: cost O(S·D·Dv) instead of O(L·S·D) — linear in length.
// Causal (each query sees keys j <= i) replaces the sums by prefix sums, KV_i = Σ_{j<=i} φ(k_j) v_jᵀ
// and z_i = Σ_{j<=i} φ(k_j) — the state of an RNN updated once per token (here computed with cumsum,
// which keeps the (L, D, Dv) prefix states: memory O(L·D·Dv), time linear in L — ahead of the
// quadratic form's O(L²·D) time once L exceeds Dv, of its O(L²) memory once L exceeds D·Dv).
//
// Feature map: φ(x) = elu(x) + 1 = { x + 1 for x > 0,  exp(x) for x <= 0 }, positive everywhere.
//
// Shape legend: B batch, H heads, L query length, S key/value length, D query/key head dim, Dv value
// head dim. The leading (B, H) dims of q, k, v must broadcast (k and v may share one head, say).
#pragma once
#include "attn/core/tensor.h"

namespace attn {

// φ(x) = elu(x) + 1, elementwise, differentiable. Written relu(x) + exp(x - relu(x)) so that exp never
// sees a positive argument (no overflow) and the gradient is 1 for x > 0, exp(x) for x <= 0.
Tensor elu_feature_map(const Tensor& x);

// The factored, linear-cost form.  q (B, H, L, D), k (B, H, S, D), v (B, H, S, Dv) -> (B, H, L, Dv).
// causal requires L == S (query i and key i are the same token).
Tensor linear_attention(const Tensor& query, const Tensor& key, const Tensor& value, bool causal = false,
                        float eps = 1e-6f);

// The readable quadratic form, the oracle for the one above:
//   A = φ(q) φ(k)ᵀ (B, H, L, S), masked to j <= i when causal;  out = A v / (A 1 + eps).
// Same values up to float rounding, O(L·S) memory — like softmax attention without the exp.
Tensor linear_attention_quadratic(const Tensor& query, const Tensor& key, const Tensor& value, bool causal = false,
                                  float eps = 1e-6f);

}  // namespace attn
