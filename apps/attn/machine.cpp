#include "machine.h"

#include <cblas.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "attn/kernels/flash_attention.h"

namespace attn::cli {

namespace {
// The value of the first "<key>\t: value" line of /proc/cpuinfo, or "".
std::string cpuinfo(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k != key) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}
}  // namespace

std::string cpu_model() {
  std::string name = cpuinfo("model name");
  if (name.empty()) return "unknown";
  // Virtual machines often say only "AMD EPYC": the family and model numbers tell Zen 3 from Zen 5.
  const std::string family = cpuinfo("cpu family"), model = cpuinfo("model");
  if (!family.empty() && !model.empty()) name += " (family " + family + ", model " + model + ")";
  return name;
}

namespace {
const char* compiled_isa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "sse";
#endif
}
}  // namespace

nlohmann::ordered_json machine_json() {
  nlohmann::ordered_json j;
  j["cpu"] = cpu_model();
  nlohmann::ordered_json feats = nlohmann::ordered_json::object();
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  feats["sse4.2"] = static_cast<bool>(__builtin_cpu_supports("sse4.2"));
  feats["avx"] = static_cast<bool>(__builtin_cpu_supports("avx"));
  feats["avx2"] = static_cast<bool>(__builtin_cpu_supports("avx2"));
  feats["fma"] = static_cast<bool>(__builtin_cpu_supports("fma"));
  feats["avx512f"] = static_cast<bool>(__builtin_cpu_supports("avx512f"));
  feats["avx512bw"] = static_cast<bool>(__builtin_cpu_supports("avx512bw"));
#endif
  j["cpu_features"] = feats;
  // What this binary was compiled to use (-march=native decides, or -DATTN_MARCH=haswell for an AVX2 build).
  nlohmann::ordered_json compiled = nlohmann::ordered_json::array();
#ifdef __AVX2__
  compiled.push_back("avx2");
#endif
#ifdef __FMA__
  compiled.push_back("fma");
#endif
#ifdef __AVX512F__
  compiled.push_back("avx512f");
#endif
  j["compiled_for"] = compiled;
  // "(chosen by attn)": OpenBLAS fell back to Prescott on this CPU and attn re-ran itself with these (kernels/gemm.h).
  const char* chosen = std::getenv("ATTN_BLAS_KERNEL_CHOSEN");
  const bool ours = chosen != nullptr && std::strcmp(chosen, openblas_get_corename()) == 0;
  j["kernels"] = {{"gemm", std::string("OpenBLAS ") + openblas_get_corename() + (ours ? " (chosen by attn)" : "")},
                  {"flash_attention", kernels::flash_kernel_name()},
                  {"elementwise", std::string("compiler-vectorized for ") + compiled_isa()}};
  return j;
}

std::string machine_line(const std::string& gemm_kernel) {
  const auto j = machine_json();
  return j["cpu"].get<std::string>() + " | compiled for " + compiled_isa() +
         " | gemm: " + (gemm_kernel.empty() ? j["kernels"]["gemm"].get<std::string>() : "OpenBLAS " + gemm_kernel) +
         " kernels | flash attention: " + j["kernels"]["flash_attention"].get<std::string>();
}

std::string machine_slug() {
  std::string slug;
  for (char c : cpu_model()) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') slug += static_cast<char>(c - 'A' + 'a');
    else if (alnum) slug += c;
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return (slug.empty() ? std::string("unknown") : slug) + "-" + compiled_isa();
}

}  // namespace attn::cli
