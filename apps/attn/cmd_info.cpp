// attn info — what this machine gives the toolkit: threads, the BLAS library, CPU features.
#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "attn/kernels/gemm.h"
#include "commands.h"

namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const auto start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "unknown" : line.substr(start);
    }
  return "unknown";
}

nlohmann::ordered_json collect() {
  nlohmann::ordered_json j;
  j["version"] = ATTN_VERSION;
#ifdef NDEBUG
  j["build"] = "release";
#else
  j["build"] = "debug";
#endif
  j["compiler"] = std::string("g++ ") + __VERSION__;
  j["omp_threads"] = omp_get_max_threads();
  j["online_cpus"] = sysconf(_SC_NPROCESSORS_ONLN);
  j["blas"] = attn::kernels::blas_name();
  j["blas_threads"] = attn::kernels::blas_num_threads();
  j["cpu"] = cpu_model();
  nlohmann::ordered_json feats;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  feats["sse4.2"] = static_cast<bool>(__builtin_cpu_supports("sse4.2"));
  feats["avx"] = static_cast<bool>(__builtin_cpu_supports("avx"));
  feats["avx2"] = static_cast<bool>(__builtin_cpu_supports("avx2"));
  feats["fma"] = static_cast<bool>(__builtin_cpu_supports("fma"));
  feats["avx512f"] = static_cast<bool>(__builtin_cpu_supports("avx512f"));
  feats["avx512bw"] = static_cast<bool>(__builtin_cpu_supports("avx512bw"));
#endif
  j["cpu_features"] = feats.is_null() ? nlohmann::ordered_json::object() : feats;
  // What this binary was compiled to use (-march=native decides).
  nlohmann::ordered_json compiled;
#ifdef __AVX2__
  compiled.push_back("avx2");
#endif
#ifdef __FMA__
  compiled.push_back("fma");
#endif
#ifdef __AVX512F__
  compiled.push_back("avx512f");
#endif
  j["compiled_for"] = compiled.is_null() ? nlohmann::ordered_json::array() : compiled;
  return j;
}

}  // namespace

ATTN_COMMAND(info, "Show threads, the BLAS library in use and CPU features") {
  auto json = std::make_shared<bool>(false);
  sub.add_flag("--json", *json, "Print one JSON object instead of text (default: text)");
  return [json] {
    const auto j = collect();
    if (*json) {
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << "explore-attention " << j["version"].get<std::string>() << " (" << j["build"].get<std::string>()
              << ", " << j["compiler"].get<std::string>() << ")\n";
    std::cout << "threads     OpenMP " << j["omp_threads"] << " of " << j["online_cpus"] << " online CPUs\n";
    std::cout << "BLAS        " << j["blas"].get<std::string>() << ", " << j["blas_threads"] << " threads\n";
    std::cout << "CPU         " << j["cpu"].get<std::string>() << "\n";
    std::cout << "features   ";
    for (auto& [k, v] : j["cpu_features"].items()) std::cout << " " << k << (v.get<bool>() ? "+" : "-");
    std::cout << "\ncompiled   ";
    for (auto& f : j["compiled_for"]) std::cout << " " << f.get<std::string>();
    std::cout << "\n";
    return 0;
  };
}
