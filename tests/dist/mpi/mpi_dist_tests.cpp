// The distributed layer on several ranks, run by CTest as `mpirun -np 2` and `mpirun -np 3` (oversubscribed on a
// 2-core machine). As the ring-attention reference code tests its kernels: rank 0 draws the inputs and broadcasts
// them, computes the full attention with the single-process fused kernel as the reference and broadcasts that too;
// every rank runs the ring on its shard and compares its chunk of out, lse, dq, dk, dv.
//
// Every rank runs every test in the same order (the collectives inside must match); only rank 0 prints gtest's
// report, the others print their failures prefixed with their rank. A test that fails on one rank while others wait
// in a collective ends through the communicator's deadline (ATTN_DIST_TIMEOUT, set short by CTest), not a hang.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "attn/attention/flash.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/dist/communicator.h"
#include "attn/dist/data_parallel.h"
#include "attn/dist/ring_attention.h"
#include "attn/kernels/flash_attention.h"
#include "attn/ops/ops.h"

namespace {

using namespace attn;

dist::Communicator& comm() { return dist::world(); }

void bcast(Tensor& t) {
  comm().broadcast(t.data(), t.numel() * static_cast<int64_t>(sizeof(float)), 0, "test broadcast");
}

float worst_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i) {
    const float x = a.data()[i], y = b.data()[i];
    if (std::isinf(x) && x == y) continue;
    m = std::max(m, std::fabs(x - y));
  }
  return m;
}

struct Case {
  int64_t B, H, Hkv, T, D, Dv;
  bool causal;
};

// Reference on rank 0: the fused kernel over the whole sequence, forward and backward (dout broadcast too).
struct Reference {
  Tensor q, k, v, dout, out, lse, dq, dk, dv;
};

Reference reference(const Case& c, uint64_t seed) {
  Reference r;
  Generator g(seed);
  r.q = Tensor::randn({c.B, c.H, c.T, c.D}, g);
  r.k = Tensor::randn({c.B, c.Hkv, c.T, c.D}, g);
  r.v = Tensor::randn({c.B, c.Hkv, c.T, c.Dv}, g);
  r.dout = Tensor::randn({c.B, c.H, c.T, c.Dv}, g);
  r.out = Tensor::zeros({c.B, c.H, c.T, c.Dv});
  r.lse = Tensor::zeros({c.B, c.H, c.T});
  r.dq = Tensor::zeros(r.q.shape());
  r.dk = Tensor::zeros(r.k.shape());
  r.dv = Tensor::zeros(r.v.shape());
  for (Tensor* t : {&r.q, &r.k, &r.v, &r.dout}) bcast(*t);  // rank 0's draws are everyone's inputs
  if (comm().rank() == 0) {
    kernels::FlashParams p;
    p.B = c.B, p.H = c.H, p.Hkv = c.Hkv, p.L = c.T, p.S = c.T, p.D = c.D, p.Dv = c.Dv;
    p.scale = 1.f / std::sqrt(static_cast<float>(c.D));
    p.causal = c.causal;
    kernels::flash_attention_forward(p, r.q.data(), r.k.data(), r.v.data(), r.out.data(), r.lse.data());
    kernels::flash_attention_backward(p, r.q.data(), r.k.data(), r.v.data(), r.out.data(), r.lse.data(), r.dout.data(),
                                      r.dq.data(), r.dk.data(), r.dv.data());
  }
  for (Tensor* t : {&r.out, &r.lse, &r.dq, &r.dk, &r.dv}) bcast(*t);
  return r;
}

TEST(RingAttention, EqualsTheFusedKernelOnEveryRank) {
  const int N = comm().size();
  const Case cases[] = {
      {1, 2, 2, 64, 16, 16, false},     {1, 2, 2, 64, 16, 16, true},  // even lengths
      {2, 4, 2, 37, 8, 8, true},        {2, 4, 2, 37, 8, 8, false},   // odd, not divisible by the ranks; GQA
      {1, 4, 1, 29, 16, 8, true},                                     // MQA, Dv != D
      {1, 2, 2, 6 * N + 1, 8, 8, true},                               // chunks of unequal length
      {1, 1, 1, 2 * N, 4, 4, true},                                   // one position per chunk
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    const Reference ref = reference(c, seed++);
    const dist::SequenceShard shard = dist::ring_shard(c.T, N, comm().rank(), c.causal);
    dist::RingAttentionOptions o;
    o.causal = c.causal;
    Tensor q = dist::take_shard(ref.q, shard), k = dist::take_shard(ref.k, shard), v = dist::take_shard(ref.v, shard);
    const dist::RingForward f = dist::ring_attention_forward(comm(), q, k, v, c.T, o);
    const std::string what = "T " + std::to_string(c.T) + (c.causal ? " causal" : "") + " Hkv " + std::to_string(c.Hkv);
    EXPECT_LT(worst_diff(f.out, dist::take_shard(ref.out, shard)), 1e-5f) << what;
    EXPECT_LT(worst_diff(f.lse, dist::take_shard(ref.lse, shard)), 1e-5f) << what;
    const dist::RingGradients g =
        dist::ring_attention_backward(comm(), q, k, v, f.out, f.lse, dist::take_shard(ref.dout, shard), c.T, o);
    EXPECT_LT(worst_diff(g.dq, dist::take_shard(ref.dq, shard)), 1e-5f) << what;
    EXPECT_LT(worst_diff(g.dk, dist::take_shard(ref.dk, shard)), 1e-5f) << what;
    EXPECT_LT(worst_diff(g.dv, dist::take_shard(ref.dv, shard)), 1e-5f) << what;
  }
}

// The op in a graph: backward() on every rank gives the shard's gradients of Σ out ⊙ dout.
TEST(RingAttention, DifferentiableOp) {
  const Case c{1, 2, 1, 45, 8, 8, true};
  const Reference ref = reference(c, 7);
  const dist::SequenceShard shard = dist::ring_shard(c.T, comm().size(), comm().rank(), true);
  Tensor q = dist::take_shard(ref.q, shard), k = dist::take_shard(ref.k, shard), v = dist::take_shard(ref.v, shard);
  q.requires_grad_(true), k.requires_grad_(true), v.requires_grad_(true);
  dist::RingAttentionOptions o;
  o.causal = true;
  Tensor out = dist::ring_attention(comm(), q, k, v, c.T, o);
  sum(mul(out, dist::take_shard(ref.dout, shard))).backward();
  EXPECT_LT(worst_diff(q.grad(), dist::take_shard(ref.dq, shard)), 1e-5f);
  EXPECT_LT(worst_diff(k.grad(), dist::take_shard(ref.dk, shard)), 1e-5f);
  EXPECT_LT(worst_diff(v.grad(), dist::take_shard(ref.dv, shard)), 1e-5f);
}

// Bad input: every rank gets the same clear error, none waits forever.
TEST(RingAttention, MismatchesAreReportedByEveryRank) {
  const int N = comm().size(), r = comm().rank();
  const int64_t T = 4 * N;
  const dist::SequenceShard shard = dist::ring_shard(T, N, r, true);
  Generator g(1);
  // Rank 1 has another head dim than the rest.
  const int64_t D = r == 1 ? 16 : 8;
  Tensor q = Tensor::randn({1, 2, shard.length(), D}, g), k = Tensor::randn({1, 2, shard.length(), D}, g),
         v = Tensor::randn({1, 2, shard.length(), 8}, g);
  dist::RingAttentionOptions o;
  o.causal = true;
  try {
    dist::ring_attention_forward(comm(), q, k, v, T, o);
    ADD_FAILURE() << "no error on rank " << r;
  } catch (const dist::CollectiveError& e) {
    EXPECT_NE(std::string(e.what()).find("the head dim D differs across ranks: rank 0 has 8, rank 1 has 16"),
              std::string::npos)
        << e.what();
  }
  // T smaller than the chunks the ranks need: an error on every rank (before any message is sent).
  Tensor tiny = Tensor::randn({1, 1, 1, 4}, g);
  try {
    dist::ring_attention_forward(comm(), tiny, tiny, tiny, 1, o);
    ADD_FAILURE() << "no error on rank " << r;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be split over " + std::to_string(N) + " ranks"), std::string::npos)
        << e.what();
  }
}

// DataParallel: the averaged gradient is the mean of every rank's own (each rank computes all of them to check),
// in many small buckets; with ZeRO, this rank's shard of it, and after a step the same parameters everywhere.
TEST(DataParallel, AveragesGradientsAndKeepsReplicasEqual) {
  const int N = comm().size(), r = comm().rank();
  for (bool zero : {false, true}) {
    Generator g(3);
    // 12,288 + 640 + 128 parameters: four of the 4096-float chunks that ZeRO's shards are cut on.
    Tensor w1 = Tensor::randn({128, 96}, g), b1 = Tensor::randn({128}, g), w2 = Tensor::randn({5, 128}, g);
    for (Tensor* t : {&w1, &b1, &w2}) t->requires_grad_(true);
    auto loss_of = [&](int rank) {
      Generator dg(1000 + static_cast<uint64_t>(rank));
      Tensor x = Tensor::randn({3, 96}, dg);
      Tensor y = linear(tanh(linear(x, w1, b1)), w2);
      return mean(mul(y, y));
    };
    // The expected mean gradient, flat in DataParallel's order (decay group w1, w2; then no_decay b1).
    std::vector<float> expect;
    {
      std::vector<Tensor> sum_g;
      for (int q = 0; q < N; ++q) {
        std::vector<Tensor> gq = grad(loss_of(q), {w1, w2, b1});
        if (sum_g.empty()) {
          sum_g = gq;
        } else {
          for (size_t i = 0; i < gq.size(); ++i) sum_g[i] = add(sum_g[i], gq[i]);
        }
      }
      for (const Tensor& t : sum_g)
        for (int64_t i = 0; i < t.numel(); ++i) expect.push_back(t.data()[i] / static_cast<float>(N));
    }
    dist::DataParallelOptions o;
    o.bucket_bytes = 4;  // one parameter per bucket (a bucket never splits a parameter)
    o.zero = zero;
    dist::DataParallel dp(comm(), {w1, w2}, {b1}, o);
    EXPECT_EQ(dp.num_buckets(), 3);
    dp.backward(loss_of(r));
    const auto [lo, hi] = dp.shard();
    if (zero) {
      EXPECT_LT(hi - lo, dp.num_parameters()) << "a shard, not everything";
    }
    float worst = 0;
    for (int64_t i = lo; i < hi; ++i)
      worst = std::max(worst, std::fabs(dp.flat_grad()[static_cast<size_t>(i)] - expect[static_cast<size_t>(i)]));
    EXPECT_LT(worst, 1e-6f) << (zero ? "ZeRO" : "allreduce");
    dp.clip_grad_norm(1.f);
    dp.step(1e-2f);
    // Replicas equal: rank 0's parameters broadcast and compared.
    Tensor w = w1.detach().clone();
    bcast(w);
    EXPECT_EQ(worst_diff(w, w1), 0.f);
  }
}

// The other ranks print only their failures, prefixed with the rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?", r.line_number(),
                   r.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  attn::dist::Communicator& c = attn::dist::world();
  if (!c.distributed()) {
    std::fprintf(stderr, "run these tests under mpirun with 2 or more ranks (CTest does: dist_mpi_2, dist_mpi_3)\n");
    return 2;
  }
  if (c.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(c.rank()));
  }
  return RUN_ALL_TESTS();
}
