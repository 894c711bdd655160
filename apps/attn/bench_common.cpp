#include "bench_common.h"

#include "machine.h"

#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace attn::cli {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median_time(const std::function<void()>& f, double min_time, int max_reps, int min_reps) {
  f();
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  do {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(seconds_since(t0));
  } while ((seconds_since(start) < min_time || static_cast<int>(t.size()) < min_reps) &&
           static_cast<int>(t.size()) < max_reps);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // Linux reports KiB
}

double measure_sgemm() {
  double best = 0;
  for (int n : {1024, 1536, 2048}) {
    std::vector<float> a(static_cast<size_t>(n) * n, 1.f), b(a.size(), 0.5f), c(a.size());
    const double s = median_time(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(),
                      n);
        },
        0.3);
    best = std::max(best, 2.0 * n * n * static_cast<double>(n) / s * 1e-9);
  }
  return best;
}

double measure_triad() {
  const size_t n = size_t{32} << 20;                                           // 32 Mi floats = 128 MiB per array
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);  // not zeroed: see below
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) b[i] = 1.f, c[i] = 2.f, a[i] = 0.f;  // first touch by the threads that use it
  const double s = median_time(
      [&] {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; ++i) a[i] = b[i] + 3.f * c[i];
      },
      0.5);
  return 3.0 * n * sizeof(float) / s * 1e-9;
}

double measure_read() {
  const size_t n = size_t{96} << 20;         // 96 Mi floats = 384 MiB, far beyond any cache
  std::unique_ptr<float[]> a(new float[n]);  // not zeroed here: the threads that read it touch it first
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) a[i] = 1.f;
  volatile float sink = 0.f;
  const float* p = a.get();
  const double s = median_time(
      [&] {
        float total = 0.f;
    // 8 independent sums of 8 lanes each per thread, so that the adds' latency never limits the reads.
#pragma omp parallel reduction(+ : total)
        {
          float part[64] = {};
#pragma omp for schedule(static)
          for (size_t i = 0; i < n / 64; ++i)
            for (int j = 0; j < 64; ++j) part[j] += p[i * 64 + j];
          for (float x : part) total += x;
        }
        sink = total;
      },
      0.5);
  (void)sink;
  return static_cast<double>(n) * sizeof(float) / s * 1e-9;
}

bench_json run_child(const std::string& cmd, int timeout_s, bench_json on_error) {
  const std::string err_file = "/tmp/attn_bench_" + std::to_string(::getpid()) + ".err";
  FILE* p = popen(("timeout " + std::to_string(timeout_s) + " " + cmd + " 2>'" + err_file + "'").c_str(), "r");
  std::string out, line;
  int status = -1;
  if (p) {
    std::array<char, 4096> buf;
    while (fgets(buf.data(), buf.size(), p)) out += buf.data();
    status = pclose(p);
  }
  std::istringstream is(out);
  std::string last;
  while (std::getline(is, line))
    if (!line.empty() && line[0] == '{') last = line;
  if (!last.empty()) {
    bench_json j = bench_json::parse(last, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  std::string why;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 124) why = "timed out after " + std::to_string(timeout_s) + " s";
  else if (WIFEXITED(status)) why = "exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) why = "killed by signal " + std::to_string(WTERMSIG(status)) + " (out of memory?)";
  else why = "could not run";
  std::ifstream ef(err_file);
  std::string err_line, last_err;
  while (std::getline(ef, err_line))
    if (!err_line.empty()) last_err = err_line;
  std::remove(err_file.c_str());
  if (!last_err.empty()) why += ": " + last_err;
  on_error["error"] = why;
  return on_error;
}
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string blas_env(const std::string& blas) {
  if (blas != "native") return "";
  // The CPU's best kernels: OpenBLAS's own choice, or the one `attn` chose where OpenBLAS fell back to Prescott
  // (kernels/gemm.h), for PyTorch's processes as for ours.
  const char* chosen = std::getenv("ATTN_BLAS_KERNEL_CHOSEN");
  return std::string("-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ") +
         (chosen ? "OPENBLAS_CORETYPE=" + std::string(chosen) + " " : "");
}

BenchSetup bench_setup(int threads_option, const std::string& blas) {
  BenchSetup b;
  b.threads = threads_option > 0 ? threads_option : omp_get_max_threads();
  omp_set_num_threads(b.threads);
  openblas_set_num_threads(b.threads);
  // Every case runs with the same thread count, whatever the caller's environment says. (PyTorch sizes
  // its own pools from --threads; an OPENBLAS_NUM_THREADS meant for us would oversubscribe its BLAS.)
  ::setenv("OMP_NUM_THREADS", std::to_string(b.threads).c_str(), 1);
  // OpenBLAS picks its kernels when it loads, from OPENBLAS_CORETYPE if set (this workplace pins older
  // kernels on some CPUs). "native" lets every case — ours and PyTorch's — use this CPU's best ones.
  b.blas_env = blas_env(blas);
  b.ours = "env " + b.blas_env + "OPENBLAS_NUM_THREADS=" + std::to_string(b.threads) + " ";
  b.self = std::filesystem::read_symlink("/proc/self/exe").string();
  return b;
}

Roofs measure_roofs(const BenchSetup& setup, int timeout_s) {
  const bench_json sg =
      run_child(setup.ours + "'" + setup.self + "' bench attention-case --impl sgemm", timeout_s, {{"impl", "sgemm"}});
  Roofs r;
  r.sgemm_gflops = sg.value("gflops", 0.0);
  r.kernel = sg.value("kernel", std::string(openblas_get_corename()));
  if (r.sgemm_gflops <= 0) r.sgemm_gflops = measure_sgemm();
  r.triad_gbps = measure_triad();
  r.read_gbps = measure_read();
  return r;
}

std::vector<bench_json> roof_rows(const Roofs& roofs, int threads) {
  bench_json machine = machine_json();
  machine["impl"] = "machine";
  return {machine,
          {{"impl", "sgemm"}, {"gflops", roofs.sgemm_gflops}, {"threads", threads}, {"kernel", roofs.kernel}},
          {{"impl", "triad"}, {"gbps", roofs.triad_gbps}, {"threads", threads}},
          {{"impl", "read"}, {"gbps", roofs.read_gbps}, {"threads", threads}}};
}

void add_bench_run_options(CLI::App* app, BenchRunOptions& o) {
  app->add_option("--min-time", o.min_time, "Seconds of repeats per case")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--threads", o.threads, "Threads for every implementation (default: all cores)");
  app->add_option("--timeout", o.timeout, "Seconds before a case is stopped and reported")->capture_default_str();
  app->add_option("--blas", o.blas, "native or configured (see attn bench attention --help)")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "configured"}));
  app->add_flag("--json", o.json_out, "One JSON object per line instead of tables");
}

void BenchRows::emit(const bench_json& row) {
  rows.push_back(row);
  if (json_out) std::cout << row.dump() << std::endl;
}

Roofs emit_roofs(const BenchSetup& setup, int timeout_s, BenchRows& out) {
  if (!out.json_out) std::cerr << "measuring the ceilings (sgemm, triad, read) on " << setup.threads << " threads...\n";
  const Roofs roofs = measure_roofs(setup, timeout_s);
  for (const auto& row : roof_rows(roofs, setup.threads)) out.emit(row);  // machine, sgemm, triad, read
  return roofs;
}

}  // namespace attn::cli
