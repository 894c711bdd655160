// attn bench vit — ViT training and inference images/s, ours vs the same model in PyTorch, against this
// machine's sgemm rate. See bench_vit.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct BenchVit {
  CLI::App* vit = nullptr;       // bench vit
  CLI::App* vit_case = nullptr;  // bench vit-case (hidden: one case in this process)
  Action action;
  bool parsed() const { return vit->parsed() || vit_case->parsed(); }
};

BenchVit add_bench_vit(CLI::App& bench);

}  // namespace attn::cli
