// Multi-head attention (Vaswani et al. 2017) and its grouped-query variants (Ainslie et al. 2023).
//
//   head_h = Attention(Q W_h^Q, K W_h^K, V W_h^V)         h = 1..H, each of size Dh = E / H
//   MultiHead(Q, K, V) = Concat(head_1, …, head_H) W^O
//
// Shape legend: B batch, L target length, S source length, E embed_dim, H num_heads, Dh = E / H head dim,
// Hkv key/value heads (grouped-query), kdim/vdim the key/value feature sizes when they differ from E.
//
// MultiheadAttention mirrors torch.nn.MultiheadAttention exactly — parameter names and layout
// (in_proj_weight (3E, E) = [W^Q; W^K; W^V] stacked, in_proj_bias (3E), out_proj.weight/bias, or
// q_proj_weight / k_proj_weight / v_proj_weight when kdim or vdim differ from E), batch_first, masks,
// averaged or per-head weights — so a state dict copied from torch gives the same outputs and gradients.
//
// GroupedQueryAttention is the form used by Llama-style decoders (HF names q_proj, k_proj, v_proj,
// o_proj): H query heads share Hkv key/value heads (Hkv = H: multi-head; Hkv = 1: multi-query).
#pragma once
#include <array>
#include <memory>

#include "attn/attention/sdpa.h"
#include "attn/nn/layers.h"
#include "attn/nn/module.h"

namespace attn::nn {

struct MultiheadAttentionOptions {
  bool bias = true;
  int64_t kdim = 0;  // 0 = embed_dim
  int64_t vdim = 0;  // 0 = embed_dim
  bool batch_first = false;
  float dropout = 0.f;  // on the attention weights, in training mode
  MultiheadAttentionOptions& with_bias(bool v) {
    bias = v;
    return *this;
  }
  MultiheadAttentionOptions& with_kdim(int64_t v) {
    kdim = v;
    return *this;
  }
  MultiheadAttentionOptions& with_vdim(int64_t v) {
    vdim = v;
    return *this;
  }
  MultiheadAttentionOptions& with_batch_first(bool v) {
    batch_first = v;
    return *this;
  }
  MultiheadAttentionOptions& with_dropout(float v) {
    dropout = v;
    return *this;
  }
};

// torch's forward arguments. Masks follow this library's SdpaOptions conventions: attn_mask is additive
// (float), attn_mask_bool is 1 = may attend. (torch's MHA takes a bool mask with True = may NOT attend.)
// attn_mask is (L, S) or (B·H, L, S), as in torch; key_padding_mask (B, S) with 1 = padding.
struct MhaForward {
  Tensor key_padding_mask;
  bool need_weights = true;
  Tensor attn_mask;
  Tensor attn_mask_bool;
  bool average_attn_weights = true;
  bool is_causal = false;
  MhaForward& padding(Tensor m) {
    key_padding_mask = std::move(m);
    return *this;
  }
  MhaForward& weights(bool v) {
    need_weights = v;
    return *this;
  }
  MhaForward& mask(Tensor m) {
    attn_mask = std::move(m);
    return *this;
  }
  MhaForward& mask_bool(Tensor m) {
    attn_mask_bool = std::move(m);
    return *this;
  }
  MhaForward& average(bool v) {
    average_attn_weights = v;
    return *this;
  }
  MhaForward& causal(bool v = true) {
    is_causal = v;
    return *this;
  }
};

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, Generator& gen,
                     const MultiheadAttentionOptions& options = MultiheadAttentionOptions());
  // query (L, B, E), key (S, B, kdim), value (S, B, vdim) — or (B, L, E) … with batch_first.
  // Returns output (L, B, E) [(B, L, E)] and weights (B, L, S) averaged over heads, or (B, H, L, S).
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const MhaForward& args = MhaForward());
  // The input projections of batch-first inputs, split into heads: query (B, L, E) -> q (B, H, L, Dh), key
  // (B, S, kdim) -> k (B, H, S, Dh), value (B, S, vdim) -> v (B, H, S, Dh) — whether the weights are packed
  // (in_proj_weight) or separate (kdim/vdim ≠ embed_dim). For models that attend by other means (a KV cache,
  // the composed path for explanations).
  Tensor project_q(const Tensor& query) const;
  Tensor project_k(const Tensor& key) const;
  Tensor project_v(const Tensor& value) const;
  // Self-attention's three at once, x (B, L, E): with packed weights one gemm against [W^Q; W^K; W^V].
  std::array<Tensor, 3> project_qkv(const Tensor& x) const;
  std::string type_name() const override { return "MultiheadAttention"; }

  int64_t embed_dim, num_heads, head_dim, kdim, vdim;
  bool batch_first;
  float dropout_p;
  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias;
  std::shared_ptr<Linear> out_proj;
  Generator dropout_gen{0, 17};

 private:
  Tensor project(const Tensor& x, int64_t which) const;  // which: 0 = q, 1 = k, 2 = v
};

struct GqaForward {
  bool is_causal = true;
  Tensor attn_mask;         // additive, broadcastable to (B, H, L, S)
  Tensor key_padding_mask;  // (B, S), 1 = padding
  bool need_weights = false;
  GqaForward& causal(bool v) {
    is_causal = v;
    return *this;
  }
  GqaForward& mask(Tensor m) {
    attn_mask = std::move(m);
    return *this;
  }
  GqaForward& padding(Tensor m) {
    key_padding_mask = std::move(m);
    return *this;
  }
  GqaForward& weights(bool v = true) {
    need_weights = v;
    return *this;
  }
};

class GroupedQueryAttention : public Module {
 public:
  GroupedQueryAttention(int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads, Generator& gen, bool bias = false);
  // x (B, T, E) -> (B, T, E); self-attention. Weights (B, H, T, T) when asked for.
  AttentionOutput forward(const Tensor& x, const GqaForward& args = GqaForward());
  // The projections split into heads: q (B, H, T, Dh), k and v (B, Hkv, T, Dh) — for RoPE and KV caches.
  Tensor project_q(const Tensor& x) const;
  Tensor project_k(const Tensor& x) const;
  Tensor project_v(const Tensor& x) const;
  // (B, H, T, Dh) -> (B, T, E) through o_proj.
  Tensor merge_heads(const Tensor& heads) const;
  std::string type_name() const override { return "GroupedQueryAttention"; }

  int64_t embed_dim, num_heads, num_kv_heads, head_dim;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;
};

// (B, T, H·Dh) -> (B, H, T, Dh) and back (the ops of ops.h: one copy of Dh-float rows each way).
Tensor split_heads(const Tensor& x, int64_t num_heads);
using attn::merge_heads;

}  // namespace attn::nn
