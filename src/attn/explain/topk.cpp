#include "attn/explain/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attn/core/error.h"

namespace attn::explain {

std::vector<TokenProbability> topk_probabilities(std::span<const float> logits, int64_t k, float temperature) {
  const auto V = static_cast<int64_t>(logits.size());
  ATTN_CHECK(V > 0, "topk_probabilities", "no logits");
  ATTN_CHECK(k >= 1, "topk_probabilities", "k = " << k << " must be >= 1");
  ATTN_CHECK(temperature > 0.f, "topk_probabilities", "temperature = " << temperature << " must be > 0");
  k = std::min(k, V);
  // The k largest logits first (softmax keeps the order, so sort the logits, not the probabilities).
  std::vector<int64_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  const double max_z = logits[static_cast<size_t>(order[0])];
  double Z = 0;  // Σ_u exp((z_u − max z) / τ)
  for (float z : logits) Z += std::exp((z - max_z) / temperature);
  std::vector<TokenProbability> top;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t v = order[static_cast<size_t>(i)];
    top.push_back({v, std::exp((logits[static_cast<size_t>(v)] - max_z) / temperature) / Z});
  }
  return top;
}

}  // namespace attn::explain
