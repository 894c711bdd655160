// The `attn` command, run as a user runs it: usage, exit codes, info.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct CmdResult {
  int code;
  std::string out;  // stdout and stderr together
};

CmdResult attn(const std::string& args) {
  const std::string cmd = std::string(ATTN_BINARY_DIR) + "/bin/attn " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CmdResult r{-1, ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

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
}

}  // namespace
