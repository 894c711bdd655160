#include "attn/trainers/parallel.h"

#include "attn/core/error.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "attn/trainers/common.h"

namespace attn::trainers {

namespace {

class LocalUpdate final : public Update {
 public:
  LocalUpdate(std::vector<Tensor> decay, std::vector<Tensor> no_decay, float lr, const AdamSettings& a,
              std::vector<Tensor> clip_order)
      : params_(std::move(clip_order)), opt_(decay, no_decay, lr, a.beta1, a.beta2, a.weight_decay, a.eps) {
    if (params_.empty()) {
      params_ = decay;
      params_.insert(params_.end(), no_decay.begin(), no_decay.end());
    }
  }
  void backward(const Tensor& loss) override { loss.backward(); }
  float clip_grad_norm(float max_norm) override { return nn::clip_grad_norm_(params_, max_norm); }
  void step(float lr) override {
    opt_.set_lr(lr);
    opt_.step();
    opt_.zero_grad();
  }
  void save(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra) override {
    opt_.save(path, step, extra);
  }
  int64_t load(const std::string& path, const char* op, std::map<std::string, std::string>* metadata) override {
    return opt_.load(path, op, metadata);
  }

 private:
  std::vector<Tensor> params_;
  TwoGroupAdamW opt_;
};

class OneProcess final : public Ranks {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(double*, int64_t, const char*) override {}
  void broadcast_from_lead(double*, int64_t, const char*) override {}
  void barrier(const char*) override {}
  void check_same(const std::string&, int64_t) override {}
  std::unique_ptr<Update> update(std::vector<Tensor> decay, std::vector<Tensor> no_decay, float lr,
                                 const AdamSettings& settings, std::vector<Tensor> clip_order) override {
    return std::make_unique<LocalUpdate>(std::move(decay), std::move(no_decay), lr, settings, std::move(clip_order));
  }
  std::string describe() const override { return ""; }
};

}  // namespace

Ranks& one_process() {
  static OneProcess p;
  return p;
}

std::pair<int64_t, int64_t> shard_of(int64_t n, int rank, int size) {
  ATTN_CHECK(size >= 1 && rank >= 0 && rank < size && n >= 0, "shard_of",
             "rank " << rank << " of " << size << ", " << n << " items");
  const int64_t base = n / size, extra = n % size;
  const int64_t first = rank * base + std::min<int64_t>(rank, extra);
  return {first, base + (rank < extra ? 1 : 0)};
}

double shard_weight(int64_t n, int64_t count, int size) {
  ATTN_CHECK(n > 0 && count >= 0 && count <= n, "shard_weight", count << " of " << n << " items");
  return static_cast<double>(size) * static_cast<double>(count) / static_cast<double>(n);
}

double backward_share(Update& update, Ranks& ranks, const Tensor& loss, int64_t mine, int64_t all) {
  if (ranks.size() == 1) {
    update.backward(loss);
    return loss.item();
  }
  update.backward(mul(loss, static_cast<float>(shard_weight(all, mine, ranks.size()))));
  double l = mine > 0 ? loss.item() * static_cast<double>(mine) / static_cast<double>(all) : 0.0;
  ranks.sum(&l, 1, "training loss");
  return l;
}

uint64_t fingerprint(const void* bytes, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace attn::trainers
