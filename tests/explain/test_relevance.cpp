// The attribution methods (attn/explain/relevance.h, flow.h) on hand-made traces, flow against a brute-force
// minimum cut, and the perturbation tests (faithfulness.h): masks by hand, flat curves for a model that
// ignores its input, a perfect ranking for a model that reads one token. The values against torch autograd
// on a real ViT are in tests/torch/test_vit_vs_torch.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/explain/faithfulness.h"
#include "attn/explain/flow.h"
#include "attn/explain/relevance.h"
#include "attn/explain/vit_explain.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn::testing {
namespace {

std::vector<float> vec(const Tensor& t) { return t.to_vector(); }

void expect_near(const std::vector<float>& got, const std::vector<float>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// One layer, one head, 2 tokens: token 0 reads 0.25/0.75, token 1 reads only itself.
explain::Trace one_layer() {
  explain::Trace t;
  t.attentions = {Tensor::from_vector({0.25f, 0.75f, 0.f, 1.f}, {1, 1, 2, 2})};
  t.attention_grads = {Tensor::from_vector({2.f, -1.f, 5.f, 3.f}, {1, 1, 2, 2})};
  t.input_embeddings = Tensor::from_vector({1, 2, 3, -1}, {1, 2, 2});
  t.input_grad = Tensor::from_vector({0.5f, 1, 2, 1}, {1, 2, 2});
  t.last_hidden = Tensor::from_vector({1, 0, 2, 4}, {1, 2, 2});
  t.last_grad = Tensor::from_vector({1, -3, 3, 1}, {1, 2, 2});
  return t;
}

TEST(ExplainRelevance, EachMethodByHand) {
  const explain::Trace t = one_layer();
  expect_near(vec(explain::raw_attention(t)), {0.25f, 0.75f});
  // Â = rownorm(½A + ½I) = [[.625, .375], [0, 1]]
  expect_near(vec(explain::rollout_scores(t)), {0.625f, 0.375f});
  // x·g summed over features: token 0: 1·.5 + 2·1 = 2.5; token 1: 3·2 - 1·1 = 5
  expect_near(vec(explain::gradient_x_input(t)), {2.5f, 5.f});
  // α = mean over tokens of the gradient = (2, -1); cam = relu(h·α): token 0: 2, token 1: relu(4 - 4) = 0
  expect_near(vec(explain::grad_cam(t)), {2.f, 0.f});
  // Ā = (∇A ⊙ A)⁺ = [[.5, 0], [0, 3]]; R = I + Ā I = [[1.5, 0], [0, 4]]
  expect_near(vec(explain::relevance_matrix(t)), {1.5f, 0.f, 0.f, 4.f});
  expect_near(vec(explain::relevance_scores(t)), {1.5f, 0.f});
  expect_near(vec(explain::patch_scores(explain::relevance_scores(t))), {0.f});
  // Flow: one layer, so the max flow from input j to output 0 is the edge capacity Â[0][j].
  expect_near(vec(explain::scores("flow", t)), {0.625f, 0.375f});
}

TEST(ExplainRelevance, ErrorsNameWhatIsMissing) {
  explain::Trace t = one_layer();
  EXPECT_NE(error_of([&] { explain::scores("saliency", t); }).find("unknown method \"saliency\""), std::string::npos);
  EXPECT_NE(error_of([&] { explain::raw_attention(t, 3); }).find("layer 3 outside 0..0"), std::string::npos);
  t.query = 2;
  EXPECT_NE(error_of([&] { explain::rollout_scores(t); }).find("query token 2 outside 0..1"), std::string::npos);
  t = one_layer();
  t.attention_grads.clear();
  t.input_grad = Tensor();
  EXPECT_NE(error_of([&] { explain::relevance_scores(t); }).find("no attention gradients"), std::string::npos);
  EXPECT_NE(error_of([&] { explain::gradient_x_input(t); }).find("no input gradient"), std::string::npos);
  t.attentions.clear();
  EXPECT_NE(error_of([&] { explain::rollout_scores(t); }).find("recorded no attention"), std::string::npos);
}

// The max flow equals the minimum cut: every set S holding the source but not the sink, Σ capacities S -> not S.
double brute_force_min_cut(int64_t n, const std::vector<explain::FlowEdge>& edges, int64_t s, int64_t t) {
  double best = std::numeric_limits<double>::infinity();
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (!(mask >> s & 1) || (mask >> t & 1)) continue;
    double cut = 0;
    for (const auto& e : edges)
      if ((mask >> e.from & 1) && !(mask >> e.to & 1)) cut += e.capacity;
    best = std::min(best, cut);
  }
  return best;
}

TEST(ExplainFlow, MaxFlowEqualsTheBruteForceMinCutOnRandomGraphs) {
  Generator gen(9);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 3 + gen.randint(6);  // 3..8 nodes
    std::vector<explain::FlowEdge> edges;
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b)
        if (a != b && gen.uniform() < 0.4f)  // half the graphs with awkward binary fractions, as attention weights are
          edges.push_back(
              {a, b, trial % 2 ? std::round(gen.uniform() * 10.0) / 2 : static_cast<double>(gen.uniform())});
    const int64_t s = gen.randint(static_cast<uint32_t>(n)),
                  t = (s + 1 + gen.randint(static_cast<uint32_t>(n - 1))) % n;
    EXPECT_NEAR(explain::max_flow(n, edges, s, t), brute_force_min_cut(n, edges, s, t), 1e-7) << "trial " << trial;
  }
  EXPECT_NE(error_of([] { explain::max_flow(2, {{0, 1, -1.0}}, 0, 1); }).find("negative capacity"), std::string::npos);
  EXPECT_NE(error_of([] { explain::max_flow(2, {{0, 5, 1.0}}, 0, 1); }).find("outside the 2 nodes"), std::string::npos);
}

TEST(ExplainFlow, RealSoftmaxWeightsFlowWithinTheirBounds) {
  // Softmax rows are not dyadic fractions: the solver works on integers (2^-30 units), so it neither trips
  // Boost's exact conservation check (debug builds) nor drifts. Each input's flow to the output is at most
  // the output's inflow (1: a row of Â sums to 1) and at least what rollout's single best path carries.
  Generator gen(4);
  std::vector<Tensor> layers;
  for (int l = 0; l < 3; ++l) layers.push_back(softmax(Tensor::randn({1, 2, 9, 9}, gen) * 2.f, -1));
  const std::vector<float> f = vec(explain::attention_flow_scores(layers, 0));
  ASSERT_EQ(f.size(), 9u);
  for (float v : f) {
    EXPECT_GE(v, 0.f);
    EXPECT_LE(v, 1.f + 1e-6f);
  }
}

TEST(ExplainFlow, TwoLayersOfAttentionByHand) {
  // Two layers over 2 tokens, both "token 1 reads token 0 only", token 0 reads itself:
  //   Â = rownorm(½A + ½I) = [[1, 0], [.5, .5]] in each layer.
  // Output 1's flow from input 0: paths 0->0->1 (min(1, .5)) and 0->1->1 (min(.5, .5)) = .5 + .5 = 1,
  // capped by the cut into output 1 (.5 + .5 = 1); from input 1: only 1->1->1: min(.5, .5) = .5.
  Tensor a = Tensor::from_vector({1, 0, 1, 0}, {1, 1, 2, 2});
  expect_near(vec(explain::attention_flow_scores({a, a}, 1)), {1.f, 0.5f});
  // Rollout instead multiplies: Â·Â row 1 = [.75, .25].
  explain::Trace t;
  t.attentions = {a, a};
  t.query = 1;
  expect_near(vec(explain::rollout_scores(t)), {0.75f, 0.25f});
}

TEST(ExplainFaithfulness, RemovalMasksByHand) {
  // Tokens 1..4 are candidates with scores .1 .9 .5 .3: ranking 2, 3, 4, 1.
  const std::vector<int64_t> cand = {1, 2, 3, 4};
  const std::vector<float> s = {.1f, .9f, .5f, .3f};
  expect_near(vec(explain::removal_masks(5, cand, s, {0.0, 0.5, 1.0})), {0, 0, 0, 0, 0,  //
                                                                         0, 0, 1, 1, 0,  //
                                                                         0, 1, 1, 1, 1});
  expect_near(vec(explain::removal_masks(5, cand, s, {0.25}, /*ascending=*/true)), {0, 1, 0, 0, 0});
  expect_near(vec(explain::removal_masks(5, cand, s, {0.0, 0.25}, false, /*keep_first=*/true)), {0, 1, 1, 1, 1,  //
                                                                                                 0, 1, 0, 1, 1});
  // ⌈0.1 · 4⌉ = 1 token
  expect_near(vec(explain::removal_masks(5, cand, s, {0.1})), {0, 0, 1, 0, 0});
  EXPECT_NE(error_of([&] { explain::removal_masks(5, cand, {1.f}, {0.5}); }).find("4 candidate tokens but 1 scores"),
            std::string::npos);
}

TEST(ExplainFaithfulness, AModelThatIgnoresItsInputGivesFlatCurves) {
  const Tensor fixed = Tensor::from_vector({2.f, 0.f, -1.f}, {1, 3});  // always class 0
  explain::RemovalForward ignore = [&](const Tensor& removed) { return fixed + Tensor::zeros({removed.size(0), 3}); };
  Generator gen(1);
  explain::FaithfulnessSummary sum;
  for (int i = 0; i < 5; ++i)
    sum.add(explain::example_curves(ignore, 6, {1, 2, 3, 4, 5}, explain::random_scores(5, gen), 0, 0));
  sum.finish();
  for (double v : sum.positive) EXPECT_EQ(v, 1.0);
  for (double v : sum.negative) EXPECT_EQ(v, 1.0);
  const double p0 = sum.deletion.front();
  for (double v : sum.deletion) EXPECT_NEAR(v, p0, 1e-7);
  for (double v : sum.insertion) EXPECT_NEAR(v, p0, 1e-7);
  EXPECT_NEAR(sum.deletion_auc, p0, 1e-7);
  EXPECT_NEAR(sum.insertion_auc, sum.deletion_auc, 1e-7);
}

TEST(ExplainFaithfulness, AModelThatReadsOneTokenRewardsTheRankingThatFindsIt) {
  // Class 1 while token 3 is present, class 0 once it is removed.
  explain::RemovalForward reads_3 = [](const Tensor& removed) {
    Tensor out = Tensor::zeros({removed.size(0), 2});
    for (int64_t r = 0; r < removed.size(0); ++r) out.data()[r * 2 + (removed.data()[r * 5 + 3] > 0 ? 0 : 1)] = 4.f;
    return out;
  };
  const std::vector<int64_t> cand = {1, 2, 3, 4};
  const explain::ExampleCurves good = explain::example_curves(reads_3, 5, cand, {0.f, 0.f, 1.f, 0.f}, 1, 1);
  const explain::ExampleCurves bad = explain::example_curves(reads_3, 5, cand, {1.f, 1.f, 0.f, 1.f}, 1, 1);
  // Positive: the good ranking loses the answer at the first removal (10% -> 1 token), the bad one at 4 tokens.
  EXPECT_EQ(good.positive, std::vector<double>({1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bad.positive, std::vector<double>({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));  // ⌈f·4⌉ = 4 from f = 0.8
  EXPECT_EQ(good.negative, std::vector<double>({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  explain::FaithfulnessSummary g, b;
  g.add(good);
  b.add(bad);
  g.finish();
  b.finish();
  EXPECT_LT(g.positive_auc, b.positive_auc);
  EXPECT_GT(g.negative_auc, b.negative_auc);
  EXPECT_LT(g.deletion_auc, b.deletion_auc);
  EXPECT_GT(g.insertion_auc, b.insertion_auc);
}

}  // namespace
}  // namespace attn::testing
