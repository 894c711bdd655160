#include "attn/attention/kv_cache.h"

#include <cstring>

#include "attn/attention/flash.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {
constexpr const char* kOp = "KVCache";

// dst (B, Hkv, cap, d) positions [at, at + t) <- src (B, Hkv, t, d)
void copy_in(float* dst, const float* src, int64_t bh, int64_t cap, int64_t at, int64_t t, int64_t d) {
  for (int64_t i = 0; i < bh; ++i) std::memcpy(dst + (i * cap + at) * d, src + i * t * d, t * d * sizeof(float));
}

// (B, Hkv, cap, d) buffer -> its first len positions (B, Hkv, len, d)
Tensor prefix(const Tensor& buf, int64_t len) {
  const Shape& s = buf.shape();
  Tensor out = Tensor::empty({s[0], s[1], len, s[3]});
  const int64_t bh = s[0] * s[1], cap = s[2], d = s[3];
  for (int64_t i = 0; i < bh; ++i)
    std::memcpy(out.data() + i * len * d, buf.data() + i * cap * d, len * d * sizeof(float));
  return out;
}
}  // namespace

KVCache::KVCache(int64_t B, int64_t Hkv, int64_t max_len_, int64_t D, int64_t Dv)
    : batch(B), num_kv_heads(Hkv), max_len(max_len_), head_dim(D), v_head_dim(Dv < 0 ? D : Dv) {
  ATTN_CHECK(B >= 1 && Hkv >= 1 && max_len_ >= 1 && D >= 1 && v_head_dim >= 1, kOp,
             "batch, num_kv_heads, max_len, head_dim and v_head_dim must be positive, got ("
                 << B << ", " << Hkv << ", " << max_len_ << ", " << D << ", " << v_head_dim << ")");
  k_buf_ = Tensor::zeros({B, Hkv, max_len, head_dim});    // (B, Hkv, max_len, D)
  v_buf_ = Tensor::zeros({B, Hkv, max_len, v_head_dim});  // (B, Hkv, max_len, Dv)
}

KVCache::Entries KVCache::append(const Tensor& key, const Tensor& value) {
  write(key, value);
  return {keys(), values()};
}

void KVCache::write(const Tensor& key, const Tensor& value) {
  ATTN_CHECK(key.defined() && value.defined(), kOp, "key and value must be defined");
  ATTN_CHECK(key.dim() == 4 && key.size(0) == batch && key.size(1) == num_kv_heads && key.size(3) == head_dim, kOp,
             "key must be (B, Hkv, t, D) = (" << batch << ", " << num_kv_heads << ", t, " << head_dim << "), got "
                                              << shape_str(key.shape()));
  ATTN_CHECK(value.dim() == 4 && value.size(0) == batch && value.size(1) == num_kv_heads &&
                 value.size(2) == key.size(2) && value.size(3) == v_head_dim,
             kOp,
             "value must be (B, Hkv, t, Dv) = (" << batch << ", " << num_kv_heads << ", " << key.size(2) << ", "
                                                 << v_head_dim << "), got " << shape_str(value.shape()));
  const int64_t t = key.size(2);
  ATTN_CHECK(len_ + t <= max_len, kOp,
             "cache is full: it holds " << len_ << " of " << max_len << " positions and cannot take " << t
                                        << " more (reset() it, or build it with a larger max_len)");
  copy_in(k_buf_.data(), key.data(), batch * num_kv_heads, max_len, len_, t, head_dim);
  copy_in(v_buf_.data(), value.data(), batch * num_kv_heads, max_len, len_, t, v_head_dim);
  len_ += t;
}

Tensor KVCache::keys() const { return prefix(k_buf_, len_); }
Tensor KVCache::values() const { return prefix(v_buf_, len_); }

int64_t KVCache::bytes() const {
  return static_cast<int64_t>(sizeof(float)) * batch * num_kv_heads * max_len * (head_dim + v_head_dim);
}
int64_t KVCache::bytes_used() const {
  return static_cast<int64_t>(sizeof(float)) * batch * num_kv_heads * len_ * (head_dim + v_head_dim);
}

int64_t KVCache::memory_bytes(int64_t L, int64_t B, int64_t Hkv, int64_t T, int64_t D, int64_t Dv, int64_t bpe) {
  if (Dv < 0) Dv = D;
  return L * B * Hkv * T * (D + Dv) * bpe;  // = 2·L·B·Hkv·T·D·bpe when Dv = D
}

std::vector<KVCache> make_kv_caches(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len,
                                    int64_t head_dim, int64_t v_head_dim) {
  ATTN_CHECK(num_layers >= 0, "make_kv_caches", "num_layers must be non-negative, got " << num_layers);
  std::vector<KVCache> caches;
  caches.reserve(num_layers);
  for (int64_t l = 0; l < num_layers; ++l) caches.emplace_back(batch, num_kv_heads, max_len, head_dim, v_head_dim);
  return caches;
}

AttentionOutput attention_with_kv_cache(const Tensor& query, const Tensor& key, const Tensor& value, KVCache& cache,
                                        SdpaOptions options) {
  constexpr const char* op = "attention_with_kv_cache";
  ATTN_CHECK(query.defined() && query.dim() == 4, op,
             "query must be (B, H, t, D), got " << (query.defined() ? shape_str(query.shape()) : "undefined"));
  ATTN_CHECK(key.defined() && key.dim() == 4 && query.size(2) == key.size(2), op,
             "query " << shape_str(query.shape()) << " and key "
                      << (key.defined() ? shape_str(key.shape()) : "undefined")
                      << " must hold the same t new tokens (dim 2)");
  ATTN_CHECK(query.size(0) == cache.batch && query.size(3) == cache.head_dim, op,
             "query " << shape_str(query.shape()) << " does not match the cache (B = " << cache.batch
                      << ", D = " << cache.head_dim << ")");
  ATTN_CHECK(query.size(1) % cache.num_kv_heads == 0, op,
             "query has " << query.size(1) << " heads, not a multiple of the cache's " << cache.num_kv_heads
                          << " key/value heads");
  const int64_t before = cache.size();
  // One new token per sequence (decoding), nothing to differentiate, no weights or masks asked for: the
  // split-KV decode kernel reads the cache's buffers in place. Copying the cached prefix out every step
  // would move as many bytes again as the attention reads.
  const bool decode_in_place = query.size(2) == 1 && !options.need_weights && options.dropout_p == 0.f &&
                               !options.attn_mask.defined() && !options.attn_mask_bool.defined() &&
                               !(grad_enabled() && needs_grad({&query, &key, &value}));
  if (decode_in_place) {
    cache.write(key, value);
    try {
      return {flash_decode(query, cache.key_buffer(), cache.value_buffer(), cache.size(), options), Tensor()};
    } catch (...) {
      cache.truncate(before);
      throw;
    }
  }
  KVCache::Entries kv = cache.append(key, value);  // (B, Hkv, len, D), (B, Hkv, len, Dv)
  options.is_causal = true;                        // query i sits at len - t + i, sees keys j <= that
  try {
    return scaled_dot_product_attention(query, kv.key, kv.value, options);  // (B, H, t, Dv)
  } catch (...) {
    cache.truncate(before);  // a call that fails (a bad mask, say) leaves the cache as it was
    throw;
  }
}

}  // namespace attn
