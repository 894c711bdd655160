#include "attn/attention/masks.h"

#include <limits>

#include "attn/core/error.h"

namespace attn {

Tensor causal_mask(int64_t L, int64_t S) {
  ATTN_CHECK(L >= 0 && S >= 0, "causal_mask", "lengths must be non-negative, got L=" << L << ", S=" << S);
  Tensor m = Tensor::zeros({L, S});  // (L, S)
  const int64_t off = S - L;         // query i sits at absolute position i + off
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < S && j <= i + off; ++j) m.data()[i * S + j] = 1.f;
  return m;
}

Tensor sliding_window_mask(int64_t L, int64_t S, int64_t window) {
  ATTN_CHECK(window >= 1, "sliding_window_mask", "window must be at least 1, got " << window);
  Tensor m = causal_mask(L, S);
  const int64_t off = S - L;
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < S && j <= i + off - window; ++j) m.data()[i * S + j] = 0.f;
  return m;
}

Tensor key_padding_mask(const std::vector<int64_t>& lengths, int64_t S) {
  const int64_t B = static_cast<int64_t>(lengths.size());
  Tensor m = Tensor::zeros({B, S});  // (B, S), 1 = padding
  for (int64_t b = 0; b < B; ++b) {
    ATTN_CHECK(lengths[b] >= 0 && lengths[b] <= S, "key_padding_mask",
               "length " << lengths[b] << " of sequence " << b << " is outside [0, " << S << "]");
    for (int64_t j = lengths[b]; j < S; ++j) m.data()[b * S + j] = 1.f;
  }
  return m;
}

Tensor to_additive_mask(const Tensor& allowed) {
  ATTN_CHECK(allowed.defined(), "to_additive_mask", "mask is undefined");
  Tensor m = Tensor::empty(allowed.shape());
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < m.numel(); ++i) m.data()[i] = allowed.data()[i] != 0.f ? 0.f : -inf;
  return m;
}

}  // namespace attn
