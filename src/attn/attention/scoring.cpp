#include "attn/attention/scoring.h"

#include <functional>

#include <cmath>

#include "attn/attention/masks.h"
#include "attn/core/error.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {
void check_qk(const Tensor& q, const Tensor& k, const char* op) {
  ATTN_CHECK(q.defined() && k.defined(), op, "query and key must be defined");
  ATTN_CHECK(
      q.dim() == 3 && k.dim() == 3 && q.size(0) == k.size(0), op,
      "expected query (B, L, Dq) and key (B, S, Dk), got " << shape_str(q.shape()) << " and " << shape_str(k.shape()));
}
}  // namespace

Tensor additive_score(const Tensor& query, const Tensor& key, const Tensor& W_a, const Tensor& U_a, const Tensor& v_a) {
  check_qk(query, key, "additive_score");
  ATTN_CHECK(v_a.defined() && v_a.dim() == 1, "additive_score", "v_a must be (A,)");
  return additive_score_projected(query, linear(key, U_a), W_a, v_a);
}

Tensor additive_score_projected(const Tensor& query, const Tensor& projected_key, const Tensor& W_a,
                                const Tensor& v_a) {
  check_qk(query, projected_key, "additive_score");
  ATTN_CHECK(v_a.defined() && v_a.dim() == 1, "additive_score", "v_a must be (A,)");
  Tensor wq = unsqueeze(linear(query, W_a), 2);  // (B, L, 1, A)
  Tensor uk = unsqueeze(projected_key, 1);       // (B, 1, S, A): U_a k
  Tensor energy = tanh(wq + uk);                 // (B, L, S, A): every query paired with every key
  return matmul(energy, v_a);                    // (B, L, S)
}

Tensor dot_score(const Tensor& query, const Tensor& key) {
  check_qk(query, key, "dot_score");
  ATTN_CHECK(query.size(-1) == key.size(-1), "dot_score",
             "dot scores need equal query and key sizes, got " << query.size(-1) << " and " << key.size(-1));
  return matmul(query, key, false, /*transpose_b=*/true);  // (B, L, S)
}

Tensor general_score(const Tensor& query, const Tensor& key, const Tensor& W_a) {
  check_qk(query, key, "general_score");
  ATTN_CHECK(W_a.defined() && W_a.dim() == 2 && W_a.size(0) == query.size(-1) && W_a.size(1) == key.size(-1),
             "general_score", "W_a must be (Dq, Dk) = (" << query.size(-1) << ", " << key.size(-1) << ")");
  return matmul(matmul(query, W_a), key, false, true);  // (q W_a) kᵀ: (B, L, Dk) @ (B, Dk, S)
}

Tensor concat_score(const Tensor& query, const Tensor& key, const Tensor& W_a, const Tensor& v_a) {
  check_qk(query, key, "concat_score");
  const int64_t Dq = query.size(-1), Dk = key.size(-1);
  ATTN_CHECK(W_a.defined() && W_a.dim() == 2 && W_a.size(1) == Dq + Dk, "concat_score",
             "W_a must be (A, Dq + Dk) = (A, " << Dq + Dk << ")");
  // W_a [q; k] = W_q q + W_k k with W_a = [W_q | W_k]: no need to build every (q, k) concatenation.
  auto parts = split(W_a, std::vector<int64_t>{Dq, Dk}, 1);
  return additive_score(query, key, parts[0], parts[1], v_a);
}

Tensor scaled_dot_score(const Tensor& query, const Tensor& key) {
  return dot_score(query, key) * (1.f / std::sqrt(static_cast<float>(query.size(-1))));
}

Attended attend(const Tensor& scores, const Tensor& value, const Tensor& mask) {
  ATTN_CHECK(scores.defined() && scores.dim() == 3, "attend", "scores must be (B, L, S)");
  ATTN_CHECK(value.defined() && value.dim() == 3 && value.size(0) == scores.size(0) && value.size(1) == scores.size(2),
             "attend",
             "value must be (B, S, Dv) with B = " << scores.size(0) << ", S = " << scores.size(2) << ", got "
                                                  << shape_str(value.shape()));
  Tensor s = scores;
  if (mask.defined()) {
    // A 2-d mask is (B, S): which keys exist (padding), the same for every query — view it as (B, 1, S).
    // (For a per-query (L, S) pattern pass (1, L, S).)
    Tensor m = mask.dim() == 2 ? unsqueeze(mask, 1) : mask;
    const Shape b = broadcast_shapes(m.shape(), scores.shape(), "attend");
    ATTN_CHECK(b == scores.shape(), "attend",
               "mask of shape " << shape_str(mask.shape()) << " does not fit scores " << shape_str(scores.shape()));
    s = s + to_additive_mask(m);
  }
  Tensor w = softmax(s, -1);  // (B, L, S)
  return {matmul(w, value), w};
}

namespace nn {

AdditiveAttention::AdditiveAttention(int64_t query_dim, int64_t key_dim, int64_t attn_dim, Generator& gen) {
  const float bq = 1.f / std::sqrt(static_cast<float>(query_dim)), bk = 1.f / std::sqrt(static_cast<float>(key_dim)),
              bv = 1.f / std::sqrt(static_cast<float>(attn_dim));
  W_a = register_parameter("W_a", Tensor::uniform({attn_dim, query_dim}, -bq, bq, gen));
  U_a = register_parameter("U_a", Tensor::uniform({attn_dim, key_dim}, -bk, bk, gen));
  v_a = register_parameter("v_a", Tensor::uniform({attn_dim}, -bv, bv, gen));
}

Attended AdditiveAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask) {
  return forward_projected(query, project_keys(key), value, mask);
}

Tensor AdditiveAttention::project_keys(const Tensor& key) const { return linear(key, U_a); }

namespace {
// An unbatched query (B, Dq) — one decoder step — is attended as (B, 1, Dq) and squeezed back.
Attended attend_query(const Tensor& query, const std::function<Attended(const Tensor&)>& f) {
  const bool step = query.defined() && query.dim() == 2;
  Attended a = f(step ? unsqueeze(query, 1) : query);
  if (step) a = {squeeze(a.context, 1), squeeze(a.weights, 1)};
  return a;
}
}  // namespace

Attended AdditiveAttention::forward_projected(const Tensor& query, const Tensor& projected_key, const Tensor& value,
                                              const Tensor& mask) {
  return attend_query(query, [&](const Tensor& q) {
    return attend(additive_score_projected(q, projected_key, W_a, v_a), value, mask);
  });
}

namespace {
LuongAttention::Score parse_luong_score(const std::string& name) {
  using S = LuongAttention::Score;
  if (name == "dot") return S::Dot;
  if (name == "scaled_dot") return S::ScaledDot;
  if (name == "general") return S::General;
  if (name == "concat") return S::Concat;
  ATTN_FAIL("LuongAttention",
            "score must be \"dot\", \"general\", \"concat\" or \"scaled_dot\", got \"" << name << "\"");
}
}  // namespace

LuongAttention::LuongAttention(std::string score, int64_t query_dim, int64_t key_dim, Generator& gen, int64_t attn_dim)
    : score_(std::move(score)), kind_(parse_luong_score(score_)) {
  switch (kind_) {
    case Score::Dot:
    case Score::ScaledDot:
      ATTN_CHECK(query_dim == key_dim, "LuongAttention",
                 score_ << " scores need query_dim == key_dim, got " << query_dim << " and " << key_dim);
      break;
    case Score::General: {
      const float b = 1.f / std::sqrt(static_cast<float>(key_dim));
      W_a = register_parameter("W_a", Tensor::uniform({query_dim, key_dim}, -b, b, gen));
      break;
    }
    case Score::Concat: {
      const int64_t A = attn_dim > 0 ? attn_dim : query_dim;
      const float b = 1.f / std::sqrt(static_cast<float>(query_dim + key_dim)),
                  bv = 1.f / std::sqrt(static_cast<float>(A));
      W_a = register_parameter("W_a", Tensor::uniform({A, query_dim + key_dim}, -b, b, gen));
      v_a = register_parameter("v_a", Tensor::uniform({A}, -bv, bv, gen));
      break;
    }
  }
}

Tensor LuongAttention::scores(const Tensor& query, const Tensor& key) const {
  switch (kind_) {
    case Score::Dot:
      return dot_score(query, key);  // s · h
    case Score::ScaledDot:
      return scaled_dot_score(query, key);  // s · h / √d
    case Score::General:
      return general_score(query, key, W_a);  // s W_a h
    case Score::Concat:
      return concat_score(query, key, W_a, v_a);  // v_aᵀ tanh(W_a [s; h])
  }
  ATTN_FAIL("LuongAttention", "unknown score");
}

Attended LuongAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask) {
  return attend_query(query, [&](const Tensor& q) { return attend(scores(q, key), value, mask); });
}

Tensor LuongAttention::project_keys(const Tensor& key) const {
  switch (kind_) {
    case Score::Dot:
    case Score::ScaledDot:
      return key;
    case Score::General:
      return matmul(key, W_a, false, /*transpose_b=*/true);  // (B, S, Dq) = k W_aᵀ
    case Score::Concat: {
      const int64_t Dk = key.size(-1), Dq = W_a.size(1) - Dk;
      return linear(key, split(W_a, std::vector<int64_t>{Dq, Dk}, 1)[1]);  // (B, S, A) = W_k k
    }
  }
  ATTN_FAIL("LuongAttention", "unknown score");
}

Attended LuongAttention::forward_projected(const Tensor& query, const Tensor& projected_key, const Tensor& value,
                                           const Tensor& mask) {
  return attend_query(query, [&](const Tensor& q) {
    Tensor s;
    switch (kind_) {
      case Score::Concat: {  // v_aᵀ tanh(W_q s + (W_k h, precomputed))
        const int64_t Dq = q.size(-1), Dk = W_a.size(1) - Dq;
        s = additive_score_projected(q, projected_key, split(W_a, std::vector<int64_t>{Dq, Dk}, 1)[0], v_a);
        break;
      }
      case Score::ScaledDot:
        s = scaled_dot_score(q, projected_key);
        break;
      case Score::Dot:
      case Score::General:
        s = dot_score(q, projected_key);
        break;  // general: q (k W_aᵀ)ᵀ = q W_a kᵀ
    }
    return attend(s, value, mask);
  });
}

}  // namespace nn
}  // namespace attn
