// Fused exact attention on the CPU — FlashAttention-2 (Dao 2023) with tiles sized for CPU caches.
//
//   O = softmax(Q Kᵀ · scale + mask) V        computed without ever storing the (L, S) score matrix
//
// Shape legend: B batch, H query heads, Hkv key/value heads (H % Hkv == 0; head h reads kv head
// h / (H / Hkv)), L queries, S keys, D head dim, Dv value head dim. All buffers contiguous, row-major:
// q (B, H, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv), out (B, H, L, Dv), lse (B, H, L).
//
// Forward, for one query tile Q_i (Br rows) — the online softmax:
//   m = -inf, l = 0, acc = 0                                   per row
//   for each key tile K_j, V_j (Bc keys):
//     S = Q_i K_jᵀ · scale (+ mask)                            (Br, Bc), lives in L1/L2 only
//     m' = max(m, rowmax(S));  P = exp(S - m')                 the new running max
//     l = l · exp(m - m') + rowsum(P)                          rescale what was summed so far
//     acc = acc · exp(m - m') + P V_j
//     m = m'
//   O_i = acc / l;   lse_i = m + log l                         saved for the backward pass
// Memory: O(B·H·L·(D + 1)) instead of the O(B·H·L·S) weights of the composed path.
//
// Backward, recomputing P tile by tile from lse (never stored):
//   Δ_i = rowsum(dO_i ∘ O_i)
//   P = exp(S - lse_i);  dV_j += Pᵀ dO_i;  dP = dO_i V_jᵀ;  dS = P ∘ (dP - Δ_i)
//   dQ_i += dS K_j · scale;  dK_j += dSᵀ Q_i · scale
//
// Masks: causal (query i sees keys j <= i + S - L), a sliding window (and only the last `window` of
// those), a key-padding mask (B, S) with 1 = padding, and an additive bias (…, L, S) with batch/head
// strides (0 = broadcast). Tiles entirely above the causal diagonal or outside the window are skipped;
// a tile the diagonal crosses is computed 16 query rows at a time, each block only as wide as it sees.
// A query row with no visible key gets O = 0 and lse = -inf (and zero gradients).
//
// Tiles: Br = 64 queries × Bc = 64 keys. With D = 64 a tile step touches Q_i, K_jᵀ, V_j, S and the
// accumulator: 5 × 16 KB = 80 KB, inside a core's L2 (1 MB here) with the hottest two (S and the
// K_jᵀ strip) in L1 (48 KB). Inner loops are register tiles of 6 rows (4 for a remainder): 6 × 16 with
// AVX2/FMA (12 of the 16 ymm registers as accumulators), 6 × 32 with AVX-512 (12 zmm), with a vectorized exp; threads
// (OpenMP) take (batch, head, query tile) in the forward and
// (batch, kv head) in the backward, so no two threads ever write the same gradient.
#pragma once
#include <cstdint>

namespace attn::kernels {

struct FlashParams {
  int64_t B = 0, H = 0, Hkv = 0, L = 0, S = 0, D = 0, Dv = 0;
  float scale = 1.f;
  bool causal = false;
  int64_t window = 0;                  // > 0: sliding window (implies causal)
  const float* key_padding = nullptr;  // (B, S), non-zero = padding
  const float* bias = nullptr;         // additive, (L, S) planes of S-float rows
  int64_t bias_batch_stride = 0;       // floats between batches' planes (0 = shared)
  int64_t bias_head_stride = 0;        // floats between heads' planes (0 = shared)
  int64_t bias_row_stride = -1;        // floats between query rows: S (default, -1), or 0 = one row for all
};

// out (B, H, L, Dv), lse (B, H, L).
void flash_attention_forward(const FlashParams& p, const float* q, const float* k, const float* v, float* out,
                             float* lse);

// Accumulates (+=) into dq (B, H, L, D), dk (B, Hkv, S, D), dv (B, Hkv, S, Dv); any may be null.
void flash_attention_backward(const FlashParams& p, const float* q, const float* k, const float* v, const float* out,
                              const float* lse, const float* dout, float* dq, float* dk, float* dv);

// Decode: one query per (batch, head) against a long cache, the keys split across threads (split-KV,
// "flash-decoding") and the partial results merged exactly with their log-sum-exps:
//   O = Σ_s exp(lse_s - lse) O_s,   lse = log Σ_s exp(lse_s)
// q (B, H, D); k (B, Hkv, S_max, D), v (B, Hkv, S_max, Dv) of which the first S positions are used
// (a KV cache's buffers); out (B, H, Dv); lse (B, H) or null.
void flash_decode(const FlashParams& p, const float* q, const float* k, const float* v, int64_t kv_stride_len,
                  float* out, float* lse);

// Attention weights of chosen query rows, recomputed from the saved lse (for visualizing a fused pass):
// weights (B, H, rows.size(), S) with weights[..., r, j] = exp(S[row_r, j] - lse[row_r]).
void flash_attention_weights(const FlashParams& p, const float* q, const float* k, const float* lse,
                             const int64_t* rows, int64_t n_rows, float* weights);

// The register tiles this build runs, for `attn info` and the benchmarks: "avx512f: 6×32 zmm FMA tiles",
// "avx2+fma: 6×16 ymm FMA tiles" or "portable: scalar loops" (chosen at compile time by -march).
const char* flash_kernel_name();

}  // namespace attn::kernels
