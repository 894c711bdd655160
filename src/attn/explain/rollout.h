// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", ACL, §3).
//
// Raw attention says which tokens a layer mixes, but a token also reaches the next layer unchanged through
// the residual connection, and after a few layers every position holds a mixture of mixtures. Rollout
// follows the mixing down to the input tokens. Per layer l (heads averaged, the residual as the identity):
//
//   Ā_l = (1/H) Σ_h A_l^h                              mean over heads            (…, T, T)
//   Â_l = ½·Ā_l + ½·I,  rows renormalised              the paper's "A = 0.5 W_att + 0.5 I"
//
// and the layers compose by matrix products, bottom layer first:
//
//   R_0 = Â_0,   R_l = Â_l · R_{l-1}                   the paper's Ã(l_i) = A(l_i) · Ã(l_{i-1})
//   R   = Â_{L-1} ⋯ Â_1 · Â_0
//
// R[i][j] is how much of input token j reaches position i after the last layer given; each row is a
// distribution (sums to 1). A causal model's R stays lower-triangular; a model with full attention (a
// ViT over CLS + patches) fills it, and R[0] is then the CLS token's view of the patches.
// The renormalisation changes nothing when the rows of A already sum to 1 (softmax rows); it matters for a
// query row that was masked out entirely (zero weights): ½·0 + ½·I renormalises to the identity row.
//
// Layers are numbered from 0 here (the paper counts from 1). Shapes: each layer's attention is (H, T, T)
// or (B, H, T, T) as the models record it (query rows, key columns); the head dim (-3) is averaged away, so
// the result is (T, T) or (B, T, T). Every layer must have the same shape.
//
// PyTorch, for comparison (the cross-check in tests/torch/explain_ref.py does exactly this):
//   R = torch.eye(T)
//   for A in attentions:                    # bottom layer first
//       A_hat = 0.5 * A.mean(dim=-3) + 0.5 * torch.eye(T)
//       A_hat = A_hat / A_hat.sum(dim=-1, keepdim=True)
//       R = A_hat @ R
//
// Plain differentiable ops: with inputs that require grad, the result has a gradient too.
#pragma once
#include <vector>

#include "attn/core/tensor.h"

namespace attn::explain {

// Ā = mean over heads: (…, H, T, T) -> (…, T, T) — the explorer's head=mean view.
Tensor mean_heads(const Tensor& attention);

// Â = rownorm(½·mean_heads(A) + ½·I): one layer's mixing matrix, (…, H, T, T) -> (…, T, T).
Tensor residual_attention(const Tensor& attention);

// One step of the product: R_l = Â_l · R_{l-1}, with `previous` = R_{l-1} (…, T, T); an undefined
// `previous` starts the product (R_0 = Â_0). For caching rollouts layer by layer.
Tensor rollout_step(const Tensor& attention, const Tensor& previous = Tensor());

// R = Â_{L-1} ⋯ Â_0 over every layer given (bottom first): (L) × (…, H, T, T) -> (…, T, T).
// For the rollout up to layer l, pass the first l + 1 layers.
Tensor attention_rollout(const std::vector<Tensor>& attentions);

}  // namespace attn::explain
