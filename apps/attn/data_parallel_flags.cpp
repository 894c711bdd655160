#include "data_parallel_flags.h"

#include <iostream>
#include <memory>

#include "attn/dist/communicator.h"
#include "attn/dist/trainer_ranks.h"

namespace attn::cli {

void add_data_parallel_flags(CLI::App* app, bool* zero, int64_t* bucket_kib) {
  app->add_flag("--zero", *zero,
                "Under mpirun: ZeRO stage 1, each rank keeps the AdamW state of 1/N of the parameters");
  app->add_option("--bucket-kib", *bucket_kib,
                  "Under mpirun: gradients are averaged in buckets of this size while backward runs")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
}

int run_on_ranks(const DataParallelFlags& f, const char* command, const std::function<int(trainers::Ranks*)>& body) {
  dist::Communicator& comm = dist::world();
  if (!comm.distributed()) {
    if (f.zero)
      std::cerr << "(" << command
                << ": --zero shards the optimizer state over ranks under mpirun; one process keeps it whole)\n";
    return body(nullptr);
  }
  const std::unique_ptr<trainers::Ranks> ranks = dist::trainer_ranks(comm, {f.bucket_kib * 1024, f.zero});
  struct RestoreCout {  // only rank 0 talks
    bool on;
    ~RestoreCout() {
      if (on) std::cout.clear();
    }
  } restore{!ranks->lead()};
  if (!ranks->lead()) std::cout.setstate(std::ios::failbit);
  return dist::abort_on_error(comm, [&] { return body(ranks.get()); });
}

}  // namespace attn::cli
