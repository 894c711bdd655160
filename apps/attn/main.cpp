// `attn`: the explore-attention command. Subcommands register themselves (see commands.h).
// Exit codes: 0 success, 1 runtime error, 2 usage error (unknown flag, missing argument).
#include <iostream>

#include "attn/core/error.h"
#include "app.h"

int main(int argc, char** argv) {
  CLI::App app{"attn — explore attention mechanisms: lessons, models, visualizations and benchmarks", "attn"};
  attn::cli::Action chosen;
  attn::cli::build_app(app, &chosen);
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
