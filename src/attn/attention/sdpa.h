// Scaled dot-product attention (Vaswani et al. 2017), the composed ("math") reference.
//
//   Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,   scale = 1/√D by default
//
// Shape legend: B batch, H heads, L target (query) length, S source (key/value) length, D head dim,
// Dv value head dim. query (B, H, L, D), key (B, Hkv, S, D), value (B, Hkv, S, Dv); any leading batch
// dims work as long as they broadcast. When Hkv divides H (grouped-query attention), query head h reads
// key/value head h / (H / Hkv).
//
// Masks (combine freely):
//   attn_mask (…, L, S) additive: added to the scores (0 keeps, -inf removes; any float shifts);
//   attn_mask_bool (…, L, S) boolean: 1 = may attend, 0 = may not (torch's bool mask convention);
//   key_padding_mask (B, S): 1 = padding key, ignored by every query (torch MHA's convention);
//   is_causal: query i attends to keys j <= i + (S - L);
//   window > 0: sliding window — causal, and only keys j > i + (S - L) - window.
// A query row whose every key is masked gets zero weights and a zero output — not NaN.
#pragma once
#include <optional>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn {

struct SdpaOptions {
  Tensor attn_mask;         // additive, broadcastable to (B, H, L, S)
  Tensor attn_mask_bool;    // 1 = allowed, broadcastable to (B, H, L, S)
  Tensor key_padding_mask;  // (B, S), 1 = padding
  bool is_causal = false;
  int64_t window = 0;          // > 0: sliding window — causal, and at most `window` keys back
  std::optional<float> scale;  // default 1/√D
  float dropout_p = 0.f;       // dropout on the attention weights (training only)
  Generator* generator = nullptr;
  bool need_weights = false;  // also return the (B, H, L, S) weights (after masking, before dropout)

  SdpaOptions& mask(Tensor m) {
    attn_mask = std::move(m);
    return *this;
  }
  SdpaOptions& mask_bool(Tensor m) {
    attn_mask_bool = std::move(m);
    return *this;
  }
  SdpaOptions& padding(Tensor m) {
    key_padding_mask = std::move(m);
    return *this;
  }
  SdpaOptions& causal(bool v = true) {
    is_causal = v;
    return *this;
  }
  SdpaOptions& sliding_window(int64_t w) {
    window = w;
    return *this;
  }
  SdpaOptions& with_scale(float s) {
    scale = s;
    return *this;
  }
  SdpaOptions& dropout(float p, Generator* g = nullptr) {
    dropout_p = p;
    generator = g;
    return *this;
  }
  SdpaOptions& weights(bool v = true) {
    need_weights = v;
    return *this;
  }
};

struct AttentionOutput {
  Tensor output;   // (B, H, L, Dv)
  Tensor weights;  // (B, H, L, S) when need_weights, else undefined
};

// The composed path: scores -> masks -> softmax -> (dropout) -> weighted sum, each a differentiable op.
AttentionOutput scaled_dot_product_attention_math(const Tensor& query, const Tensor& key, const Tensor& value,
                                                  const SdpaOptions& options = SdpaOptions());

// The public entry point: the fused kernel (attn/attention/flash.h) whenever it can serve the call —
// no dropout, and no weights asked for while gradients are being recorded (the fused path can return
// weights, recomputed from its saved log-sum-exp, but they carry no gradient) — else the composed path.
AttentionOutput scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                             const SdpaOptions& options = SdpaOptions());

// The weights alone, softmax(q kᵀ · scale + masks) (B, H, L, S), computed without recording gradients and
// without dropout: what a model hands back when asked for its weights while it trains, so that its
// differentiable path can stay the fused kernel (which returns no weights with a gradient). `options` gives
// the masks and the scale; its dropout and need_weights are ignored.
Tensor attention_weights_no_grad(const Tensor& query, const Tensor& key, SdpaOptions options);

// The additive mask that `options` amounts to for scores of shape (…, L, S): all masks folded into one
// (0 / -inf / the attn_mask values), broadcastable to `scores_shape`. Undefined when there is no mask.
Tensor combined_additive_mask(const SdpaOptions& options, const Shape& scores_shape);

// Grouped-query attention's sharing, made explicit: (…, Hkv, S, D) -> (…, Hkv·groups, S, D), each kv head
// repeated `groups` times in a row (torch.repeat_interleave on dim -3). Differentiable.
Tensor repeat_kv(const Tensor& x, int64_t groups);

}  // namespace attn
