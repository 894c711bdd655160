// Positional information for attention, which by itself is blind to order (permute the keys and values
// together and the output does not change). Four ways to give it positions:
//
//   sinusoidal (Vaswani et al. 2017), added to the token embeddings:
//       PE[t, 2i]   = sin(t / base^(2i/D))
//       PE[t, 2i+1] = cos(t / base^(2i/D))                      base = 10000
//
//   learned absolute (GPT-2's `wpe`, BERT's position_embeddings): a trainable table row per position,
//       added to the token embeddings: PE[t] = weight[t].
//
//   rotary, RoPE (Su et al. 2021, RoFormer), applied to queries and keys inside attention: each pair of
//   features (a, b) of the vector at position m is rotated by the angle m·θ_i,
//       θ_i = base^(-2i/D),  i = 0 .. D/2 - 1
//       (a, b) -> (a cos mθ_i - b sin mθ_i,  b cos mθ_i + a sin mθ_i)
//   so that the score q_m · k_n = Re[Σ_i q̃_i conj(k̃_i) e^{i(m-n)θ_i}] depends on positions only
//   through m - n. Which features form pair i is a convention:
//       rotate_half  (interleaved = false): pairs (i, i + D/2) — Llama, Mistral and GPT-NeoX in Hugging
//                    Face transformers: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(-x2, x1);
//       interleaved  (interleaved = true):  pairs (2i, 2i+1) — the RoFormer paper, GPT-J, and Meta's
//                    original Llama code (x viewed as D/2 complex numbers times e^{imθ}).
//   (vLLM calls the first "neox style", the second "gptj style".) The two differ only by a fixed
//   permutation of the features (the weights of a trained model must be permuted to switch, which is
//   what HF's Llama conversion script does).
//
//   ALiBi (Press et al. 2022), a bias added to the scores, no embedding at all:
//       scores[h, i, j] += -m_h · (i' - j),   i' = i + (S - L) the query's absolute position,
//       m_h a geometric sequence per head: for H a power of two, m_h = 2^(-8 (h+1) / H).
//
// Shape legend: B batch, H heads, T sequence length, D head dim (RoPE) or model dim (sinusoidal,
// learned), L query length, S key length.
#pragma once
#include <cstdint>
#include <string>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"
#include "attn/nn/layers.h"

namespace attn {

// ---- sinusoidal -------------------------------------------------------------------------------------
// (T, D) table for positions 0 .. T-1. An odd D ends with a sin column (i = (D-1)/2) and no cos column.
// Not trainable: a plain tensor to add to the embeddings (x + pe, with pe broadcast over the batch).
Tensor sinusoidal_encoding(int64_t T, int64_t D, float base = 10000.f);

// ---- rotary (RoPE) ----------------------------------------------------------------------------------
// θ_i = base^(-2i/D) for i = 0 .. D/2 - 1 -> (D/2); HF calls it inv_freq. D must be even.
Tensor rope_frequencies(int64_t D, float base = 10000.f);

// cos(p·θ) and sin(p·θ) for each position p, laid out feature by feature as apply_rotary_embedding reads
// them: rotate_half repeats the D/2 angles as [θ_0 .. θ_{D/2-1}, θ_0 .. θ_{D/2-1}] (HF's
// cat(freqs, freqs)); interleaved as [θ_0, θ_0, θ_1, θ_1, ...]. Angles are computed in double.
struct RopeTables {
  Tensor cos;  // (T, D)
  Tensor sin;  // (T, D)
  bool interleaved = false;
};
RopeTables rope_tables(const IndexTensor& positions, int64_t D, float base = 10000.f, bool interleaved = false);
RopeTables rope_tables(int64_t T, int64_t D, float base = 10000.f, bool interleaved = false,
                       int64_t start = 0);  // positions start .. start+T-1

// x (..., T, D) -> same shape, each position's vector rotated:  x·cos + rotate(x)·sin, where
//   rotate_half(x)   = cat(-x[..., D/2:], x[..., :D/2])
//   rotate_pairs(x)  = (-x1, x0, -x3, x2, ...)            (interleaved)
// Composed from differentiable ops (slice, concat/stack, mul, add), so the gradient with respect to x
// is automatic; the tables are constants. The tables' T must equal x's second-to-last dim.
Tensor apply_rotary_embedding(const Tensor& x, const RopeTables& tables);
// Convenience: tables for `positions` (T) or for start_pos .. start_pos+T-1 (e.g. the KV cache's size
// during decoding), built for this call. A model that calls RoPE every layer should build the tables
// once (rope_tables, or nn::RotaryEmbedding) and reuse them.
Tensor apply_rotary_embedding(const Tensor& x, const IndexTensor& positions, float base = 10000.f,
                              bool interleaved = false);
Tensor apply_rotary_embedding(const Tensor& x, int64_t start_pos = 0, float base = 10000.f, bool interleaved = false);

// The two pair rotations on their own (the "rotate" above), for lessons and tests.
Tensor rotate_half(const Tensor& x);   // (..., D): cat(-x[..., D/2:], x[..., :D/2])
Tensor rotate_pairs(const Tensor& x);  // (..., D): (-x1, x0, -x3, x2, ...)

// ---- ALiBi ------------------------------------------------------------------------------------------
// Per-head slopes m_h (H), as in the reference implementation (ofirpress/attention_with_linear_biases,
// also HF BLOOM's build_alibi_tensor): for H a power of two, start = 2^(-8/H) and m_h = start^(h+1)
// (H = 8: 1/2, 1/4, ..., 1/256). Otherwise, with P the largest power of two below H: the P slopes for P
// heads, then every other slope of the 2P-head sequence, H - P of them.
Tensor alibi_slopes(int64_t H);  // (H)
// (H, L, S) additive bias  -m_h · (i' - j),  i' = i + (S - L): 0 on the query's own position, more
// negative the further back the key is. It is linear in j for every j, so keys *after* the query get
// a positive bias: use it with causal masking, e.g.
//   scaled_dot_product_attention(q, k, v, SdpaOptions().mask(alibi_bias(H, L, S)).causal())
// (B, H, L, S) broadcast. (BLOOM adds m_h · j instead: the same after the softmax, which ignores a
// per-row constant.)
Tensor alibi_bias(int64_t H, int64_t L, int64_t S);

}  // namespace attn

namespace attn::nn {

// Learned absolute positions: an Embedding (max_len, D) whose parameter is named "weight", so that a
// GPT-2 `wpe` or BERT `position_embeddings` state dict loads into it as is. Initialized N(0, 1) like
// nn::Embedding (GPT-2 trains from N(0, 0.02); re-initialize with nn::init if you want that).
class LearnedPositionalEmbedding : public Embedding {
 public:
  LearnedPositionalEmbedding(int64_t max_len, int64_t embedding_dim, Generator& gen);
  // Positions start .. start+T-1 -> (T, D). Throws when start + T > max_len.
  Tensor forward(int64_t T, int64_t start = 0);
  // Arbitrary positions (...) -> (..., D), each in [0, max_len).
  Tensor forward(const IndexTensor& positions);
  Tensor operator()(int64_t T, int64_t start = 0) { return forward(T, start); }
  Tensor operator()(const IndexTensor& positions) { return forward(positions); }
  std::string type_name() const override { return "LearnedPositionalEmbedding"; }

  int64_t max_len() const { return num_embeddings; }
};

// RoPE with its cos/sin tables computed once, for max_position_embeddings positions (HF's
// LlamaRotaryEmbedding). The tables are not parameters or buffers: they are a function of (D, base) and
// are not saved in the state dict (HF keeps them as non-persistent buffers too).
class RotaryEmbedding : public Module {
 public:
  RotaryEmbedding(int64_t head_dim, int64_t max_position_embeddings = 2048, float base = 10000.f,
                  bool interleaved = false);
  // x (..., T, D) at positions start .. start+T-1 -> same shape.
  Tensor forward(const Tensor& x, int64_t start = 0) const;
  // x (..., T, D) at positions (T) -> same shape.
  Tensor forward(const Tensor& x, const IndexTensor& positions) const;
  // The table rows for these positions (a slice of the precomputed tables).
  RopeTables tables(int64_t T, int64_t start = 0) const;
  RopeTables tables(const IndexTensor& positions) const;
  std::string type_name() const override { return "RotaryEmbedding"; }
  std::string extra_repr() const override;

  int64_t head_dim, max_position_embeddings;
  float base;
  bool interleaved;

 private:
  RopeTables all_;  // (max_position_embeddings, D) each
};

}  // namespace attn::nn
