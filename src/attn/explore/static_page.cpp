#include "attn/explore/static_page.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "attn/core/error.h"

namespace attn::explore {

namespace {

using json = nlohmann::json;
constexpr const char* kOp = "static page";

// Replaces the one occurrence of `what` in `s`; throws if it is missing (the page layout changed).
void replace_once(std::string& s, const std::string& what, const std::string& with) {
  const size_t at = s.find(what);
  ATTN_CHECK(at != std::string::npos, kOp, "web/index.html has no `" << what << "` to inline");
  s.replace(at, what.size(), with);
}

// JSON or script inside <script>: "</" would end the script element early.
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

}  // namespace

StaticPage static_page(Explorer& ex, const std::string& text, const std::string& model_name, const WebFiles& web,
                       const StaticPageOptions& options) {
  ATTN_CHECK(!web.index_html.empty() && !web.app_js.empty() && !web.style_css.empty(), kOp,
             "this build has no front end (web/index.html, app.js, style.css)");
  json responses = json::object();
  auto ask = [&](const std::string& method, const std::string& path, const std::map<std::string, std::string>& q,
                 const std::string& body, const std::string& key) {
    ApiResponse r = ex.handle(method, path, q, body);
    const json j = json::parse(r.body);
    ATTN_CHECK(r.status == 200, kOp, j.value("error", r.body));
    responses[key] = j;
    return j;
  };
  ask("GET", "/api/info", {}, "", "GET /api/info");
  const json a = ask("POST", "/api/analyze", {}, json{{"text", text}}.dump(), "POST /api/analyze");
  const std::string id = a["id"];
  StaticPage page;
  page.T = a["T"];
  page.n_layer = a["n_layer"];
  page.n_head = a["n_head"];
  const int64_t L = page.n_layer, H = page.n_head, T = page.T, Dh = ex.config().head_dim();
  for (int64_t l = 0; l < L; ++l) {
    std::vector<std::string> heads = {"mean", "rollout"};
    for (int64_t h = 0; h < H; ++h) heads.push_back(std::to_string(h));
    for (const std::string& h : heads)
      ask("GET", "/api/attention", {{"id", id}, {"layer", std::to_string(l)}, {"head", h}}, "",
          "GET /api/attention?id=" + id + "&layer=" + std::to_string(l) + "&head=" + h);
  }
  // Neuron views: q and k for keys 0..query (the page recomputes q⊙k, the scores and the weights, so they
  // are left out) — about Dh·T²/2 floats per head for every query, rounded to 5 significant digits.
  page.every_query = L * H * Dh * T * (T + 1) / 2 <= options.max_neuron_floats;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t q = page.every_query ? 0 : T - 1; q < T; ++q) {
        const std::string key = "GET /api/neuron?id=" + id + "&layer=" + std::to_string(l) +
                                "&head=" + std::to_string(h) + "&query=" + std::to_string(q);
        ask("GET", "/api/neuron",
            {{"id", id}, {"layer", std::to_string(l)}, {"head", std::to_string(h)}, {"query", std::to_string(q)}}, "",
            key);
        json& n = responses[key];
        n.erase("qk");
        n.erase("scores");
        n.erase("weights");
        round_floats(n["q"]);
        round_floats(n["k"]);
      }
  ask("GET", "/api/head_types", {}, "", "GET /api/head_types");
  // The Relevance view for the model's own next token (a one-token text has none: the view says so offline).
  if (T >= 2) ask("POST", "/api/relevance", {}, json{{"text", text}}.dump(), "POST /api/relevance");

  // The GPT explorer's step-through: one generation run now, every step's answer kept in order.
  json generation;
  if (options.generate.max_new_tokens > 0) {
    const StaticGeneration& g = options.generate;
    const json request = {{"prompt", g.prompt.empty() ? text : g.prompt},
                          {"temperature", g.temperature},
                          {"top_k", g.top_k},
                          {"top_p", g.top_p},
                          {"seed", g.seed},
                          {"max_new_tokens", g.max_new_tokens}};
    auto call = [&](const std::string& path, const json& body) {
      ApiResponse r = ex.handle("POST", path, {}, body.dump());
      json j = json::parse(r.body);
      ATTN_CHECK(r.status == 200, kOp, path << ": " << j.value("error", r.body));
      return j;
    };
    json start = call("/api/generate/start", request);
    const std::string session = start["session"];
    json steps = json::array();
    for (int64_t i = 0; i < g.max_new_tokens; ++i) steps.push_back(call("/api/generate/next", {{"session", session}}));
    call("/api/generate/stop", {{"session", session}});
    generation = {{"request", request}, {"start", std::move(start)}, {"steps", std::move(steps)}};
  }

  page.html = web.index_html;
  replace_once(page.html, "<link rel=\"stylesheet\" href=\"style.css\">", "<style>\n" + web.style_css + "\n</style>");
  json statics = {{"responses", responses}, {"text", text}, {"model", model_name}};
  if (!options.view.empty()) statics["view"] = options.view;
  if (!generation.is_null()) statics["generation"] = std::move(generation);
  replace_once(page.html, "<script src=\"app.js\"></script>",
               "<script>window.ATTN_STATIC = " + script_safe(statics.dump()) + ";</script>\n<script>\n" +
                   script_safe(web.app_js) + "\n</script>");
  return page;
}

}  // namespace attn::explore
