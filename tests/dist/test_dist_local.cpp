// The distributed layer on one process: the grad-ready hook that drives bucketed reduction, the ring's sequence
// layout, the ring's steps and merges (simulated ranks, against the fused kernel), and DataParallel with one rank
// against the one-process optimizer. The same code on several ranks: tests/dist/mpi (run under mpirun).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "attn/attention/flash.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/dist/data_parallel.h"
#include "attn/dist/ring_attention.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "attn/trainers/common.h"
#include "test_util.h"

namespace {

using namespace attn;

float worst_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float x = a.data()[i], y = b.data()[i];
    if (std::isinf(x) && x == y) continue;
    m = std::max(m, std::fabs(x - y));
  }
  return m;
}

Tensor param(const Shape& s, Generator& g) {
  Tensor t = Tensor::randn(s, g);
  t.requires_grad_(true);
  return t;
}

TEST(GradReadyHook, EachLeafOnceWithItsWholeGradient) {
  Generator g(3);
  Tensor w1 = param({5, 4}, g), b1 = param({5}, g), w2 = param({3, 5}, g), unused = param({2}, g);
  Tensor x = Tensor::randn({6, 4}, g);
  auto loss_of = [&] {
    Tensor h = tanh(linear(x, w1, b1));
    Tensor y = linear(h, w2);
    return add(sum(mul(y, y)), sum(mul(w1, w1)));  // w1 reaches the loss twice: its hook must come after both
  };
  Tensor ref_loss = loss_of();
  std::vector<Tensor> ref = grad(ref_loss, {w1, b1, w2});

  std::map<const void*, int> calls;
  std::map<const void*, std::vector<float>> seen;
  backward_with_hook(loss_of(), [&](const Tensor& leaf) {
    ++calls[leaf.impl()];
    Tensor gr = leaf.grad();
    seen[leaf.impl()] = std::vector<float>(gr.data(), gr.data() + gr.numel());
  });
  const Tensor* leaves[3] = {&w1, &b1, &w2};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(calls[leaves[i]->impl()], 1) << "leaf " << i;
    const std::vector<float>& got = seen[leaves[i]->impl()];
    ASSERT_EQ(static_cast<int64_t>(got.size()), ref[static_cast<size_t>(i)].numel());
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_FLOAT_EQ(got[k], ref[static_cast<size_t>(i)].data()[k]) << "leaf " << i;
  }
  EXPECT_EQ(calls.count(unused.impl()), 0u);
  // The order is backward's: the last layer's weight is complete before the first's.
  std::vector<const void*> order;
  backward_with_hook(loss_of(), [&](const Tensor& leaf) { order.push_back(leaf.impl()); });
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], w2.impl());
}

TEST(RingShard, ZigZagCoversEverythingOnceAndBalances) {
  for (int world : {1, 2, 3, 4}) {
    for (int64_t T : {int64_t{2} * world, int64_t{37}, int64_t{64}, int64_t{1001}}) {
      if (T < 2 * world) continue;
      for (bool zigzag : {false, true}) {
        std::set<int64_t> covered;
        int64_t lo = T, hi = 0;
        for (int r = 0; r < world; ++r) {
          const dist::SequenceShard s = dist::ring_shard(T, world, r, zigzag);
          ASSERT_EQ(s.chunks.size(), zigzag ? 2u : 1u);
          for (const auto& c : s.chunks)
            for (int64_t p = c.start; p < c.start + c.length; ++p) EXPECT_TRUE(covered.insert(p).second) << p;
          lo = std::min(lo, s.length());
          hi = std::max(hi, s.length());
        }
        EXPECT_EQ(static_cast<int64_t>(covered.size()), T);
        EXPECT_LE(hi - lo, zigzag ? 2 : 1) << "T " << T << " world " << world;
      }
    }
  }
  // Rank 0 of 2, zig-zag over 8 positions: chunks 0 and 3 of four.
  const dist::SequenceShard s = dist::ring_shard(8, 2, 0, true);
  EXPECT_EQ(s.chunks[0].start, 0);
  EXPECT_EQ(s.chunks[1].start, 6);
  EXPECT_NE(attn::testing::error_of([] { dist::ring_shard(3, 2, 0, true); }).find("cannot be split over 2 ranks"),
            std::string::npos);
  EXPECT_NE(attn::testing::error_of([] { dist::ring_shard(1, 2, 0, false); }).find("T >= ranks"), std::string::npos);
}

TEST(RingShard, TakeAndJoinRoundTrip) {
  Generator g(5);
  Tensor x = Tensor::randn({2, 3, 13, 4}, g);
  std::vector<Tensor> parts;
  std::vector<dist::SequenceShard> shards;
  for (int r = 0; r < 3; ++r) {
    shards.push_back(dist::ring_shard(13, 3, r, true));
    parts.push_back(dist::take_shard(x, shards.back()));
  }
  EXPECT_EQ(worst_diff(dist::join_shards(parts, shards, 13), x), 0.f);
}

// The ring's steps and log-sum-exp merges, N ranks simulated in one process, against the fused kernel.
TEST(SimulatedRing, EqualsTheFusedKernel) {
  struct Case {
    int64_t B, H, Hkv, T, D, Dv;
    bool causal;
  };
  const Case cases[] = {{1, 2, 2, 16, 8, 8, false},
                        {2, 4, 2, 37, 16, 8, true},
                        {1, 4, 1, 23, 8, 8, true},
                        {2, 2, 2, 64, 32, 32, true},
                        {1, 3, 3, 9, 4, 4, false}};
  for (const Case& c : cases) {
    Generator g(11);
    Tensor q = Tensor::randn({c.B, c.H, c.T, c.D}, g), k = Tensor::randn({c.B, c.Hkv, c.T, c.D}, g),
           v = Tensor::randn({c.B, c.Hkv, c.T, c.Dv}, g);
    SdpaOptions o;
    o.is_causal = c.causal;
    const FlashOutput ref = flash_attention_with_lse(q, k, v, o);
    for (int world : {1, 2, 3, 4}) {
      if (c.T < (c.causal ? 2 : 1) * world) continue;
      dist::RingAttentionOptions ro;
      ro.causal = c.causal;
      const dist::SimulatedRing ring = dist::simulate_ring_attention(q, k, v, world, ro);
      EXPECT_LT(worst_diff(ring.out, ref.output), 1e-5f) << "T " << c.T << " world " << world << " causal " << c.causal;
      EXPECT_LT(worst_diff(ring.lse, ref.lse), 1e-5f) << "T " << c.T << " world " << world;
      // zig-zag: every rank computes 2N + 1 blocks (its two query chunks see r + 1 and 2N − r key chunks)
      if (c.causal) {
        for (int r = 0; r < world; ++r) EXPECT_EQ(ring.rank_pairs[static_cast<size_t>(r)], 2 * world + 1);
      }
    }
  }
}

// A tiny two-layer model: weights (decay group) and biases (no_decay group).
struct Tiny {
  Tensor w1, b1, w2, b2;
  explicit Tiny(uint64_t seed) {
    Generator g(seed);
    w1 = param({8, 6}, g), b1 = param({8}, g), w2 = param({3, 8}, g), b2 = param({3}, g);
  }
  Tensor loss(const Tensor& x) const {
    Tensor y = linear(tanh(linear(x, w1, b1)), w2, b2);
    return mean(mul(y, y));
  }
  std::vector<Tensor> decay() const { return {w1, w2}; }
  std::vector<Tensor> no_decay() const { return {b1, b2}; }
};

// One rank: DataParallel's buckets, clipping and AdamW are the one-process trainer's TwoGroupAdamW +
// clip_grad_norm_ (to float rounding), and its checkpoint is that optimizer's file.
TEST(DataParallelOneRank, MatchesTheOneProcessOptimizer) {
  Tiny a(7), b(7);
  dist::DataParallelOptions o;
  o.bucket_bytes = 16;  // several buckets on a tiny model
  o.beta1 = 0.9f, o.beta2 = 0.95f, o.weight_decay = 0.1f;
  dist::DataParallel dp(dist::world(), a.decay(), a.no_decay(), o);
  EXPECT_GT(dp.num_buckets(), 2);
  trainers::TwoGroupAdamW opt(b.decay(), b.no_decay(), 1e-2f, 0.9f, 0.95f, 0.1f);
  Generator g(9);
  for (int step = 0; step < 5; ++step) {
    Tensor x = Tensor::randn({4, 6}, g);
    dp.backward(a.loss(x));
    const float na = dp.clip_grad_norm(0.5f);
    dp.step(1e-2f);
    b.loss(x).backward();
    const float nb = nn::clip_grad_norm_({b.w1, b.b1, b.w2, b.b2}, 0.5f);
    opt.step();
    opt.zero_grad();
    EXPECT_NEAR(na, nb, 1e-5f * std::max(1.f, nb));
  }
  EXPECT_LT(worst_diff(a.w1, b.w1), 1e-5f);
  EXPECT_LT(worst_diff(a.b2, b.b2), 1e-5f);

  // Saved by DataParallel, read by TwoGroupAdamW (and the other way round): the same moments.
  const std::string dir = attn::testing::fresh_dir("dp_one_rank");
  dp.save_optimizer(dir + "/dp.safetensors", 5, {{"note", "x"}});
  Tiny c(7);
  trainers::TwoGroupAdamW back(c.decay(), c.no_decay(), 1e-2f, 0.9f, 0.95f, 0.1f);
  EXPECT_EQ(back.load(dir + "/dp.safetensors", "test"), 5);
  const nn::StateDict mine = back.decay->state_dict(), theirs = opt.decay->state_dict();
  EXPECT_LT(worst_diff(mine.at("exp_avg.0"), theirs.at("exp_avg.0")), 1e-6f);
  EXPECT_EQ(mine.at("step.1").item(), 5.f);
  opt.save(dir + "/opt.safetensors", 5);
  dist::DataParallel dp2(dist::world(), c.decay(), c.no_decay(), o);
  std::map<std::string, std::string> meta;
  EXPECT_EQ(dp2.load_optimizer(dir + "/opt.safetensors", "test", &meta), 5);
  // A file for another model is refused by name.
  Tiny other(1);
  Generator gx(1);
  Tensor extra = param({2, 2}, gx);
  dist::DataParallel dp3(dist::world(), {other.w1, extra}, other.no_decay(), o);
  EXPECT_NE(attn::testing::error_of([&] {
              dp3.load_optimizer(dir + "/opt.safetensors", "test", nullptr);
            }).find("wrong shape"),
            std::string::npos);
}

// A parameter the loss does not use gets a zero gradient, and the others in its bucket keep theirs.
TEST(DataParallelOneRank, UnusedParameterGetsZeroWithoutErasingItsBucket) {
  Tiny a(7);
  Generator g(2);
  Tensor unused = param({5}, g);
  dist::DataParallelOptions o;  // one bucket of 1 MiB holds everything
  dist::DataParallel dp(dist::world(), a.decay(), {a.b1, a.b2, unused}, o);
  EXPECT_EQ(dp.num_buckets(), 1);
  Tensor x = Tensor::randn({4, 6}, g);
  std::vector<Tensor> ref = grad(a.loss(x), {a.w1, a.w2, a.b1, a.b2});
  dp.backward(a.loss(x));
  std::vector<float> expect;
  for (const Tensor& t : ref) expect.insert(expect.end(), t.data(), t.data() + t.numel());
  expect.insert(expect.end(), 5, 0.f);
  ASSERT_EQ(dp.flat_grad().size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_FLOAT_EQ(dp.flat_grad()[i], expect[i]) << i;
}

}  // namespace
