// The trainers' view of data parallelism (attn/trainers/parallel.h) over MPI: the ranks of `mpirun -np N` and
// dist::DataParallel's bucketed gradient averaging, optionally with ZeRO-1. What `attn train vit`, `attn train
// audio` and `attn train translate` get under mpirun (attn train gpt uses DataParallel directly).
#pragma once
#include <cstdint>
#include <memory>

#include "attn/dist/communicator.h"
#include "attn/trainers/parallel.h"

namespace attn::dist {

struct TrainerRanksOptions {
  int64_t bucket_bytes = int64_t{1} << 20;  // DataParallelOptions::bucket_bytes
  bool zero = false;                        // ZeRO stage 1
};

std::unique_ptr<trainers::Ranks> trainer_ranks(Communicator& comm, const TrainerRanksOptions& options);

}  // namespace attn::dist
