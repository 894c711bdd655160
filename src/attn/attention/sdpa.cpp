#include "attn/attention/sdpa.h"

#include <cmath>

#include "attn/attention/flash.h"
#include "attn/attention/masks.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {
constexpr const char* kOp = "scaled_dot_product_attention";

// Adds `m` into `acc` (both additive masks), keeping "no mask" undefined.
Tensor fold(const Tensor& acc, const Tensor& m) { return acc.defined() ? add(acc, m) : m; }

void check_broadcasts(const Tensor& m, const Shape& scores_shape, const char* what) {
  const Shape b = broadcast_shapes(m.shape(), scores_shape, kOp);
  ATTN_CHECK(b == scores_shape, kOp,
             what << " of shape " << shape_str(m.shape()) << " does not broadcast to the scores' shape "
                  << shape_str(scores_shape) << " (B, H, L, S)");
}
}  // namespace

Tensor combined_additive_mask(const SdpaOptions& opt, const Shape& scores_shape) {
  const int64_t nd = static_cast<int64_t>(scores_shape.size());
  const int64_t L = scores_shape[nd - 2], S = scores_shape[nd - 1];
  Tensor mask;
  if (opt.attn_mask.defined()) {
    check_broadcasts(opt.attn_mask, scores_shape, "attn_mask");
    mask = opt.attn_mask;
  }
  if (opt.attn_mask_bool.defined()) {
    check_broadcasts(opt.attn_mask_bool, scores_shape, "attn_mask_bool");
    mask = fold(mask, to_additive_mask(opt.attn_mask_bool));
  }
  if (opt.key_padding_mask.defined()) {
    const Tensor& kpm = opt.key_padding_mask;
    ATTN_CHECK(
        kpm.dim() == 2 && kpm.size(0) == scores_shape[0] && kpm.size(1) == S && nd >= 3, kOp,
        "key_padding_mask must be (B, S) = (" << scores_shape[0] << ", " << S << "), got " << shape_str(kpm.shape()));
    // (B, S) -> (B, 1, …, 1, S): every head and every query ignores the padded keys.
    Shape s(nd, 1);
    s[0] = kpm.size(0);
    s[nd - 1] = S;
    Tensor allowed = rsub(kpm, 1.f);  // 1 = real token
    mask = fold(mask, reshape(to_additive_mask(allowed), s));
  }
  if (opt.is_causal && opt.window <= 0) mask = fold(mask, to_additive_mask(causal_mask(L, S)));
  if (opt.window > 0) mask = fold(mask, to_additive_mask(sliding_window_mask(L, S, opt.window)));
  return mask;
}

Tensor repeat_kv(const Tensor& x, int64_t groups) {
  ATTN_CHECK(groups >= 1, "repeat_kv", "groups must be positive, got " << groups);
  if (groups == 1) return x;
  ATTN_CHECK(x.dim() >= 3, "repeat_kv", "expected (…, Hkv, S, D), got " << shape_str(x.shape()));
  const int64_t hkv = x.size(-3);
  std::vector<int64_t> idx;  // kv head of each query head: h / groups
  for (int64_t h = 0; h < hkv * groups; ++h) idx.push_back(h / groups);
  return index_select(x, -3, IndexTensor(idx));
}

AttentionOutput scaled_dot_product_attention_math(const Tensor& query, const Tensor& key, const Tensor& value,
                                                  const SdpaOptions& opt) {
  ATTN_CHECK(query.defined() && key.defined() && value.defined(), kOp, "query, key and value must be defined");
  ATTN_CHECK(query.dim() >= 3, kOp,
             "query has " << query.dim() << " dims, expected (B, H, L, D) or at least (B, L, D)");
  ATTN_CHECK(key.dim() == query.dim() && value.dim() == query.dim(), kOp,
             "query " << shape_str(query.shape()) << ", key " << shape_str(key.shape()) << " and value "
                      << shape_str(value.shape()) << " must have the same number of dims");
  ATTN_CHECK(key.size(-1) == query.size(-1), kOp,
             "query and key head dims differ: " << shape_str(query.shape()) << " vs " << shape_str(key.shape()));
  ATTN_CHECK(key.size(-2) == value.size(-2), kOp,
             "key and value lengths differ: " << shape_str(key.shape()) << " vs " << shape_str(value.shape()));
  ATTN_CHECK(opt.dropout_p >= 0.f && opt.dropout_p < 1.f, kOp, "dropout_p must be in [0, 1), got " << opt.dropout_p);

  Tensor k = key, v = value;
  if (query.dim() >= 4 && key.size(-3) != query.size(-3)) {
    // Grouped-query attention: H query heads share Hkv key/value heads.
    const int64_t H = query.size(-3), Hkv = key.size(-3);
    ATTN_CHECK(Hkv > 0 && H % Hkv == 0 && value.size(-3) == Hkv, kOp,
               "query has " << H << " heads but key/value have " << Hkv << " and " << value.size(-3)
                            << "; the number of key/value heads must divide the number of query heads");
    k = repeat_kv(key, H / Hkv);
    v = repeat_kv(value, H / Hkv);
  }
  const float scale = opt.scale.value_or(1.f / std::sqrt(static_cast<float>(query.size(-1))));

  Tensor scores = matmul(query, k, false, /*transpose_b=*/true) * scale;  // (B, H, L, S)
  const Tensor mask = combined_additive_mask(opt, scores.shape());
  if (mask.defined()) scores = scores + mask;
  Tensor weights = softmax(scores, -1);  // (B, H, L, S); fully masked rows -> 0
  Tensor dropped = opt.dropout_p > 0.f ? dropout(weights, opt.dropout_p, true, opt.generator) : weights;
  Tensor out = matmul(dropped, v);  // (B, H, L, Dv)
  return {out, opt.need_weights ? weights : Tensor()};
}

AttentionOutput scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                             const SdpaOptions& options) {
  if (flash_supported(query, key, value, options)) return flash_attention(query, key, value, options);
  return scaled_dot_product_attention_math(query, key, value, options);
}

Tensor attention_weights_no_grad(const Tensor& query, const Tensor& key, SdpaOptions options) {
  NoGradGuard no_grad;
  options.dropout(0.f).weights();
  const Tensor k = key.detach();
  return scaled_dot_product_attention(query.detach(), k, k, options).weights;  // the values do not matter: k
}

}  // namespace attn
