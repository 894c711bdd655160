// `attn`: the explore-attention command. Subcommands register themselves (see commands.h).
// Exit codes: 0 success, 1 runtime error, 2 usage error (unknown flag, missing argument).
#include <iostream>

#include "attn/core/error.h"
#include "commands.h"

namespace attn::cli {
std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace attn::cli

int main(int argc, char** argv) {
  CLI::App app{"attn — explore attention mechanisms: lessons, models, visualizations and benchmarks", "attn"};
  app.require_subcommand(0, 1);
  app.footer("Run `attn COMMAND --help` for a command's options.");
  attn::cli::Action chosen;
  for (auto& spec : attn::cli::registry()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto action = std::make_shared<attn::cli::Action>(spec.setup(*sub));
    sub->callback([action, &chosen] { chosen = *action; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "attn: " << e.what() << "\n\n";
    // Usage of the (sub)command whose parse failed.
    const CLI::App* where = &app;
    for (const CLI::App* s : app.get_subcommands()) where = s;
    std::cerr << where->help();
    return 2;
  }
  if (!chosen) {
    std::cout << app.help();
    return 0;
  }
  try {
    return chosen();
  } catch (const attn::Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 1;
  }
}
