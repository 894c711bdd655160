// Faithfulness: does an attribution point at what the model actually uses? Measured, not assumed, by
// taking the input apart in the order the attribution gives and watching the prediction.
//
// Removing a token means no token may attend to it any more, in any layer (a key mask): for a ViT that is
// exactly leaving the patch out of the sequence, with no grey or black patch that the model never saw in
// training (the "out of distribution" objection to pixel deletion). n candidate tokens (the patches; never
// the CLS or query token) are ranked by their scores; at fraction f the first ⌈f·n⌉ of the ranking go.
//
//   positive perturbation   remove the MOST relevant first;  f = 0, 0.1, …, 0.9   accuracy should collapse:
//                           lower area = more faithful        (Chefer, Gur & Wolf 2021, CVPR, §5)
//   negative perturbation   remove the LEAST relevant first                        accuracy should hold:
//                           higher area = more faithful
//   deletion                p(explained class) as the most relevant go, f = 0 … 1 (11 points):  lower is better
//   insertion               p(explained class) as the most relevant come back into an empty input,
//                           f = 0 … 1:  higher is better      (Petsiuk, Das & Saenko 2018, "RISE", §4.1)
//
// Areas: perturbation curves are averaged over their 10 points (the area under the curve on [0, 0.9],
// divided by its width), deletion/insertion integrated by the trapezoid rule on [0, 1]. Accuracy is against
// the true label; the explained class is the model's own prediction on the whole input.
// A model that ignores its input gives flat curves whatever the ranking (tested).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn::explain {

inline const std::vector<double> kPerturbationFractions = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
inline const std::vector<double> kDeletionFractions = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

// The model on one example with some tokens removed: removed (R, T), 1 = removed, one row per variant ->
// logits (R, K).
using RemovalForward = std::function<Tensor(const Tensor& removed)>;

// One example's curves.
struct ExampleCurves {
  std::vector<double> positive, negative;   // correct (1) or not (0) at each kPerturbationFractions
  std::vector<double> deletion, insertion;  // p(explained class) at each kDeletionFractions
};

// The removal masks for one ranking: candidate tokens `candidates` (indices into T), ordered by `scores`
// (one per candidate), descending (most relevant first); ties keep the candidates' order.
// Returns (len(fractions), T) with the first ⌈f·n⌉ ranked candidates removed in row f; with `keep_first`
// the complement among the candidates (insertion: only those are present).
Tensor removal_masks(int64_t num_tokens, const std::vector<int64_t>& candidates, const std::vector<float>& scores,
                     const std::vector<double>& fractions, bool ascending = false, bool keep_first = false);

// All four curves for one example, in one batched call of `forward` (42 rows).
ExampleCurves example_curves(const RemovalForward& forward, int64_t num_tokens, const std::vector<int64_t>& candidates,
                             const std::vector<float>& scores, int64_t label, int64_t explained_class);

// Curves averaged over examples, and their areas.
struct FaithfulnessSummary {
  std::string method;
  int64_t examples = 0;
  std::vector<double> positive, negative, deletion, insertion;  // mean curves
  double positive_auc = 0, negative_auc = 0, deletion_auc = 0, insertion_auc = 0;
  void add(const ExampleCurves& c);
  void finish();  // means and areas
};

// Scores of the random baseline: n uniform draws from `gen`.
std::vector<float> random_scores(int64_t n, Generator& gen);

}  // namespace attn::explain
