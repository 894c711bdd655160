#include "attn/attention/flash.h"

#include <cmath>

#include "attn/attention/masks.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/kernels/flash_attention.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {
constexpr const char* kOp = "flash_attention";

// Inputs in the kernel's layout, plus the kernel parameters (pointers are filled in at call time).
struct Prepared {
  kernels::FlashParams p;
  Tensor q, k, v;        // (B, H, L, D), (B, Hkv, S, D), (B, Hkv, S, Dv)
  Tensor bias;           // additive, last two dims (L, S), or undefined
  Tensor key_padding;    // (B, S) or undefined
  bool three_d = false;  // inputs were (B, L, D): squeeze the head dim back out
};

Prepared prepare(const Tensor& query, const Tensor& key, const Tensor& value, const SdpaOptions& o) {
  ATTN_CHECK(query.defined() && key.defined() && value.defined(), kOp, "query, key and value must be defined");
  ATTN_CHECK((query.dim() == 3 || query.dim() == 4) && key.dim() == query.dim() && value.dim() == query.dim(), kOp,
             "expected query/key/value of 4 dims (B, H, L, D) or 3 dims (B, L, D), got "
                 << shape_str(query.shape()) << ", " << shape_str(key.shape()) << ", " << shape_str(value.shape()));
  ATTN_CHECK(o.dropout_p == 0.f, kOp, "dropout is not supported by the fused kernel; use the composed path");
  Prepared r;
  r.three_d = query.dim() == 3;
  r.q = r.three_d ? unsqueeze(query, 1) : query;
  r.k = r.three_d ? unsqueeze(key, 1) : key;
  r.v = r.three_d ? unsqueeze(value, 1) : value;
  auto& p = r.p;
  p.B = r.q.size(0), p.H = r.q.size(1), p.L = r.q.size(2), p.D = r.q.size(3);
  p.Hkv = r.k.size(1), p.S = r.k.size(2), p.Dv = r.v.size(3);
  ATTN_CHECK(r.k.size(0) == p.B && r.v.size(0) == p.B, kOp,
             "query, key and value must have the same batch size, got "
                 << shape_str(query.shape()) << ", " << shape_str(key.shape()) << ", " << shape_str(value.shape()));
  ATTN_CHECK(r.k.size(3) == p.D, kOp, "query and key head dims differ: " << p.D << " vs " << r.k.size(3));
  ATTN_CHECK(r.v.size(1) == p.Hkv && r.v.size(2) == p.S, kOp,
             "key " << shape_str(key.shape()) << " and value " << shape_str(value.shape()) << " do not match");
  ATTN_CHECK(p.Hkv > 0 && p.H % p.Hkv == 0, kOp,
             "the number of key/value heads (" << p.Hkv << ") must divide the number of query heads (" << p.H << ")");
  p.scale = o.scale.value_or(1.f / std::sqrt(static_cast<float>(p.D)));
  p.causal = o.is_causal;
  p.window = o.window;
  if (o.key_padding_mask.defined()) {
    ATTN_CHECK(o.key_padding_mask.dim() == 2 && o.key_padding_mask.size(0) == p.B && o.key_padding_mask.size(1) == p.S,
               kOp,
               "key_padding_mask must be (B, S) = (" << p.B << ", " << p.S << "), got "
                                                     << shape_str(o.key_padding_mask.shape()));
    r.key_padding = o.key_padding_mask;
  }
  // Additive and boolean masks fold into one bias with (L, S) planes; leading dims broadcast by strides.
  ATTN_CHECK(!o.attn_mask.defined() || !o.attn_mask.requires_grad() || !grad_enabled(), kOp,
             "attn_mask requires grad, which the fused kernel does not compute; use the composed path");
  Tensor bias;
  if (o.attn_mask.defined()) bias = o.attn_mask.detach();
  if (o.attn_mask_bool.defined()) {
    Tensor add = to_additive_mask(o.attn_mask_bool);
    bias = bias.defined() ? attn::add(bias, add) : add;
  }
  if (bias.defined()) {
    NoGradGuard ng;
    // 3-d inputs are (B, L, D): their masks broadcast against (B, L, S); give them the head dim.
    const Shape scores = r.three_d ? Shape{p.B, p.L, p.S} : Shape{p.B, p.H, p.L, p.S};
    ATTN_CHECK(
        bias.dim() <= static_cast<int64_t>(scores.size()) && broadcast_shapes(bias.shape(), scores, kOp) == scores, kOp,
        "attn_mask of shape " << shape_str(bias.shape()) << " does not broadcast to the scores' shape "
                              << shape_str(scores));
    if (r.three_d && bias.dim() == 3) bias = unsqueeze(bias, 1);
    if (bias.size(-1) != p.S) bias = attn::add(bias, Tensor::zeros({p.S}));  // rare: (…, L, 1)
    if (bias.dim() < 2) bias = unsqueeze(bias, 0);                           // (S,) -> (1, S)
    // A mask with one row for every query — (…, 1, S), e.g. a padding bias — is read with row stride 0
    // rather than copied out to (L, S): the fused path stays O(S) in memory.
    p.bias_row_stride = bias.size(-2) == 1 ? 0 : p.S;
    while (bias.dim() < 4) bias = unsqueeze(bias, 0);  // (Bm, Hm, Lm, S), Bm/Hm either 1 or full, Lm 1 or L
    const int64_t plane = bias.size(2) * p.S;
    p.bias_batch_stride = bias.size(0) == 1 ? 0 : bias.size(1) * plane;
    p.bias_head_stride = bias.size(1) == 1 ? 0 : plane;
    r.bias = bias;
  }
  return r;
}

void point(Prepared& r) {
  r.p.key_padding = r.key_padding.defined() ? r.key_padding.data() : nullptr;
  r.p.bias = r.bias.defined() ? r.bias.data() : nullptr;
}
}  // namespace

bool flash_supported(const Tensor& query, const Tensor& key, const Tensor& value, const SdpaOptions& o) {
  if (!query.defined() || !key.defined() || !value.defined()) return false;
  if (query.dim() != 3 && query.dim() != 4) return false;
  if (key.dim() != query.dim() || value.dim() != query.dim()) return false;
  if (key.size(0) != query.size(0) || value.size(0) != query.size(0)) return false;
  if (query.dim() == 4 && (key.size(1) == 0 || query.size(1) % key.size(1) != 0 || value.size(1) != key.size(1)))
    return false;
  if (key.size(-1) != query.size(-1) || key.size(-2) != value.size(-2)) return false;
  if (o.dropout_p > 0.f) return false;
  if ((o.attn_mask.defined() && o.attn_mask.requires_grad())) return false;  // a learned bias needs its gradient
  if (o.need_weights && needs_grad({&query, &key, &value})) return false;    // differentiable weights: composed
  return true;
}

FlashOutput flash_attention_with_lse(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const SdpaOptions& options) {
  Prepared r = prepare(query, key, value, options);
  point(r);
  const auto& p = r.p;
  Tensor out = Tensor::empty({p.B, p.H, p.L, p.Dv});
  Tensor lse = Tensor::empty({p.B, p.H, p.L});
  kernels::flash_attention_forward(p, r.q.data(), r.k.data(), r.v.data(), out.data(), lse.data());
  if (needs_grad({&r.q, &r.k, &r.v})) {
    Tensor sq = r.q.detach(), sk = r.k.detach(), sv = r.v.detach(), so = out.detach(), sl = lse;
    Tensor bias = r.bias, kpm = r.key_padding;
    kernels::FlashParams kp = p;
    record(out, "flash_attention", {r.q, r.k, r.v},
           [sq, sk, sv, so, sl, bias, kpm, kp](const Tensor& gout, std::vector<Tensor>& gin) mutable {
             kp.bias = bias.defined() ? bias.data() : nullptr;
             kp.key_padding = kpm.defined() ? kpm.data() : nullptr;
             kernels::flash_attention_backward(kp, sq.data(), sk.data(), sv.data(), so.data(), sl.data(), gout.data(),
                                               gin[0].defined() ? gin[0].data() : nullptr,
                                               gin[1].defined() ? gin[1].data() : nullptr,
                                               gin[2].defined() ? gin[2].data() : nullptr);
           });
  }
  return {out, lse};
}

AttentionOutput flash_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                const SdpaOptions& options) {
  FlashOutput f = flash_attention_with_lse(query, key, value, options);
  AttentionOutput a{f.output, Tensor()};
  if (options.need_weights) {
    NoGradGuard ng;
    std::vector<int64_t> rows(f.lse.size(2));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    a.weights = attention_weights_from_lse(query, key, f.lse, rows, options);
  }
  if (query.dim() == 3) {
    a.output = squeeze(a.output, 1);
    if (a.weights.defined()) a.weights = squeeze(a.weights, 1);
  }
  return a;
}

Tensor attention_weights_from_lse(const Tensor& query, const Tensor& key, const Tensor& lse,
                                  const std::vector<int64_t>& rows, const SdpaOptions& options) {
  Prepared r = prepare(query, key, key, options);  // value is not read: pass key for the shapes
  point(r);
  const auto& p = r.p;
  ATTN_CHECK(lse.defined() && lse.shape() == (Shape{p.B, p.H, p.L}), "attention_weights_from_lse",
             "lse must be (B, H, L) = (" << p.B << ", " << p.H << ", " << p.L << ")");
  for (int64_t i : rows)
    ATTN_CHECK(i >= 0 && i < p.L, "attention_weights_from_lse", "row " << i << " is outside [0, " << p.L << ")");
  Tensor w = Tensor::empty({p.B, p.H, static_cast<int64_t>(rows.size()), p.S});
  kernels::flash_attention_weights(p, r.q.data(), r.k.data(), lse.data(), rows.data(),
                                   static_cast<int64_t>(rows.size()), w.data());
  return w;
}

Tensor flash_decode(const Tensor& query, const Tensor& k_cache, const Tensor& v_cache, int64_t length,
                    const SdpaOptions& options) {
  const char* op = "flash_decode";
  ATTN_CHECK(query.defined() && query.dim() == 4 && query.size(2) == 1, op,
             "query must be (B, H, 1, D), got " << (query.defined() ? shape_str(query.shape()) : "undefined"));
  ATTN_CHECK(k_cache.defined() && v_cache.defined() && k_cache.dim() == 4 && v_cache.dim() == 4, op,
             "caches must be (B, Hkv, capacity, D)");
  kernels::FlashParams p;
  p.B = query.size(0), p.H = query.size(1), p.L = 1, p.D = query.size(3);
  p.Hkv = k_cache.size(1), p.S = length, p.Dv = v_cache.size(3);
  const int64_t capacity = k_cache.size(2);
  ATTN_CHECK(k_cache.size(0) == p.B && v_cache.size(0) == p.B && v_cache.size(1) == p.Hkv &&
                 v_cache.size(2) == capacity && k_cache.size(3) == p.D,
             op,
             "query " << shape_str(query.shape()) << " and caches " << shape_str(k_cache.shape()) << ", "
                      << shape_str(v_cache.shape()) << " do not match");
  ATTN_CHECK(p.Hkv > 0 && p.H % p.Hkv == 0, op, "key/value heads must divide query heads");
  ATTN_CHECK(length >= 0 && length <= capacity, op, "length " << length << " exceeds the cache's " << capacity);
  ATTN_CHECK(!options.attn_mask.defined() && !options.attn_mask_bool.defined(), op,
             "decode supports key padding and sliding windows, not arbitrary masks");
  p.scale = options.scale.value_or(1.f / std::sqrt(static_cast<float>(p.D)));
  p.window = options.window;
  if (options.key_padding_mask.defined()) {
    ATTN_CHECK(options.key_padding_mask.shape() == (Shape{p.B, length}), op,
               "key_padding_mask must be (B, length) = (" << p.B << ", " << length << ")");
    p.key_padding = options.key_padding_mask.data();
  }
  Tensor out = Tensor::empty({p.B, p.H, 1, p.Dv});
  kernels::flash_decode(p, query.data(), k_cache.data(), v_cache.data(), capacity, out.data(), nullptr);
  return out;
}

}  // namespace attn
