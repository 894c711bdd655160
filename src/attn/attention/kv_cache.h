// KV cache: the keys and values of the tokens generated so far, kept so that decoding one more token
// costs one new key/value projection instead of recomputing all of them.
//
// In causal self-attention the key and value of token j never change once computed (they depend only
// on tokens <= j), so step t of generation needs only
//
//   k_t, v_t = the new token's key and value          (B, Hkv, 1, D)
//   K, V     = cache.append(k_t, v_t)                 (B, Hkv, t+1, D)  everything so far
//   out_t    = softmax(q_t Kᵀ / √D) V                 (B, H, 1, Dv)
//
// and gives, position by position, what full causal attention over the whole sequence gives.
//
// Memory. One cache per layer holds a key and a value buffer, so a model of L layers needs
//
//   2 · L · B · Hkv · T · D · 4 bytes   (float32; T tokens, Hkv key/value heads of dim D)
//
// which grows linearly with T and, unlike the weights, with the batch. Grouped-query attention shrinks
// it by H / Hkv: the reason Llama 2 70B, Mistral and most recent models use Hkv < H.
//
// This cache preallocates its buffers for max_len tokens (like HF's StaticCache) and copies each new
// token into them. Tensors here are contiguous, so reading the first `size()` positions of a
// (B, Hkv, max_len, D) buffer is a copy (as HF's DynamicCache's torch.cat is): O(size) per step.
// The cache is for inference: appended keys/values are stored detached (no gradient flows back).
//
// Shape legend: B batch, H query heads, Hkv key/value heads (H % Hkv == 0), t new tokens this step,
// T (or len) tokens cached, D key head dim, Dv value head dim.
#pragma once
#include <cstdint>
#include <vector>

#include "attn/attention/sdpa.h"
#include "attn/core/tensor.h"

namespace attn {

class KVCache {
 public:
  // v_head_dim = -1: same as head_dim.
  KVCache(int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t head_dim, int64_t v_head_dim = -1);
  // A copy would share the buffers (Tensors are handles): caches move, they are not copied.
  KVCache(const KVCache&) = delete;
  KVCache& operator=(const KVCache&) = delete;
  KVCache(KVCache&&) = default;

  struct Entries {
    Tensor key;    // (B, Hkv, len, D)
    Tensor value;  // (B, Hkv, len, Dv)
  };
  // Stores the t new positions after the ones already cached and returns every cached key and value,
  // new ones included. key (B, Hkv, t, D), value (B, Hkv, t, Dv). Throws when the shapes do not match
  // the cache or when size() + t > capacity() (nothing is stored then).
  Entries append(const Tensor& key, const Tensor& value);
  // The same store without the copies: for a kernel that then reads the buffers in place.
  void write(const Tensor& key, const Tensor& value);
  Tensor keys() const;    // (B, Hkv, len, D), a copy
  Tensor values() const;  // (B, Hkv, len, Dv), a copy
  // The whole buffers, (B, Hkv, capacity, D) and (B, Hkv, capacity, Dv), of which the first size() positions
  // hold the cache: what flash_decode reads in place (one new token: no copy of the cache per step).
  const Tensor& key_buffer() const { return k_buf_; }
  const Tensor& value_buffer() const { return v_buf_; }

  int64_t size() const { return len_; }         // tokens cached
  int64_t capacity() const { return max_len; }  // tokens it can hold
  void reset() { len_ = 0; }                    // forget everything (the buffers stay allocated)
  void truncate(int64_t n) { len_ = n < len_ ? (n > 0 ? n : 0) : len_; }  // forget all but the first n
  // Bytes of the two buffers: allocated (capacity) and holding cached tokens (size), float32.
  int64_t bytes() const;       // 4 · B · Hkv · max_len · (D + Dv)
  int64_t bytes_used() const;  // 4 · B · Hkv · len · (D + Dv)

  // The formula above for a whole model: L layers, T tokens: 2 · L · B · Hkv · T · D · bytes_per_element
  // (with separate value dim: L · B · Hkv · T · (D + Dv) · bytes_per_element).
  static int64_t memory_bytes(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t seq_len,
                              int64_t head_dim, int64_t v_head_dim = -1, int64_t bytes_per_element = 4);

  const int64_t batch, num_kv_heads, max_len, head_dim, v_head_dim;

 private:
  Tensor k_buf_;  // (B, Hkv, max_len, D)
  Tensor v_buf_;  // (B, Hkv, max_len, Dv)
  int64_t len_ = 0;
};

// One cache per layer of a decoder stack, all the same size.
std::vector<KVCache> make_kv_caches(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len,
                                    int64_t head_dim, int64_t v_head_dim = -1);

// One decoding step of causal self-attention with a cache: append this step's keys/values, then attend
// from the new queries to every cached position.
//   query (B, H, t, D), key (B, Hkv, t, D), value (B, Hkv, t, Dv) -> output (B, H, t, Dv)
// The new queries sit at positions size() .. size()+t-1 (size() before the call) and attend causally
// (is_causal is always set, with sdpa's S - L offset): t = 1 sees every cached key; t > 1 (a prompt
// "prefill", whole or in chunks) is ordinary causal attention. H > Hkv is grouped-query attention.
// Other options (scale, attn_mask of shape (…, t, size()+t), need_weights) pass through to
// scaled_dot_product_attention. Apply RoPE to query and key *before* this call, at start_pos = size().
// t = 1 without weights, masks, dropout or gradients (plain decoding) runs flash_decode on the cache's
// buffers in place; anything else attends to copies of the cached keys/values.
AttentionOutput attention_with_kv_cache(const Tensor& query, const Tensor& key, const Tensor& value, KVCache& cache,
                                        SdpaOptions options = SdpaOptions());

}  // namespace attn
