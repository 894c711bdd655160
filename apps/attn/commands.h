// Subcommand registry for the `attn` command. Each subcommand lives in its own file, cmd_<name>.cpp,
// and registers itself at start-up:
//
//   ATTN_COMMAND(info, "Show threads, BLAS and CPU features") {
//     auto* json = sub.add_flag("--json", ...);        // `sub` is this command's CLI::App
//     return [=] { ...; return 0; };                   // runs when the command is chosen
//   }
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace attn::cli {

using Action = std::function<int()>;
using Setup = std::function<Action(CLI::App& sub)>;

struct CommandSpec {
  std::string name, description;
  Setup setup;
};

std::vector<CommandSpec>& registry();

struct Registrar {
  Registrar(std::string name, std::string description, Setup setup) {
    registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace attn::cli

#define ATTN_COMMAND(name, description)                                                             \
  static attn::cli::Action attn_cmd_setup_##name(CLI::App& sub);                                    \
  static attn::cli::Registrar attn_cmd_registrar_##name(#name, description, attn_cmd_setup_##name); \
  static attn::cli::Action attn_cmd_setup_##name(CLI::App& sub)
