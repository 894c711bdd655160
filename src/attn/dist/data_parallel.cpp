#include "attn/dist/data_parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/safetensors.h"
#include "attn/kernels/parallel.h"
#include "attn/nn/optim.h"

namespace attn::dist {

namespace {
constexpr const char* kOp = "DataParallel";
constexpr int64_t kChunk = 4096;  // shard boundaries and the norm's partial sums fall on multiples of this
}  // namespace

DataParallel::DataParallel(Communicator& comm, std::vector<Tensor> decay, std::vector<Tensor> no_decay,
                           const DataParallelOptions& options)
    : comm_(comm), options_(options) {
  ATTN_CHECK(options.bucket_bytes >= 4, kOp, "bucket_bytes must be at least one float, got " << options.bucket_bytes);
  // The flat layout: the decay group, then the no_decay group, each in its order (what the checkpoint indexes).
  for (int g = 0; g < 2; ++g) {
    const std::vector<Tensor>& group = g == 0 ? decay : no_decay;
    for (size_t i = 0; i < group.size(); ++i) {
      const Tensor& t = group[i];
      ATTN_CHECK(t.defined() && t.is_leaf(), kOp,
                 "parameter " << i << " of the " << (g == 0 ? "decay" : "no_decay") << " group is not a leaf tensor");
      ATTN_CHECK(!index_of_.count(t.impl()), kOp, "a parameter appears twice");
      index_of_[t.impl()] = params_.size();
      params_.push_back({t, g == 0, static_cast<int64_t>(i), total_, t.numel(), -1});
      total_ += t.numel();
    }
  }
  ATTN_CHECK(total_ > 0, kOp, "no parameters");
  // Every rank must hold the same model: the same parameter count and layout, or the collectives would mismatch.
  comm_.check_same("the model's number of parameters", total_);
  comm_.check_same("the model's number of parameter tensors", static_cast<int64_t>(params_.size()));

  // Buckets, from the last parameter backwards (the order in which backward() completes them).
  const int64_t cap = std::max<int64_t>(1, options.bucket_bytes / static_cast<int64_t>(sizeof(float)));
  int64_t end = total_, size = 0;
  for (size_t i = params_.size(); i-- > 0;) {
    size += params_[i].numel;
    params_[i].bucket = static_cast<int>(buckets_.size());
    if (size >= cap || i == 0) {
      buckets_.push_back({params_[i].offset, end, 0, {}});
      end = params_[i].offset;
      size = 0;
    }
  }

  // Shards: N nearly equal ranges on multiples of kChunk (the last rank takes the remainder); everything without ZeRO.
  const int n = comm_.size();
  shard_begin_.resize(static_cast<size_t>(n) + 1);
  const int64_t chunks = (total_ + kChunk - 1) / kChunk;
  for (int r = 0; r <= n; ++r) shard_begin_[static_cast<size_t>(r)] = std::min(total_, chunks * r / n * kChunk);
  shard_begin_[static_cast<size_t>(n)] = total_;
  if (options.zero) {
    lo_ = shard_begin_[static_cast<size_t>(comm_.rank())];
    hi_ = shard_begin_[static_cast<size_t>(comm_.rank()) + 1];
  } else {
    lo_ = 0;
    hi_ = total_;
  }
  grad_.assign(static_cast<size_t>(total_), 0.f);
  exp_avg_.assign(static_cast<size_t>(hi_ - lo_), 0.f);
  exp_avg_sq_.assign(static_cast<size_t>(hi_ - lo_), 0.f);

  // Replicas start equal: rank 0's initial weights everywhere (PyTorch DDP does the same at construction).
  for (Param& p : params_)
    comm_.broadcast(p.tensor.data(), p.numel * static_cast<int64_t>(sizeof(float)), 0, "parameter broadcast");
}

std::vector<int64_t> DataParallel::shard_counts(int64_t begin, int64_t end) const {
  std::vector<int64_t> counts(static_cast<size_t>(comm_.size()));
  for (size_t r = 0; r < counts.size(); ++r)
    counts[r] = std::max<int64_t>(0, std::min(end, shard_begin_[r + 1]) - std::max(begin, shard_begin_[r]));
  return counts;
}

void DataParallel::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].waiting == 0) {
    Bucket& b = buckets_[next_bucket_++];
    float* data = grad_.data() + b.begin;
    b.request = options_.zero ? comm_.ireduce_scatter_sum(data, shard_counts(b.begin, b.end), "gradient reduce-scatter")
                              : comm_.iallreduce_sum(data, b.end - b.begin, "gradient allreduce");
  }
  // Non-blocking collectives advance only while some MPI call runs: poke the ones in flight.
  for (size_t i = 0; i < next_bucket_; ++i) comm_.test(buckets_[i].request);
}

void DataParallel::on_grad_ready(const Tensor& leaf) {
  auto it = index_of_.find(leaf.impl());
  if (it == index_of_.end()) return;  // a leaf that is not one of ours (an input that requires grad)
  Param& p = params_[it->second];
  Tensor g = leaf.grad();
  std::memcpy(grad_.data() + p.offset, g.data(), static_cast<size_t>(p.numel) * sizeof(float));
  leaf.impl()->grad.reset();  // copied: the tensor's own buffer can go back to the pool
  p.arrived = true;
  --buckets_[static_cast<size_t>(p.bucket)].waiting;
  start_ready_buckets();
}

void DataParallel::backward(const Tensor& loss) {
  for (Bucket& b : buckets_) b.waiting = 0;
  for (Param& p : params_) {
    ++buckets_[static_cast<size_t>(p.bucket)].waiting;
    p.tensor.impl()->grad.reset();
    p.arrived = false;
  }
  next_bucket_ = 0;
  backward_with_hook(loss, [this](const Tensor& leaf) { on_grad_ready(leaf); });
  // Parameters that took no part in the loss (no call came): a zero gradient, and their buckets go now.
  for (Param& p : params_)
    if (!p.arrived) std::fill_n(grad_.data() + p.offset, p.numel, 0.f);
  for (Bucket& b : buckets_) b.waiting = 0;
  start_ready_buckets();
  for (Bucket& b : buckets_) comm_.wait(b.request);
  // Σ over ranks → mean over ranks (on the part this rank owns).
  const float inv = 1.f / static_cast<float>(comm_.size());
  if (comm_.size() > 1) {
    float* g = grad_.data();
    kernels::parallel_for(hi_ - lo_, [=, lo = lo_](int64_t k) { g[lo + k] *= inv; });
  }
}

double DataParallel::shard_sum_of_squares(int64_t begin, int64_t end) const {
  // Fixed chunks added in order: the same sum whichever rank computes it, with any number of threads.
  const int64_t chunks = (end - begin + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(chunks, 0)), 0.0);
  const float* g = grad_.data();
  kernels::parallel_rows(chunks, kChunk, [&](int64_t c) {
    double acc = 0;
    const int64_t a = begin + c * kChunk, b = std::min(end, a + kChunk);
#pragma omp simd reduction(+ : acc)
    for (int64_t k = a; k < b; ++k) acc += static_cast<double>(g[k]) * g[k];
    partial[static_cast<size_t>(c)] = acc;
  });
  double total = 0;
  for (double x : partial) total += x;
  return total;
}

float DataParallel::clip_grad_norm(float max_norm) {
  // Σ g² per shard, then the shards' sums in rank order — with or without ZeRO, the same additions.
  double total = 0;
  if (options_.zero) {
    for (double s : comm_.allgather_value(shard_sum_of_squares(lo_, hi_), "gradient norm")) total += s;
  } else {
    for (int r = 0; r < comm_.size(); ++r)
      total += shard_sum_of_squares(shard_begin_[static_cast<size_t>(r)], shard_begin_[static_cast<size_t>(r) + 1]);
  }
  const float norm = static_cast<float>(std::sqrt(total));
  if (max_norm > 0) {
    const float scale = nn::clip_coefficient(norm, max_norm);
    if (scale < 1.f) {
      float* g = grad_.data();
      kernels::parallel_for(hi_ - lo_, [=, lo = lo_](int64_t k) { g[lo + k] *= scale; });
    }
  }
  return norm;
}

void DataParallel::step(float lr) {
  adam_step_ += 1.f;
  lr_ = lr;
  for (Param& p : params_) {  // nn::AdamW's update, on the part of each parameter inside this rank's shard
    const int64_t a = std::max(lo_, p.offset), b = std::min(hi_, p.offset + p.numel);
    if (a >= b) continue;
    nn::adam_update(p.tensor.data() + (a - p.offset), grad_.data() + a, exp_avg_.data() + (a - lo_),
                    exp_avg_sq_.data() + (a - lo_), b - a, lr, options_.beta1, options_.beta2, options_.eps,
                    p.decay ? options_.weight_decay : 0.f, /*decoupled=*/true, adam_step_);
  }
  if (!options_.zero || comm_.size() == 1) return;
  // ZeRO: each rank updated its shard; gather everyone's (into the gradient buffer, free until the next backward).
  for (Param& p : params_) {
    const int64_t a = std::max(lo_, p.offset), b = std::min(hi_, p.offset + p.numel);
    if (a < b)
      std::memcpy(grad_.data() + a, p.tensor.data() + (a - p.offset), static_cast<size_t>(b - a) * sizeof(float));
  }
  comm_.allgather(grad_.data(), shard_counts(0, total_), "parameter all-gather");
  for (Param& p : params_)
    std::memcpy(p.tensor.data(), grad_.data() + p.offset, static_cast<size_t>(p.numel) * sizeof(float));
}

void DataParallel::save_optimizer(const std::string& path, int64_t step,
                                  const std::map<std::string, std::string>& extra) const {
  // The full moments: this rank's own without ZeRO; gathered from every shard with it.
  std::vector<float> m(static_cast<size_t>(total_)), v(static_cast<size_t>(total_));
  std::copy(exp_avg_.begin(), exp_avg_.end(), m.begin() + lo_);
  std::copy(exp_avg_sq_.begin(), exp_avg_sq_.end(), v.begin() + lo_);
  if (options_.zero && comm_.size() > 1) {
    comm_.allgather(m.data(), shard_counts(0, total_), "optimizer state gather");
    comm_.allgather(v.data(), shard_counts(0, total_), "optimizer state gather");
  }
  if (comm_.rank() != 0) return;
  io::NamedTensors all;
  all.emplace_back("decay.lr", Tensor::scalar(lr_));  // the last step's rate, as TwoGroupAdamW saves it
  all.emplace_back("no_decay.lr", Tensor::scalar(lr_));
  for (const Param& p : params_) {
    if (adam_step_ == 0) break;  // no update yet: no state, as torch's lazy optimizer state
    const std::string prefix = std::string(p.decay ? "decay." : "no_decay.");
    const std::string i = std::to_string(p.index);
    Tensor em = Tensor::empty(p.tensor.shape()), ev = Tensor::empty(p.tensor.shape());
    std::memcpy(em.data(), m.data() + p.offset, static_cast<size_t>(p.numel) * sizeof(float));
    std::memcpy(ev.data(), v.data() + p.offset, static_cast<size_t>(p.numel) * sizeof(float));
    all.emplace_back(prefix + "step." + i, Tensor::scalar(adam_step_));
    all.emplace_back(prefix + "exp_avg." + i, em);
    all.emplace_back(prefix + "exp_avg_sq." + i, ev);
  }
  std::map<std::string, std::string> metadata = extra;
  metadata["step"] = std::to_string(step);
  io::save_safetensors(path, all, metadata);
}

int64_t DataParallel::load_optimizer(const std::string& path, const char* op,
                                     std::map<std::string, std::string>* metadata) {
  io::SafeTensors st = io::load_safetensors(path);
  std::map<std::string, Tensor> by_name(st.tensors.begin(), st.tensors.end());
  float step = -1;
  for (const Param& p : params_) {
    const std::string prefix = std::string(p.decay ? "decay." : "no_decay.");
    const std::string i = std::to_string(p.index);
    auto s = by_name.find(prefix + "step." + i), m = by_name.find(prefix + "exp_avg." + i),
         v = by_name.find(prefix + "exp_avg_sq." + i);
    if (s == by_name.end() && m == by_name.end() && v == by_name.end()) {
      ATTN_CHECK(step <= 0, op, path << ": no optimizer state for " << prefix << i << " while others have some");
      step = 0;
      continue;
    }
    ATTN_CHECK(s != by_name.end() && m != by_name.end() && v != by_name.end(), op,
               path << ": incomplete optimizer state for " << prefix << i << " (step, exp_avg, exp_avg_sq)");
    ATTN_CHECK(m->second.shape() == p.tensor.shape() && v->second.shape() == p.tensor.shape() && s->second.numel() == 1,
               op, path << ": optimizer state " << prefix << i << " has the wrong shape for this model");
    const float si = s->second.item();
    ATTN_CHECK(step < 0 || step == si, op,
               path << ": parameters at different optimizer steps (" << step << " and " << si
                    << "); data-parallel training updates every parameter every step");
    step = si;
    const int64_t a = std::max(lo_, p.offset), b = std::min(hi_, p.offset + p.numel);
    if (a >= b) continue;
    std::memcpy(exp_avg_.data() + (a - lo_), m->second.data() + (a - p.offset),
                static_cast<size_t>(b - a) * sizeof(float));
    std::memcpy(exp_avg_sq_.data() + (a - lo_), v->second.data() + (a - p.offset),
                static_cast<size_t>(b - a) * sizeof(float));
  }
  for (const auto& [name, t] : by_name) {
    const bool known = name.rfind("decay.", 0) == 0 || name.rfind("no_decay.", 0) == 0;
    ATTN_CHECK(known, op, path << ": unexpected tensor " << name);
  }
  adam_step_ = std::max(step, 0.f);
  if (metadata) *metadata = st.metadata;
  auto it = st.metadata.find("step");
  ATTN_CHECK(it != st.metadata.end(), op, path << " has no step in its metadata");
  return std::stoll(it->second);
}

}  // namespace attn::dist
