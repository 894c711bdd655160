// Data-parallel training: one model replicated on N ranks, each rank a shard of every batch (PyTorch's
// DistributedDataParallel, Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel
// Training"), and optionally the optimizer state split across the ranks (ZeRO stage 1, Rajbhandari et al. 2020).
//
// One step on rank r of N, global batch B = N·b:
//   loss_r = mean loss of the model on rows [r·b, (r+1)·b) of the batch
//   backward(loss_r)            as each gradient is finished, it is copied into its bucket; a full bucket is
//                               summed over the ranks (non-blocking allreduce) while backward goes on
//   g = (1/N) Σ_r ∇loss_r       = ∇ of the mean loss over the whole batch (equal-sized shards)
//   clip, AdamW                 every rank the same update on the same g: the replicas stay identical
//
// Buckets: the parameters in reverse order (the order backward finishes them: last layer first), cut every
// `bucket_bytes` (default 1 MiB = 262,144 floats; PyTorch's default is 25 MiB, sized for GPUs and fast networks —
// a small model here would otherwise be one bucket, reduced only after the whole backward pass). Buckets are
// started strictly in order, so every rank issues the same collectives in the same order.
//
// ZeRO stage 1 (`zero = true`): the flat vector of all P parameters is cut into N shards (boundaries on multiples of
// 4096 floats); each bucket is reduce-scattered instead of allreduced, so rank r receives the summed gradient of its
// shard only; AdamW's moments m, v exist for that shard only (memory ÷ N); after the update each rank's new
// parameters are all-gathered. The same parameters as without ZeRO, to the bit: the update is elementwise, and the
// gradient norm for clipping is summed shard by shard in rank order in both modes.
//
// Checkpoints keep the one-process trainer's format (trainers::TwoGroupAdamW: "decay.exp_avg.i", …): the moments
// are gathered and rank 0 writes them; every rank loads the whole file and keeps its shard. So a run resumes with
// the same, a different, or no number of ranks.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/dist/communicator.h"

namespace attn::dist {

struct DataParallelOptions {
  int64_t bucket_bytes = int64_t{1} << 20;
  bool zero = false;  // ZeRO stage 1: optimizer state sharded across the ranks
  // AdamW (torch's formula, as nn::AdamW); weight decay on the "decay" group only.
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
};

class DataParallel {
 public:
  // `decay` and `no_decay`: the two parameter groups, as trainers::TwoGroupAdamW takes them (the checkpoint's
  // "decay.i" / "no_decay.i" indices follow these orders). Broadcasts rank 0's parameter values to every rank.
  DataParallel(Communicator& comm, std::vector<Tensor> decay, std::vector<Tensor> no_decay,
               const DataParallelOptions& options);

  // loss.backward(), reducing gradient buckets as they fill; returns with the averaged gradient in place (every
  // parameter's, or with ZeRO this rank's shard of it) and every parameter's .grad released.
  void backward(const Tensor& loss);
  // The L2 norm of the averaged gradient (every rank the same value); scales it by min(1, max_norm / (norm + 1e-6))
  // as nn::clip_grad_norm_ does. max_norm <= 0: only the norm.
  float clip_grad_norm(float max_norm);
  // One AdamW update at learning rate `lr` (ZeRO: of this rank's shard, then the parameters all-gathered).
  void step(float lr);

  // Collective: every rank calls it; rank 0 writes `path` in TwoGroupAdamW's format with `step` and `extra` in its
  // metadata.
  void save_optimizer(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra) const;
  // Every rank reads `path` (TwoGroupAdamW's format, written by one process or by any number of ranks) and keeps
  // its shard; returns the step; `metadata` gets the file's metadata.
  int64_t load_optimizer(const std::string& path, const char* op, std::map<std::string, std::string>* metadata);

  int64_t num_parameters() const { return total_; }
  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // This rank's shard of the flat parameter vector [begin, end) (everything without ZeRO).
  std::pair<int64_t, int64_t> shard() const { return {lo_, hi_}; }
  // Floats of optimizer state this rank holds (2 × its shard).
  int64_t optimizer_floats() const { return 2 * (hi_ - lo_); }
  // The flat averaged gradient (valid over shard()), for tests.
  const std::vector<float>& flat_grad() const { return grad_; }

 private:
  struct Param {
    Tensor tensor;
    bool decay;
    int64_t index;   // in its group
    int64_t offset;  // in the flat vector
    int64_t numel;
    int bucket;
    bool arrived = false;  // its gradient reached the bucket this step
  };
  struct Bucket {
    int64_t begin, end;  // flat range
    int waiting;         // parameters still to arrive this step
    Communicator::Request request;
  };
  void on_grad_ready(const Tensor& leaf);
  void start_ready_buckets();
  std::vector<int64_t> shard_counts(int64_t begin, int64_t end) const;  // a flat range's part in each rank's shard
  double shard_sum_of_squares(int64_t begin, int64_t end) const;

  Communicator& comm_;
  DataParallelOptions options_;
  std::vector<Param> params_;
  std::map<const void*, size_t> index_of_;  // TensorImpl* -> params_ index
  std::vector<Bucket> buckets_;
  size_t next_bucket_ = 0;
  int64_t total_ = 0;
  std::vector<int64_t> shard_begin_;  // N + 1 boundaries
  int64_t lo_ = 0, hi_ = 0;
  std::vector<float> grad_;                  // flat gradients (P)
  std::vector<float> exp_avg_, exp_avg_sq_;  // this shard's AdamW moments
  float adam_step_ = 0;                      // updates so far (every parameter is updated every step)
  float lr_ = 0;                             // the last update's rate (saved with the moments)
};

}  // namespace attn::dist
