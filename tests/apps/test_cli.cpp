// The `attn` command, run as a user runs it: usage, exit codes, info.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "test_util.h"

namespace {

using attn::testing::CmdResult;
CmdResult attn(const std::string& args) { return attn::testing::run_attn(args); }

TEST(Cli, HelpListsSubcommands) {
  CmdResult r = attn("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("info"), std::string::npos);
  EXPECT_NE(r.out.find("version"), std::string::npos);
}

TEST(Cli, UnknownFlagPrintsUsageAndExits2) {
  CmdResult r = attn("--no-such-flag");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--no-such-flag"), std::string::npos);
  EXPECT_NE(r.out.find("Usage:"), std::string::npos);
}

TEST(Cli, UnknownFlagOfSubcommandShowsThatSubcommandsUsage) {
  CmdResult r = attn("info --bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--json"), std::string::npos);  // info's own usage
}

TEST(Cli, UnknownSubcommandExits2) { EXPECT_EQ(attn("frobnicate").code, 2); }

TEST(Cli, VersionPrintsVersion) {
  CmdResult r = attn("version");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find(ATTN_VERSION), std::string::npos);
}

TEST(Cli, InfoReportsThreadsBlasAndCpu) {
  CmdResult r = attn("info");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("OpenBLAS"), std::string::npos);
  EXPECT_NE(r.out.find("threads"), std::string::npos);
  EXPECT_NE(r.out.find("avx2"), std::string::npos);
  CmdResult j = attn("info --json");
  EXPECT_EQ(j.code, 0);
  EXPECT_EQ(j.out.front(), '{');
  EXPECT_NE(j.out.find("\"omp_threads\""), std::string::npos);
  // Which kernels run: OpenBLAS's core name and the flash kernel's register tiles, named for this build.
  const auto info = nlohmann::json::parse(j.out);
  EXPECT_NE(info["kernels"]["gemm"].get<std::string>().find("OpenBLAS "), std::string::npos);
  const std::string flash = info["kernels"]["flash_attention"];
  const std::string compiled = info["compiled_for"].dump();
  if (compiled.find("avx512f") != std::string::npos) EXPECT_EQ(flash.rfind("avx512f", 0), 0u) << flash;
  else if (compiled.find("fma") != std::string::npos) EXPECT_EQ(flash.rfind("avx2+fma", 0), 0u) << flash;
  else EXPECT_EQ(flash.rfind("portable", 0), 0u) << flash;
  EXPECT_NE(r.out.find("flash attention: "), std::string::npos);
}

// On a CPU with AVX2 + FMA the matrix products never run on OpenBLAS's generic Prescott kernels: OpenBLAS picks the
// CPU's own, or (a CPU newer than the library, which falls back to Prescott) attn re-runs itself with the kernel the
// CPU's features allow (kernels/gemm.h). A kernel the user names in OPENBLAS_CORETYPE is kept, as is Prescott with
// ATTN_KEEP_BLAS_KERNEL=1.
TEST(Cli, MatrixProductsUseTheCpusOwnKernels) {
  auto gemm_of = [](const std::string& env) {
    const CmdResult r = attn::testing::run_command("env -u OPENBLAS_CORETYPE -u ATTN_BLAS_KERNEL_CHOSEN " + env + " '" +
                                                   std::string(ATTN_BINARY_DIR) + "/bin/attn' info --json");
    EXPECT_EQ(r.code, 0) << r.out;
    return nlohmann::json::parse(r.out)["kernels"]["gemm"].get<std::string>();
  };
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(gemm_of("").find("Prescott"), std::string::npos) << gemm_of("");
    EXPECT_EQ(gemm_of("OPENBLAS_CORETYPE=Haswell"), "OpenBLAS Haswell") << "the user's choice is kept";
  }
  const std::string kept = gemm_of("ATTN_KEEP_BLAS_KERNEL=1");
  EXPECT_EQ(kept.find("chosen by attn"), std::string::npos) << kept;
}

}  // namespace
