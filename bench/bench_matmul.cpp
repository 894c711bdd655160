// Does the autograd matmul op cost anything over raw cblas_sgemm?
//
// For square N = 512, 1024, 1536, 2048 (all threads), runs side by side in one process:
//   sgemm        cblas_sgemm on preallocated buffers (the machine's ceiling)
//   op           attn::matmul forward (allocates its output, as real code does)
//   op+record    attn::matmul on inputs that require grad (also records the backward node)
//   op fwd+bwd   forward and backward through autograd: 3 gemms, compared with 3 raw sgemm calls
// and prints GFLOP/s and the ratio op/sgemm (target ≥ 0.90). Usage: bench_matmul [--benchmark_* flags]
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/ops/ops.h"

namespace {

using attn::Tensor;

Tensor rnd(int64_t n, uint64_t seed) {
  attn::Generator g(seed);
  return Tensor::randn({n, n}, g);
}

void set_flops(benchmark::State& st, double gemms) {
  const double n = static_cast<double>(st.range(0));
  st.counters["GFLOP/s"] =
      benchmark::Counter(gemms * 2 * n * n * n * 1e-9 * st.iterations(), benchmark::Counter::kIsRate);
}

void BM_sgemm(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  Tensor a = rnd(n, 1), b = rnd(n, 2), c = Tensor::empty({n, n});
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(st, 1);
}

void BM_op(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor a = rnd(n, 1), b = rnd(n, 2);
  for (auto _ : st) {
    Tensor c = attn::matmul(a, b);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(st, 1);
}

void BM_op_record(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor a = rnd(n, 1).requires_grad_(), b = rnd(n, 2).requires_grad_();
  for (auto _ : st) {
    Tensor c = attn::matmul(a, b);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(st, 1);
}

void BM_sgemm_x3(benchmark::State& st) {  // forward + the two backward gemms, raw
  const int n = static_cast<int>(st.range(0));
  Tensor a = rnd(n, 1), b = rnd(n, 2), c = Tensor::empty({n, n}), g = rnd(n, 3);
  Tensor da = Tensor::zeros({n, n}), db = Tensor::zeros({n, n});
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, g.data(), n, b.data(), n, 1.f, da.data(), n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, g.data(), n, 1.f, db.data(), n);
    benchmark::DoNotOptimize(db.data());
  }
  set_flops(st, 3);
}

void BM_op_fwd_bwd(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor a = rnd(n, 1).requires_grad_(), b = rnd(n, 2).requires_grad_(), g = rnd(n, 3);
  for (auto _ : st) {
    attn::matmul(a, b).backward(g);
    benchmark::DoNotOptimize(a.grad().data());
  }
  set_flops(st, 3);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : {512, 1024, 1536, 2048}) b->Arg(n);
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
}

BENCHMARK(BM_sgemm)->Apply(sizes);
BENCHMARK(BM_op)->Apply(sizes);
BENCHMARK(BM_op_record)->Apply(sizes);
BENCHMARK(BM_sgemm_x3)->Apply(sizes);
BENCHMARK(BM_op_fwd_bwd)->Apply(sizes);

// Collects each run's GFLOP/s so that ratios can be printed after the usual table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, std::map<int64_t, double>> gflops;  // family -> N -> GFLOP/s
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      const std::string name = r.benchmark_name();
      const auto slash = name.find('/');
      const auto it = r.counters.find("GFLOP/s");
      if (slash == std::string::npos || it == r.counters.end()) continue;
      gflops[name.substr(0, slash)][std::stoll(name.substr(slash + 1))] = it->second.value;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  RatioReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  auto& g = rep.gflops;
  std::printf("\nratio to raw cblas_sgemm on the same shapes (target >= 0.90)\n");
  std::printf("%6s %12s %10s %12s %12s %14s\n", "N", "sgemm GF/s", "op/sgemm", "op+rec/sgemm", "3xsgemm GF/s",
              "fwd+bwd/3xsgemm");
  for (auto& [n, base] : g["BM_sgemm"]) {
    const double b3 = g["BM_sgemm_x3"][n];
    std::printf("%6lld %12.1f %10.3f %12.3f %12.1f %14.3f\n", static_cast<long long>(n), base, g["BM_op"][n] / base,
                g["BM_op_record"][n] / base, b3, b3 > 0 ? g["BM_op_fwd_bwd"][n] / b3 : 0.0);
  }
  benchmark::Shutdown();
  return 0;
}
