// What every trainer of `attn train` has for `mpirun -np N attn train …` (gpt, vit, audio, translate): the flags
// --zero and --bucket-kib, and (vit, audio, translate) running the trainer's library call on the ranks:
// the options get the ranks (attn/trainers/parallel.h over attn/dist), rank 0 talks and writes, the others are
// quiet, and an error on one rank ends the whole job with its message instead of leaving the others waiting
// (dist::abort_on_error).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>

#include "attn/trainers/parallel.h"

namespace attn::cli {

struct DataParallelFlags {
  bool zero = false;          // ZeRO stage 1: optimizer state sharded over the ranks
  int64_t bucket_kib = 1024;  // gradients averaged in buckets of this size while backward runs
};

void add_data_parallel_flags(CLI::App* app, bool* zero, int64_t* bucket_kib);
inline void add_data_parallel_flags(CLI::App* app, DataParallelFlags* f) {
  add_data_parallel_flags(app, &f->zero, &f->bucket_kib);
}

// Runs body(ranks): ranks null on one process (where --zero is noted as doing nothing). Under mpirun, standard
// output is switched off on every rank but 0.
int run_on_ranks(const DataParallelFlags& f, const char* command, const std::function<int(trainers::Ranks*)>& body);

// The trainer `train(options)` on the ranks: options.ranks set, its log, progress and results streams only on rank 0.
template <typename Options, typename Train>
int train_on_ranks(Options& options, const DataParallelFlags& f, const char* command, Train&& train) {
  return run_on_ranks(f, command, [&](trainers::Ranks* ranks) {
    options.ranks = ranks;
    if (ranks && !ranks->lead()) options.log = options.progress = options.results = nullptr;
    return train(options);
  });
}

}  // namespace attn::cli
