// Helpers shared by the tests: scratch directories under the build tree, running commands (the `attn`
// binary, Debian's python3-torch) and capturing what they print.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace attn::testing {

// Directory for a test's scratch files, under the build tree (created on demand, contents kept).
std::string scratch_dir(const std::string& name);
// A directory of this process's own (name + "." + pid), emptied first.
std::string fresh_dir(const std::string& name);

struct CmdResult {
  int code;         // exit status (-1 when it did not exit normally)
  std::string out;  // stdout and stderr together
};

// A file's whole contents ("" when it cannot be read): to compare checkpoints byte for byte.
std::string bytes_of(const std::string& path);
// The message of the attn::Error that `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);
// The same, with this process's file-size limit (RLIMIT_FSIZE) lowered to `bytes` while `f` runs, so that write(2)
// fails part-way with EFBIG (even as root, where folder permissions do not stop writes); SIGXFSZ is ignored
// meanwhile. Limit and handler are restored afterwards.
std::string error_under_file_size_limit(int64_t bytes, const std::function<void()>& f);

// Runs a shell command line, capturing its output.
CmdResult run_command(const std::string& command_line);
// Runs the built `attn` binary with `args` (a shell-quoted string).
CmdResult run_attn(const std::string& args);

// Runs the built `attn` on `ranks` processes: `mpirun -np ranks --oversubscribe attn <args>`, one OpenMP thread per
// rank, with Open MPI's permission to run as root (CI runs as root) and `env` (e.g. "ATTN_DIST_TIMEOUT=5") set for
// every rank. Fails the calling test (and returns code -2) when mpirun is not installed.
CmdResult run_attn_mpi(int ranks, const std::string& args, const std::string& env = "");
// The shell command line that run_attn_mpi runs, ending in the attn binary (for tests that start it in the
// background); "" without mpirun.
std::string mpirun_attn_command(int ranks, const std::string& env = "");

// Runs `/usr/bin/python3 tests/torch/<script> <args>` — Debian's python3-torch; the python3 first on
// PATH may be another interpreter without torch. Returns the exit code; output goes to `log`.
int run_torch_script(const std::string& script, const std::string& args, std::string* log);

// Base64 (RFC 4648) back to bytes, and to little-endian float32s: the explorer's "f32-base64" arrays.
std::string base64_decode(const std::string& b64);
std::vector<float> decode_floats(const std::string& b64);

}  // namespace attn::testing
