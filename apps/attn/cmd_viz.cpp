// attn viz --model DIR --text "..." --out page.html — the explorer as one standalone HTML file.
//
// The page is built by attn/explore/static_page.h (the explorer's own front end with the API answers for this
// one text embedded), from the front end embedded in this binary; it opens offline, from disk, with no server.
#include <filesystem>
#include <iostream>
#include <memory>

#include "attn/core/error.h"
#include "attn/explore/explorer.h"
#include "attn/explore/static_page.h"
#include "attn/io/atomic_file.h"
#include "attn/models/gpt_loader.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "data_root.h"
#include "web_assets.h"

using namespace attn;

namespace {

struct VizSettings {
  std::string model, text, out, view;
  int64_t max_neuron_floats = 250'000;  // q and k for every query while they stay under this
  explore::StaticGeneration generate;   // --generate N: a recorded generation for the GPT explorer tab
};

int run_viz(const VizSettings& s) {
  const std::string dir = s.model.empty() ? models::default_gpt_dir(cli::data_root()) : s.model;
  explore::Explorer ex(models::load_gpt(dir, cli::data_root()), std::filesystem::path(dir).filename().string());
  const cli::WebAsset* index = cli::find_web_asset("index.html");
  const cli::WebAsset* js = cli::find_web_asset("app.js");
  const cli::WebAsset* css = cli::find_web_asset("style.css");
  ATTN_CHECK(index && js && css, "attn viz", "this build has no front end (web/index.html, app.js, style.css)");
  explore::StaticPageOptions options;
  options.max_neuron_floats = s.max_neuron_floats;
  options.view = s.view;
  options.generate = s.generate;
  const explore::StaticPage page = explore::static_page(
      ex, s.text, dir, {std::string(index->text()), std::string(js->text()), std::string(css->text())}, options);
  io::write_file_atomic(s.out, page.html);
  std::cout << "wrote " << s.out << " (" << page.html.size() / 1024 << " KiB; " << page.T << " tokens, " << page.n_layer
            << " layers × " << page.n_head << " heads"
            << (page.every_query ? "" : "; neuron view for the last token only")
            << (s.generate.max_new_tokens > 0
                    ? "; a generation of " + std::to_string(s.generate.max_new_tokens) + " tokens to step through"
                    : "")
            << ")\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(viz, "Write the explorer's views of one text as a standalone HTML file (opens offline)") {
  auto s = std::make_shared<VizSettings>();
  sub.add_option(
      "--model", s->model,
      "attn train gpt checkpoint or Hugging Face GPT-2 folder (default: models/gpt-words, else models/gpt-moby-dick)");
  sub.add_option("--text", s->text, "The text to look at")->required();
  sub.add_option("--out", s->out, "The HTML file to write")->required();
  sub.add_option("--view", s->view,
                 "The tab the page opens on (heads, model, matrix, neuron, types, relevance; default heads)")
      ->check(CLI::IsMember({"heads", "model", "matrix", "neuron", "types", "relevance", "generate"}));
  sub.add_option(
         "--generate", s->generate.max_new_tokens,
         "Record a generation of N tokens in the page: the GPT explorer tab steps through it offline (0 = none)")
      ->check(CLI::Range(0, 512));
  sub.add_option("--prompt", s->generate.prompt, "The generation's prompt (default: --text)");
  sub.add_option("--temperature", s->generate.temperature, "The generation's temperature (0 = greedy)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  sub.add_option("--top-k", s->generate.top_k, "The generation's top-k (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--top-p", s->generate.top_p, "The generation's top-p")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  sub.add_option("--seed", s->generate.seed, "The generation's seed")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  return [s]() -> int { return run_viz(*s); };
}
