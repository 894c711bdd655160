// Attention masks, built as float tensors in the two conventions PyTorch uses:
//
//   boolean ("allowed") masks: 1 where a query may attend to a key, 0 where it may not
//       (torch's bool attn_mask: True = take part in attention);
//   additive masks: 0 where allowed, -inf where not, added to the scores before the softmax.
//
// Shape legend: L target (query) length, S source (key) length, B batch.
//
//   causal_mask(4, 4)            sliding_window_mask(5, 5, 2)     (1 = allowed)
//     1 0 0 0                       1 0 0 0 0
//     1 1 0 0                       1 1 0 0 0
//     1 1 1 0                       0 1 1 0 0
//     1 1 1 1                       0 0 1 1 0
//                                   0 0 0 1 1
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/tensor.h"

namespace attn {

// (L, S): query i may attend to key j iff j <= i + (S - L) — the last query sees every key, which is
// what a query block appended after S - L cached keys needs (S == L: the usual lower triangle).
Tensor causal_mask(int64_t L, int64_t S);
// (L, S): causal, and at most `window` keys back, counting the key at the query's own position:
// j in (i' - window, i'] with i' = i + (S - L).
Tensor sliding_window_mask(int64_t L, int64_t S, int64_t window);
// (B, S) key-padding mask from sequence lengths, in torch's MultiheadAttention convention:
// 1 = padding (ignored), 0 = a real token.
Tensor key_padding_mask(const std::vector<int64_t>& lengths, int64_t S);
// 0/1 "allowed" mask -> additive 0/-inf mask (same shape).
Tensor to_additive_mask(const Tensor& allowed);

}  // namespace attn
