// attn/trainers/parallel.h on one process: how a batch is shared over ranks, the loss weights that make the averaged
// gradient the whole batch's (checked by simulating the ranks' backward passes here, rank by rank, against the whole
// batch's), the one-process update against TwoGroupAdamW, and the fingerprints ranks compare. The MPI side is
// tests/apps/test_train_mpi.cpp (mpirun -np 2, 3).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "attn/trainers/common.h"
#include "attn/trainers/parallel.h"
#include "test_util.h"

namespace {

using namespace attn;
using trainers::shard_of;
using trainers::shard_weight;

TEST(TrainerParallel, ShardsAreContiguousCoverEverythingAndDifferByAtMostOne) {
  for (int64_t n : {0, 1, 2, 5, 10, 11, 128}) {
    for (int size : {1, 2, 3, 4, 7}) {
      int64_t next = 0, lo = n, hi = 0;
      for (int r = 0; r < size; ++r) {
        const auto [first, count] = shard_of(n, r, size);
        EXPECT_EQ(first, next) << n << " items, rank " << r << " of " << size;
        next += count;
        lo = std::min(lo, count), hi = std::max(hi, count);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1);
    }
  }
  EXPECT_EQ(shard_of(10, 0, 3), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(shard_of(10, 2, 3), (std::pair<int64_t, int64_t>{7, 3}));
  EXPECT_EQ(shard_of(1, 1, 2).second, 0) << "fewer items than ranks: an empty share";
  EXPECT_NE(attn::testing::error_of([] { shard_of(4, 2, 2); }).find("rank 2 of 2"), std::string::npos);
  EXPECT_NE(attn::testing::error_of([] { shard_weight(0, 0, 2); }).find("0 of 0 items"), std::string::npos);
}

// Σ_r (1/N) ∇(w_r · loss_r) over simulated ranks equals ∇(mean loss over the batch), for shares of unequal size and
// an empty one; the logged loss Σ_r loss_r · n_r / n equals the batch's.
TEST(TrainerParallel, WeightedShareLossesAverageToTheWholeBatchGradient) {
  Generator gen(5);
  const int64_t C = 4, D = 6;
  Tensor w = Tensor::randn({C, D}, gen).requires_grad_();
  for (const auto& [n, size] : std::vector<std::pair<int64_t, int>>{{7, 3}, {10, 4}, {2, 3}}) {
    const Tensor x = Tensor::randn({n, D}, gen);
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < n; ++i) labels.push_back((i * 3) % C);
    auto rows_loss = [&](int64_t first, int64_t count) {
      std::vector<int64_t> y(labels.begin() + first, labels.begin() + first + count);
      return cross_entropy(linear(slice(x, 0, first, first + count), w), IndexTensor(y));
    };
    Tensor whole = rows_loss(0, n);
    whole.backward();
    const std::vector<float> expected(w.grad().data(), w.grad().data() + w.numel());
    const double expected_loss = whole.item();

    std::vector<double> averaged(static_cast<size_t>(w.numel()), 0.0);
    double logged = 0;
    for (int r = 0; r < size; ++r) {
      w.zero_grad();
      const auto [first, count] = shard_of(n, r, size);
      Tensor loss = rows_loss(count > 0 ? first : 0, count > 0 ? count : 1);  // an empty share: one item, weight 0
      mul(loss, static_cast<float>(shard_weight(n, count, size))).backward();
      for (int64_t i = 0; i < w.numel(); ++i) averaged[static_cast<size_t>(i)] += w.grad().data()[i] / size;
      if (count > 0) logged += loss.item() * static_cast<double>(count) / static_cast<double>(n);
    }
    w.zero_grad();
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_NEAR(averaged[i], expected[i], 1e-6) << n << " items on " << size;
    EXPECT_NEAR(logged, expected_loss, 1e-6);
  }
}

TEST(TrainerParallel, OneProcessUpdateIsTwoGroupAdamW) {
  Generator gen(2);
  Tensor a = Tensor::randn({3, 4}, gen).requires_grad_(), b = Tensor::randn({3}, gen).requires_grad_();
  Tensor a2 = a.detach().clone().requires_grad_(), b2 = b.detach().clone().requires_grad_();
  trainers::Ranks& one = trainers::one_process();
  EXPECT_EQ(one.size(), 1);
  EXPECT_TRUE(one.lead());
  const auto update = one.update({a}, {b}, 0.1f, {0.9f, 0.98f, 1e-9f, 0.05f});
  trainers::TwoGroupAdamW ref({a2}, {b2}, 0.1f, 0.9f, 0.98f, 0.05f, 1e-9f);
  const Tensor x = Tensor::randn({2, 4}, gen);
  for (int step = 0; step < 3; ++step) {
    const float lr = 0.1f / static_cast<float>(step + 1);
    update->backward(sum(mul(linear(x, a, b), linear(x, a, b))));
    EXPECT_GT(update->clip_grad_norm(0.5f), 0.f);
    update->step(lr);
    sum(mul(linear(x, a2, b2), linear(x, a2, b2))).backward();
    nn::clip_grad_norm_({a2, b2}, 0.5f);
    ref.set_lr(lr);
    ref.step();
    ref.zero_grad();
  }
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a.data()[i], a2.data()[i]);
  for (int64_t i = 0; i < b.numel(); ++i) EXPECT_EQ(b.data()[i], b2.data()[i]);
  EXPECT_FALSE(a.grad().defined()) << "step() clears the gradients";
}

TEST(TrainerParallel, FingerprintsTellDataApart) {
  const std::string x = "der Hund", y = "der Hunt";
  EXPECT_EQ(trainers::fingerprint(x.data(), x.size()), trainers::fingerprint(x.data(), x.size()));
  EXPECT_NE(trainers::fingerprint(x.data(), x.size()), trainers::fingerprint(y.data(), y.size()));
  const uint64_t h = trainers::fingerprint("ab", 2);
  EXPECT_EQ(trainers::fingerprint("b", 1, trainers::fingerprint("a", 1)), h) << "chained = whole";
  EXPECT_EQ(trainers::fingerprint(nullptr, 0), 0xcbf29ce484222325ull);
}

}  // namespace
