// What machine a report was measured on, printed by `attn info` and at the top of every `attn bench`
// report: the CPU model, its SIMD features, what this binary was compiled for and which kernels run.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attn::cli {

std::string cpu_model();  // /proc/cpuinfo's "model name", or "unknown"
// {"cpu", "cpu_features": {...}, "compiled_for": [...], "kernels": {"gemm", "flash_attention", "elementwise"}}
nlohmann::ordered_json machine_json();
// One line: "AMD EPYC 9B45 | compiled for avx512 | gemm: OpenBLAS Zen kernels | flash attention: …".
// `gemm_kernel` (e.g. "Cooperlake"), when given, names the OpenBLAS kernels the benchmark's cases ran with
// (they run in child processes, which may pick other kernels than this one).
std::string machine_line(const std::string& gemm_kernel = "");
// A file-name slug of the CPU model and the widest ISA compiled for, e.g. "amd-epyc-9b45-avx512":
// docs/bench/<slug>/ keeps the latest run per machine.
std::string machine_slug();

}  // namespace attn::cli
