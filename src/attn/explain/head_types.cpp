#include "attn/explain/head_types.h"

#include "attn/core/error.h"
#include "attn/core/rng.h"

namespace attn::explain {

std::vector<int64_t> repeated_random_tokens(int64_t n, int64_t vocab_size, uint64_t seed) {
  ATTN_CHECK(n >= 0, "repeated_random_tokens", "n = " << n << " is negative");
  ATTN_CHECK(vocab_size > 0 && vocab_size <= int64_t{1} << 32, "repeated_random_tokens",
             "vocab_size = " << vocab_size << " is out of range");
  Generator gen(seed);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(gen.randint(static_cast<uint32_t>(vocab_size)));  // r_0 … r_{n-1}
  for (int64_t i = 0; i < n; ++i) ids.push_back(ids[static_cast<size_t>(i)]);                     // … and again
  return ids;
}

std::vector<HeadTypeScores> head_type_scores(const Tensor& attention, int64_t n) {
  ATTN_CHECK(attention.defined() && attention.dim() >= 2, "head_type_scores",
             "attention must be (…, T, T), got " << (attention.defined() ? shape_str(attention.shape()) : "undefined"));
  const int64_t T = attention.size(-1);
  ATTN_CHECK(attention.size(-2) == T, "head_type_scores",
             "attention must be square (…, T, T), got " << shape_str(attention.shape()));
  ATTN_CHECK(n >= 1 && n < T, "head_type_scores", "period n = " << n << " must be in [1, T) with T = " << T);
  const int64_t heads = T == 0 ? 0 : attention.numel() / (T * T);
  std::vector<HeadTypeScores> scores;
  for (int64_t h = 0; h < heads; ++h) {
    const float* A = attention.data() + h * T * T;  // this head's (T, T), row-major: A[i, j] = A[i * T + j]
    HeadTypeScores s;
    for (int64_t i = 1; i < T; ++i) {
      s.previous_token += A[i * T + i - 1];  // A[i, i-1]
      s.first_token += A[i * T];             // A[i, 0]
    }
    for (int64_t i = n; i < T; ++i) s.induction += A[i * T + i - n + 1];  // A[i, i-n+1]
    s.previous_token /= static_cast<double>(T - 1);
    s.first_token /= static_cast<double>(T - 1);
    s.induction /= static_cast<double>(T - n);
    scores.push_back(s);
  }
  return scores;
}

const char* head_type_label(const HeadTypeScores& scores, double threshold) {
  const char* label = "previous-token";
  double best = scores.previous_token;
  if (scores.first_token > best) best = scores.first_token, label = "first-token";
  if (scores.induction > best) best = scores.induction, label = "induction";
  return best >= threshold ? label : nullptr;
}

}  // namespace attn::explain
