// Runs a Python reference script under Debian's python3-torch (/usr/bin/python3 — the python3 first on
// PATH may be another interpreter without torch) and reports failures with the script's output.
#pragma once
#include <string>

namespace attn::testing {

// Directory for a test's scratch files, under the build tree (created on demand).
std::string scratch_dir(const std::string& name);

// Runs `/usr/bin/python3 tests/torch/<script> <args>`; returns the exit code; output goes to `log`.
int run_torch_script(const std::string& script, const std::string& args, std::string* log);

}  // namespace attn::testing
