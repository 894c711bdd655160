#include "torch_runner.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

namespace attn::testing {

std::string scratch_dir(const std::string& name) {
  const std::filesystem::path p = std::filesystem::path(ATTN_BINARY_DIR) / "test_scratch" / name;
  std::filesystem::create_directories(p);
  return p.string();
}

int run_torch_script(const std::string& script, const std::string& args, std::string* log) {
  const std::string dir = std::string(ATTN_SOURCE_DIR) + "/tests/torch";
  // One thread: the reference values do not need speed, and the suite may run tests in parallel.
  const std::string cmd = "cd '" + dir + "' && OMP_NUM_THREADS=1 /usr/bin/python3 " + script + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
    if (log) log->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace attn::testing
