// Ring attention: exact attention over a sequence split across ranks (Liu, Zaharia & Abbeel 2023, "Ring
// Attention with Blockwise Transformers for Near-Infinite Context"). No rank ever holds the whole sequence:
// each holds a block of queries, keys and values; the key/value blocks travel round the ring, and each rank
// merges what every block contributes to its queries with the log-sum-exp, exactly as the fused kernel
// (kernels/flash_attention.h) merges its tiles.
//
// N ranks in a ring, rank r sends to r + 1 and receives from r − 1. Rank r, for s = 0 … N−1:
//   (K, V) ← the block that started on rank (r − s) mod N       (s = 0: its own)
//   start sending (K, V) to r + 1 and receiving the next from r − 1   ← overlapped with the compute below
//   (O_s, lse_s) = attention(Q_r, K, V)                           the fused kernel on this pair of blocks
//   lse' = log(e^lse + e^lse_s);  O ← e^(lse − lse') O + e^(lse_s − lse') O_s;  lse ← lse'
// Backward, with the final O and lse (P = exp(S − lse) needs no other block):
//   dQ_r += Σ_s ∂/∂Q;  dK, dV of the visiting block accumulate here and travel on with it; after N steps they
//   have gone round once and arrive back at the block's own rank.
//
// Causal attention and the zig-zag layout: with the sequence cut into N contiguous blocks, rank N−1's queries
// see every key and rank 0's see only their own, so the last rank works N times as long as the first. Cut it
// instead into 2N chunks c_0 … c_{2N−1}; rank r holds c_r and c_{2N−1−r} (one early, one late). For a query
// chunk a and key chunk b: b < a → the whole block, b = a → the causal diagonal, b > a → nothing. Every rank
// then does the same work, to within a chunk's diagonal (Brandon et al. 2023; the ring-flash-attention code's
// "zigzag"). Non-causal attention uses N contiguous blocks. Lengths that N (or 2N) does not divide are cut into
// chunks whose sizes differ by at most one position.
//
// Shapes (per rank): q (B, H, T_r, D), k (B, Hkv, T_r, D), v (B, Hkv, T_r, Dv), out (B, H, T_r, Dv), lse (B, H, T_r),
// T_r = that rank's share of the T positions, in the order of its chunks. GQA/MQA: H % Hkv == 0.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/dist/communicator.h"

namespace attn::dist {

// The stretches of a T-position sequence that one rank holds, in the order they sit in its buffers.
struct SequenceShard {
  struct Chunk {
    int64_t index;  // chunk number along the sequence (the causal order)
    int64_t start;  // first position
    int64_t length;
  };
  std::vector<Chunk> chunks;
  int64_t length() const;
};

// Rank `rank`'s part of T positions over `world` ranks: zig-zag (2 chunks, for causal attention) or one
// contiguous block. attn::Error when T < world (zig-zag: T < 2·world), which would leave a rank empty.
SequenceShard ring_shard(int64_t T, int world, int rank, bool zigzag);

// x (B, H, T, …) → this shard's positions (B, H, T_r, …), and back: the full sequence from every rank's shard.
Tensor take_shard(const Tensor& x, const SequenceShard& shard);
Tensor join_shards(const std::vector<Tensor>& parts, const std::vector<SequenceShard>& shards, int64_t T);

struct RingAttentionOptions {
  bool causal = false;
  // Causal only: the zig-zag layout (the shards from ring_shard(T, N, r, true)). false = N contiguous blocks, which
  // leaves the last rank N times the first one's work — kept to show why (lesson 05.05, attn bench scale).
  bool zigzag = true;
  std::optional<float> scale;  // default 1/√D
  bool uses_zigzag() const { return causal && zigzag; }
};

struct RingForward {
  Tensor out;                                    // (B, H, T_r, Dv)
  Tensor lse;                                    // (B, H, T_r)
  double compute_seconds = 0, wait_seconds = 0;  // this rank's kernel time and the time it waited for messages
};

// The forward pass on every rank of `comm` together (collective: every rank calls it with its own shard of the same
// T). q, k, v contiguous, this rank's shard as laid out by ring_shard(T, comm.size(), comm.rank(),
// options.uses_zigzag()).
RingForward ring_attention_forward(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v, int64_t T,
                                   const RingAttentionOptions& options = {});

struct RingGradients {
  Tensor dq, dk, dv;
  double compute_seconds = 0, wait_seconds = 0;
};
// The backward pass (collective): dout (B, H, T_r, Dv) and the forward's out and lse.
RingGradients ring_attention_backward(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v,
                                      const Tensor& out, const Tensor& lse, const Tensor& dout, int64_t T,
                                      const RingAttentionOptions& options = {});

// The differentiable op: out = ring attention of this rank's shard; its backward runs ring_attention_backward (so
// every rank must call backward() too, as in any data- or sequence-parallel training).
Tensor ring_attention(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v, int64_t T,
                      const RingAttentionOptions& options = {});

// ---- the ring without MPI, for the lesson: N simulated ranks in one process ----
// The same steps, the same merges, the blocks passed in memory; per rank, the seconds its kernels took (the
// balance that the zig-zag layout buys). q, k, v are the full (B, H, T, D) tensors.
struct SimulatedRing {
  Tensor out, lse;                   // (B, H, T, Dv), (B, H, T): joined back into sequence order
  std::vector<double> rank_seconds;  // compute per rank
  std::vector<int64_t> rank_pairs;   // (query chunk, key chunk) blocks computed per rank, diagonal ones included
};
SimulatedRing simulate_ring_attention(const Tensor& q, const Tensor& k, const Tensor& v, int world,
                                      const RingAttentionOptions& options = {});

}  // namespace attn::dist
