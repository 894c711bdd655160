#include "attn/attention/multihead.h"

#include <cmath>

#include "attn/core/error.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace attn::nn {

Tensor split_heads(const Tensor& x, int64_t num_heads) {
  ATTN_CHECK(
      x.defined() && x.dim() == 3 && num_heads > 0 && x.size(2) % num_heads == 0, "split_heads",
      "expected (B, T, H·Dh) with H = " << num_heads << ", got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  return attn::split_heads(x, num_heads, x.size(2) / num_heads);  // (B, H, T, Dh)
}

// ---- MultiheadAttention ------------------------------------------------------------------------------

MultiheadAttention::MultiheadAttention(int64_t embed_dim_, int64_t num_heads_, Generator& gen,
                                       const MultiheadAttentionOptions& o)
    : embed_dim(embed_dim_),
      num_heads(num_heads_),
      head_dim(0),
      kdim(o.kdim ? o.kdim : embed_dim_),
      vdim(o.vdim ? o.vdim : embed_dim_),
      batch_first(o.batch_first),
      dropout_p(o.dropout) {
  ATTN_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "MultiheadAttention",
             "embed_dim (" << embed_dim << ") must be divisible by num_heads (" << num_heads << ")");
  head_dim = embed_dim / num_heads;
  // torch's registration order and initialization: xavier_uniform_ projections, zero biases.
  if (kdim == embed_dim && vdim == embed_dim) {
    in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * embed_dim, embed_dim}));
    init::xavier_uniform_(in_proj_weight, gen);
  } else {
    q_proj_weight = register_parameter("q_proj_weight", Tensor::empty({embed_dim, embed_dim}));
    k_proj_weight = register_parameter("k_proj_weight", Tensor::empty({embed_dim, kdim}));
    v_proj_weight = register_parameter("v_proj_weight", Tensor::empty({embed_dim, vdim}));
    init::xavier_uniform_(q_proj_weight, gen);
    init::xavier_uniform_(k_proj_weight, gen);
    init::xavier_uniform_(v_proj_weight, gen);
  }
  if (o.bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, gen, o.bias));
  if (o.bias) out_proj->bias.fill_(0.f);
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const MhaForward& args) {
  const char* op = "MultiheadAttention";
  ATTN_CHECK(query.defined() && key.defined() && value.defined(), op, "query, key and value must be defined");
  ATTN_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, op,
             "expected 3-d query, key, value (" << (batch_first ? "B, L, E" : "L, B, E") << "), got "
                                                << shape_str(query.shape()) << ", " << shape_str(key.shape()) << ", "
                                                << shape_str(value.shape()));
  // Work batch-first: (B, L, E).
  Tensor q_in = batch_first ? query : transpose(query, 0, 1);
  Tensor k_in = batch_first ? key : transpose(key, 0, 1);
  Tensor v_in = batch_first ? value : transpose(value, 0, 1);
  ATTN_CHECK(q_in.size(2) == embed_dim && k_in.size(2) == kdim && v_in.size(2) == vdim, op,
             "feature sizes must be query " << embed_dim << ", key " << kdim << ", value " << vdim << "; got "
                                            << q_in.size(2) << ", " << k_in.size(2) << ", " << v_in.size(2));
  ATTN_CHECK(k_in.size(0) == q_in.size(0) && v_in.size(0) == q_in.size(0) && k_in.size(1) == v_in.size(1), op,
             "batch sizes or key/value lengths differ: query " << shape_str(query.shape()) << ", key "
                                                               << shape_str(key.shape()) << ", value "
                                                               << shape_str(value.shape()));
  const int64_t B = q_in.size(0), L = q_in.size(1), S = k_in.size(1);

  Tensor q = project_q(q_in);  // (B, H, L, Dh)
  Tensor k = project_k(k_in);  // (B, H, S, Dh)
  Tensor v = project_v(v_in);  // (B, H, S, Dh)

  SdpaOptions sdpa;
  sdpa.need_weights = args.need_weights;
  sdpa.is_causal = args.is_causal;
  sdpa.key_padding_mask = args.key_padding_mask;
  auto per_head = [&](const Tensor& m) {  // torch allows (L, S) or (B·H, L, S)
    if (!m.defined() || m.dim() == 2) return m;
    ATTN_CHECK(m.dim() == 3 && m.size(0) == B * num_heads, op,
               "a 3-d attn_mask must be (B·H, L, S) = (" << B * num_heads << ", " << L << ", " << S << "), got "
                                                         << shape_str(m.shape()));
    return reshape(m, {B, num_heads, m.size(1), m.size(2)});
  };
  sdpa.attn_mask = per_head(args.attn_mask);
  sdpa.attn_mask_bool = per_head(args.attn_mask_bool);
  if (dropout_p > 0.f && is_training()) sdpa.dropout(dropout_p, &dropout_gen);

  AttentionOutput a = scaled_dot_product_attention(q, k, v, sdpa);  // (B, H, L, Dh), (B, H, L, S)
  Tensor out = out_proj->forward(merge_heads(a.output));            // (B, L, E)
  if (!batch_first) out = transpose(out, 0, 1);                     // (L, B, E)
  Tensor w = a.weights;
  if (w.defined() && args.average_attn_weights) w = mean(w, {1});  // (B, L, S)
  return {out, w};
}

// x W^Xᵀ + b^X split into heads. Slices of in_proj_weight / in_proj_bias are differentiable views, so
// gradients land in the right rows of the stacked parameters.
Tensor MultiheadAttention::project(const Tensor& x, int64_t which) const {
  const int64_t E = embed_dim;
  const Tensor& separate = which == 0 ? q_proj_weight : which == 1 ? k_proj_weight : v_proj_weight;
  const Tensor W = in_proj_weight.defined() ? slice(in_proj_weight, 0, which * E, (which + 1) * E)
                                            : separate;  // (E, E | kdim | vdim)
  const Tensor b = in_proj_bias.defined() ? slice(in_proj_bias, 0, which * E, (which + 1) * E) : Tensor();  // (E)
  return split_heads(linear(x, W, b), num_heads);  // (B, ·, E) -> (B, H, ·, Dh)
}

Tensor MultiheadAttention::project_q(const Tensor& query) const { return project(query, 0); }
Tensor MultiheadAttention::project_k(const Tensor& key) const { return project(key, 1); }
Tensor MultiheadAttention::project_v(const Tensor& value) const { return project(value, 2); }

std::array<Tensor, 3> MultiheadAttention::project_qkv(const Tensor& x) const {
  if (!in_proj_weight.defined()) return {project_q(x), project_k(x), project_v(x)};
  // One gemm against the stacked [W^Q; W^K; W^V]: (B, L, E) -> (B, L, 3E), then each third into heads.
  const Tensor qkv = linear(x, in_proj_weight, in_proj_bias);
  const int64_t E = embed_dim, Dh = E / num_heads;
  return {split_heads(qkv, num_heads, Dh, 0), split_heads(qkv, num_heads, Dh, E),
          split_heads(qkv, num_heads, Dh, 2 * E)};
}

// ---- GroupedQueryAttention ---------------------------------------------------------------------------

GroupedQueryAttention::GroupedQueryAttention(int64_t embed_dim_, int64_t num_heads_, int64_t num_kv_heads_,
                                             Generator& gen, bool bias)
    : embed_dim(embed_dim_), num_heads(num_heads_), num_kv_heads(num_kv_heads_), head_dim(0) {
  const char* op = "GroupedQueryAttention";
  ATTN_CHECK(num_heads > 0 && embed_dim % num_heads == 0, op,
             "embed_dim (" << embed_dim << ") must be divisible by num_heads (" << num_heads << ")");
  ATTN_CHECK(num_kv_heads > 0 && num_heads % num_kv_heads == 0, op,
             "num_kv_heads (" << num_kv_heads << ") must divide num_heads (" << num_heads << ")");
  head_dim = embed_dim / num_heads;
  q_proj = register_module("q_proj", std::make_shared<Linear>(embed_dim, num_heads * head_dim, gen, bias));
  k_proj = register_module("k_proj", std::make_shared<Linear>(embed_dim, num_kv_heads * head_dim, gen, bias));
  v_proj = register_module("v_proj", std::make_shared<Linear>(embed_dim, num_kv_heads * head_dim, gen, bias));
  o_proj = register_module("o_proj", std::make_shared<Linear>(num_heads * head_dim, embed_dim, gen, bias));
}

Tensor GroupedQueryAttention::project_q(const Tensor& x) const { return split_heads(q_proj->forward(x), num_heads); }
Tensor GroupedQueryAttention::project_k(const Tensor& x) const { return split_heads(k_proj->forward(x), num_kv_heads); }
Tensor GroupedQueryAttention::project_v(const Tensor& x) const { return split_heads(v_proj->forward(x), num_kv_heads); }
Tensor GroupedQueryAttention::merge_heads(const Tensor& heads) const { return o_proj->forward(nn::merge_heads(heads)); }

AttentionOutput GroupedQueryAttention::forward(const Tensor& x, const GqaForward& args) {
  ATTN_CHECK(x.defined() && x.dim() == 3 && x.size(2) == embed_dim, "GroupedQueryAttention",
             "expected x (B, T, " << embed_dim << "), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  SdpaOptions o;
  o.is_causal = args.is_causal;
  o.attn_mask = args.attn_mask;
  o.key_padding_mask = args.key_padding_mask;
  o.need_weights = args.need_weights;
  // q (B, H, T, Dh) against k, v (B, Hkv, T, Dh): sdpa shares each kv head across H / Hkv query heads.
  AttentionOutput a = scaled_dot_product_attention(project_q(x), project_k(x), project_v(x), o);
  return {merge_heads(a.output), a.weights};
}

}  // namespace attn::nn
