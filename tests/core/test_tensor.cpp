// Tensor, shapes, RNG: construction, printing, errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "attn/core/error.h"
#include "attn/core/memory.h"
#include "attn/core/rng.h"
#include "attn/core/shape.h"
#include "attn/core/tensor.h"
#include "attn/ops/ops.h"

namespace attn {
namespace {

TEST(Memory, FreedLargeBuffersAreReusedBySize) {
  memory::empty_cache();
  EXPECT_EQ(memory::cached_bytes(), 0u);
  const size_t big = memory::kCacheMinBytes * 2;
  void* a = memory::allocate(big);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  memory::release(a, big);
  EXPECT_EQ(memory::cached_bytes(), big);
  void* other = memory::allocate(big + 64);  // another size: not that block
  EXPECT_NE(other, a);
  EXPECT_EQ(memory::cached_bytes(), big);
  void* again = memory::allocate(big);  // the same size: the same block back
  EXPECT_EQ(again, a);
  EXPECT_EQ(memory::cached_bytes(), 0u);
  memory::release(again, big);
  memory::release(other, big + 64);
  EXPECT_EQ(memory::cached_bytes(), 2 * big + 64);
  memory::empty_cache();
  EXPECT_EQ(memory::cached_bytes(), 0u);
  void* small = memory::allocate(64);  // below kCacheMinBytes: straight to malloc and back
  memory::release(small, 64);
  EXPECT_EQ(memory::cached_bytes(), 0u);
}

TEST(Memory, ATensorOfTheSameSizeReusesTheLastOnesStorage) {
  memory::empty_cache();
  const int64_t n = static_cast<int64_t>(memory::kCacheMinBytes);  // floats: 4× the threshold in bytes
  const float* first = nullptr;
  {
    Tensor t = Tensor::zeros({n});
    first = t.data();
  }
  Tensor u = Tensor::empty({n / 2, 2});
  EXPECT_EQ(u.data(), first);
  memory::empty_cache();  // u's block is in use: not in the cache, so it stays
  EXPECT_EQ(u.data(), first);
}

TEST(Tensor, FactoriesFillShapesAndValues) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dim(), 2);
  EXPECT_EQ(z.size(-1), 3);
  for (float v : z.to_vector()) EXPECT_EQ(v, 0.f);
  EXPECT_EQ(Tensor::full({2}, 7.f).to_vector(), (std::vector<float>{7.f, 7.f}));
  EXPECT_EQ(Tensor::arange(4).to_vector(), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(Tensor::eye(2).to_vector(), (std::vector<float>{1, 0, 0, 1}));
  Tensor s = Tensor::scalar(3.f);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 3.f);
}

TEST(Tensor, DataIsAlignedForSimd) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  }
}

TEST(Tensor, CopiesShareDataCloneDoesNot) {
  Tensor a = Tensor::zeros({2});
  Tensor b = a;  // a handle, like torch
  b.at({0}) = 5.f;
  EXPECT_EQ(a.at({0}), 5.f);
  Tensor c = a.clone();
  c.at({0}) = 1.f;
  EXPECT_EQ(a.at({0}), 5.f);
}

TEST(Tensor, AtIsBoundsChecked) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_EQ(t.at({1, -1}), 0.f);
  EXPECT_THROW(t.at({2, 0}), Error);
  EXPECT_THROW(t.at({0}), Error);
  try {
    t.at({0, 3});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[at]"), std::string::npos);
  }
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  try {
    Tensor::from_vector({1, 2, 3}, {2, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[from_vector] 3 values do not fill shape (2, 2) (4 elements)");
  }
  EXPECT_THROW(Tensor::zeros({2}).item(), Error);
  EXPECT_THROW(Tensor::zeros({-1}), Error);
  EXPECT_THROW(Tensor().shape(), Error);
}

TEST(Tensor, PrintsLikePytorch) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  const std::string s = t.to_string();
  EXPECT_EQ(s.rfind("tensor([[", 0), 0u) << s;
  EXPECT_NE(s.find("shape=(2, 2)"), std::string::npos) << s;
  EXPECT_NE(s.find("4.0000"), std::string::npos) << s;
  // Long dims are elided.
  const std::string l = Tensor::zeros({100}).to_string();
  EXPECT_NE(l.find("..."), std::string::npos);
  EXPECT_LT(l.size(), 200u);
  Tensor g = Tensor::zeros({1}).requires_grad_();
  EXPECT_NE(g.to_string().find("requires_grad=True"), std::string::npos);
}

TEST(Shape, BroadcastFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {3}, "t"), (Shape{3}));
  EXPECT_EQ(broadcast_shapes({5, 1}, {1, 1}, "t"), (Shape{5, 1}));
  try {
    broadcast_shapes({2, 3}, {4, 3}, "add");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[add] shapes (2, 3) and (4, 3) do not broadcast (dim 0: 2 vs 4)");
  }
}

TEST(Shape, WrapDimHandlesNegativesAndRange) {
  EXPECT_EQ(wrap_dim(-1, 3, "t"), 2);
  EXPECT_EQ(wrap_dim(0, 3, "t"), 0);
  EXPECT_THROW(wrap_dim(3, 3, "t"), Error);
  EXPECT_THROW(wrap_dim(-4, 3, "t"), Error);
}

TEST(Rng, SameSeedSameStreamSameNumbers) {
  Generator a(42, 1), b(42, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(Rng, StreamsAreIndependent) {
  Generator a(42, 1), b(42, 2);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.next_u32() == b.next_u32();
  EXPECT_LT(same, 3);
}

TEST(Rng, StateRoundTripResumesTheSequence) {
  Generator a(7);
  for (int i = 0; i < 10; ++i) a.normal();
  auto st = a.get_state();
  const float next = a.normal(), after = a.uniform();
  Generator b(0);
  b.set_state(st);
  EXPECT_EQ(b.normal(), next);
  EXPECT_EQ(b.uniform(), after);
}

TEST(Rng, DistributionsHaveTheRightMoments) {
  Generator g(3);
  double s = 0, s2 = 0, u = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = g.normal();
    s += x;
    s2 += x * x;
    u += g.uniform();
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
  EXPECT_NEAR(u / n, 0.5, 0.005);
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t r = g.randint(7);
    EXPECT_LT(r, 7u);
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 7u);
}

}  // namespace
}  // namespace attn

namespace attn {
namespace {

// from_blob: a tensor over memory someone else owns (the Python bindings' zero-copy numpy input). Reads and
// writes go to that memory; the owner lives exactly as long as the last tensor (or view) over it.
TEST(Tensor, FromBlobSharesExternalMemoryAndKeepsItsOwnerAlive) {
  std::vector<float> memory = {1, 2, 3, 4, 5, 6};
  auto released = std::make_shared<bool>(false);
  std::shared_ptr<void> owner(static_cast<void*>(memory.data()), [released](void*) { *released = true; });
  {
    Tensor t = Tensor::from_blob(memory.data(), {2, 3}, owner);
    owner.reset();
    EXPECT_EQ(t.data(), memory.data());
    EXPECT_EQ(t.at({1, 2}), 6.f);
    t.at({0, 0}) = 10.f;
    EXPECT_EQ(memory[0], 10.f);
    Tensor view = t.reshape({3, 2});
    Tensor doubled = t * 2.f;  // ops write new buffers: the external memory is only read
    EXPECT_EQ(doubled.at({0, 1}), 4.f);
    EXPECT_EQ(memory[1], 2.f);
    t = Tensor();
    EXPECT_FALSE(*released);  // the view still holds it
    EXPECT_EQ(view.at({2, 1}), 6.f);
  }
  EXPECT_TRUE(*released);
  EXPECT_THROW(Tensor::from_blob(memory.data(), {2}, nullptr), Error);
}

}  // namespace
}  // namespace attn
