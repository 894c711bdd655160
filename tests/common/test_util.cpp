#include "test_util.h"

#include <gtest/gtest.h>

#include <cstring>

#include "attn/core/error.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace attn::testing {

std::string scratch_dir(const std::string& name) {
  const std::filesystem::path p = std::filesystem::path(ATTN_BINARY_DIR) / "test_scratch" / name;
  std::filesystem::create_directories(p);
  return p.string();
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fresh_dir(const std::string& name) {
  // One per process: CTest runs tests in parallel, each in its own process, and a directory shared between
  // them would be wiped under another test's feet.
  const std::string dir = scratch_dir(name + "." + std::to_string(::getpid()));
  for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry.path());
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_under_file_size_limit(int64_t bytes, const std::function<void()>& f) {
  rlimit saved{};
  if (getrlimit(RLIMIT_FSIZE, &saved) != 0) return "(getrlimit failed)";
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(bytes);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &low) != 0) {
    signal(SIGXFSZ, old_handler);
    return "(setrlimit failed)";
  }
  const std::string message = error_of(f);
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);
  return message;
}

CmdResult run_command(const std::string& command_line) {
  CmdResult r{-1, ""};
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CmdResult run_attn(const std::string& args) { return run_command(std::string(ATTN_BINARY_DIR) + "/bin/attn " + args); }

std::string mpirun_attn_command(int ranks, const std::string& env) {
  if (run_command("command -v mpirun").code != 0) return "";
  return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 "
         "ASAN_OPTIONS=detect_leaks=0 " +
         env + " mpirun -np " + std::to_string(ranks) + " --oversubscribe " + std::string(ATTN_BINARY_DIR) +
         "/bin/attn";
}

CmdResult run_attn_mpi(int ranks, const std::string& args, const std::string& env) {
  const std::string cmd = mpirun_attn_command(ranks, env);
  if (cmd.empty()) {
    ADD_FAILURE() << "mpirun is not installed (bash scripts/setup.sh installs openmpi-bin and libopenmpi-dev)";
    return {-2, ""};
  }
  return run_command(cmd + " " + args);
}

int run_torch_script(const std::string& script, const std::string& args, std::string* log) {
  const std::string dir = std::string(ATTN_SOURCE_DIR) + "/tests/torch";
  // One thread: the reference values do not need speed, and the suite may run tests in parallel.
  CmdResult r = run_command("cd '" + dir + "' && OMP_NUM_THREADS=1 /usr/bin/python3 " + script + " " + args);
  if (log) *log = r.out;
  return r.code;
}

std::string base64_decode(const std::string& b64) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<uint32_t>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bytes;
}

std::vector<float> decode_floats(const std::string& b64) {
  const std::string bytes = base64_decode(b64);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

}  // namespace attn::testing
