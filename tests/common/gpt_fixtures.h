// Small random GPTs for tests of what reads a GPT (explanations, interventions, forward options).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attn/models/gpt.h"

namespace attn::testing {

// A GPT with larger random weights than GPT-2's init (std 0.02 makes attention nearly uniform): every
// weight ~ N(0, 0.4²), LayerNorm gains ~ 1 + N(0, 0.1²) and biases ~ N(0, 0.1²), so every head and term
// counts. In eval mode.
std::unique_ptr<models::GPT> random_gpt(const models::GPTConfig& c, uint64_t seed);

// n token ids uniform in [0, V), from Generator(seed).
std::vector<int64_t> random_tokens(int64_t n, int64_t V, uint64_t seed);

// A folder with a tiny character GPT (1 layer, 1 head, 8 wide, context 8, the characters of "abc def") as
// `attn train gpt` writes it, in fresh_dir(name): what the explorer's tests load when the GPT is not what they test.
std::string tiny_char_gpt_folder(const std::string& name);

}  // namespace attn::testing
