// Lesson 05.04 — Flash attention: exact attention without the T × T matrix.
//
// The composed attention softmax(Q Kᵀ / √d) V writes a T × T score matrix per head to memory, reads it
// back for the softmax, writes the weights, and reads them again for the product with V. At T = 4096 and
// 8 heads that is 512 MB per matrix — memory traffic, not arithmetic, sets the speed. FlashAttention
// (Dao et al. 2022, 2023) computes the same numbers tile by tile, keeping each tile in cache, using one
// trick: the softmax can be computed *online*, one block of keys at a time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "attn/attention/flash.h"
#include "attn/attention/sdpa.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;

namespace {
double time_it(const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[2];
}
}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Flash attention: exact attention without the T x T matrix");

  L.step("The online softmax, by hand");
  L.say(
      "softmax(x)_i = e^(x_i - m) / Σ_j e^(x_j - m) with m = max x. Read x in two blocks: keep a running\n"
      "max m and a running sum l; when a new block raises the max, rescale the old sum by e^(m_old - m_new).");
  const std::vector<float> x = {1.f, 3.f, 2.f, 5.f, 4.f, 0.f};
  float m = -INFINITY, l = 0.f;
  for (int block = 0; block < 2; ++block) {
    float m_block = -INFINITY;
    for (int j = 3 * block; j < 3 * block + 3; ++j) m_block = std::max(m_block, x[j]);
    const float m_new = std::max(m, m_block);
    float sum_block = 0.f;
    for (int j = 3 * block; j < 3 * block + 3; ++j) sum_block += std::exp(x[j] - m_new);
    l = l * std::exp(m - m_new) + sum_block;  // rescale what was summed against the old max
    m = m_new;
    std::printf("  after block %d: running max m = %.1f, running sum l = %.6f\n", block + 1, m, l);
  }
  float direct = 0.f;
  for (float v : x) direct += std::exp(v - 5.f);
  std::printf("  one pass over all six: l = %.6f  (the same)\n", direct);
  std::printf("  log-sum-exp = m + log l = %.6f — all the backward pass needs to rebuild any weight\n",
              m + std::log(l));

  L.step("Tiles: the same output, never the whole matrix");
  L.say(
      "For a block of queries, loop over blocks of keys: S = Q_i K_jᵀ (a 64 × 64 tile), update the running\n"
      "max and sum, and accumulate P V_j. The composed path and the fused kernel agree to float rounding:");
  Generator g(0);
  Tensor q = Tensor::randn({1, 4, 300, 64}, g), k = Tensor::randn({1, 4, 300, 64}, g),
         v = Tensor::randn({1, 4, 300, 64}, g);
  Tensor composed = scaled_dot_product_attention_math(q, k, v, SdpaOptions().causal()).output;
  FlashOutput fused = flash_attention_with_lse(q, k, v, SdpaOptions().causal());
  const double diff = max_abs_diff(composed, fused.output);
  std::printf("  max |composed - fused| = %.2e over %lld outputs\n", diff, static_cast<long long>(composed.numel()));
  L.say("And the weights of any row come back from the saved log-sum-exp, for pictures:");
  Tensor rows = attention_weights_from_lse(q, k, fused.lse, {0, 1, 2, 3, 4, 5, 6, 7}, SdpaOptions().causal());
  viz::Heatmap(slice(reshape(rows, {4 * 8, 300}), 1, 0, 16))
      .title("Rows 0-7 of each head, from the lse (first 16 keys)")
      .row_title("head · query")
      .col_title("key")
      .unit_range()
      .save_png(L.figure("weights_from_lse.png"));

  L.step("Why it is faster: bytes, not FLOPs");
  L.say("Timing both on this machine (8 heads, D = 64, forward, all threads), and the memory each needs:");
  std::vector<double> Ts, composed_ms, fused_ms, composed_mb, fused_mb;
  std::printf("  %6s %12s %10s %9s %14s %11s\n", "T", "composed ms", "fused ms", "speed-up", "composed MB", "fused MB");
  for (int64_t T : {128, 256, 512, 1024, 2048}) {
    Tensor qq = Tensor::randn({1, 8, T, 64}, g), kk = Tensor::randn({1, 8, T, 64}, g),
           vv = Tensor::randn({1, 8, T, 64}, g);
    const double tc = time_it([&] { scaled_dot_product_attention_math(qq, kk, vv); });
    const double tf = time_it([&] { flash_attention(qq, kk, vv); });
    // Extra memory beyond q, k, v, out: composed holds scores and weights (2 × H·T² floats); fused the lse.
    const double mc = 2.0 * 8 * T * T * 4 / 1e6, mf = 8.0 * T * 4 / 1e6;
    std::printf("  %6lld %12.2f %10.2f %8.1fx %14.1f %11.3f\n", static_cast<long long>(T), tc * 1e3, tf * 1e3, tc / tf,
                mc, mf);
    Ts.push_back(T);
    composed_ms.push_back(tc * 1e3);
    fused_ms.push_back(tf * 1e3);
    composed_mb.push_back(mc);
    fused_mb.push_back(mf);
  }
  viz::LinePlot("Forward time, 8 heads, D = 64 (this run)", "sequence length T", "ms")
      .add_series("composed", Ts, composed_ms)
      .add_series("fused", Ts, fused_ms)
      .log_y()
      .save(L.figure("time_vs_T.svg"));
  viz::LinePlot("Extra memory beyond Q, K, V and O", "sequence length T", "MB")
      .add_series("composed (scores + weights)", Ts, composed_mb)
      .add_series("fused (log-sum-exp)", Ts, fused_mb)
      .log_y()
      .save(L.figure("memory_vs_T.svg"));

  L.step("The full benchmark, with PyTorch and the machine's ceilings");
  // `attn bench attention --json` writes one line per case; the project keeps a run in docs/bench/.
  const std::string bench = std::string(ATTN_SOURCE_DIR) + "/docs/bench/attention.jsonl";
  std::ifstream f(bench);
  if (!f) {
    L.say("(no saved benchmark at " + bench + "; run `attn bench attention --json > docs/bench/attention.jsonl`)");
  } else {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> gf, mem;
    double sgemm = 0;
    std::string line;
    while (std::getline(f, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (j["impl"] == "sgemm") sgemm = j["gflops"];
      if (!j.contains("ms") || j["D"] != 64 || j["pass"] != "fwd" || j["causal"] != false || j["impl"] == "decode")
        continue;
      const std::string impl = j["impl"];
      gf[impl].first.push_back(j["T"]);
      gf[impl].second.push_back(j["gflops"]);
      mem[impl].first.push_back(j["T"]);
      mem[impl].second.push_back(j["peak_rss_mb"]);
    }
    viz::LinePlot speed("Attention forward, H = 8, D = 64 (saved benchmark)", "sequence length T", "GFLOP/s");
    viz::LinePlot memory("Peak memory of the process", "sequence length T", "MB");
    for (auto& [impl, xy] : gf) speed.add_series(impl, xy.first, xy.second);
    for (auto& [impl, xy] : mem) memory.add_series(impl, xy.first, xy.second);
    if (sgemm > 0 && !gf.empty()) {  // the roof, across every T measured
      std::vector<double> xs;
      for (auto& [impl, xy] : gf)
        if (xy.first.size() > xs.size()) xs = xy.first;
      speed.add_series("sgemm ceiling", xs, std::vector<double>(xs.size(), sgemm));
    }
    speed.save(L.figure("benchmark_gflops.svg"));
    memory.log_y().save(L.figure("benchmark_memory.svg"));
    std::printf("  plotted %zu implementations from %s\n", gf.size(), bench.c_str());
  }
  L.say(
      "\nThe same exact numbers, a fraction of the memory, several times the speed: the kernel behind\n"
      "scaled_dot_product_attention whenever it can serve the call.");
  return 0;
}
