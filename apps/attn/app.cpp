#include "app.h"

#include <memory>

namespace attn::cli {

std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> r;
  return r;
}

void build_app(CLI::App& app, Action* chosen) {
  app.require_subcommand(0, 1);
  app.footer("Run `attn COMMAND --help` for a command's options.");
  for (auto& spec : registry()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto action = std::make_shared<Action>(spec.setup(*sub));
    sub->callback([action, chosen] { *chosen = *action; });
  }
}

}  // namespace attn::cli
