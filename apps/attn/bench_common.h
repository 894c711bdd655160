// What the `attn bench …` commands share: timing, the machine's ceilings, and running one case per child
// process (so that each case's peak memory is its own and a crash or time-out is reported, not fatal).
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attn::cli {

using bench_json = nlohmann::ordered_json;

double seconds_since(std::chrono::steady_clock::time_point t0);
// Median time of `f` over repeats filling at least `min_time` seconds (after one warm-up run), at least
// `min_reps` and at most `max_reps` of them.
double median_time(const std::function<void()>& f, double min_time, int max_reps = 50, int min_reps = 3);
double peak_rss_mb();  // this process's peak resident memory

// The machine's compute roof: the best cblas_sgemm rate on square 1024–2048 matrices, all threads.
double measure_sgemm();
// The memory roof: STREAM's triad a = b + s·c over 3 × 128 MiB arrays, counted as 3 arrays moved (GB/s).
double measure_triad();
// The read-only roof: the sum of a 384 MiB array, all threads (GB/s). Decoding only reads (weights and
// cache), which goes faster than triad's mix of reads and writes: its bound uses this one.
double measure_read();

// Runs `cmd` under `timeout` and returns the last JSON line it printed; when there is none, returns
// `on_error` with an "error" field saying why (exit status, signal, time-out, its last stderr line).
bench_json run_child(const std::string& cmd, int timeout_s, bench_json on_error);

// "a,b,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_list(const std::string& s);

// `env` arguments so that a child (ours or PyTorch) runs, for blas "native", with OpenBLAS's best kernels for this
// CPU (OPENBLAS_CORETYPE unset, or the kernel attn chose where OpenBLAS fell back to Prescott: kernels/gemm.h; see
// `attn bench attention --help`). It may end in an assignment: put other `-u NAME` options before it.
std::string blas_env(const std::string& blas);

// What every benchmark run sets up first: one thread count for this process, its children and PyTorch
// (OMP_NUM_THREADS is exported, whatever the caller's environment says), and the command prefix that runs
// a case of ours with that count and the chosen OpenBLAS kernels.
struct BenchSetup {
  int threads = 0;
  std::string blas_env;  // blas_env(blas)
  std::string ours;      // "env <blas_env>OPENBLAS_NUM_THREADS=<threads> "
  std::string self;      // this binary (/proc/self/exe)
};
BenchSetup bench_setup(int threads_option /* 0 = all cores */, const std::string& blas);

// How a model benchmark (`attn bench gpt`, `attn bench vit`) runs its cases, and its five options:
// --min-time, --threads, --timeout, --blas, --json.
struct BenchRunOptions {
  double min_time = 3.0;  // seconds of repeats per case
  int threads = 0;        // 0 = all cores
  int timeout = 900;      // seconds before a case is stopped and reported
  std::string blas = "native";
  bool json_out = false;
};
void add_bench_run_options(CLI::App* app, BenchRunOptions& o);

// The machine's ceilings, measured once per run: sgemm in a child with the cases' environment (the same
// OpenBLAS kernels they use; in-process if the child fails), triad here.
struct Roofs {
  double sgemm_gflops = 0, triad_gbps = 0, read_gbps = 0;
  std::string kernel;  // OpenBLAS's name for the sgemm kernels, e.g. "Cooperlake"
};
Roofs measure_roofs(const BenchSetup& setup, int timeout_s);
// The JSON rows that open every report: the machine (machine.h), then the sgemm, triad and read roofs.
std::vector<bench_json> roof_rows(const Roofs& roofs, int threads);

// A report's rows: each one kept for the tables printed at the end and, with --json, printed at once as a line.
struct BenchRows {
  bool json_out = false;
  std::vector<bench_json> rows;
  void emit(const bench_json& row);
};
// What every report starts with: the ceilings measured (said on stderr unless --json) and their rows emitted.
Roofs emit_roofs(const BenchSetup& setup, int timeout_s, BenchRows& out);

}  // namespace attn::cli
