// Head types: three attention patterns that trained transformers grow, scored from a head's attention on
// a probe sequence of n random tokens repeated twice (T = 2n):
//
//   x = [r_0, r_1, …, r_{n-1}, r_0, r_1, …, r_{n-1}]
//
// With A the head's (T, T) weights (row i = query i, column j = key j):
//
//   previous_token = 1/(T−1) · Σ_{i=1}^{T−1} A[i, i−1]     attends to the token just before
//   first_token    = 1/(T−1) · Σ_{i=1}^{T−1} A[i, 0]       parks its weight on token 0 (an "attention sink",
//                                                            Xiao et al. 2023)
//   induction      = 1/(T−n) · Σ_{i=n}^{T−1} A[i, i−n+1]   on the second copy, attends to the token *after*
//                                                            the earlier occurrence of token i: the
//                                                            copy-the-continuation pattern ("prefix matching",
//                                                            Olsson et al. 2022, "In-context Learning and
//                                                            Induction Heads"); with T = 2n the factor is 1/n
//
// Row 0 is left out of the first two (its only key is token 0 in a causal model). Each score is a mean of
// weights, so it lies in [0, 1]: a pure previous-token head (A[i, i−1] = 1) scores previous_token = 1.
// Random tokens make the pattern the only thing a head can key on: no grammar, no frequent words.
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::explain {

struct HeadTypeScores {
  double previous_token = 0;
  double first_token = 0;
  double induction = 0;
};

// A head is given a type when its best score reaches this (the explorer's /api/head_types threshold). A
// float, as the API has always reported it: 0.4f = 0.4000000059604645, so a score of exactly 0.4 falls short.
inline constexpr float kHeadTypeThreshold = 0.4f;

// The probe: n token ids drawn uniformly from [0, vocab_size) by Generator(seed), then the same n again
// (length 2n).
std::vector<int64_t> repeated_random_tokens(int64_t n, int64_t vocab_size, uint64_t seed = 1234);

// Scores every head: attention (…, T, T), e.g. one layer's (H, T, T) or (1, H, T, T), recorded on a
// sequence that repeats with period n (n ≥ 1, T > n) -> one HeadTypeScores per (T, T) matrix, in order
// (for (H, T, T): head 0, 1, …).
std::vector<HeadTypeScores> head_type_scores(const Tensor& attention, int64_t n);

// The strongest type ("previous-token", "first-token" or "induction") when it is ≥ threshold, else
// nullptr. Ties go to the earlier one in that order.
const char* head_type_label(const HeadTypeScores& scores, double threshold = kHeadTypeThreshold);

}  // namespace attn::explain
