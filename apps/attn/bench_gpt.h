// attn bench gpt — GPT training steps and KV-cache decoding, ours vs the same model in PyTorch, against this
// machine's ceilings (sgemm rate, memory bandwidth). See bench_gpt.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct BenchGpt {
  CLI::App* gpt = nullptr;       // bench gpt
  CLI::App* gpt_case = nullptr;  // bench gpt-case (hidden: one case in this process)
  Action action;                 // runs whichever of the two was parsed
  bool parsed() const { return gpt->parsed() || gpt_case->parsed(); }
};

// Registers both subcommands under `bench`.
BenchGpt add_bench_gpt(CLI::App& bench);

}  // namespace attn::cli
