// The fused exact attention kernel (attn/kernels/flash_attention.h) as a differentiable op, and the
// single-query decode path over a KV cache. Same arguments and results as the composed
// scaled_dot_product_attention_math — which stays the readable version and the test oracle.
//
// Shape legend: B batch, H query heads, Hkv key/value heads, L queries, S keys, D head dim, Dv value dim.
#pragma once
#include <vector>

#include "attn/attention/sdpa.h"

namespace attn {

// Whether the fused kernel can serve this call: 3- or 4-d inputs, no dropout, masks it understands
// (causal, sliding window, key padding, an additive/boolean mask that does not require grad), and
// weights asked for only when no gradient is being recorded.
bool flash_supported(const Tensor& query, const Tensor& key, const Tensor& value, const SdpaOptions& options);

// query (B, H, L, D) or (B, L, D), key (B, Hkv, S, D), value (B, Hkv, S, Dv). Saves only the output and the
// row log-sum-exp for the backward pass. With need_weights, the full weights are recomputed from the lse.
AttentionOutput flash_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                const SdpaOptions& options = SdpaOptions());

// The same, also returning the log-sum-exp (B, H, L) — what a visualizer needs to recompute any row.
struct FlashOutput {
  Tensor output;  // (B, H, L, Dv)
  Tensor lse;     // (B, H, L)
};
FlashOutput flash_attention_with_lse(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const SdpaOptions& options = SdpaOptions());

// Weights of the chosen query rows, (B, H, rows.size(), S), from the saved lse: softmax rows without the
// composed path's (B, H, L, S) buffer.
Tensor attention_weights_from_lse(const Tensor& query, const Tensor& key, const Tensor& lse,
                                  const std::vector<int64_t>& rows, const SdpaOptions& options = SdpaOptions());

// Decode: query (B, H, 1, D) against the first `length` positions of cache buffers k (B, Hkv, capacity, D)
// and v (B, Hkv, capacity, Dv). Split-KV across threads, merged exactly. No gradient. Returns (B, H, 1, Dv).
Tensor flash_decode(const Tensor& query, const Tensor& k_cache, const Tensor& v_cache, int64_t length,
                    const SdpaOptions& options = SdpaOptions());

}  // namespace attn
