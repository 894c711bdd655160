// attn bench scale — data-parallel training and ring attention on 1 and N ranks (mpirun), the communication share,
// and a model of the scaling to more machines. See bench_scale.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct BenchScale {
  CLI::App* scale = nullptr;
  Action action;
  bool parsed() const { return scale->parsed(); }
};

BenchScale add_bench_scale(CLI::App& bench);

}  // namespace attn::cli
