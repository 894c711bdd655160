// Positional encodings: sinusoidal values, RoPE's properties (norm kept, scores depend on m - n only,
// the two layouts are a permutation apart) and gradients, ALiBi slopes and bias, learned positions.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/attention/positional.h"
#include "attn/attention/sdpa.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"

namespace attn {
namespace {

using testing::gradcheck;

// Expects `fn` to throw attn::Error whose message contains `needle`.
template <class F>
void expect_error(F&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- sinusoidal -----------------------------------------------------------------------------------------

TEST(AttnSinusoidal, KnownValues) {
  Tensor pe = sinusoidal_encoding(50, 4);  // (T, D) = (50, 4): frequencies 1 and 1/100
  ASSERT_EQ(pe.shape(), Shape({50, 4}));
  // position 0: sin 0 = 0, cos 0 = 1
  for (int64_t c = 0; c < 4; ++c) EXPECT_FLOAT_EQ(pe.at({0, c}), c % 2 == 0 ? 0.f : 1.f);
  EXPECT_FLOAT_EQ(pe.at({1, 0}), std::sin(1.f));
  EXPECT_FLOAT_EQ(pe.at({1, 1}), std::cos(1.f));
  EXPECT_NEAR(pe.at({2, 2}), std::sin(2.0 / 100.0), 1e-7);  // 10000^(2/4) = 100
  EXPECT_NEAR(pe.at({49, 3}), std::cos(49.0 / 100.0), 1e-7);
  EXPECT_NEAR(pe.at({31, 0}), std::sin(31.0), 1e-6);
}

TEST(AttnSinusoidal, OddDimEndsWithSin) {
  Tensor pe = sinusoidal_encoding(6, 5);  // columns sin, cos, sin, cos, sin
  ASSERT_EQ(pe.shape(), Shape({6, 5}));
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_NEAR(pe.at({t, 4}), std::sin(t / std::pow(10000.0, 4.0 / 5.0)), 1e-7);
    EXPECT_NEAR(pe.at({t, 3}), std::cos(t / std::pow(10000.0, 2.0 / 5.0)), 1e-7);
  }
  EXPECT_EQ(sinusoidal_encoding(0, 3).numel(), 0);
}

TEST(AttnSinusoidal, ShiftIsARotationOfEachPair) {
  // PE[t + k] is PE[t] with each (sin, cos) pair rotated by k·ω_i: why the paper expected the model to
  // learn relative offsets easily.
  const int64_t D = 8, k = 5;
  Tensor pe = sinusoidal_encoding(40, D);
  for (int64_t t = 0; t + k < 40; t += 7)
    for (int64_t i = 0; i < D / 2; ++i) {
      const double w = std::pow(10000.0, -2.0 * i / D);
      const double s = pe.at({t, 2 * i}), c = pe.at({t, 2 * i + 1});
      EXPECT_NEAR(pe.at({t + k, 2 * i}), s * std::cos(k * w) + c * std::sin(k * w), 1e-6);
      EXPECT_NEAR(pe.at({t + k, 2 * i + 1}), c * std::cos(k * w) - s * std::sin(k * w), 1e-6);
    }
}

// ---- RoPE -------------------------------------------------------------------------------------------------

class AttnRope : public ::testing::TestWithParam<bool> {};  // param: interleaved

double dot_last(const Tensor& a, const Tensor& b) {  // both one vector (…, D) with numel D
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.data()[i]) * b.data()[i];
  return s;
}

TEST_P(AttnRope, PreservesTheNormOfEveryVector) {
  const bool interleaved = GetParam();
  Generator gen(1, 2);
  const int64_t B = 2, H = 3, T = 9, D = 16;
  Tensor x = Tensor::randn({B, H, T, D}, gen);
  for (int64_t start : {0, 1, 123, 100000}) {
    Tensor y = apply_rotary_embedding(x, start, 10000.f, interleaved);
    ASSERT_EQ(y.shape(), x.shape());
    for (int64_t r = 0; r < B * H * T; ++r) {
      double nx = 0, ny = 0;
      for (int64_t d = 0; d < D; ++d) {
        nx += std::pow(x.data()[r * D + d], 2);
        ny += std::pow(y.data()[r * D + d], 2);
      }
      EXPECT_NEAR(std::sqrt(ny), std::sqrt(nx), 1e-5 * std::sqrt(nx)) << "row " << r << " start " << start;
    }
  }
}

TEST_P(AttnRope, PositionZeroIsTheIdentity) {
  Generator gen(3, 4);
  Tensor x = Tensor::randn({1, 2, 1, 6}, gen);
  Tensor y = apply_rotary_embedding(x, 0, 10000.f, GetParam());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_FLOAT_EQ(y.data()[i], x.data()[i]);
}

TEST_P(AttnRope, ScoreDependsOnlyOnTheOffset) {
  // q rotated at m, k rotated at n: q·k depends on m - n only. Shift both by c, same score.
  const bool interleaved = GetParam();
  Generator gen(5, 6);
  const int64_t D = 32;
  Tensor q = Tensor::randn({1, 1, 1, D}, gen), k = Tensor::randn({1, 1, 1, D}, gen);
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {3, 1}, {1, 3}, {10, 2}, {7, 7}}) {
    const double ref = dot_last(apply_rotary_embedding(q, m, 10000.f, interleaved),
                                apply_rotary_embedding(k, n, 10000.f, interleaved));
    for (int64_t c : {1, 5, 64, 1000, 4096}) {
      const double s = dot_last(apply_rotary_embedding(q, m + c, 10000.f, interleaved),
                                apply_rotary_embedding(k, n + c, 10000.f, interleaved));
      EXPECT_NEAR(s, ref, 1e-5 * std::max(1.0, std::fabs(ref))) << "m=" << m << " n=" << n << " c=" << c;
    }
  }
  // and it does depend on the offset (else the test above would prove nothing)
  const double s01 =
      dot_last(apply_rotary_embedding(q, 0, 10000.f, interleaved), apply_rotary_embedding(k, 1, 10000.f, interleaved));
  const double s00 = dot_last(q, k);
  EXPECT_GT(std::fabs(s01 - s00), 1e-3);
}

TEST_P(AttnRope, ScoresInsideAttentionAreShiftInvariant) {
  // The whole attention output is unchanged when every position is shifted by c (RoPE, no absolute
  // position survives into the scores).
  const bool interleaved = GetParam();
  Generator gen(7, 8);
  Tensor q = Tensor::randn({2, 2, 5, 8}, gen), k = Tensor::randn({2, 2, 5, 8}, gen),
         v = Tensor::randn({2, 2, 5, 3}, gen);
  auto attend = [&](int64_t start) {
    return scaled_dot_product_attention_math(apply_rotary_embedding(q, start, 10000.f, interleaved),
                                             apply_rotary_embedding(k, start, 10000.f, interleaved), v,
                                             SdpaOptions().causal())
        .output;
  };
  Tensor a = attend(0), b = attend(777);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.data()[i], b.data()[i], 1e-5);
}

TEST_P(AttnRope, GradientsMatchFiniteDifferences) {
  const bool interleaved = GetParam();
  Generator gen(9, 10);
  Tensor x = Tensor::randn({2, 2, 3, 6}, gen);
  auto r =
      gradcheck([=](const std::vector<Tensor>& in) { return apply_rotary_embedding(in[0], 5, 10000.f, interleaved); },
                {x}, {true});
  EXPECT_TRUE(r.ok) << r.report;
  IndexTensor pos({4, 0, 9}, {3});
  auto r2 =
      gradcheck([=](const std::vector<Tensor>& in) { return apply_rotary_embedding(in[0], pos, 100.f, interleaved); },
                {x}, {true});
  EXPECT_TRUE(r2.ok) << r2.report;
}

TEST_P(AttnRope, TablesAndModuleAgreeWithTheFunction) {
  const bool interleaved = GetParam();
  Generator gen(11, 12);
  Tensor x = Tensor::randn({1, 2, 4, 8}, gen);
  nn::RotaryEmbedding rope(8, 64, 10000.f, interleaved);
  EXPECT_EQ(rope.state_dict().size(), 0u);  // tables are derived, not saved
  Tensor a = apply_rotary_embedding(x, 3, 10000.f, interleaved);
  Tensor b = rope.forward(x, 3);
  Tensor c = apply_rotary_embedding(x, rope_tables(4, 8, 10000.f, interleaved, 3));
  Tensor d = rope.forward(x, IndexTensor({3, 4, 5, 6}));
  for (int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_EQ(a.data()[i], b.data()[i]);
    EXPECT_EQ(a.data()[i], c.data()[i]);
    EXPECT_EQ(a.data()[i], d.data()[i]);
  }
  expect_error([&] { rope.forward(x, 61); }, "max_position_embeddings");
}

INSTANTIATE_TEST_SUITE_P(Attn, AttnRope, ::testing::Values(false, true), [](const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "interleaved" : "rotate_half";
});

TEST(AttnRopeLayouts, InterleavedIsRotateHalfOnPermutedFeatures) {
  // Feature 2i -> i and 2i+1 -> i + D/2 turns interleaved pairs into rotate_half pairs.
  Generator gen(13, 14);
  const int64_t D = 8;
  Tensor x = Tensor::randn({2, 1, 5, D}, gen);
  std::vector<int64_t> perm(D);  // half-layout feature c comes from interleaved feature perm[c]
  for (int64_t i = 0; i < D / 2; ++i) {
    perm[i] = 2 * i;
    perm[i + D / 2] = 2 * i + 1;
  }
  Tensor xp = index_select(x, -1, IndexTensor(perm));
  Tensor inter = apply_rotary_embedding(x, 11, 10000.f, true);
  Tensor half = apply_rotary_embedding(xp, 11, 10000.f, false);
  Tensor inter_p = index_select(inter, -1, IndexTensor(perm));
  for (int64_t i = 0; i < half.numel(); ++i) EXPECT_NEAR(half.data()[i], inter_p.data()[i], 1e-6);
}

TEST(AttnRopeLayouts, FrequenciesAndTables) {
  Tensor f = rope_frequencies(8);  // θ_i = 10000^(-2i/8) = 1, 0.1, 0.01, 0.001
  ASSERT_EQ(f.shape(), Shape({4}));
  EXPECT_FLOAT_EQ(f.data()[0], 1.f);
  EXPECT_FLOAT_EQ(f.data()[1], 0.1f);
  EXPECT_FLOAT_EQ(f.data()[3], 0.001f);
  RopeTables half = rope_tables(3, 8, 10000.f, false), inter = rope_tables(3, 8, 10000.f, true);
  ASSERT_EQ(half.cos.shape(), Shape({3, 8}));
  // position 2, pair i = 1 (angle 0.2): rotate_half puts it at features 1 and 5, interleaved at 2 and 3
  for (int64_t c : {1, 5}) EXPECT_FLOAT_EQ(half.cos.at({2, c}), std::cos(0.2f));
  for (int64_t c : {2, 3}) EXPECT_FLOAT_EQ(inter.sin.at({2, c}), std::sin(0.2f));
  // the direction: (1, 0) at position 1 turns counter-clockwise by θ_0 = 1 radian to (cos 1, sin 1)
  for (bool interleaved : {false, true}) {
    Tensor y = apply_rotary_embedding(Tensor::from_vector({1.f, 0.f}, {1, 2}), 1, 10000.f, interleaved);
    EXPECT_FLOAT_EQ(y.data()[0], std::cos(1.f));
    EXPECT_FLOAT_EQ(y.data()[1], std::sin(1.f));
  }
}

TEST(AttnRopeLayouts, ErrorsNameTheOp) {
  Generator gen(15, 16);
  expect_error(
      [&] {
        apply_rotary_embedding(Tensor::randn({1, 1, 3, 7}, gen));
      },
      "[apply_rotary_embedding] head dim D = 7");
  expect_error([&] { apply_rotary_embedding(Tensor::randn({1, 1, 3, 7}, gen), 0, 10000.f, true); }, "even");
  expect_error([&] { rope_frequencies(5); }, "[rope_frequencies]");
  expect_error([&] { nn::RotaryEmbedding(6 + 1); }, "[RotaryEmbedding]");
  expect_error(
      [&] {
        apply_rotary_embedding(Tensor::randn({1, 1, 3, 4}, gen), IndexTensor({0, 1}));
      },
      "positions must be (T) = (3)");
  expect_error([&] { apply_rotary_embedding(Tensor::randn({4}, gen)); }, "at least 2 dims");
  expect_error([&] { apply_rotary_embedding(Tensor::randn({2, 4}, gen), rope_tables(3, 4)); }, "tables must be (T, D)");
}

// ---- ALiBi ------------------------------------------------------------------------------------------------

TEST(AttnAlibi, SlopesForEightHeadsArePowersOfOneHalf) {
  Tensor m = alibi_slopes(8);
  ASSERT_EQ(m.shape(), Shape({8}));
  for (int64_t h = 0; h < 8; ++h) EXPECT_EQ(m.data()[h], std::ldexp(1.f, -static_cast<int>(h + 1)));  // 1/2 .. 1/256
}

TEST(AttnAlibi, NonPowerOfTwoUsesTheReferenceRule) {
  // H = 12: the 8 slopes of 8 heads, then the odd ones of 16 heads: 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5
  Tensor m = alibi_slopes(12);
  for (int64_t h = 0; h < 8; ++h) EXPECT_FLOAT_EQ(m.data()[h], std::ldexp(1.f, -static_cast<int>(h + 1)));
  for (int64_t k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(m.data()[8 + k], static_cast<float>(std::pow(2.0, -(k + 0.5))));
  // H = 1: 2^-8; H = 3: 2^-4, 2^-8, then 2^-2 from the 4-head sequence
  EXPECT_FLOAT_EQ(alibi_slopes(1).data()[0], std::ldexp(1.f, -8));
  Tensor m3 = alibi_slopes(3);
  EXPECT_FLOAT_EQ(m3.data()[0], 0.0625f);
  EXPECT_FLOAT_EQ(m3.data()[1], std::ldexp(1.f, -8));
  EXPECT_FLOAT_EQ(m3.data()[2], 0.25f);
}

TEST(AttnAlibi, BiasIsMinusSlopeTimesDistance) {
  const int64_t H = 4, L = 3, S = 5;  // the 3 queries are the last 3 of 5 positions
  Tensor b = alibi_bias(H, L, S);
  ASSERT_EQ(b.shape(), Shape({H, L, S}));
  Tensor m = alibi_slopes(H);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < S; ++j) EXPECT_FLOAT_EQ(b.at({h, i, j}), -m.data()[h] * static_cast<float>(i + 2 - j));
  EXPECT_EQ(b.at({0, 2, 4}), 0.f);  // the diagonal (own position) gets 0
}

TEST(AttnAlibi, UsableAsAttentionMask) {
  // With the bias and causal masking, equal keys get weights decaying geometrically with distance:
  // w_j ∝ exp(-m (i - j)).
  const int64_t H = 2, T = 4;
  Generator gen(21, 22);
  Tensor q = Tensor::zeros({1, H, T, 2}), k = Tensor::zeros({1, H, T, 2}), v = Tensor::randn({1, H, T, 3}, gen);
  AttentionOutput out =
      scaled_dot_product_attention_math(q, k, v, SdpaOptions().mask(alibi_bias(H, T, T)).causal().weights());
  Tensor m = alibi_slopes(H);
  for (int64_t h = 0; h < H; ++h) {
    double z = 0;
    for (int64_t j = 0; j <= 3; ++j) z += std::exp(-m.data()[h] * (3 - j));
    for (int64_t j = 0; j <= 3; ++j)
      EXPECT_NEAR(out.weights.at({0, h, 3, j}), std::exp(-m.data()[h] * (3 - j)) / z, 1e-6);
    EXPECT_EQ(out.weights.at({0, h, 1, 2}), 0.f);  // the future stays masked
  }
}

TEST(AttnAlibi, Errors) {
  expect_error([] { alibi_slopes(0); }, "[alibi_slopes]");
  expect_error([] { alibi_bias(2, -1, 3); }, "[alibi_bias]");
}

// ---- learned positions ----------------------------------------------------------------------------------

TEST(AttnLearnedPositions, ReturnsTableRowsAndChecksTheLength) {
  Generator gen(17, 18);
  nn::LearnedPositionalEmbedding pe(16, 4, gen);
  auto named = pe.named_parameters();
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[0].second.shape(), Shape({16, 4}));
  Tensor y = pe(5, 3);  // positions 3..7 -> (5, 4)
  ASSERT_EQ(y.shape(), Shape({5, 4}));
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(y.at({t, d}), pe.weight.at({3 + t, d}));
  EXPECT_EQ(pe(16).shape(), Shape({16, 4}));
  EXPECT_EQ(pe(IndexTensor({15, 0}, {1, 2})).shape(), Shape({1, 2, 4}));
  expect_error([&] { pe(17); }, "exceed max_len = 16");
  expect_error([&] { pe(4, 13); }, "[LearnedPositionalEmbedding]");
  expect_error([&] { pe(IndexTensor({16})); }, "outside [0, max_len = 16)");
}

TEST(AttnLearnedPositions, GradientsMatchFiniteDifferences) {
  Generator gen(19, 20);
  auto pe = std::make_shared<nn::LearnedPositionalEmbedding>(6, 3, gen);
  IndexTensor pos({0, 2, 2, 5}, {2, 2});  // a repeated position accumulates
  // The module's forward reads its `weight` member: point it at the harness's leaf for the check.
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        pe->weight = in[0];
        return concat({pe->forward(3, 1), reshape(pe->forward(pos), {4, 3})}, 0);
      },
      {pe->weight.clone()}, {true});
  EXPECT_TRUE(r.ok) << r.report;
  // and through the registered parameter, as an optimizer sees it
  auto fresh = std::make_shared<nn::LearnedPositionalEmbedding>(6, 3, gen);
  sum(fresh->forward(pos)).backward();
  Tensor g = fresh->parameters()[0].grad();
  ASSERT_TRUE(g.defined());
  EXPECT_FLOAT_EQ(g.at({2, 1}), 2.f);
  EXPECT_FLOAT_EQ(g.at({1, 0}), 0.f);
  EXPECT_FLOAT_EQ(g.at({5, 2}), 1.f);
}

}  // namespace
}  // namespace attn
