// attn bench scale — what several processes buy on this machine, and a model of what many machines would.
//
//   data parallel   `attn train gpt`'s step (its default model: 4 layers, 4 heads, 128 wide, context 128, global
//                   batch 32) on 1 rank with every core, and on N ranks under mpirun with cores / N threads each:
//                   tokens/s, and the share of a step spent waiting for the gradient allreduce (what the bucketed
//                   overlap did not hide); the same for `attn train vit`'s step (its default model: 4 layers, 64
//                   wide, 7x7 patches of 28x28 images, global batch 128), whose small matrices keep threads waiting
//                   at barriers, so that N single-threaded ranks can beat one process with N threads.
//   ring attention  causal self-attention, forward + backward, B = 1, H = 4, D = 64, at T = 16k and 32k: the fused
//                   kernel in one process (every core) vs ring attention over N ranks (attn/dist/ring_attention.h),
//                   the time each rank computed and waited; GFLOP/s against the machine's sgemm rate.
//   model           from the measured compute, and a stated network (--bandwidth-gbps, --latency-us): the expected
//                   step time and efficiency of data parallel on 8–64 machines (ring allreduce: each rank sends and
//                   receives 2 (N−1)/N of the gradient bytes, overlapped with the backward pass up to the share
//                   measured here) and the sequence length per machine at which ring attention hides its messages.
//                   The assumptions are printed with the table and written out in docs/scaling.md.
//
// Each measurement runs in its own child process (`attn bench scale --role …`, under mpirun for N ranks), which
// prints one JSON line from rank 0. Without mpirun on PATH the multi-rank rows say so and the rest still runs.
#include "bench_scale.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "attn/attention/flash.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/dist/communicator.h"
#include "attn/dist/data_parallel.h"
#include "attn/dist/ring_attention.h"
#include "attn/kernels/flash_attention.h"
#include "attn/models/gpt.h"
#include "attn/models/vit.h"
#include "attn/nn/optim.h"
#include "attn/trainers/common.h"
#include "bench_common.h"
#include "machine.h"

namespace attn::cli {

namespace {

using json = bench_json;

struct ScaleOpts : BenchRunOptions {
  std::string role;              // "" = the report; dp | ring | fused = one measurement (internal)
  std::string dp_model = "gpt";  // the data-parallel worker's model: gpt | vit
  int ranks = 2;                 // N for the multi-rank rows
  std::string T = "16384,32768";
  int64_t H = 4, D = 64, seq = 0;  // seq: the worker's T
  int reps = 2;                    // timed repetitions of a ring/fused pass (after none: T is large)
  int dp_steps = 10;               // timed data-parallel steps (after 2 warm-up steps)
  bool zero = false;
  double bandwidth_gbps = 25, latency_us = 5;  // the modelled network between machines
};

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// ---- workers (run in child processes; collective under mpirun: every rank the same number of repetitions) ----

json dp_worker(const ScaleOpts& o) {
  dist::Communicator& comm = dist::world();
  const bool vit = o.dp_model == "vit";
  models::GPTConfig cfg;  // attn train gpt's defaults
  cfg.vocab_size = 256, cfg.n_layer = 4, cfg.n_head = 4, cfg.n_embd = 128, cfg.block_size = 128;
  models::ViTConfig vcfg;  // attn train vit's defaults
  vcfg.image_size = 28, vcfg.patch_size = 7, vcfg.num_channels = 1, vcfg.hidden_size = 64, vcfg.num_hidden_layers = 4;
  vcfg.num_attention_heads = 4, vcfg.intermediate_size = 256, vcfg.num_labels = 10;
  const int64_t global_batch = vit ? 128 : 32;
  ATTN_CHECK(global_batch % comm.size() == 0, "bench scale",
             "the global batch " << global_batch << " is not divisible by " << comm.size() << " ranks");
  const int64_t b = global_batch / comm.size(), T = vit ? vcfg.seq_len() : cfg.block_size;
  Generator gen(1);
  std::unique_ptr<models::GPT> gpt_model;
  std::unique_ptr<models::ViTForImageClassification> vit_model;
  if (vit) vit_model = std::make_unique<models::ViTForImageClassification>(vcfg, gen);
  else gpt_model = std::make_unique<models::GPT>(cfg, gen);
  nn::Module& model = vit ? static_cast<nn::Module&>(*vit_model) : static_cast<nn::Module&>(*gpt_model);
  model.train();
  std::vector<Tensor> decay, no_decay;
  for (const Tensor& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  trainers::TwoGroupAdamW opt(decay, no_decay, 1e-3f, 0.9f, 0.95f, 0.1f);
  std::unique_ptr<dist::DataParallel> dp;
  if (comm.distributed()) {
    dist::DataParallelOptions d;
    d.zero = o.zero, d.beta1 = 0.9f, d.beta2 = 0.95f, d.weight_decay = 0.1f;
    dp = std::make_unique<dist::DataParallel>(comm, decay, no_decay, d);
  }
  Generator data(2 + static_cast<uint64_t>(comm.rank()));
  auto batch_loss = [&] {
    if (vit) {
      std::vector<int64_t> labels(static_cast<size_t>(b));
      for (auto& v : labels) v = data.randint(10);
      return vit_model->loss(Tensor::randn({b, 1, 28, 28}, data), IndexTensor(labels, {b}), 0.1f);
    }
    std::vector<int64_t> x(static_cast<size_t>(b * T)), y(x.size());
    for (auto& v : x) v = data.randint(256);
    for (auto& v : y) v = data.randint(256);
    return gpt_model->loss(IndexTensor(x, {b, T}), IndexTensor(y, {b, T}));
  };
  auto step = [&] {
    Tensor loss = batch_loss();
    if (dp) {
      dp->backward(loss);
      dp->clip_grad_norm(1.f);
      dp->step(1e-3f);
    } else {
      loss.backward();
      nn::clip_grad_norm_(model.parameters(), 1.f);
      opt.step();
      opt.zero_grad();
    }
  };
  for (int i = 0; i < 2; ++i) step();
  comm.barrier("bench start");
  comm.reset_wait_seconds();
  const double t0 = now_s();
  for (int i = 0; i < o.dp_steps; ++i) step();
  const double per_step = (now_s() - t0) / o.dp_steps;
  const double wait = comm.wait_seconds() / o.dp_steps;
  double worst_wait = wait;
  for (double w : comm.allgather_value(wait, "bench gather")) worst_wait = std::max(worst_wait, w);
  return {{"role", "dp"},
          {"model", o.dp_model},
          {"ranks", comm.size()},
          {"zero", o.zero},
          {"params", model.num_parameters()},
          {"global_batch", global_batch},
          {"T", T},
          {"step_ms", per_step * 1e3},
          {"tokens_per_s", static_cast<double>(global_batch * T) / per_step},
          {"items_per_s", static_cast<double>(global_batch) / per_step},
          {"wait_ms", worst_wait * 1e3},
          {"buckets", dp ? dp->num_buckets() : 0}};
}

json attention_worker(const ScaleOpts& o) {
  dist::Communicator& comm = dist::world();
  const int64_t T = o.seq, B = 1;
  Generator gen(3);
  // Every rank draws the whole sequence (same seed) and keeps its shard: no transfer of inputs to measure.
  Tensor q = Tensor::randn({B, o.H, T, o.D}, gen), k = Tensor::randn({B, o.H, T, o.D}, gen),
         v = Tensor::randn({B, o.H, T, o.D}, gen), dout = Tensor::randn({B, o.H, T, o.D}, gen);
  double fwd = 1e30, bwd = 1e30, compute = 0, wait = 0;
  if (o.role == "fused") {
    kernels::FlashParams p;
    p.B = B, p.H = o.H, p.Hkv = o.H, p.L = T, p.S = T, p.D = o.D, p.Dv = o.D;
    p.scale = 1.f / std::sqrt(static_cast<float>(o.D));
    p.causal = true;
    Tensor out = Tensor::empty({B, o.H, T, o.D}), lse = Tensor::empty({B, o.H, T});
    Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()), dv = Tensor::zeros(v.shape());
    for (int r = 0; r < o.reps; ++r) {
      const double t0 = now_s();
      kernels::flash_attention_forward(p, q.data(), k.data(), v.data(), out.data(), lse.data());
      const double t1 = now_s();
      kernels::flash_attention_backward(p, q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                        dk.data(), dv.data());
      fwd = std::min(fwd, t1 - t0);
      bwd = std::min(bwd, now_s() - t1);
    }
    compute = fwd + bwd;
  } else {
    const dist::SequenceShard shard = dist::ring_shard(T, comm.size(), comm.rank(), true);
    dist::RingAttentionOptions ro;
    ro.causal = true;
    Tensor qs = dist::take_shard(q, shard), ks = dist::take_shard(k, shard), vs = dist::take_shard(v, shard),
           ds = dist::take_shard(dout, shard);
    q = k = v = dout = Tensor();  // the full tensors are not what a rank would hold
    double best = 1e30;
    for (int r = 0; r < o.reps; ++r) {
      comm.barrier("bench start");
      const double t0 = now_s();
      const dist::RingForward f = dist::ring_attention_forward(comm, qs, ks, vs, T, ro);
      const double t1 = now_s();
      const dist::RingGradients g = dist::ring_attention_backward(comm, qs, ks, vs, f.out, f.lse, ds, T, ro);
      const double t2 = now_s();
      if (t2 - t0 < best) {
        best = t2 - t0, fwd = t1 - t0, bwd = t2 - t1;
        compute = f.compute_seconds + g.compute_seconds;
        wait = f.wait_seconds + g.wait_seconds;
      }
    }
  }
  // Every rank's times, for the balance: the slowest rank sets the pace.
  const std::vector<double> computes = comm.allgather_value(compute * 1e3, "bench gather");
  const std::vector<double> waits = comm.allgather_value(wait * 1e3, "bench gather");
  const std::vector<double> totals = comm.allgather_value(fwd + bwd, "bench gather");
  const double flops = 4.0 * B * o.H * static_cast<double>(T) * T * o.D / 2 * 3.5;  // causal: half; fwd 1 + bwd 2.5
  const double slowest = *std::max_element(totals.begin(), totals.end());
  return {{"role", o.role},
          {"ranks", comm.size()},
          {"T", T},
          {"H", o.H},
          {"D", o.D},
          {"fwd_ms", fwd * 1e3},
          {"bwd_ms", bwd * 1e3},
          {"total_ms", slowest * 1e3},
          {"rank_compute_ms", computes},
          {"rank_wait_ms", waits},
          {"gflops", flops / slowest * 1e-9},
          {"peak_rss_mb", peak_rss_mb()}};
}

int run_worker(const ScaleOpts& o) {
  dist::Communicator& comm = dist::world();
  const json r = dist::abort_on_error(comm, [&] { return o.role == "dp" ? dp_worker(o) : attention_worker(o); });
  if (comm.rank() == 0) std::cout << r.dump() << std::endl;
  return 0;
}

// ---- the report ----

double ms_of(const json& r, const char* key) { return r.contains(key) ? r[key].get<double>() : 0.0; }
std::string ms_list(const json& r, const char* key) {
  std::string s;
  if (!r.contains(key)) return "-";
  for (const auto& x : r[key]) {
    char b[32];
    std::snprintf(b, sizeof b, "%s%.0f", s.empty() ? "" : "/", x.get<double>());
    s += b;
  }
  return s;
}

int run_report(const ScaleOpts& o) {
  const BenchSetup setup = bench_setup(o.threads, o.blas);
  const bool have_mpirun = std::system("command -v mpirun >/dev/null 2>&1") == 0;
  if (!dist::have_mpi() || !have_mpirun)
    std::cerr << "attn bench scale: " << (!have_mpirun ? "mpirun is not on PATH" : "this attn was built without MPI")
              << " — the " << o.ranks << "-rank rows are left out (bash scripts/setup.sh installs Open MPI)\n";
  const bool multi = dist::have_mpi() && have_mpirun;
  const int per_rank_threads = std::max(1, setup.threads / o.ranks);
  // As root (containers, CI) Open MPI wants its two permission variables; ranks get cores / N threads each.
  const std::string mpirun =
      "env " + setup.blas_env +
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=" + std::to_string(per_rank_threads) +
      " OPENBLAS_NUM_THREADS=" + std::to_string(per_rank_threads) + " mpirun -np " + std::to_string(o.ranks) +
      " --oversubscribe --bind-to none '" + setup.self + "'";
  const std::string single = setup.ours + "'" + setup.self + "'";
  BenchRows out{o.json_out, {}};
  const Roofs roofs = emit_roofs(setup, o.timeout, out);

  std::vector<std::pair<json, json>> dp;  // (1 rank, N ranks) for attn train gpt's model, then attn train vit's
  for (const std::string m : {"gpt", "vit"}) {
    const std::string dp_args = " bench scale --role dp --dp-model " + m + " --dp-steps " + std::to_string(o.dp_steps) +
                                (o.zero ? " --zero" : "");
    if (!o.json_out) std::cerr << "  data parallel (" << m << "), 1 rank x " << setup.threads << " threads...\n";
    json one = run_child(single + dp_args, o.timeout, {{"role", "dp"}, {"model", m}, {"ranks", 1}});
    out.emit(one);
    json many = {{"role", "dp"}, {"model", m}, {"ranks", o.ranks}, {"error", "mpirun not available"}};
    if (multi) {
      if (!o.json_out)
        std::cerr << "  data parallel (" << m << "), " << o.ranks << " ranks x " << per_rank_threads << " threads...\n";
      many = run_child(mpirun + dp_args, o.timeout, {{"role", "dp"}, {"model", m}, {"ranks", o.ranks}});
    }
    out.emit(many);
    dp.emplace_back(std::move(one), std::move(many));
  }
  const json& dp1 = dp[0].first;

  std::vector<std::pair<json, json>> attention;
  for (const auto& Ts : split_list(o.T)) {
    const std::string a = " bench scale --seq " + Ts + " --heads " + std::to_string(o.H) + " --head-dim " +
                          std::to_string(o.D) + " --reps " + std::to_string(o.reps);
    if (!o.json_out) std::cerr << "  fused attention T=" << Ts << ", 1 process...\n";
    const json f = run_child(single + a + " --role fused", o.timeout, {{"role", "fused"}, {"T", std::stoll(Ts)}});
    out.emit(f);
    json rg = {{"role", "ring"}, {"T", std::stoll(Ts)}, {"error", "mpirun not available"}};
    if (multi) {
      if (!o.json_out) std::cerr << "  ring attention T=" << Ts << ", " << o.ranks << " ranks...\n";
      rg = run_child(mpirun + a + " --role ring", o.timeout, {{"role", "ring"}, {"T", std::stoll(Ts)}});
    }
    out.emit(rg);
    attention.emplace_back(f, rg);
  }
  if (o.json_out) return 0;

  std::printf("\nmachine:  %s\n", machine_line(roofs.kernel).c_str());
  std::printf(
      "ceilings: sgemm %.1f GFLOP/s on %d threads; N = %d ranks run with %d thread(s) each (mpirun, oversubscribed"
      " on this machine's cores: the ranks share them, so N ranks here show the overheads, not N times the "
      "compute)\n\n",
      roofs.sgemm_gflops, setup.threads, o.ranks, per_rank_threads);
  for (const auto& [one, many] : dp) {
    const bool vit = one["model"] == "vit";
    const char* rate = vit ? "items_per_s" : "tokens_per_s";
    const std::string params = one.contains("params") ? std::to_string(one["params"].get<int64_t>()) : "?";
    std::printf("%sdata parallel: %s (%s parameters), global batch %s\n", vit ? "\n" : "",
                vit ? "attn train vit's default model" : "attn train gpt's default model", params.c_str(),
                vit ? "128 images of 28 x 28 (17 tokens)" : "32 x 128 tokens");
    std::printf("%-10s %10s %12s %12s %10s\n", "ranks", "step ms", vit ? "images/s" : "tokens/s", "wait ms", "wait %");
    for (const json* r : std::vector<const json*>{&one, &many}) {
      if (r->contains("error")) {
        std::printf("%-10d %s\n", (*r)["ranks"].get<int>(), (*r)["error"].get<std::string>().c_str());
        continue;
      }
      std::printf("%-10d %10.1f %12.0f %12.2f %9.1f%%\n", (*r)["ranks"].get<int>(), ms_of(*r, "step_ms"),
                  ms_of(*r, rate), ms_of(*r, "wait_ms"),
                  100 * ms_of(*r, "wait_ms") / std::max(1e-9, ms_of(*r, "step_ms")));
    }
    if (!many.contains("error") && !one.contains("error"))
      std::printf("%d ranks / 1 rank: %.2fx the %s on the same %d cores\n", o.ranks,
                  ms_of(many, rate) / ms_of(one, rate), vit ? "images/s" : "tokens/s", setup.threads);
  }

  std::printf("\nring attention: causal, forward + backward, B = 1, H = %lld, D = %lld\n", static_cast<long long>(o.H),
              static_cast<long long>(o.D));
  std::printf("%-8s %-22s %10s %10s %10s %9s %8s %22s %16s\n", "T", "impl", "fwd ms", "bwd ms", "total ms", "GFLOP/s",
              "%sgemm", "per-rank compute ms", "per-rank wait ms");
  for (const auto& [f, rg] : attention) {
    for (const json* r : std::vector<const json*>{&f, &rg}) {
      const std::string impl =
          (*r)["role"] == "fused" ? "fused, 1 process" : "ring, " + std::to_string(o.ranks) + " ranks";
      if (r->contains("error")) {
        std::printf("%-8lld %-22s %s\n", static_cast<long long>((*r)["T"].get<int64_t>()), impl.c_str(),
                    (*r)["error"].get<std::string>().c_str());
        continue;
      }
      std::printf("%-8lld %-22s %10.0f %10.0f %10.0f %9.1f %7.1f%% %22s %16s\n",
                  static_cast<long long>((*r)["T"].get<int64_t>()), impl.c_str(), ms_of(*r, "fwd_ms"),
                  ms_of(*r, "bwd_ms"), ms_of(*r, "total_ms"), ms_of(*r, "gflops"),
                  100 * ms_of(*r, "gflops") / roofs.sgemm_gflops,
                  (*r)["role"] == "ring" ? ms_list(*r, "rank_compute_ms").c_str() : "-",
                  (*r)["role"] == "ring" ? ms_list(*r, "rank_wait_ms").c_str() : "-");
    }
    if (!f.contains("error") && !rg.contains("error"))
      std::printf("%-8s ring / fused: %.2fx the time\n", "", ms_of(rg, "total_ms") / ms_of(f, "total_ms"));
  }

  // ---- the model: many machines, each as fast as this one ----
  if (dp1.contains("error")) return 0;
  const double bw = o.bandwidth_gbps * 1e9 / 8, lat = o.latency_us * 1e-6;  // bytes/s, s
  // Two models: the one measured here, and GPT-2 small at the same training rate (6 FLOPs per parameter per token).
  const double small_params = static_cast<double>(dp1["params"].get<int64_t>());
  const double small_step = ms_of(dp1, "step_ms") * 1e-3;          // one machine's step at batch 32 x 128
  const double rate = 6.0 * small_params * 32 * 128 / small_step;  // its training FLOP/s
  struct Modelled {
    std::string name;
    double params, tokens;  // per machine per step
  };
  const Modelled models[] = {{"attn train gpt's default model, 32 x 128 tokens per machine", small_params, 32.0 * 128},
                             {"GPT-2 small (124M), 8 x 1024 tokens per machine", 124.44e6, 8.0 * 1024}};
  std::printf(
      "\nmodel (docs/scaling.md): N machines like this one (training at %.1f GFLOP/s, as measured), each its own shard"
      " of the batch (weak scaling),\n  a %.0f Gb/s network with %.0f us latency; ring allreduce of the fp32 "
      "gradients: "
      "2 (N-1)/N x bytes / bandwidth + 2 (N-1) x latency,\n  of which up to the backward pass's time (2/3 of a step) "
      "hides behind it (the buckets)\n",
      rate * 1e-9, o.bandwidth_gbps, o.latency_us);
  for (const Modelled& m : models) {
    const double compute = 6.0 * m.params * m.tokens / rate, grad_bytes = 4.0 * m.params, overlap = 2.0 / 3.0 * compute;
    std::printf("\n%s: step %.0f ms of compute, %.0f MB of gradients\n", m.name.c_str(), compute * 1e3,
                grad_bytes / 1e6);
    std::printf("%-6s %14s %14s %12s %16s\n", "N", "allreduce ms", "step ms", "efficiency", "tokens/s (all)");
    for (int n : {1, 2, 8, 16, 32, 64}) {
      const double ar = n == 1 ? 0 : 2.0 * (n - 1) / n * grad_bytes / bw + 2.0 * (n - 1) * lat;
      const double step = compute + std::max(0.0, ar - overlap);
      std::printf("%-6d %14.1f %14.1f %11.1f%% %16.0f\n", n, ar * 1e3, step * 1e3, 100 * compute / step,
                  n * m.tokens / step);
    }
  }
  if (!attention.empty() && !attention.back().first.contains("error")) {
    // Ring attention hides its messages when one block pair's compute outlasts sending one K,V block:
    //   4·(T/N)²·D·H flops at the measured rate  ≥  2·(T/N)·H·D·4 bytes / bandwidth  ⇔  T/N ≥ 2·rate / bandwidth.
    const double attention_rate = ms_of(attention.back().first, "gflops") * 1e9;  // this machine's fused causal rate
    const double min_block = 2.0 * attention_rate / bw;
    std::printf(
        "\nring attention hides its key/value transfers once each machine holds T/N >= 2 x compute rate / bandwidth"
        " = %.0f positions (at %.1f GFLOP/s and %.0f Gb/s)\n",
        min_block, attention_rate * 1e-9, o.bandwidth_gbps);
  }
  return 0;
}

}  // namespace

BenchScale add_bench_scale(CLI::App& bench) {
  BenchScale b;
  auto o = std::make_shared<ScaleOpts>();
  o->min_time = 0;
  b.scale = bench.add_subcommand("scale",
                                 "Data-parallel training and ring attention on 1 and N ranks (mpirun), with a "
                                 "model of the scaling to many machines");
  b.scale->add_option("--ranks", o->ranks, "Ranks for the multi-process rows (oversubscribed on this machine)")
      ->capture_default_str()
      ->check(CLI::Range(2, 64));
  b.scale->add_option("--T", o->T, "Sequence lengths for ring attention vs the fused kernel (comma-separated)")
      ->capture_default_str();
  b.scale->add_option("--heads", o->H, "Attention heads")->capture_default_str()->check(CLI::PositiveNumber);
  b.scale->add_option("--head-dim", o->D, "Head dim")->capture_default_str()->check(CLI::PositiveNumber);
  b.scale->add_option("--reps", o->reps, "Timed repetitions of each attention pass (the best is kept)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  b.scale->add_option("--dp-steps", o->dp_steps, "Timed data-parallel training steps")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  b.scale->add_flag("--zero", o->zero, "Data parallel with ZeRO-1");
  b.scale->add_option("--bandwidth-gbps", o->bandwidth_gbps, "The modelled network's bandwidth (Gb/s)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  b.scale->add_option("--latency-us", o->latency_us, "The modelled network's latency (us)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  b.scale->add_option("--role", o->role, "(internal) one measurement in this process: dp, ring, fused")
      ->check(CLI::IsMember({"dp", "ring", "fused"}));
  b.scale->add_option("--seq", o->seq, "(internal) the measurement's T")->check(CLI::PositiveNumber);
  b.scale->add_option("--dp-model", o->dp_model, "(internal) the data-parallel measurement's model: gpt, vit")
      ->check(CLI::IsMember({"gpt", "vit"}));
  b.scale->add_option("--threads", o->threads, "Threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  b.scale->add_option("--timeout", o->timeout, "Seconds before a measurement is stopped and reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  b.scale->add_flag("--json", o->json_out, "One JSON object per line instead of the tables");
  b.action = [o]() -> int {
    if (!o->role.empty()) return run_worker(*o);
    for (const auto& t : split_list(o->T))
      if (t.find_first_not_of("0123456789") != std::string::npos || std::stoll(t) < 2 * o->ranks) {
        std::cerr << "attn bench scale: --T must list lengths of at least 2 x --ranks positions, got '" << t << "'\n";
        return 2;
      }
    return run_report(*o);
  };
  return b;
}

}  // namespace attn::cli
