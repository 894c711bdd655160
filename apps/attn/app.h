// The `attn` command's CLI11 application: every registered subcommand (commands.h) added to `app`, each one's
// callback storing its action in `*chosen` (parsing runs nothing else). main.cpp parses and runs the action;
// fuzz/fuzz_cli.cpp parses fuzzed command lines without running any.
#pragma once
#include "commands.h"

namespace attn::cli {

void build_app(CLI::App& app, Action* chosen);

}  // namespace attn::cli
