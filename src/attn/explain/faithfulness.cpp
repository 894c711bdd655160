#include "attn/explain/faithfulness.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "faithfulness";

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

double trapezoid(const std::vector<double>& x, const std::vector<double>& y) {
  double a = 0;
  for (size_t i = 1; i < x.size(); ++i) a += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]);
  return a;
}

}  // namespace

Tensor removal_masks(int64_t T, const std::vector<int64_t>& candidates, const std::vector<float>& scores,
                     const std::vector<double>& fractions, bool ascending, bool keep_first) {
  ATTN_CHECK(candidates.size() == scores.size(), kOp,
             candidates.size() << " candidate tokens but " << scores.size() << " scores");
  for (int64_t c : candidates) ATTN_CHECK(c >= 0 && c < T, kOp, "candidate token " << c << " outside 0.." << T - 1);
  const int64_t n = static_cast<int64_t>(candidates.size());
  std::vector<int64_t> rank(static_cast<size_t>(n));
  std::iota(rank.begin(), rank.end(), 0);
  // NaN scores (a broken method) sort last either way, so they are never "most relevant".
  std::stable_sort(rank.begin(), rank.end(), [&](int64_t a, int64_t b) {
    const float sa = scores[a], sb = scores[b];
    if (std::isnan(sa) || std::isnan(sb)) return !std::isnan(sa) && std::isnan(sb);
    return ascending ? sa < sb : sa > sb;
  });
  const int64_t R = static_cast<int64_t>(fractions.size());
  Tensor m = Tensor::zeros({R, T});
  for (int64_t r = 0; r < R; ++r) {
    ATTN_CHECK(fractions[r] >= 0 && fractions[r] <= 1, kOp, "fraction " << fractions[r] << " outside [0, 1]");
    const int64_t k = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(fractions[r] * n - 1e-9)));
    float* row = m.data() + r * T;
    if (keep_first) {
      for (int64_t c : candidates) row[c] = 1.f;                       // everything out ...
      for (int64_t i = 0; i < k; ++i) row[candidates[rank[i]]] = 0.f;  // ... but the first k
    } else {
      for (int64_t i = 0; i < k; ++i) row[candidates[rank[i]]] = 1.f;
    }
  }
  return m;
}

ExampleCurves example_curves(const RemovalForward& forward, int64_t T, const std::vector<int64_t>& candidates,
                             const std::vector<float>& scores, int64_t label, int64_t explained_class) {
  const auto& P = kPerturbationFractions;
  const auto& D = kDeletionFractions;
  const Tensor masks = concat({removal_masks(T, candidates, scores, P, false, false),  // positive
                               removal_masks(T, candidates, scores, P, true, false),   // negative
                               removal_masks(T, candidates, scores, D, false, false),  // deletion
                               removal_masks(T, candidates, scores, D, false, true)},  // insertion
                              0);
  const Tensor logits = forward(masks);  // (R, K)
  const int64_t R = masks.size(0);
  ATTN_CHECK(logits.dim() == 2 && logits.size(0) == R, kOp,
             "the model returned logits " << shape_str(logits.shape()) << " for " << R << " variants");
  const int64_t K = logits.size(1);
  ATTN_CHECK(label >= 0 && label < K && explained_class >= 0 && explained_class < K, kOp,
             "label " << label << " or class " << explained_class << " outside 0.." << K - 1);
  const Tensor probs = softmax(logits.detach(), -1);
  ExampleCurves c;
  const float* l = logits.data();
  const float* p = probs.data();
  auto correct = [&](int64_t r) { return double(std::max_element(l + r * K, l + (r + 1) * K) - (l + r * K) == label); };
  int64_t r = 0;
  for (size_t i = 0; i < P.size(); ++i) c.positive.push_back(correct(r++));
  for (size_t i = 0; i < P.size(); ++i) c.negative.push_back(correct(r++));
  for (size_t i = 0; i < D.size(); ++i) c.deletion.push_back(p[(r++) * K + explained_class]);
  for (size_t i = 0; i < D.size(); ++i) c.insertion.push_back(p[(r++) * K + explained_class]);
  return c;
}

void FaithfulnessSummary::add(const ExampleCurves& c) {
  auto acc = [](std::vector<double>& sum, const std::vector<double>& v) {
    if (sum.empty()) sum.assign(v.size(), 0.0);
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
  };
  acc(positive, c.positive);
  acc(negative, c.negative);
  acc(deletion, c.deletion);
  acc(insertion, c.insertion);
  ++examples;
}

void FaithfulnessSummary::finish() {
  ATTN_CHECK(examples > 0, kOp, "no examples were scored");
  for (auto* v : {&positive, &negative, &deletion, &insertion})
    for (double& x : *v) x /= static_cast<double>(examples);
  positive_auc = mean_of(positive);
  negative_auc = mean_of(negative);
  deletion_auc = trapezoid(kDeletionFractions, deletion);
  insertion_auc = trapezoid(kDeletionFractions, insertion);
}

std::vector<float> random_scores(int64_t n, Generator& gen) {
  std::vector<float> s(static_cast<size_t>(n));
  for (float& v : s) v = gen.uniform();
  return s;
}

}  // namespace attn::explain
