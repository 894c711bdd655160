#include "attn/explain/rollout.h"

#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

// (…, H, T, T) with at least one head; returns T.
int64_t check_attention(const Tensor& attention, const char* op) {
  ATTN_CHECK(attention.defined(), op, "attention is undefined");
  ATTN_CHECK(attention.dim() == 3 || attention.dim() == 4, op,
             "attention has " << attention.dim() << " dims, expected (H, T, T) or (B, H, T, T)");
  const int64_t T = attention.size(-1);
  ATTN_CHECK(
      attention.size(-2) == T, op,
      "attention is " << attention.size(-2) << " queries by " << T << " keys; rollout needs a square (T, T) per head");
  ATTN_CHECK(attention.size(-3) > 0, op, "attention has no heads");
  return T;
}

}  // namespace

Tensor mean_heads(const Tensor& attention) {
  check_attention(attention, "mean_heads");
  return mean(attention, {-3});  // (…, H, T, T) -> (…, T, T)
}

Tensor residual_attention(const Tensor& attention) {
  const int64_t T = check_attention(attention, "residual_attention");
  Tensor A = mean_heads(attention) * 0.5f + Tensor::eye(T) * 0.5f;  // ½·Ā + ½·I      (…, T, T)
  return A / sum(A, {-1}, true);                                    // rows renormalised
}

Tensor rollout_step(const Tensor& attention, const Tensor& previous) {
  Tensor A_hat = residual_attention(attention);  // Â_l (…, T, T)
  if (!previous.defined()) return A_hat;         // R_0 = Â_0
  ATTN_CHECK(previous.shape() == A_hat.shape(), "rollout_step",
             "previous rollout has shape " << shape_str(previous.shape()) << ", this layer's mixing matrix "
                                           << shape_str(A_hat.shape()));
  return matmul(A_hat, previous);  // R_l = Â_l · R_{l-1}
}

Tensor attention_rollout(const std::vector<Tensor>& attentions) {
  ATTN_CHECK(!attentions.empty(), "attention_rollout", "no layers given");
  Tensor R;  // undefined: the first step starts the product
  for (const Tensor& A : attentions) {
    ATTN_CHECK(A.defined() && A.shape() == attentions[0].shape(), "attention_rollout",
               "every layer's attention must have the same shape");
    R = rollout_step(A, R);
  }
  return R;
}

}  // namespace attn::explain
