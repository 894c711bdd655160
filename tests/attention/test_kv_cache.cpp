// KV cache: decoding one token at a time with the cache gives, position by position, what full causal
// attention gives (MHA and GQA); chunked prefill; RoPE at the cache offset; sizes, memory and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/attention/kv_cache.h"
#include "attn/attention/positional.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"

namespace attn {
namespace {

// max |a - b| / max |b| over the rows of `full` (B, H, T, Dv) at positions [t0, t0 + step.size(2)).
double rel_diff_at(const Tensor& step, const Tensor& full, int64_t t0) {
  const int64_t B = full.size(0), H = full.size(1), T = full.size(2), Dv = full.size(3), t = step.size(2);
  double diff = 0, scale = 1e-12;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < t; ++i)
        for (int64_t d = 0; d < Dv; ++d) {
          const double ref = full.data()[((b * H + h) * T + t0 + i) * Dv + d];
          diff = std::max(diff, std::fabs(step.data()[((b * H + h) * t + i) * Dv + d] - ref));
          scale = std::max(scale, std::fabs(ref));
        }
  return diff / scale;
}

struct Config {
  int64_t H, Hkv, D, Dv;
};
void PrintTo(const Config& c, std::ostream* os) {
  *os << "H=" << c.H << " Hkv=" << c.Hkv << " D=" << c.D << " Dv=" << c.Dv;
}

class AttnKVCacheDecode : public ::testing::TestWithParam<Config> {};

TEST_P(AttnKVCacheDecode, TokenByTokenEqualsFullCausalAttention) {
  const Config c = GetParam();
  const int64_t B = 2, T = 9;
  Generator gen(100 + c.Hkv, 1);
  Tensor q = Tensor::randn({B, c.H, T, c.D}, gen);     // (B, H, T, D)
  Tensor k = Tensor::randn({B, c.Hkv, T, c.D}, gen);   // (B, Hkv, T, D)
  Tensor v = Tensor::randn({B, c.Hkv, T, c.Dv}, gen);  // (B, Hkv, T, Dv)
  NoGradGuard no_grad;
  Tensor full = scaled_dot_product_attention_math(q, k, v, SdpaOptions().causal()).output;  // (B, H, T, Dv)

  KVCache cache(B, c.Hkv, T, c.D, c.Dv);
  for (int64_t t = 0; t < T; ++t) {
    Tensor out = attention_with_kv_cache(slice(q, 2, t, t + 1), slice(k, 2, t, t + 1), slice(v, 2, t, t + 1), cache)
                     .output;  // (B, H, 1, Dv)
    ASSERT_EQ(out.shape(), Shape({B, c.H, 1, c.Dv}));
    EXPECT_EQ(cache.size(), t + 1);
    EXPECT_LE(rel_diff_at(out, full, t), 1e-5) << "position " << t;
  }
  // by hand, as a lesson writes it: append, then attend with plain sdpa (t = 1 needs no mask)
  cache.reset();
  for (int64_t t = 0; t < T; ++t) {
    KVCache::Entries kv = cache.append(slice(k, 2, t, t + 1), slice(v, 2, t, t + 1));
    ASSERT_EQ(kv.key.shape(), Shape({B, c.Hkv, t + 1, c.D}));
    Tensor out = scaled_dot_product_attention(slice(q, 2, t, t + 1), kv.key, kv.value).output;
    EXPECT_LE(rel_diff_at(out, full, t), 1e-5) << "position " << t;
  }
}

TEST_P(AttnKVCacheDecode, ChunkedPrefillThenDecodeEqualsFull) {
  const Config c = GetParam();
  const int64_t B = 1, T = 10;
  Generator gen(200 + c.Hkv, 2);
  Tensor q = Tensor::randn({B, c.H, T, c.D}, gen), k = Tensor::randn({B, c.Hkv, T, c.D}, gen),
         v = Tensor::randn({B, c.Hkv, T, c.Dv}, gen);
  NoGradGuard no_grad;
  Tensor full = scaled_dot_product_attention_math(q, k, v, SdpaOptions().causal()).output;
  KVCache cache(B, c.Hkv, 16, c.D, c.Dv);
  int64_t t0 = 0;
  for (int64_t n : {4, 1, 3, 1, 1}) {  // a 4-token prompt, then a mix of chunks and single tokens
    Tensor out =
        attention_with_kv_cache(slice(q, 2, t0, t0 + n), slice(k, 2, t0, t0 + n), slice(v, 2, t0, t0 + n), cache)
            .output;
    EXPECT_LE(rel_diff_at(out, full, t0), 1e-5) << "chunk at " << t0;
    t0 += n;
  }
  EXPECT_EQ(cache.size(), T);
}

TEST_P(AttnKVCacheDecode, RopeAtTheCacheOffset) {
  // Keys are cached after rotation; the new token is rotated at position cache.size().
  const Config c = GetParam();
  if (c.D % 2) GTEST_SKIP();
  const int64_t B = 2, T = 7;
  Generator gen(300 + c.Hkv, 3);
  Tensor q = Tensor::randn({B, c.H, T, c.D}, gen), k = Tensor::randn({B, c.Hkv, T, c.D}, gen),
         v = Tensor::randn({B, c.Hkv, T, c.Dv}, gen);
  NoGradGuard no_grad;
  nn::RotaryEmbedding rope(c.D, 64);
  Tensor full = scaled_dot_product_attention_math(rope.forward(q), rope.forward(k), v, SdpaOptions().causal()).output;
  KVCache cache(B, c.Hkv, T, c.D, c.Dv);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t pos = cache.size();
    Tensor out = attention_with_kv_cache(rope.forward(slice(q, 2, t, t + 1), pos),
                                         rope.forward(slice(k, 2, t, t + 1), pos), slice(v, 2, t, t + 1), cache)
                     .output;
    EXPECT_LE(rel_diff_at(out, full, t), 1e-5) << "position " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Attn, AttnKVCacheDecode,
                         ::testing::Values(Config{4, 4, 8, 8}, Config{4, 2, 8, 8}, Config{4, 1, 8, 8},
                                           Config{4, 2, 6, 5}),
                         [](const ::testing::TestParamInfo<Config>& p) {
                           const Config& c = p.param;
                           std::string s = c.Hkv == c.H ? "MHA" : c.Hkv == 1 ? "MQA" : "GQA";
                           return s + "_H" + std::to_string(c.H) + "_Hkv" + std::to_string(c.Hkv) + "_D" +
                                  std::to_string(c.D) + "_Dv" + std::to_string(c.Dv);
                         });

TEST(AttnKVCache, OneTokenDecodesInPlaceWithWindowPaddingAndGradients) {
  // t = 1 reads the cache's buffers in place (flash_decode): the same answer as sdpa on the cached prefix,
  // with a sliding window and a key-padding mask; with gradients recorded it takes the copying path and
  // still gives gradients.
  const int64_t B = 2, H = 4, Hkv = 2, D = 8, T = 40;
  Generator gen(7, 7);
  Tensor k = Tensor::randn({B, Hkv, T, D}, gen), v = Tensor::randn({B, Hkv, T, D}, gen);
  Tensor q = Tensor::randn({B, H, 1, D}, gen);
  Tensor pad = Tensor::zeros({B, T});
  pad.data()[3] = 1.f, pad.data()[T + 30] = 1.f;  // batch 0 hides key 3, batch 1 key 30
  for (int64_t window : {int64_t{0}, int64_t{12}}) {
    SdpaOptions o;
    o.window = window;
    o.key_padding_mask = pad;
    KVCache cache(B, Hkv, T + 8, D);
    {
      NoGradGuard ng;
      cache.append(slice(k, 2, 0, T - 1), slice(v, 2, 0, T - 1));
      Tensor out = attention_with_kv_cache(q, slice(k, 2, T - 1, T), slice(v, 2, T - 1, T), cache, o).output;
      SdpaOptions ref = o;
      ref.is_causal = true;
      Tensor want = scaled_dot_product_attention_math(q, k, v, ref).output;  // the last query sees every key
      EXPECT_LE(rel_diff_at(out, want, 0), 1e-5) << "window " << window;
      EXPECT_EQ(cache.size(), T);
    }
    cache.truncate(T - 1);
    Tensor qg = q.clone().requires_grad_();
    Tensor out = attention_with_kv_cache(qg, slice(k, 2, T - 1, T), slice(v, 2, T - 1, T), cache, o).output;
    sum(out).backward();
    ASSERT_TRUE(qg.grad().defined());
    EXPECT_GT(sum(qg.grad() * qg.grad()).item(), 0.f);
  }
}

TEST(AttnKVCache, AppendReturnsEverythingSoFar) {
  Generator gen(1, 1);
  KVCache cache(2, 3, 8, 4, 5);
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(cache.capacity(), 8);
  Tensor k1 = Tensor::randn({2, 3, 2, 4}, gen), v1 = Tensor::randn({2, 3, 2, 5}, gen);
  Tensor k2 = Tensor::randn({2, 3, 3, 4}, gen), v2 = Tensor::randn({2, 3, 3, 5}, gen);
  cache.append(k1, v1);
  KVCache::Entries kv = cache.append(k2, v2);
  EXPECT_EQ(cache.size(), 5);
  Tensor want_k = concat({k1, k2}, 2), want_v = concat({v1, v2}, 2);
  ASSERT_EQ(kv.key.shape(), Shape({2, 3, 5, 4}));
  ASSERT_EQ(kv.value.shape(), Shape({2, 3, 5, 5}));
  EXPECT_EQ(kv.key.to_vector(), want_k.to_vector());
  EXPECT_EQ(kv.value.to_vector(), want_v.to_vector());
  EXPECT_EQ(cache.keys().to_vector(), want_k.to_vector());
  // the returned tensors are copies: writing into them leaves the cache alone
  kv.key.fill_(0.f);
  EXPECT_EQ(cache.keys().to_vector(), want_k.to_vector());
  cache.reset();
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(cache.keys().shape(), Shape({2, 3, 0, 4}));
  EXPECT_EQ(cache.append(k2, v2).key.to_vector(), k2.to_vector());
}

TEST(AttnKVCache, MemoryFormula) {
  KVCache cache(2, 4, 100, 16);  // 4 bytes · B 2 · Hkv 4 · 100 · (16 + 16)
  EXPECT_EQ(cache.bytes(), 4 * 2 * 4 * 100 * 32);
  EXPECT_EQ(cache.bytes_used(), 0);
  Generator gen(2, 2);
  cache.append(Tensor::randn({2, 4, 10, 16}, gen), Tensor::randn({2, 4, 10, 16}, gen));
  EXPECT_EQ(cache.bytes_used(), 4 * 2 * 4 * 10 * 32);
  // a Llama-2-7B-like model (32 layers, 32 heads of 128) at 4096 tokens in float32: 2·32·1·32·4096·128·4 = 4 GiB;
  // with 8 key/value heads (GQA) a quarter of that
  EXPECT_EQ(KVCache::memory_bytes(32, 1, 32, 4096, 128), int64_t{4} << 30);
  EXPECT_EQ(KVCache::memory_bytes(32, 1, 8, 4096, 128), int64_t{1} << 30);
  EXPECT_EQ(KVCache::memory_bytes(2, 3, 4, 5, 6, 7, 2), 2 * 3 * 4 * 5 * (6 + 7) * 2);
  std::vector<KVCache> layers = make_kv_caches(3, 1, 2, 32, 8);
  ASSERT_EQ(layers.size(), 3u);
  int64_t total = 0;
  for (const KVCache& c : layers) total += c.bytes();
  EXPECT_EQ(total, KVCache::memory_bytes(3, 1, 2, 32, 8));
}

TEST(AttnKVCache, ErrorsWhenFullOrMisshaped) {
  Generator gen(3, 3);
  KVCache cache(1, 2, 4, 8);
  auto kv = [&](int64_t t) { return std::pair{Tensor::randn({1, 2, t, 8}, gen), Tensor::randn({1, 2, t, 8}, gen)}; };
  auto [k3, v3] = kv(3);
  cache.append(k3, v3);
  auto [k2, v2] = kv(2);
  try {
    cache.append(k2, v2);
    ADD_FAILURE() << "expected the full cache to throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[KVCache] cache is full: it holds 3 of 4"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.size(), 3);  // nothing stored by the failed append
  auto [k1, v1] = kv(1);
  cache.append(k1, v1);
  EXPECT_EQ(cache.size(), 4);
  EXPECT_THROW(cache.append(k1, v1), Error);
  EXPECT_THROW(attention_with_kv_cache(Tensor::randn({1, 2, 1, 8}, gen), k1, v1, cache), Error);
  EXPECT_EQ(cache.size(), 4);

  KVCache fresh(1, 2, 4, 8);
  EXPECT_THROW(fresh.append(Tensor::randn({1, 3, 1, 8}, gen), Tensor::randn({1, 3, 1, 8}, gen)), Error);  // heads
  EXPECT_THROW(fresh.append(Tensor::randn({1, 2, 1, 4}, gen), v1), Error);                                // head dim
  EXPECT_THROW(fresh.append(k1, Tensor::randn({1, 2, 2, 8}, gen)), Error);                                // t differs
  EXPECT_THROW(fresh.append(Tensor::randn({2, 1, 8}, gen), v1), Error);                                   // rank
  EXPECT_THROW(attention_with_kv_cache(Tensor::randn({1, 3, 1, 8}, gen), k1, v1, fresh), Error);          // 3 % 2 heads
  EXPECT_THROW(attention_with_kv_cache(Tensor::randn({1, 2, 2, 8}, gen), k1, v1, fresh), Error);          // t differs
  EXPECT_EQ(fresh.size(), 0);
  EXPECT_THROW(KVCache(0, 1, 1, 1), Error);
}

TEST(AttnKVCache, AFailedStepLeavesTheCacheAsItWas) {
  Generator g(21);
  KVCache cache(1, 2, 8, 4);
  Tensor q = Tensor::randn({1, 2, 1, 4}, g), k = Tensor::randn({1, 2, 1, 4}, g), v = Tensor::randn({1, 2, 1, 4}, g);
  attention_with_kv_cache(q, k, v, cache);
  ASSERT_EQ(cache.size(), 1);
  SdpaOptions bad;
  bad.attn_mask = Tensor::zeros({3, 3});  // does not fit (1, 2, 1, 2)
  EXPECT_THROW(attention_with_kv_cache(q, k, v, cache, bad), Error);
  EXPECT_EQ(cache.size(), 1);
}

}  // namespace
}  // namespace attn
