// The fused (flash) kernel equals the composed reference: values and every gradient, over many shapes,
// masks, tile-boundary lengths, T = 1, GQA, and fully masked rows; decode equals full attention.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "attn/attention/flash.h"
#include "attn/attention/masks.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {
namespace {

// max |a - b| / max |b|. The floor keeps gradients that are zero in exact arithmetic (one visible key:
// the softmax is constant) from turning rounding noise into a large ratio.
double rel_err(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data()[i] - b.data()[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b.data()[i])));
  }
  return diff / std::max(scale, 0.1);  // inputs are N(0, 1): gradients are O(1) unless exactly 0
}

struct Case {
  int64_t B, H, Hkv, L, S, D, Dv;
  bool causal = false;
  int64_t window = 0;
  bool padding = false, bool_mask = false, bias = false;
  float scale = 0;  // 0 = default
  std::string str() const {
    std::ostringstream os;
    os << "B" << B << " H" << H << "/" << Hkv << " L" << L << " S" << S << " D" << D << " Dv" << Dv
       << (causal ? " causal" : "") << (window ? " window" + std::to_string(window) : "") << (padding ? " pad" : "")
       << (bool_mask ? " bool" : "") << (bias ? " bias" : "") << (scale ? " scale" : "");
    return os.str();
  }
};

void check_case(const Case& c, uint64_t seed) {
  Generator g(seed);
  Tensor q = Tensor::randn({c.B, c.H, c.L, c.D}, g), k = Tensor::randn({c.B, c.Hkv, c.S, c.D}, g),
         v = Tensor::randn({c.B, c.Hkv, c.S, c.Dv}, g), gout = Tensor::randn({c.B, c.H, c.L, c.Dv}, g);
  SdpaOptions o;
  o.is_causal = c.causal;
  o.window = c.window;
  if (c.scale) o.scale = c.scale;
  if (c.padding) {
    std::vector<int64_t> lens;
    for (int64_t b = 0; b < c.B; ++b) lens.push_back(b == 0 ? c.S : std::max<int64_t>(0, c.S / 2 - b));
    o.key_padding_mask = key_padding_mask(lens, c.S);
  }
  if (c.bool_mask) {
    Tensor allowed = Tensor::empty({c.L, c.S});
    for (int64_t i = 0; i < allowed.numel(); ++i) allowed.data()[i] = g.uniform() < 0.8f ? 1.f : 0.f;
    o.attn_mask_bool = allowed;
  }
  if (c.bias) o.attn_mask = Tensor::randn({1, c.H, c.L, c.S}, g);  // per-head bias, shared over batch

  auto run = [&](bool fused, Tensor* gq, Tensor* gk, Tensor* gv) {
    Tensor qq = q.clone().requires_grad_(), kk = k.clone().requires_grad_(), vv = v.clone().requires_grad_();
    Tensor out =
        fused ? flash_attention(qq, kk, vv, o).output : scaled_dot_product_attention_math(qq, kk, vv, o).output;
    out.backward(gout);
    *gq = qq.grad(), *gk = kk.grad(), *gv = vv.grad();
    return out;
  };
  Tensor fq, fk, fv, cq, ck, cv;
  Tensor fo = run(true, &fq, &fk, &fv), co = run(false, &cq, &ck, &cv);
  EXPECT_LE(rel_err(fo, co), 1e-5) << c.str() << " output";
  EXPECT_LE(rel_err(fq, cq), 1e-5) << c.str() << " dq";
  EXPECT_LE(rel_err(fk, ck), 1e-5) << c.str() << " dk";
  EXPECT_LE(rel_err(fv, cv), 1e-5) << c.str() << " dv";
  for (float x : fo.to_vector()) ASSERT_FALSE(std::isnan(x)) << c.str();
  for (float x : fq.to_vector()) ASSERT_FALSE(std::isnan(x)) << c.str();
}

TEST(AttnFlash, EqualsComposedOverShapes) {
  uint64_t seed = 100;
  for (int64_t L : {1, 5, 63, 64, 65, 130})
    for (int64_t D : {8, 20, 64}) {
      check_case({1, 2, 2, L, L, D, D}, seed++);
      check_case({2, 2, 1, L, L + 7, D, 16, true}, seed++);  // causal with more keys than queries, MQA
    }
}

TEST(AttnFlash, EqualsComposedWithMasks) {
  uint64_t seed = 200;
  for (int64_t T : {17, 64, 100, 129}) {
    check_case({2, 4, 2, T, T, 16, 16, true, 0, true}, seed++);          // causal + padding (a fully masked batch)
    check_case({1, 2, 2, T, T, 32, 32, false, 0, false, true}, seed++);  // random boolean mask
    check_case({2, 3, 3, T, T, 16, 8, false, 0, false, false, true}, seed++);  // additive per-head bias
    check_case({1, 2, 1, T, T, 16, 16, true, 9}, seed++);                      // sliding window
    check_case({1, 2, 2, T, T + 30, 16, 16, true, 20, true, false, false, 0.3f}, seed++);
  }
}

TEST(AttnFlash, FullyMaskedRowsGiveZeros) {
  Generator g(3);
  Tensor q = Tensor::randn({2, 1, 4, 8}, g), k = Tensor::randn({2, 1, 4, 8}, g), v = Tensor::randn({2, 1, 4, 8}, g);
  SdpaOptions o;
  o.key_padding_mask = key_padding_mask({0, 4}, 4);  // batch 0 sees nothing
  FlashOutput f = flash_attention_with_lse(q, k, v, o);
  for (int64_t i = 0; i < 4 * 8; ++i) EXPECT_EQ(f.output.data()[i], 0.f);
  EXPECT_TRUE(std::isinf(f.lse.data()[0]));
}

TEST(AttnFlash, ThreeDimInputsAndWeightsFromLse) {
  Generator g(4);
  Tensor q = Tensor::randn({2, 5, 8}, g), k = Tensor::randn({2, 7, 8}, g), v = Tensor::randn({2, 7, 3}, g);
  auto f = flash_attention(q, k, v, SdpaOptions().weights());
  auto c = scaled_dot_product_attention_math(q, k, v, SdpaOptions().weights());
  EXPECT_EQ(f.output.shape(), (Shape{2, 5, 3}));
  EXPECT_LE(rel_err(f.output, c.output), 1e-5);
  EXPECT_LE(rel_err(f.weights, c.weights), 1e-5);
  // Chosen rows only, from the saved lse.
  Tensor q4 = Tensor::randn({1, 2, 70, 16}, g), k4 = Tensor::randn({1, 2, 70, 16}, g);
  FlashOutput fl = flash_attention_with_lse(q4, k4, k4, SdpaOptions().causal());
  Tensor rows = attention_weights_from_lse(q4, k4, fl.lse, {0, 33, 69}, SdpaOptions().causal());
  Tensor full = scaled_dot_product_attention_math(q4, k4, k4, SdpaOptions().causal().weights()).weights;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t j = 0; j < 70; ++j)
        EXPECT_NEAR(rows.at({0, h, r, j}), full.at({0, h, std::vector<int64_t>{0, 33, 69}[r], j}), 1e-6);
}

TEST(AttnFlash, DispatchUsesTheFusedKernelUnlessItCannot) {
  Generator g(5);
  Tensor q = Tensor::randn({1, 2, 3, 4}, g).requires_grad_(), k = Tensor::randn({1, 2, 3, 4}, g),
         v = Tensor::randn({1, 2, 3, 4}, g);
  EXPECT_TRUE(flash_supported(q, k, v, SdpaOptions().causal()));
  EXPECT_EQ(scaled_dot_product_attention(q, k, v).output.grad_fn()->name, "flash_attention");
  EXPECT_FALSE(flash_supported(q, k, v, SdpaOptions().dropout(0.1f)));
  EXPECT_FALSE(flash_supported(q, k, v, SdpaOptions().weights()));  // differentiable weights: composed
  Tensor learned_bias = Tensor::zeros({3, 3}).requires_grad_();
  EXPECT_FALSE(flash_supported(q, k, v, SdpaOptions().mask(learned_bias)));
  EXPECT_THROW(flash_attention(q, k, v, SdpaOptions().dropout(0.1f)), Error);
  EXPECT_THROW(flash_attention(q, Tensor::zeros({1, 3, 3, 4}), Tensor::zeros({1, 3, 3, 4})), Error);
}

TEST(AttnFlash, DecodeEqualsFullAttentionPositionByPosition) {
  Generator g(6);
  const int64_t B = 2, H = 4, Hkv = 2, D = 16, cap = 600;
  Tensor kc = Tensor::randn({B, Hkv, cap, D}, g), vc = Tensor::randn({B, Hkv, cap, D}, g);
  for (int64_t len : {1, 7, 300, 600}) {
    Tensor q = Tensor::randn({B, H, 1, D}, g);
    Tensor out = flash_decode(q, kc, vc, len);
    Tensor k = slice(kc, 2, 0, len), v = slice(vc, 2, 0, len);
    Tensor ref = scaled_dot_product_attention_math(q, k, v).output;  // the last query sees every key
    EXPECT_LE(rel_err(out, ref), 1e-5) << "len " << len;
  }
  // A sliding window over the cache.
  Tensor q = Tensor::randn({B, H, 1, D}, g);
  Tensor out = flash_decode(q, kc, vc, 200, SdpaOptions().sliding_window(50));
  Tensor ref = scaled_dot_product_attention_math(q, slice(kc, 2, 150, 200), slice(vc, 2, 150, 200)).output;
  EXPECT_LE(rel_err(out, ref), 1e-5);
  EXPECT_THROW(flash_decode(q, kc, vc, cap + 1), Error);
}

TEST(AttnFlash, MasksThatBroadcastAreReadNotCopied) {
  Generator g(7);
  // A padding-style bias (B, 1, 1, S), a per-batch 3-d mask for 3-d inputs, and a 1-d bias over keys.
  Tensor q = Tensor::randn({2, 2, 5, 8}, g), k = Tensor::randn({2, 2, 70, 8}, g), v = Tensor::randn({2, 2, 70, 8}, g);
  Tensor row_bias = Tensor::randn({2, 1, 1, 70}, g);
  auto f = flash_attention(q, k, v, SdpaOptions().mask(row_bias));
  auto c = scaled_dot_product_attention_math(q, k, v, SdpaOptions().mask(row_bias));
  EXPECT_LE(rel_err(f.output, c.output), 1e-5);
  Tensor key_bias = Tensor::randn({70}, g);
  EXPECT_LE(rel_err(flash_attention(q, k, v, SdpaOptions().mask(key_bias)).output,
                    scaled_dot_product_attention_math(q, k, v, SdpaOptions().mask(key_bias)).output),
            1e-5);
  Tensor q3 = Tensor::randn({2, 5, 8}, g), k3 = Tensor::randn({2, 6, 8}, g), v3 = Tensor::randn({2, 6, 8}, g);
  Tensor per_batch = Tensor::randn({2, 5, 6}, g);
  auto f3 = scaled_dot_product_attention(q3, k3, v3, SdpaOptions().mask(per_batch));
  auto c3 = scaled_dot_product_attention_math(q3, k3, v3, SdpaOptions().mask(per_batch));
  EXPECT_LE(rel_err(f3.output, c3.output), 1e-5);
  // A learned bias cannot be differentiated by the fused kernel: asking it to is an error, not a silent 0.
  Tensor learned = Tensor::zeros({5, 70}).requires_grad_();
  EXPECT_THROW(flash_attention(q, k, v, SdpaOptions().mask(learned)), Error);
}

TEST(AttnFlash, NanPropagatesLikeTheComposedPath) {
  Generator g(8);
  Tensor q = Tensor::randn({1, 1, 4, 16}, g), k = Tensor::randn({1, 1, 70, 16}, g),
         v = Tensor::randn({1, 1, 70, 16}, g);
  q.at({0, 0, 2, 0}) = NAN;  // one query
  k.at({0, 0, 5, 3}) = NAN;  // one key, inside a full 8-wide chunk
  FlashOutput f = flash_attention_with_lse(q, k, v);
  Tensor c = scaled_dot_product_attention_math(q, k, v).output;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t d = 0; d < 16; ++d)
      EXPECT_EQ(std::isnan(f.output.at({0, 0, i, d})), std::isnan(c.at({0, 0, i, d}))) << i << "," << d;
  EXPECT_TRUE(std::isnan(f.output.at({0, 0, 2, 0})));
  EXPECT_TRUE(std::isnan(f.lse.at({0, 0, 2})));
  // Decoding (split-KV, whose merge takes a max over the splits' maxima) must not hide a NaN either: a NaN
  // query, and a NaN key in a short cache (one split) or a long one (several).
  for (int64_t S : {int64_t{70}, int64_t{1500}}) {
    Tensor kc = Tensor::randn({1, 2, S, 16}, g), vc = Tensor::randn({1, 2, S, 16}, g);
    Tensor q1 = Tensor::randn({1, 2, 1, 16}, g);
    q1.at({0, 0, 0, 3}) = NAN;      // head 0: a NaN query
    kc.at({0, 1, S / 2, 7}) = NAN;  // head 1: a NaN key
    Tensor o = flash_decode(q1, kc, vc, S);
    for (int64_t h = 0; h < 2; ++h) EXPECT_TRUE(std::isnan(o.at({0, h, 0, 0}))) << "S " << S << " head " << h;
  }
}

TEST(AttnFlash, CausalWithMoreQueriesThanKeys) {
  // L > S: the first L - S queries see no key at all (zeros), the rest see a growing prefix.
  check_case({1, 2, 2, 70, 40, 16, 16, true}, 900);
  // ... and where a 16-row block of a diagonal tile sees no key of that tile (skipped, not computed).
  check_case({1, 2, 1, 100, 37, 32, 32, true}, 901);
}

TEST(AttnFlash, CausalDiagonalTilesInBlocksOverShapes) {
  // Tiles the diagonal crosses are computed 16 query rows at a time, each block as wide as it sees
  // (rounded up to 16): every remainder of 16 and of the 64-wide tile, queries = keys and keys > queries.
  uint64_t seed = 1000;
  for (int64_t T : {16, 17, 31, 48, 64, 65, 96, 127, 128, 130, 200})
    for (int64_t D : {32, 64}) {
      check_case({1, 3, 3, T, T, D, D, true}, seed++);
      check_case({2, 2, 1, T, T + 13, D, D, true}, seed++);
    }
  check_case({1, 2, 2, 130, 130, 32, 32, true, 40}, seed++);  // a window's diagonal tiles
}

}  // namespace
}  // namespace attn
