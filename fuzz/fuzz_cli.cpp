// The command line itself (apps/attn): fuzzed argument vectors parsed by the `attn` application with every
// subcommand and option — parsing only, no command runs. Any input must end in a parse result or a CLI11 error
// (a usage error, a call for help), never a crash or another exception.
#include <string>
#include <vector>

#include "app.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Arguments are separated by NUL bytes or newlines (a seed file reads as one argument per line).
  std::vector<std::string> args;
  std::string cur;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    const char ch = static_cast<char>(data[i]);
    if (ch == '\0' || ch == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  CLI::App app{"attn", "attn"};
  attn::cli::Action chosen;
  attn::cli::build_app(app, &chosen);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::Error&) {
    // usage errors, --help, --version: what a user would see printed
  }
  return 0;
}
