#include "attn/dist/trainer_ranks.h"

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "attn/dist/data_parallel.h"

namespace attn::dist {

namespace {

class DistributedUpdate final : public trainers::Update {
 public:
  DistributedUpdate(Communicator& comm, std::vector<Tensor> decay, std::vector<Tensor> no_decay,
                    const DataParallelOptions& o)
      : dp_(comm, std::move(decay), std::move(no_decay), o) {}
  void backward(const Tensor& loss) override { dp_.backward(loss); }
  float clip_grad_norm(float max_norm) override { return dp_.clip_grad_norm(max_norm); }
  void step(float lr) override { dp_.step(lr); }
  void save(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra) override {
    dp_.save_optimizer(path, step, extra);
  }
  int64_t load(const std::string& path, const char* op, std::map<std::string, std::string>* metadata) override {
    return dp_.load_optimizer(path, op, metadata);
  }
  const DataParallel& data_parallel() const { return dp_; }

 private:
  DataParallel dp_;
};

class MpiRanks final : public trainers::Ranks {
 public:
  MpiRanks(Communicator& comm, const TrainerRanksOptions& o) : comm_(comm), options_(o) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void sum(double* values, int64_t n, const char* what) override { comm_.allreduce_sum(values, n, what); }
  void broadcast_from_lead(double* values, int64_t n, const char* what) override {
    comm_.broadcast(values, n * static_cast<int64_t>(sizeof(double)), 0, what);
  }
  void barrier(const char* what) override { comm_.barrier(what); }
  void check_same(const std::string& what, int64_t value) override { comm_.check_same(what, value); }
  std::unique_ptr<trainers::Update> update(std::vector<Tensor> decay, std::vector<Tensor> no_decay, float /*lr*/,
                                           const trainers::AdamSettings& a,
                                           std::vector<Tensor> /*clip_order*/) override {
    DataParallelOptions o;
    o.bucket_bytes = options_.bucket_bytes;
    o.zero = options_.zero;
    o.beta1 = a.beta1, o.beta2 = a.beta2, o.eps = a.eps, o.weight_decay = a.weight_decay;
    auto u = std::make_unique<DistributedUpdate>(comm_, std::move(decay), std::move(no_decay), o);
    const DataParallel& dp = u->data_parallel();
    std::ostringstream d;
    d << "data parallel: " << comm_.size() << " ranks, each its share of every batch; gradients averaged in "
      << dp.num_buckets() << " buckets of <= " << options_.bucket_bytes / 1024 << " KiB while backward runs"
      << (options_.zero
              ? "; ZeRO-1: each rank keeps the AdamW state of " + std::to_string(dp.shard().second - dp.shard().first) +
                    " of the " + std::to_string(dp.num_parameters()) + " parameters"
              : std::string());
    describe_ = d.str();
    return u;
  }
  std::string describe() const override { return describe_; }

 private:
  Communicator& comm_;
  TrainerRanksOptions options_;
  std::string describe_;
};

}  // namespace

std::unique_ptr<trainers::Ranks> trainer_ranks(Communicator& comm, const TrainerRanksOptions& options) {
  return std::make_unique<MpiRanks>(comm, options);
}

}  // namespace attn::dist
