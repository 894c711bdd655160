#include "attn/attention/linear_attention.h"

#include "attn/attention/masks.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, float eps, const char* op) {
  ATTN_CHECK(q.defined() && k.defined() && v.defined(), op, "query, key and value must be defined");
  ATTN_CHECK(q.dim() == 4, op, "query has " << q.dim() << " dims, expected 4 (B, H, L, D)");
  ATTN_CHECK(k.dim() == 4, op, "key has " << k.dim() << " dims, expected 4 (B, H, S, D)");
  ATTN_CHECK(v.dim() == 4, op, "value has " << v.dim() << " dims, expected 4 (B, H, S, Dv)");
  ATTN_CHECK(q.size(-1) == k.size(-1), op,
             "query head dim " << q.size(-1) << " differs from key head dim " << k.size(-1) << " (query "
                               << shape_str(q.shape()) << ", key " << shape_str(k.shape()) << ")");
  ATTN_CHECK(k.size(2) == v.size(2), op,
             "key length " << k.size(2) << " differs from value length " << v.size(2) << " (key "
                           << shape_str(k.shape()) << ", value " << shape_str(v.shape()) << ")");
  for (int d = 0; d < 2; ++d)
    ATTN_CHECK((q.size(d) == k.size(d) || q.size(d) == 1 || k.size(d) == 1) &&
                   (q.size(d) == v.size(d) || q.size(d) == 1 || v.size(d) == 1) &&
                   (k.size(d) == v.size(d) || k.size(d) == 1 || v.size(d) == 1),
               op,
               "batch/head dims do not broadcast: query " << shape_str(q.shape()) << ", key " << shape_str(k.shape())
                                                          << ", value " << shape_str(v.shape()));
  ATTN_CHECK(!causal || q.size(2) == k.size(2), op,
             "causal linear attention needs L == S (query i is key i), got L=" << q.size(2) << ", S=" << k.size(2));
  ATTN_CHECK(eps >= 0.f, op, "eps must be non-negative, got " << eps);
}

}  // namespace

Tensor elu_feature_map(const Tensor& x) {
  ATTN_CHECK(x.defined(), "elu_feature_map", "input is undefined");
  Tensor pos = relu(x);       // max(x, 0)
  return pos + exp(x - pos);  // x > 0: x + e^0 = x + 1;   x <= 0: 0 + e^x
}

Tensor linear_attention(const Tensor& query, const Tensor& key, const Tensor& value, bool causal, float eps) {
  check_inputs(query, key, value, causal, eps, "linear_attention");
  Tensor fq = elu_feature_map(query);  // (B, H, L, D)
  Tensor fk = elu_feature_map(key);    // (B, H, S, D)
  if (!causal) {
    Tensor kv = matmul(fk, value, true, false);  // (B, H, D, Dv)  Σ_j φ(k_j) v_jᵀ
    Tensor z = sum(fk, {2}, true);               // (B, H, 1, D)   Σ_j φ(k_j)
    Tensor num = matmul(fq, kv);                 // (B, H, L, Dv)  φ(q_i)ᵀ KV
    Tensor den = sum(fq * z, {-1}, true) + eps;  // (B, H, L, 1)   φ(q_i)ᵀ z + eps
    return num / den;                            // (B, H, L, Dv)
  }
  // Causal: the same with prefix sums over j <= i — the RNN state after token i.
  Tensor outer = matmul(unsqueeze(fk, -1), unsqueeze(value, -2));  // (B, H, L, D, 1) @ (B, H, L, 1, Dv): φ(k_j) v_jᵀ
  Tensor kv = cumsum(outer, 2);                                    // (B, H, L, D, Dv)  KV_i = Σ_{j<=i} φ(k_j) v_jᵀ
  Tensor z = cumsum(fk, 2);                                        // (B, H, L, D)      z_i = Σ_{j<=i} φ(k_j)
  Tensor num = squeeze(matmul(unsqueeze(fq, -2), kv), -2);  // (B, H, L, 1, D) @ (B, H, L, D, Dv) -> (B, H, L, Dv)
  Tensor den = sum(fq * z, {-1}, true) + eps;               // (B, H, L, 1)
  return num / den;                                         // (B, H, L, Dv)
}

Tensor linear_attention_quadratic(const Tensor& query, const Tensor& key, const Tensor& value, bool causal, float eps) {
  check_inputs(query, key, value, causal, eps, "linear_attention_quadratic");
  Tensor a = matmul(elu_feature_map(query), elu_feature_map(key), false, true);  // (B, H, L, S)  φ(q_i)ᵀφ(k_j)
  if (causal) a = a * causal_mask(query.size(2), key.size(2));                   // zero where j > i
  Tensor num = matmul(a, value);                                                 // (B, H, L, Dv)
  Tensor den = sum(a, {-1}, true) + eps;                                         // (B, H, L, 1)
  return num / den;
}

}  // namespace attn
