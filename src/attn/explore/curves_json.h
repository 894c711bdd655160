// The perturbation curves of one input as the explorer sends them (/api/image/explain, /api/relevance):
// explain/faithfulness.h's four curves for each ranking of the candidate tokens, and for a random ranking.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "attn/explain/faithfulness.h"

namespace attn::explore {

// {method: {"positive", "negative", "deletion", "insertion"}} for each (method, scores of `candidates`) in
// `rankings`, plus "random": a uniform ranking from Generator(1, 11), the same for every request. `label` is
// what positive/negative count as correct, `explained` the class or token whose probability deletion and
// insertion follow.
nlohmann::json perturbation_curves_json(const explain::RemovalForward& forward, int64_t num_tokens,
                                        const std::vector<int64_t>& candidates,
                                        const std::vector<std::pair<std::string, std::vector<float>>>& rankings,
                                        int64_t label, int64_t explained);

// {"perturbation": [...], "deletion": [...]}: the fractions removed at each point of those curves.
nlohmann::json perturbation_fractions_json();

}  // namespace attn::explore
