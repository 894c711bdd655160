// attn bench explore — how long the Attention Explorer takes to answer each request (Explorer::handle, in
// this process, no HTTP), on the default model at --tokens (128) and on a random GPT-2 124M at --long-tokens
// (1024), beside this machine's sgemm rate. See bench_explore.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct BenchExplore {
  CLI::App* explore = nullptr;
  Action action;
  bool parsed() const { return explore->parsed(); }
};

BenchExplore add_bench_explore(CLI::App& bench);

}  // namespace attn::cli
