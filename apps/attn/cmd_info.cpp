// attn info — what this machine gives the toolkit: threads, the BLAS library, CPU features.
#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "attn/kernels/gemm.h"
#include "commands.h"
#include "data_root.h"
#include "machine.h"

namespace {

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
  const auto machine = attn::cli::machine_json();  // cpu, features, compiled_for, kernels
  for (auto& [k, v] : machine.items()) j[k] = v;
  j["data"] = attn::cli::data_root();  // where the shipped models and default corpora are read from
  return j;
}

}  // namespace

ATTN_COMMAND(info, "Show threads, the BLAS library in use and CPU features") {
  auto json = std::make_shared<bool>(false);
  sub.add_flag("--json", *json, "Print one JSON object instead of text (default: text)");
  auto slug = std::make_shared<bool>(false);
  sub.add_flag("--slug", *slug,
               "Print only this machine's report folder name (CPU model and ISA), as docs/bench/ uses");
  return [json, slug] {
    if (*slug) {
      std::cout << attn::cli::machine_slug() << "\n";
      return 0;
    }
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
    std::cout << "\nkernels     gemm: " << j["kernels"]["gemm"].get<std::string>()
              << "; flash attention: " << j["kernels"]["flash_attention"].get<std::string>()
              << "; elementwise: " << j["kernels"]["elementwise"].get<std::string>() << "\n";
    std::cout << "data        " << j["data"].get<std::string>()
              << " (models/, default corpora; $ATTN_DATA_DIR overrides)\n";
    return 0;
  };
}
