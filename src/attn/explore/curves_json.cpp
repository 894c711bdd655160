#include "attn/explore/curves_json.h"

#include <nlohmann/json.hpp>

#include "attn/core/rng.h"

namespace attn::explore {

using nlohmann::json;

namespace {
json curves(const explain::ExampleCurves& c) {
  return {{"positive", c.positive}, {"negative", c.negative}, {"deletion", c.deletion}, {"insertion", c.insertion}};
}
}  // namespace

json perturbation_curves_json(const explain::RemovalForward& forward, int64_t num_tokens,
                              const std::vector<int64_t>& candidates,
                              const std::vector<std::pair<std::string, std::vector<float>>>& rankings, int64_t label,
                              int64_t explained) {
  json out = json::object();
  for (const auto& [method, scores] : rankings)
    out[method] = curves(explain::example_curves(forward, num_tokens, candidates, scores, label, explained));
  Generator gen(1, 11);
  const std::vector<float> random = explain::random_scores(static_cast<int64_t>(candidates.size()), gen);
  out["random"] = curves(explain::example_curves(forward, num_tokens, candidates, random, label, explained));
  return out;
}

json perturbation_fractions_json() {
  return {{"perturbation", explain::kPerturbationFractions}, {"deletion", explain::kDeletionFractions}};
}

}  // namespace attn::explore
