// `attn`: the explore-attention command. Subcommands register themselves (see commands.h).
// Exit codes: 0 success, 1 runtime error, 2 usage error (unknown flag, missing argument).
#include <cstdlib>
#include <iostream>
#include <string>

#include "app.h"
#include "attn/core/error.h"
#include "attn/dist/communicator.h"
#include "attn/kernels/gemm.h"

namespace {
// The subcommand path that was parsed ("train gpt").
std::string chosen_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* a = &app;;) {
    const auto subs = a->get_subcommands();
    if (subs.empty()) return path;
    a = subs.front();
    path += (path.empty() ? "" : " ") + a->get_name();
  }
}
}  // namespace

int main(int argc, char** argv) {
  attn::kernels::reexec_with_blas_kernel_for_this_cpu(argv);  // a CPU newer than OpenBLAS: its AVX2/AVX-512 kernels
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
  // Under mpirun only the commands written for several ranks run; any other would run N copies writing the same
  // files. Every rank says so and leaves (exit 2), before MPI is even started.
  const std::string path = chosen_path(app);
  const bool on_ranks = path == "train gpt" || path == "train vit" || path == "train audio" ||
                        path == "train translate" || path == "bench scale";
  if (attn::dist::launched_by_mpirun() && !on_ranks) {
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    std::cerr << "attn: rank " << (rank ? rank : "?") << ": `attn " << path
              << "` does not run on several processes; under mpirun only `attn train gpt|vit|audio|translate` "
                 "(data-parallel) and `attn bench scale` do\n";
    return 2;
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
