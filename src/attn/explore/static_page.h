// The explorer as one standalone HTML page for one text — what `attn viz` writes and what the Python module's
// inline views (explore_attention.show) put in a notebook.
//
// The page is the explorer's own front end (web/index.html) with its script and style inlined and, in a
// <script> before them, window.ATTN_STATIC = {"responses": {"<METHOD> <path?query>": <JSON>, ...}, "text", "model",
// "view"}: the API answers the views need for this one text, computed now by the engine of `attn explore`. The
// front end answers its requests from that table, so the page opens offline, from disk, with no server:
//   GET /api/info, POST /api/analyze, GET /api/head_types,
//   GET /api/attention?id=…&layer=…&head=… for every layer and head, the mean and the rollout,
//   GET /api/neuron?id=…&layer=…&head=…&query=… for every query while that stays small (else the last one),
//   POST /api/relevance for the model's next token,
//   and, when options.generate.max_new_tokens > 0, a generation run through now (POST /api/generate/start, then
//   /api/generate/next that many times) as ATTN_STATIC.generation = {"request", "start", "steps": [...]}: the GPT
//   explorer replays it token by token (Next token / Generate step through the recorded steps; Start rewinds).
// Without one the GPT explorer is off in such a page (a new prompt needs the live model).
#pragma once
#include <cstdint>
#include <string>

#include "attn/explore/explorer.h"

namespace attn::explore {

// The three files of the front end (web/index.html, app.js — web/js/*.js joined at build time — and style.css), as
// text.
struct WebFiles {
  std::string index_html, app_js, style_css;
};

// A generation to record in the page (the GPT explorer's step-through): prompt and sampling as in
// POST /api/generate/start. Temperature 0 is greedy.
struct StaticGeneration {
  std::string prompt;          // empty: the page's text
  int64_t max_new_tokens = 0;  // 0: no generation recorded
  double temperature = 0, top_p = 1;
  int64_t top_k = 0, seed = 0;
};

struct StaticPageOptions {
  int64_t max_neuron_floats = 250'000;  // q and k for every query while they stay under this, else the last query
  std::string view;                     // the tab the page opens on ("heads", "model", "neuron", ...); empty: heads
  StaticGeneration generate;            // a recorded generation for the GPT explorer tab (off by default)
};

struct StaticPage {
  std::string html;
  int64_t T = 0, n_layer = 0, n_head = 0;
  bool every_query = false;  // the neuron view has every query (else only the last token's)
};

// Throws attn::Error with the engine's message when the text cannot be analyzed (empty, too long, ...).
StaticPage static_page(Explorer& explorer, const std::string& text, const std::string& model_name, const WebFiles& web,
                       const StaticPageOptions& options = StaticPageOptions());

}  // namespace attn::explore
