// attn viz --model DIR --text "..." --out page.html — the explorer as one standalone HTML file.
//
// The page is the explorer's own front end (web/index.html) with its script and style inlined and, in a
// <script> before them, window.ATTN_STATIC = {"responses": {"<METHOD> <path?query>": <JSON>, ...}}: the API
// answers the views need for this one text, computed now by the same engine as `attn explore`. The front
// end answers its requests from that table, so the file opens offline, from disk, with no server:
//   GET /api/info, POST /api/analyze, GET /api/head_types,
//   GET /api/attention?id=…&layer=…&head=… for every layer and head, the mean and the rollout,
//   GET /api/neuron?id=…&layer=…&head=…&query=… for every query while that stays small (else the last one).
// Generation needs the model, so the GPT explorer is off in such a page.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/explore/explorer.h"
#include "attn/models/gpt_loader.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "web_assets.h"

using namespace attn;
using json = nlohmann::json;

namespace {

constexpr const char* kOp = "attn viz";

struct VizSettings {
  std::string model, text, out;
  int64_t max_neuron_floats = 250'000;  // q and k for every query while they stay under this
};

// Replaces the one occurrence of `what` in `s`; throws if it is missing (the page layout changed).
void replace_once(std::string& s, const std::string& what, const std::string& with) {
  const size_t at = s.find(what);
  ATTN_CHECK(at != std::string::npos, kOp, "web/index.html has no `" << what << "` to inline");
  s.replace(at, what.size(), with);
}

// JSON inside <script>: "</" would end the script element early.
std::string script_safe(const std::string& j) {
  std::string out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (j[i] == '<' && i + 1 < j.size() && j[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += j[i];
    }
  }
  return out;
}

// Rounds every number in a (nested) array to 5 significant digits: plenty for a picture, and a third of
// the page size of full float precision.
void round_floats(json& j) {
  if (j.is_array()) {
    for (json& x : j) round_floats(x);
  } else if (j.is_number_float()) {
    const double v = j.get<double>();
    if (v != 0.0) {
      const double scale = std::pow(10.0, 4 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
      j = std::round(v * scale) / scale;
    }
  }
}

int run_viz(const VizSettings& s) {
  const std::string dir = s.model.empty() ? models::default_gpt_dir(ATTN_SOURCE_DIR) : s.model;
  explore::Explorer ex(models::load_gpt(dir, ATTN_SOURCE_DIR), std::filesystem::path(dir).filename().string());
  json responses = json::object();
  auto ask = [&](const std::string& method, const std::string& path, const std::map<std::string, std::string>& q,
                 const std::string& body, const std::string& key) {
    explore::ApiResponse r = ex.handle(method, path, q, body);
    const json j = json::parse(r.body);
    ATTN_CHECK(r.status == 200, kOp, j.value("error", r.body));
    responses[key] = j;
    return j;
  };
  ask("GET", "/api/info", {}, "", "GET /api/info");
  const json a = ask("POST", "/api/analyze", {}, json{{"text", s.text}}.dump(), "POST /api/analyze");
  const std::string id = a["id"];
  const int64_t L = a["n_layer"], H = a["n_head"], T = a["T"], Dh = ex.config().head_dim();
  for (int64_t l = 0; l < L; ++l) {
    std::vector<std::string> heads = {"mean", "rollout"};
    for (int64_t h = 0; h < H; ++h) heads.push_back(std::to_string(h));
    for (const std::string& h : heads)
      ask("GET", "/api/attention", {{"id", id}, {"layer", std::to_string(l)}, {"head", h}}, "",
          "GET /api/attention?id=" + id + "&layer=" + std::to_string(l) + "&head=" + h);
  }
  // Neuron views: q and k for keys 0..query (the page recomputes q⊙k, the scores and the weights, so they
  // are left out) — about Dh·T²/2 floats per head for every query, rounded to 5 significant digits.
  const bool every_query = L * H * Dh * T * (T + 1) / 2 <= s.max_neuron_floats;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t q = every_query ? 0 : T - 1; q < T; ++q) {
        const std::string key = "GET /api/neuron?id=" + id + "&layer=" + std::to_string(l) +
                                "&head=" + std::to_string(h) + "&query=" + std::to_string(q);
        ask("GET", "/api/neuron", {{"id", id}, {"layer", std::to_string(l)}, {"head", std::to_string(h)}, {"query", std::to_string(q)}},
            "", key);
        json& n = responses[key];
        n.erase("qk");
        n.erase("scores");
        n.erase("weights");
        round_floats(n["q"]);
        round_floats(n["k"]);
      }
  ask("GET", "/api/head_types", {}, "", "GET /api/head_types");
  // The Relevance view for the model's own next token (a one-token text has none: the view says so offline).
  if (T >= 2) ask("POST", "/api/relevance", {}, json{{"text", s.text}}.dump(), "POST /api/relevance");

  const cli::WebAsset* index = cli::find_web_asset("index.html");
  const cli::WebAsset* js = cli::find_web_asset("app.js");
  const cli::WebAsset* css = cli::find_web_asset("style.css");
  ATTN_CHECK(index && js && css, kOp, "this build has no front end (web/index.html, app.js, style.css)");
  std::string page(index->text());
  replace_once(page, "<link rel=\"stylesheet\" href=\"style.css\">", "<style>\n" + std::string(css->text()) + "\n</style>");
  const json statics = {{"responses", responses}, {"text", s.text}, {"model", dir}};
  replace_once(page, "<script src=\"app.js\"></script>",
               "<script>window.ATTN_STATIC = " + script_safe(statics.dump()) + ";</script>\n<script>\n" +
                   script_safe(std::string(js->text())) + "\n</script>");
  viz::write_file_atomic(s.out, page);
  std::cout << "wrote " << s.out << " (" << page.size() / 1024 << " KiB; " << T << " tokens, " << L << " layers × " << H
            << " heads" << (every_query ? "" : "; neuron view for the last token only") << ")\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(viz, "Write the explorer's views of one text as a standalone HTML file (opens offline)") {
  auto s = std::make_shared<VizSettings>();
  sub.add_option("--model", s->model, "attn train gpt checkpoint or Hugging Face GPT-2 folder (default: models/gpt-words, else models/gpt-moby-dick)");
  sub.add_option("--text", s->text, "The text to look at")->required();
  sub.add_option("--out", s->out, "The HTML file to write")->required();
  return [s]() -> int { return run_viz(*s); };
}
