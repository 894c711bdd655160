// Data-parallel training as the trainers see it (attn train vit, attn train audio, attn train translate): the
// ranks of a run and how a step's gradients become an update. This layer sits below attn/dist and does not link
// MPI: one process is `one_process()`; `mpirun -np N attn train …` gets attn/dist's implementation
// (dist::trainer_ranks, over dist::DataParallel) from the command.
//
// One step of a global batch of n items on rank r of N (`shard_of`: contiguous shares n_r that differ by at most one):
//   loss_r   = mean loss over this rank's n_r items
//   weighted = loss_r · N · n_r / n             (`shard_weight`)
//   update.backward(weighted)                    the gradient averaged over the ranks as backward runs:
//       (1/N) Σ_r N · n_r / n · ∇loss_r = Σ_r (n_r / n) ∇loss_r = ∇(mean loss over all n items)
//   update.clip_grad_norm(clip); update.step(lr) every rank the same update of the same gradient
// so N ranks give one process's trajectory with the same global batch, whatever n (an epoch's last batch is
// smaller), up to float summation order. A rank whose share is empty (n < N) still takes part: it backpropagates
// one item's loss times 0.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::trainers {

struct TwoGroupAdamW;

// AdamW's constants (torch's formula); decoupled weight decay on the "decay" group only. With weight_decay 0 this
// is Adam, to the bit.
struct AdamSettings {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
};

// A step's update: backward, clipping and AdamW, on one process or averaged over the ranks.
class Update {
 public:
  virtual ~Update() = default;
  // Gradients of `loss` (on N ranks: averaged over them while backward runs).
  virtual void backward(const Tensor& loss) = 0;
  // The gradient's L2 norm before clipping, scaled down to `max_norm` when above it (nn::clip_grad_norm_).
  virtual float clip_grad_norm(float max_norm) = 0;
  // One AdamW update at `lr`; the gradients are cleared.
  virtual void step(float lr) = 0;
  // The optimizer state in TwoGroupAdamW's file format ("decay.exp_avg.0", …, "step" in the metadata). On N ranks
  // every rank calls it and rank 0 writes. `extra` goes into the metadata.
  virtual void save(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra = {}) = 0;
  // Reads a file that save() wrote on any number of ranks; returns its step. attn::Error tagged `op`.
  virtual int64_t load(const std::string& path, const char* op,
                       std::map<std::string, std::string>* metadata = nullptr) = 0;
};

// The ranks of a run.
class Ranks {
 public:
  virtual ~Ranks() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool lead() const { return rank() == 0; }  // the rank that writes files and talks
  // Σ over the ranks, in place (every rank ends with the sums). `what` names it in a timeout message.
  virtual void sum(double* values, int64_t n, const char* what) = 0;
  // Rank 0's values on every rank, in place (what rank 0's clock decided: the time limit, a time-based rate).
  virtual void broadcast_from_lead(double* values, int64_t n, const char* what) = 0;
  bool rank0_says(bool value, const char* what) {
    double v = value ? 1.0 : 0.0;
    broadcast_from_lead(&v, 1, what);
    return v != 0.0;
  }
  virtual void barrier(const char* what) = 0;
  // The same `value` on every rank, or an error on every rank naming `what` and each rank's value.
  virtual void check_same(const std::string& what, int64_t value) = 0;
  // The update of these two parameter groups (TwoGroupAdamW's: `decay` gets settings.weight_decay). On N ranks,
  // rank 0's parameter values are copied to every rank first. `clip_order`: on one process, the order in which
  // clip_grad_norm_ adds up the parameters' norms (the model's, as the trainers always did; empty: decay, then
  // no_decay), so that one-process runs stay what they were to the bit.
  virtual std::unique_ptr<Update> update(std::vector<Tensor> decay, std::vector<Tensor> no_decay, float lr,
                                         const AdamSettings& settings, std::vector<Tensor> clip_order = {}) = 0;
  // How the run is split, for the log ("" on one process).
  virtual std::string describe() const = 0;
};

// One process: backward(), nn::clip_grad_norm_ and TwoGroupAdamW, as the trainers always ran.
Ranks& one_process();

// Rank `rank`'s share of n items: [first, first + count), contiguous, the first n mod N ranks one item more.
std::pair<int64_t, int64_t> shard_of(int64_t n, int rank, int size);
// N · n_r / n: the factor on a rank's mean loss that makes the averaged gradient the whole batch's (above).
double shard_weight(int64_t n, int64_t count, int size);

// Backward of this rank's mean loss over `mine` of the batch's `all` units (items, target tokens, letters: what the
// loss is a mean over), weighted by shard_weight(all, mine, N) so that the gradient averaged over the ranks is the
// whole batch's; returns the whole batch's mean loss (the same on every rank, for the log). On one process:
// update.backward(loss) and loss.item(), nothing more.
double backward_share(Update& update, Ranks& ranks, const Tensor& loss, int64_t mine, int64_t all);

// 64-bit FNV-1a of n bytes, going on from `h`: a fingerprint of data each rank made itself (a corpus, a
// vocabulary), compared with Ranks::check_same.
uint64_t fingerprint(const void* bytes, size_t n, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace attn::trainers
