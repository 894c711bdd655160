// attn bench attention — composed vs fused attention vs PyTorch, against this machine's ceilings.
//
// Every case runs in a fresh process (`attn bench attention-case …`, or python3-torch for PyTorch), so that
// each one's peak resident memory is its own. The ceilings are measured in this process first:
//   sgemm  cblas_sgemm on square 1024–2048 matrices, all threads (the compute roof)
//   triad  a[i] = b[i] + s·c[i] over 3 × 128 MB arrays, all threads (the memory-bandwidth roof)
//   read   the sum of a 384 MB array, all threads (the roof of a pass that only reads: decoding)
// FLOPs follow FlashAttention's convention: forward 4·B·H·T²·D (half when causal), backward 2.5× forward.
// Decode rows: one query per head against a T-token cache; "GB/s" counts the K and V bytes read.
#include <cblas.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/attention/flash.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "bench_common.h"
#include "bench_explore.h"
#include "bench_gpt.h"
#include "bench_scale.h"
#include "bench_vit.h"
#include "commands.h"
#include "data_root.h"
#include "machine.h"

namespace {

using json = nlohmann::ordered_json;
using namespace attn::cli;

struct CaseSpec {
  std::string impl = "fused";  // composed | fused | torch | decode
  int64_t B = 1, H = 8, T = 1024, D = 64;
  bool causal = false;
  std::string pass = "fwd";  // fwd | fwd+bwd
  double min_time = 0.5;
};

double attention_flops(const CaseSpec& c) {
  const double fwd = 4.0 * c.B * c.H * static_cast<double>(c.T) * c.T * c.D * (c.causal ? 0.5 : 1.0);
  return c.pass == "fwd" ? fwd : 3.5 * fwd;
}

// Runs one case in this process and returns its JSON line.

json run_case(const CaseSpec& c) {
  using namespace attn;
  if (c.impl == "sgemm")  // the compute roof, as this process's OpenBLAS kernels reach it
    return {{"impl", "sgemm"}, {"gflops", measure_sgemm()}, {"kernel", openblas_get_corename()}};
  Generator g(0);
  json r = {{"impl", c.impl}, {"T", c.T}, {"D", c.D}, {"H", c.H}, {"B", c.B}, {"causal", c.causal}, {"pass", c.pass}};
  if (c.impl == "decode") {
    // One new token against a T-token cache: read every cached key and value once.
    Tensor q = Tensor::randn({c.B, c.H, 1, c.D}, g);
    Tensor kc = Tensor::randn({c.B, c.H, c.T, c.D}, g), vc = Tensor::randn({c.B, c.H, c.T, c.D}, g);
    const double s = median_time([&] { flash_decode(q, kc, vc, c.T); }, c.min_time, 2000);
    const double bytes = 2.0 * c.B * c.H * c.T * c.D * sizeof(float);
    r["ms"] = s * 1e3;
    r["gbps"] = bytes / s * 1e-9;
    r["gflops"] = 4.0 * c.B * c.H * c.T * c.D / s * 1e-9;
    r["peak_rss_mb"] = peak_rss_mb();
    return r;
  }
  Tensor q = Tensor::randn({c.B, c.H, c.T, c.D}, g), k = Tensor::randn({c.B, c.H, c.T, c.D}, g),
         v = Tensor::randn({c.B, c.H, c.T, c.D}, g);
  SdpaOptions o;
  o.is_causal = c.causal;
  const bool fused = c.impl == "fused";
  std::function<void()> f;
  Tensor gout;
  if (c.pass == "fwd") {
    f = [&] {
      NoGradGuard ng;
      Tensor out = fused ? flash_attention(q, k, v, o).output : scaled_dot_product_attention_math(q, k, v, o).output;
    };
  } else {
    q.requires_grad_();
    k.requires_grad_();
    v.requires_grad_();
    gout = Tensor::randn({c.B, c.H, c.T, c.D}, g);
    f = [&] {
      Tensor out = fused ? flash_attention(q, k, v, o).output : scaled_dot_product_attention_math(q, k, v, o).output;
      out.backward(gout);
    };
  }
  const double s = median_time(f, c.min_time);
  r["ms"] = s * 1e3;
  r["gflops"] = attention_flops(c) / s * 1e-9;
  r["peak_rss_mb"] = peak_rss_mb();
  return r;
}

// What a failed case's row says about the case.
json case_json(const CaseSpec& c) {
  return {{"impl", c.impl}, {"T", c.T}, {"D", c.D}, {"H", c.H}, {"B", c.B}, {"causal", c.causal}, {"pass", c.pass}};
}

std::string case_args(const CaseSpec& c) {
  std::ostringstream os;
  os << "--impl " << c.impl << " --B " << c.B << " --H " << c.H << " --T " << c.T << " --D " << c.D << " --causal "
     << (c.causal ? 1 : 0) << " --pass " << c.pass << " --min-time " << c.min_time;
  return os.str();
}

}  // namespace

ATTN_COMMAND(bench, "Benchmarks, side by side with PyTorch and this machine's ceilings") {
  sub.require_subcommand(1, 1);
  auto* attention = sub.add_subcommand("attention", "Composed vs fused attention vs PyTorch, with sgemm/triad roofs");
  struct Opts {
    std::string T = "128,256,512,1024,2048,4096,8192", D = "64,128", impls = "composed,fused,torch,decode";
    std::string passes = "fwd,fwd+bwd", causal = "both";
    int64_t H = 8, B = 1, max_composed_T = 4096;
    double min_time = 0.5;
    bool json_out = false;
    int threads = 0;
    int timeout = 600;
    std::string blas = "native";
  };
  auto o = std::make_shared<Opts>();
  attention->add_option("--T", o->T, "Sequence lengths, comma-separated (default: 128..8192)");
  attention->add_option("--D", o->D, "Head dims (default: 64,128)");
  attention->add_option("--H", o->H, "Heads (default: 8)");
  attention->add_option("--B", o->B, "Batch (default: 1)");
  attention->add_option("--impl", o->impls, "composed,fused,torch,decode (default: all)");
  attention->add_option("--pass", o->passes, "fwd,fwd+bwd (default: both)");
  attention->add_option("--causal", o->causal, "yes, no or both (default: both)")
      ->check(CLI::IsMember({"yes", "no", "both"}));
  attention->add_option("--max-composed-T", o->max_composed_T,
                        "Longest T for the composed path and PyTorch, which need O(T²) memory (default: 4096)");
  attention->add_option("--min-time", o->min_time, "Seconds of repeats per case (default: 0.5)");
  attention->add_option("--threads", o->threads, "Threads for every implementation (default: all cores)");
  attention->add_option("--timeout", o->timeout, "Seconds before a case is stopped and reported (default: 600)");
  attention
      ->add_option("--blas", o->blas,
                   "OpenBLAS kernels for every case and the sgemm roof: native (this CPU's best; ignores "
                   "OPENBLAS_CORETYPE) or configured (as the environment says) (default: native)")
      ->check(CLI::IsMember({"native", "configured"}));
  attention->add_flag("--json", o->json_out, "One JSON object per line instead of a table");

  auto* one = sub.add_subcommand("attention-case", "(internal) run one case in this process, print one JSON line");
  auto c = std::make_shared<CaseSpec>();
  int causal_int = 0;
  auto causal_flag = std::make_shared<int>(causal_int);
  one->add_option("--impl", c->impl)->check(CLI::IsMember({"composed", "fused", "decode", "sgemm"}));
  one->add_option("--B", c->B);
  one->add_option("--H", c->H);
  one->add_option("--T", c->T);
  one->add_option("--D", c->D);
  one->add_option("--causal", *causal_flag);
  one->add_option("--pass", c->pass)->check(CLI::IsMember({"fwd", "fwd+bwd"}));
  one->add_option("--min-time", c->min_time);
  one->group("");  // hidden from --help

  const BenchGpt gpt = add_bench_gpt(sub);
  const BenchVit vit = add_bench_vit(sub);
  const BenchExplore explore = add_bench_explore(sub);
  const BenchScale scale = add_bench_scale(sub);

  return [attention, one, o, c, causal_flag, gpt, vit, explore, scale]() -> int {
    if (explore.parsed()) return explore.action();
    if (scale.parsed()) return scale.action();
    if (gpt.parsed()) return gpt.action();
    if (vit.parsed()) return vit.action();
    if (one->parsed()) {
      c->causal = *causal_flag != 0;
      std::cout << run_case(*c).dump() << std::endl;
      return 0;
    }
    (void)attention;
    const BenchSetup setup = bench_setup(o->threads, o->blas);
    const int threads = setup.threads;
    const std::string& blas_env = setup.blas_env;
    const std::string& ours = setup.ours;
    const std::string& self = setup.self;
    const std::string torch_script = attn::cli::data_root() + "/bench/torch_attention.py";

    BenchRows out{o->json_out, {}};
    const std::vector<json>& rows = out.rows;
    const Roofs roofs = emit_roofs(setup, o->timeout, out);
    const double sgemm = roofs.sgemm_gflops, triad = roofs.triad_gbps, read = roofs.read_gbps;

    std::vector<bool> causals;
    if (o->causal != "yes") causals.push_back(false);
    if (o->causal != "no") causals.push_back(true);
    const auto impls = split_list(o->impls);
    const auto passes = split_list(o->passes);
    for (const auto& i : impls)
      if (i != "composed" && i != "fused" && i != "torch" && i != "decode") {
        std::cerr << "attn bench attention: unknown --impl '" << i << "' (composed, fused, torch, decode)\n";
        return 2;
      }
    for (const auto& p : passes)
      if (p != "fwd" && p != "fwd+bwd") {
        std::cerr << "attn bench attention: unknown --pass '" << p << "' (fwd, fwd+bwd)\n";
        return 2;
      }
    for (const auto& Ds : split_list(o->D))
      for (bool causal : causals)
        for (const auto& pass : passes)
          for (const auto& Ts : split_list(o->T)) {
            for (const auto& impl : impls) {
              CaseSpec cs;
              cs.impl = impl;
              cs.B = o->B;
              cs.H = o->H;
              cs.T = std::stoll(Ts);
              cs.D = std::stoll(Ds);
              cs.causal = causal;
              cs.pass = pass;
              cs.min_time = o->min_time;
              if (impl == "decode" && (pass != "fwd" || causal)) continue;  // one decode row per (T, D)
              if ((impl == "composed" || impl == "torch") && cs.T > o->max_composed_T) continue;
              if (!o->json_out)
                std::cerr << "  " << impl << " T=" << cs.T << " D=" << cs.D << (causal ? " causal " : " ") << pass
                          << "...\n";
              if (impl == "torch")
                out.emit(run_child("env -u OPENBLAS_NUM_THREADS " + blas_env + "/usr/bin/python3 " + torch_script +
                                       " " + case_args(cs) + " --threads " + std::to_string(threads),
                                   o->timeout, case_json(cs)));
              else
                out.emit(run_child(ours + "'" + self + "' bench attention-case " + case_args(cs), o->timeout,
                                   case_json(cs)));
            }
          }
    if (o->json_out) return 0;

    // The table: one row per case, with ratios to the ceilings and to PyTorch.
    std::map<std::string, double> torch_ms;
    for (const auto& r : rows)
      if (r["impl"] == "torch" && r.contains("ms"))
        torch_ms[std::to_string(r["T"].get<int64_t>()) + r["pass"].get<std::string>() +
                 std::to_string(r["D"].get<int64_t>()) + (r["causal"].get<bool>() ? "c" : "")] = r["ms"];
    std::printf("\nmachine:  %s\n", machine_line(roofs.kernel).c_str());
    std::printf("ceilings: sgemm %.1f GFLOP/s (OpenBLAS %s kernels), triad %.1f GB/s, read %.1f GB/s (%d threads)\n\n",
                sgemm, roofs.kernel.c_str(), triad, read, threads);
    std::printf("%-9s %6s %4s %-6s %-8s %10s %9s %8s %9s %9s\n", "impl", "T", "D", "causal", "pass", "ms", "GFLOP/s",
                "%sgemm", "xPyTorch", "peak MB");
    for (const auto& r : rows) {
      if (r["impl"] == "sgemm" || r["impl"] == "triad" || r["impl"] == "read" || r["impl"] == "machine") continue;
      if (r.contains("error")) {
        std::printf("%-9s %6lld %4lld %-6s %-8s   %s\n", r["impl"].get<std::string>().c_str(),
                    static_cast<long long>(r["T"].get<int64_t>()), static_cast<long long>(r["D"].get<int64_t>()),
                    r["causal"].get<bool>() ? "yes" : "no", r["pass"].get<std::string>().c_str(),
                    r["error"].get<std::string>().c_str());
        continue;
      }
      const std::string key = std::to_string(r["T"].get<int64_t>()) + r["pass"].get<std::string>() +
                              std::to_string(r["D"].get<int64_t>()) + (r["causal"].get<bool>() ? "c" : "");
      const double ms = r["ms"];
      char vs_torch[32] = "-";
      if (torch_ms.count(key) && r["impl"] != "torch" && r["impl"] != "decode")
        std::snprintf(vs_torch, sizeof vs_torch, "%.2f", torch_ms[key] / ms);
      const bool decode = r["impl"] == "decode";
      std::printf(
          "%-9s %6lld %4lld %-6s %-8s %10.3f %9.1f %7.1f%% %9s %9.0f%s\n", r["impl"].get<std::string>().c_str(),
          static_cast<long long>(r["T"].get<int64_t>()), static_cast<long long>(r["D"].get<int64_t>()),
          r["causal"].get<bool>() ? "yes" : "no", r["pass"].get<std::string>().c_str(), ms, r["gflops"].get<double>(),
          100.0 * r["gflops"].get<double>() / sgemm, vs_torch, r["peak_rss_mb"].get<double>(),
          decode ? (" (" + std::to_string(static_cast<int>(r["gbps"].get<double>())) +
                    " GB/s = " + std::to_string(static_cast<int>(100 * r["gbps"].get<double>() / read)) + "% of read)")
                       .c_str()
                 : "");
    }
    return 0;
  };
}
