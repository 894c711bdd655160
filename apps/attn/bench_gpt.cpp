// attn bench gpt — GPT training steps and KV-cache decoding, ours vs the same model in PyTorch 1.13
// (bench/torch_gpt.py, same thread count), against this machine's ceilings, printed as ratios in one run.
//
//   training step   zero_grad, forward, cross-entropy, backward, clip_grad_norm_(1.0), AdamW (two groups)
//                   on random tokens: the GPT-2 124M configuration (B = 4, T = 64, V = 50257) and the
//                   default `attn train gpt` configuration (4 layers, 4 heads, 128 wide, B = 32, T = 128,
//                   V = 83, Moby-Dick's characters). FLOPs per token ≈ 6·N + 12·L·C·T (N parameters
//                   without wpe; the second term is attention's scores and mixing, as in nanoGPT's MFU).
//   decode          one token per prompt per step with the KV cache holding ctx - new .. ctx tokens (GPT-2
//                   124M, ctx 1024), B prompts together (--decode-batch 1,8). Each step must read every
//                   weight once (4 bytes each), shared by the B prompts, and each prompt's cache (2·L·ctx·C·4
//                   bytes), so tokens/s ≤ B · read bandwidth / (weights + B · cache): the bound printed
//                   (read: the sum of a 384 MiB array on all threads, measured in the same run).
//
// Each case runs in its own process (`attn bench gpt-case …`, or python3-torch) so its peak memory is
// its own; a case that fails or times out is reported in its row.
#include "bench_gpt.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/models/gpt.h"
#include "attn/nn/optim.h"
#include "bench_common.h"
#include "data_root.h"
#include "machine.h"

namespace attn::cli {

namespace {

using json = bench_json;

struct GptCase {
  std::string impl = "ours";   // ours | torch
  std::string kind = "train";  // train | decode
  std::string config = "small";
  int64_t B = 32, T = 128, ctx = 1024, new_tokens = 16;
  double min_time = 3.0;
  int min_reps = 3;
};

models::GPTConfig named_config(const std::string& name) {  // must match bench/torch_gpt.py
  models::GPTConfig c;
  if (name == "124m") {
    c.vocab_size = 50257, c.n_layer = 12, c.n_head = 12, c.n_embd = 768, c.block_size = 1024;
  } else {
    c.vocab_size = 83, c.n_layer = 4, c.n_head = 4, c.n_embd = 128, c.block_size = 128;
  }
  return c;
}

json case_json(const GptCase& c) {
  json j = {{"impl", c.impl}, {"kind", c.kind}, {"config", c.config}};
  if (c.kind == "train") j["B"] = c.B, j["T"] = c.T;
  else j["B"] = c.B, j["ctx"] = c.ctx, j["new"] = c.new_tokens;
  return j;
}

std::string case_args(const GptCase& c) {
  return "--kind " + c.kind + " --config " + c.config + " --B " + std::to_string(c.B) + " --T " + std::to_string(c.T) +
         " --ctx " + std::to_string(c.ctx) + " --new " + std::to_string(c.new_tokens) + " --min-time " +
         std::to_string(c.min_time) + " --min-reps " + std::to_string(c.min_reps);
}

IndexTensor random_ids(int64_t B, int64_t T, int64_t V, Generator& g) {
  std::vector<int64_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = g.randint(static_cast<uint32_t>(V));
  return IndexTensor(std::move(v), {B, T});
}

// One case in this process.
json run_case(const GptCase& c) {
  const models::GPTConfig cfg = named_config(c.config);
  Generator gen(0);
  models::GPT model(cfg, gen);
  json r = case_json(c);
  r["params"] = model.num_parameters();
  if (c.kind == "train") {
    std::vector<Tensor> decay, no_decay;
    for (const Tensor& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
    nn::AdamW opt_decay(decay, nn::AdamWOptions(1e-4f).betas(0.9f, 0.95f).weight_decay(0.1f));
    nn::AdamW opt_no_decay(no_decay, nn::AdamWOptions(1e-4f).betas(0.9f, 0.95f).weight_decay(0.f));
    const std::vector<Tensor> params = model.parameters();
    IndexTensor ids = random_ids(c.B, c.T + 1, cfg.vocab_size, gen);
    std::vector<int64_t> xs, ys;
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = 0; t < c.T; ++t) {
        xs.push_back(ids.data[static_cast<size_t>(b * (c.T + 1) + t)]);
        ys.push_back(ids.data[static_cast<size_t>(b * (c.T + 1) + t + 1)]);
      }
    const IndexTensor x(xs, {c.B, c.T}), y(ys, {c.B, c.T});
    const double s = median_time(
        [&] {
          opt_decay.zero_grad();
          opt_no_decay.zero_grad();
          model.loss(x, y).backward();
          nn::clip_grad_norm_(params, 1.f);
          opt_decay.step();
          opt_no_decay.step();
        },
        c.min_time, 50, c.min_reps);
    r["ms"] = s * 1e3;
    r["tokens_per_s"] = static_cast<double>(c.B * c.T) / s;
  } else {
    model.eval();
    NoGradGuard ng;
    // B prompts decoded together: each step reads the weights once for all B (a (B, C) @ (C, N) gemm
    // instead of B matrix-vector products) and each prompt's own cache.
    const int64_t prefill = c.ctx - c.new_tokens, B = c.B;
    std::vector<KVCache> caches = model.make_caches(B, c.ctx);
    IndexTensor ids = random_ids(B, c.ctx, cfg.vocab_size, gen);
    auto columns = [&](int64_t t0, int64_t t1) {  // ids[:, t0:t1]
      std::vector<int64_t> v;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = t0; t < t1; ++t) v.push_back(ids.data[static_cast<size_t>(b * c.ctx + t)]);
      return IndexTensor(std::move(v), {B, t1 - t0});
    };
    model.forward_cached(columns(0, prefill), caches);
    std::vector<IndexTensor> steps;
    for (int64_t i = 0; i < c.new_tokens; ++i) steps.push_back(columns(prefill + i, prefill + i + 1));
    const double s = median_time(
        [&] {
          for (KVCache& kv : caches) kv.truncate(prefill);  // the same context every repeat
          for (const IndexTensor& step : steps) model.forward_cached(step, caches);
        },
        c.min_time, 50, c.min_reps);
    r["ms_per_step"] = s * 1e3 / static_cast<double>(c.new_tokens);
    r["tokens_per_s"] = static_cast<double>(B * c.new_tokens) / s;
  }
  r["peak_rss_mb"] = peak_rss_mb();
  return r;
}

struct Opts : BenchRunOptions {
  std::string configs = "small,124m", kinds = "train,decode", impls = "ours,torch";
  int64_t B_small = 32, T_small = 128, B_124m = 4, T_124m = 64, ctx = 1024, new_tokens = 16;
  std::string decode_batches = "1,8";
};

int run_bench(const Opts& o) {
  const BenchSetup setup = bench_setup(o.threads, o.blas);
  const int threads = setup.threads;
  const std::string& env = setup.blas_env;
  const std::string& ours = setup.ours;
  const std::string& self = setup.self;
  const std::string torch_script = cli::data_root() + "/bench/torch_gpt.py";
  for (const auto& x : split_list(o.configs))
    if (x != "small" && x != "124m") {
      std::cerr << "attn bench gpt: unknown config '" << x << "' (small, 124m)\n";
      return 2;
    }
  for (const auto& x : split_list(o.kinds))
    if (x != "train" && x != "decode") {
      std::cerr << "attn bench gpt: unknown kind '" << x << "' (train, decode)\n";
      return 2;
    }
  for (const auto& x : split_list(o.decode_batches))
    if (x.empty() || x.size() > 4 || x.find_first_not_of("0123456789") != std::string::npos || std::stoll(x) < 1) {
      std::cerr << "attn bench gpt: --decode-batch must be positive integers (at most 9999), got '" << x << "'\n";
      return 2;
    }
  for (const auto& x : split_list(o.impls))
    if (x != "ours" && x != "torch") {
      std::cerr << "attn bench gpt: unknown impl '" << x << "' (ours, torch)\n";
      return 2;
    }

  BenchRows out{o.json_out, {}};
  const std::vector<json>& rows = out.rows;
  const Roofs roofs = emit_roofs(setup, o.timeout, out);
  const double sgemm = roofs.sgemm_gflops, triad = roofs.triad_gbps, read = roofs.read_gbps;
  const std::string& kernel = roofs.kernel;

  for (const auto& kind : split_list(o.kinds))
    for (const auto& config : split_list(o.configs)) {
      if (kind == "decode" && config != "124m") continue;  // decoding is measured where it is memory-bound
      const std::vector<std::string> batches =
          kind == "decode" ? split_list(o.decode_batches)
                           : std::vector<std::string>{std::to_string(config == "124m" ? o.B_124m : o.B_small)};
      for (const auto& batch : batches)
        for (const auto& impl : split_list(o.impls)) {
          GptCase c;
          c.impl = impl, c.kind = kind, c.config = config, c.min_time = o.min_time;
          c.B = std::stoll(batch);
          c.T = config == "124m" ? o.T_124m : o.T_small;
          c.ctx = o.ctx, c.new_tokens = o.new_tokens;
          if (!o.json_out) std::cerr << "  " << impl << " " << kind << " " << config << " B=" << c.B << "...\n";
          const std::string cmd = impl == "torch"
                                      ? "env -u OPENBLAS_NUM_THREADS " + env + "/usr/bin/python3 " + torch_script +
                                            " " + case_args(c) + " --threads " + std::to_string(threads)
                                      : ours + "'" + self + "' bench gpt-case " + case_args(c);
          out.emit(run_child(cmd, o.timeout, case_json(c)));
        }
    }
  if (o.json_out) return 0;

  // The row of one case; B = -1: any batch (training rows have one batch size per config).
  auto find = [&](const std::string& impl, const std::string& kind, const std::string& config,
                  int64_t B = -1) -> const json* {
    for (const auto& r : rows)
      if (r.value("impl", "") == impl && r.value("kind", "") == kind && r.value("config", "") == config &&
          (B < 0 || r.value("B", int64_t{0}) == B))
        return &r;
    return nullptr;
  };
  std::printf("\nmachine:  %s\n", machine_line(roofs.kernel).c_str());
  std::printf("ceilings: sgemm %.1f GFLOP/s (OpenBLAS %s kernels), triad %.1f GB/s, read %.1f GB/s (%d threads)\n",
              sgemm, kernel.c_str(), triad, read, threads);
  std::printf("\ntraining step (forward, backward, clip, AdamW)\n");
  std::printf("%-6s %11s %8s %10s %10s %10s %10s %9s %8s %14s\n", "config", "params", "B x T", "ours ms", "torch ms",
              "ours/torch", "ours tok/s", "GFLOP/s", "%sgemm", "peak MB o/t");
  for (const auto& config : split_list(o.configs)) {
    const json* a = find("ours", "train", config);
    const json* t = find("torch", "train", config);
    if (!a && !t) continue;
    const models::GPTConfig cfg = named_config(config);
    const int64_t B = config == "124m" ? o.B_124m : o.B_small, T = config == "124m" ? o.T_124m : o.T_small;
    const double N = static_cast<double>(a && a->contains("params") ? (*a)["params"].get<int64_t>() : 0) -
                     static_cast<double>(cfg.block_size * cfg.n_embd);
    const double flops_per_token = 6.0 * N + 12.0 * cfg.n_layer * cfg.n_embd * T;
    auto ms = [](const json* r) { return r && r->contains("ms") ? (*r)["ms"].get<double>() : 0.0; };
    auto rss = [](const json* r) { return r && r->contains("peak_rss_mb") ? (*r)["peak_rss_mb"].get<double>() : 0.0; };
    const double oms = ms(a), tms = ms(t);
    char ratio[32] = "-", gf[32] = "-", pct[32] = "-", toks[32] = "-";
    if (oms > 0 && tms > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", tms / oms);
    if (oms > 0) {
      const double g = flops_per_token * B * T / (oms * 1e-3) * 1e-9;
      std::snprintf(gf, sizeof gf, "%.1f", g);
      std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * g / sgemm);
      std::snprintf(toks, sizeof toks, "%.0f", B * T / (oms * 1e-3));
    }
    std::printf("%-6s %11.0f %3lld x %-4lld %10.1f %10.1f %10s %10s %9s %8s %6.0f / %-6.0f\n", config.c_str(),
                N + static_cast<double>(cfg.block_size * cfg.n_embd), static_cast<long long>(B),
                static_cast<long long>(T), oms, tms, ratio, toks, gf, pct, rss(a), rss(t));
    for (const json* r : {a, t})
      if (r && r->contains("error"))
        std::printf("       %s: %s\n", (*r)["impl"].get<std::string>().c_str(),
                    (*r)["error"].get<std::string>().c_str());
  }
  // Decoding: per batch size, the bytes one step must read — every weight once (shared by the batch) and each
  // prompt's cache — give the bound: tokens/s ≤ B · read bandwidth / (weights + B · cache).
  bool header = false;
  for (const auto& batch : split_list(o.decode_batches)) {
    const int64_t B = std::stoll(batch);
    const json* a = find("ours", "decode", "124m", B);
    const json* t = find("torch", "decode", "124m", B);
    if (!a && !t) continue;
    const models::GPTConfig cfg = named_config("124m");
    const double params = a && a->contains("params") ? (*a)["params"].get<int64_t>() : 124439808.0;
    const double weights = 4.0 * params, cache = 2.0 * cfg.n_layer * o.ctx * cfg.n_embd * 4.0;
    const double bound = B * read * 1e9 / (weights + B * cache);
    auto tps = [](const json* r) {
      return r && r->contains("tokens_per_s") ? (*r)["tokens_per_s"].get<double>() : 0.0;
    };
    if (!header) {
      std::printf("\ndecoding with the KV cache (GPT-2 124M, context %lld; B prompts per step)\n",
                  static_cast<long long>(o.ctx));
      std::printf("bytes per step: %.0f MB of weights + B x %.0f MB of cache; bound = B x read bandwidth / bytes\n",
                  weights / 1e6, cache / 1e6);
      std::printf("%-5s %-8s %12s %12s %12s %10s %12s\n", "B", "", "tokens/s", "ms/step", "bound tok/s", "% bound",
                  "ours/torch");
      header = true;
    }
    for (const json* r : {a, t}) {
      if (!r) continue;
      if (r->contains("error")) {
        std::printf("%-5lld %-8s %s\n", static_cast<long long>(B), (*r)["impl"].get<std::string>().c_str(),
                    (*r)["error"].get<std::string>().c_str());
        continue;
      }
      char ratio[32] = "-";
      if (r == a && tps(t) > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", tps(a) / tps(t));
      std::printf("%-5lld %-8s %12.2f %12.2f %12.1f %9.1f%% %12s\n", static_cast<long long>(B),
                  (*r)["impl"].get<std::string>().c_str(), tps(r), 1e3 * B / tps(r), bound, 100.0 * tps(r) / bound,
                  ratio);
    }
  }
  return 0;
}

}  // namespace

BenchGpt add_bench_gpt(CLI::App& bench) {
  BenchGpt b;
  auto o = std::make_shared<Opts>();
  b.gpt =
      bench.add_subcommand("gpt", "GPT training steps and KV-cache decoding vs PyTorch, with sgemm/triad/read roofs");
  b.gpt->add_option("--configs", o->configs, "small (attn train gpt's default), 124m (GPT-2)")->capture_default_str();
  b.gpt->add_option("--kinds", o->kinds, "train, decode")->capture_default_str();
  b.gpt->add_option("--impl", o->impls, "ours, torch")->capture_default_str();
  b.gpt->add_option("--decode-batch", o->decode_batches, "Prompts decoded together, one row each")
      ->capture_default_str();
  b.gpt->add_option("--ctx", o->ctx, "Decoding context (tokens in the cache)")
      ->capture_default_str()
      ->check(CLI::Range(17, 1024));
  add_bench_run_options(b.gpt, *o);

  auto c = std::make_shared<GptCase>();
  b.gpt_case = bench.add_subcommand("gpt-case", "(internal) run one GPT case in this process, print one JSON line");
  b.gpt_case->add_option("--kind", c->kind)->check(CLI::IsMember({"train", "decode"}));
  b.gpt_case->add_option("--config", c->config)->check(CLI::IsMember({"small", "124m"}));
  b.gpt_case->add_option("--B", c->B)->check(CLI::PositiveNumber);
  b.gpt_case->add_option("--T", c->T)->check(CLI::PositiveNumber);
  b.gpt_case->add_option("--ctx", c->ctx)->check(CLI::PositiveNumber);
  b.gpt_case->add_option("--new", c->new_tokens)->check(CLI::PositiveNumber);
  b.gpt_case->add_option("--min-time", c->min_time);
  b.gpt_case->add_option("--min-reps", c->min_reps);
  b.gpt_case->group("");  // hidden from --help

  CLI::App* case_app = b.gpt_case;
  b.action = [o, c, case_app]() -> int {
    if (case_app->parsed()) {
      std::cout << run_case(*c).dump() << std::endl;
      return 0;
    }
    return run_bench(*o);
  };
  return b;
}

}  // namespace attn::cli
