// Internal: walk every element of a broadcast result, with the matching flat offsets into the inputs.
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/shape.h"

namespace attn::detail {

// Calls f(i, offsets...) for i over all elements of `out` in row-major order; offsets[k] is the flat
// index into input k (read through `strides[k]`, 0 on broadcast dims).
template <size_t K, class F>
void for_each_broadcast(const Shape& out, const std::vector<int64_t> (&strides)[K], F&& f) {
  const int64_t n = numel(out);
  const size_t nd = out.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t off[K] = {};
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (K == 1) f(i, off[0]);
    if constexpr (K == 2) f(i, off[0], off[1]);
    if constexpr (K == 3) f(i, off[0], off[1], off[2]);
    for (int64_t d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
      for (size_t k = 0; k < K; ++k) off[k] += strides[k][d];
      if (++idx[d] < out[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace attn::detail
