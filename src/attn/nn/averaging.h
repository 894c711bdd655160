// Weight averaging: one set of weights from several of the same network.
#pragma once
#include <vector>

#include "attn/nn/state_dict.h"

namespace attn::nn {

// The element-wise mean of state dicts with the same names and shapes (in the first one's order):
// checkpoint averaging (Vaswani et al. 2017 averaged the last 5–20 checkpoints of one run) and the "model
// soup" of runs continued from one starting point (Wortsman et al. 2022). Throws attn::Error naming the
// first name that is missing or differs in shape; an empty list is an error too.
StateDict average_state_dicts(const std::vector<StateDict>& dicts);

}  // namespace attn::nn
