#include "attn/explore/explorer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>
#include <sstream>
#include <vector>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/faithfulness.h"
#include "attn/explain/gpt_explain.h"
#include "attn/explain/head_types.h"
#include "attn/explain/interventions.h"
#include "attn/explain/neuron_view.h"
#include "attn/explain/relevance.h"
#include "attn/explain/rollout.h"
#include "attn/explain/seq2seq_explain.h"
#include "attn/explain/topk.h"
#include "attn/explore/audio_view.h"
#include "attn/explore/curves_json.h"
#include "attn/explore/http_error.h"
#include "attn/explore/image_view.h"
#include "attn/explore/multimodal_view.h"
#include "attn/ops/ops.h"

namespace attn::explore {

using nlohmann::json;

namespace {

constexpr int64_t kThumbMax = 48;        // thumbnails are at most 48 × 48
constexpr int64_t kFlowMaxTokens = 160;  // attention flow solves T max-flow problems of L·T²/2 edges: skipped above

std::string b64_floats(const float* data, int64_t n) {
  return base64_encode(data, static_cast<size_t>(n) * sizeof(float));
}

int64_t parse_int(const std::map<std::string, std::string>& q, const std::string& key, int64_t lo, int64_t hi) {
  auto it = q.find(key);
  if (it == q.end()) fail(400, "missing query parameter '" + key + "'");
  const std::string& v = it->second;
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  if (v.empty() || used != v.size()) fail(400, "'" + key + "' must be an integer, got '" + v + "'");
  if (x < lo || x >= hi)
    fail(400, "'" + key + "' = " + v + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
  return x;
}

const std::string& require_param(const std::map<std::string, std::string>& q, const std::string& key) {
  auto it = q.find(key);
  if (it == q.end()) fail(400, "missing query parameter '" + key + "'");
  return it->second;
}

json parse_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail(400, "the request body must be a JSON object");
  return j;
}

std::string text_field(const json& j, const char* key, int64_t max_bytes) {
  if (!j.contains(key)) fail(400, std::string("missing field \"") + key + "\"");
  if (!j[key].is_string()) fail(400, std::string("\"") + key + "\" must be a string");
  std::string t = j[key].get<std::string>();
  if (t.empty()) fail(400, std::string("\"") + key + "\" is empty");
  if (static_cast<int64_t>(t.size()) > max_bytes)
    fail(413, std::string("\"") + key + "\" has " + std::to_string(t.size()) + " bytes; the limit is " +
                  std::to_string(max_bytes));
  return t;
}

double number_field(const json& j, const char* key, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) fail(400, std::string("\"") + key + "\" must be a number");
  return j[key].get<double>();
}

// (T, T) mean-pooled to (s, s): bin i covers rows [i·T/s, (i+1)·T/s).
void pool(const float* m, int64_t T, int64_t s, float* out) {
  for (int64_t bi = 0; bi < s; ++bi) {
    const int64_t r0 = bi * T / s, r1 = std::max((bi + 1) * T / s, r0 + 1);
    for (int64_t bj = 0; bj < s; ++bj) {
      const int64_t c0 = bj * T / s, c1 = std::max((bj + 1) * T / s, c0 + 1);
      double acc = 0;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) acc += m[r * T + c];
      out[bi * s + bj] = static_cast<float>(acc / static_cast<double>((r1 - r0) * (c1 - c0)));
    }
  }
}

}  // namespace

std::string base64_encode(const void* data, size_t bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((bytes + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < bytes ? uint32_t{p[i + 1]} << 8 : 0);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// ---- state ------------------------------------------------------------------------------------------------

struct Analysis {
  std::vector<int64_t> ids;
  std::vector<Tensor> attention;  // per layer (H, T, T)
  std::vector<Tensor> rollout;    // per layer (T, T), filled on demand
  uint64_t last_used = 0;
};

struct Session {
  models::GenerateOptions options;
  Generator gen;
  std::vector<int64_t> seq;  // prompt + generated ids
  int64_t prompt_len = 0;
  int64_t start = 0;  // window start of the last forward
  std::vector<KVCache> caches;
  std::vector<float> logits;  // (V) the last forward's prediction for the next token
  Tensor rows;                // (L, H, S) the last query's attention over [start, start + S)
  int64_t generated = 0;
  uint64_t last_used = 0;
};

// Runs the tokens `w` through the model on top of the session's caches, recording attention, and keeps
// what the next step needs: the last position's logits (V) and its query's attention rows (L, H, S) over
// every cached key.
static void feed(models::GPT& model, Session& s, const std::vector<int64_t>& w) {
  NoGradGuard ng;
  const auto P = static_cast<int64_t>(w.size());
  const int64_t L = model.config().n_layer, H = model.config().n_head, V = model.config().vocab_size;
  models::GPTOutput out = model.forward_cached(IndexTensor(w, {1, P}), s.caches, true);
  const int64_t S = s.caches[0].size();  // keys the last query saw
  s.logits.assign(out.logits.data() + (P - 1) * V, out.logits.data() + P * V);
  s.rows = Tensor::empty({L, H, S});
  for (int64_t l = 0; l < L; ++l)  // attentions[l] (1, H, P, S): keep each head's last row
    for (int64_t h = 0; h < H; ++h)
      std::copy_n(out.attentions[static_cast<size_t>(l)].data() + (h * P + P - 1) * S, S,
                  s.rows.data() + (l * H + h) * S);
}

namespace {

json cache_json(const std::vector<KVCache>& caches, int64_t capacity) {
  int64_t used = 0, total = 0;
  for (const KVCache& c : caches) used += c.bytes_used(), total += c.bytes();
  return {{"tokens", caches.empty() ? 0 : caches[0].size()},
          {"capacity", capacity},
          {"bytes", used},
          {"capacity_bytes", total}};
}

// One API call as the routes see it.
struct Request {
  const std::map<std::string, std::string>& query;  // the URL's parameters
  const std::string& body;                          // the request body (POST)
};

}  // namespace

// The model, what it has analysed, the live sessions — and one member function per route. The maths of
// each view lives in attn/explain (rollout, head types, the neuron view, top-k); a route checks its input,
// calls it, and shapes the JSON.
struct Explorer::State {
  models::LoadedGPT m;
  std::string name;
  Limits limits;
  std::map<std::string, Analysis> analyses;
  std::map<std::string, Session> sessions;
  uint64_t clock = 0;
  uint64_t next_id = 0;
  json head_types_cache;  // /api/head_types, computed once
  std::unique_ptr<models::TranslationModel> translation;
  std::string translation_name, translation_path;
  std::unique_ptr<ImageExplorer> image;
  std::unique_ptr<AudioExplorer> audio;
  std::unique_ptr<MultimodalExplorer> multimodal;

  models::GPT& model() { return *m.model; }
  const models::GPTConfig& cfg() const { return m.model->config(); }

  // ---- the routes: path -> (method, handler) ----------------------------------------------------------

  using Handler = json (State::*)(const Request&);
  struct Route {
    const char* method;  // "GET" or "POST"; another method gets 405
    Handler handler;     // returns the 200 answer's JSON, or throws HttpError / attn::Error
    int64_t Limits::*body_limit = &Limits::max_body_bytes;  // a file's route (a PNG, a recording) has its own limit
  };
  static const std::map<std::string, Route>& routes() {
    static const std::map<std::string, Route> table = {
        {"/api/info", {"GET", &State::info}},
        {"/api/translate", {"POST", &State::translate}},
        {"/api/analyze", {"POST", &State::analyze}},
        {"/api/attention", {"GET", &State::attention}},
        {"/api/neuron", {"GET", &State::neuron}},
        {"/api/head_types", {"GET", &State::head_types}},
        {"/api/relevance", {"POST", &State::relevance}},
        {"/api/generate/start", {"POST", &State::generate_start}},
        {"/api/generate/next", {"POST", &State::generate_next}},
        {"/api/generate/stop", {"POST", &State::generate_stop}},
        {"/api/image/gallery", {"GET", &State::image_gallery}},
        {"/api/image/explain", {"POST", &State::image_explain, &Limits::max_image_bytes}},
        {"/api/audio/recordings", {"GET", &State::audio_recordings}},
        {"/api/audio/analyze", {"POST", &State::audio_analyze, &Limits::max_audio_bytes}},
        {"/api/multimodal/search", {"GET", &State::multimodal_search}},
        {"/api/multimodal/explain", {"POST", &State::multimodal_explain}},
        {"/api/ablate", {"POST", &State::ablate}},
        {"/api/ablation_grid", {"POST", &State::ablation_grid}},
        {"/api/logit_lens", {"POST", &State::logit_lens}},
        {"/api/patch", {"POST", &State::patch}},
    };
    return table;
  }

  json info(const Request&);
  json store_analysis(const std::vector<int64_t>& ids, std::vector<Tensor> attention);
  json translate(const Request&);
  json analyze(const Request&);
  json attention(const Request&);
  json neuron(const Request&);
  json head_types(const Request&);
  json relevance(const Request&);
  json generate_start(const Request&);
  json generate_next(const Request&);
  json generate_stop(const Request&);
  json image_gallery(const Request&);
  json image_explain(const Request&);
  json audio_recordings(const Request&);
  json audio_analyze(const Request&);
  json multimodal_search(const Request&);
  json multimodal_explain(const Request&);
  json ablate(const Request&);
  json ablation_grid(const Request&);
  json logit_lens(const Request&);
  json patch(const Request&);

  // ---- helpers ----------------------------------------------------------------------------------------

  std::vector<int64_t> encode(const std::string& text) {
    try {
      return m.tokenizer.encode(text);
    } catch (const Error& e) {
      fail(400, e.what());
    }
  }
  json labels(const std::vector<int64_t>& ids, size_t from = 0) {
    json t = json::array();
    for (size_t i = from; i < ids.size(); ++i) t.push_back(m.tokenizer.label(ids[i]));
    return t;
  }

  template <class Map>
  static void evict_lru(Map& map, int64_t keep) {
    while (static_cast<int64_t>(map.size()) > keep) {
      auto oldest = map.begin();
      for (auto it = map.begin(); it != map.end(); ++it)
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      map.erase(oldest);
    }
  }

  // Runs the model over `ids`, recording attention; returns (L) × (H, T, T). removed (1, T) masks tokens as
  // keys (undefined: none); hooks intervene (null: none).
  std::vector<Tensor> run_with_attention(const std::vector<int64_t>& ids, const Tensor& removed = Tensor(),
                                         const models::GPTHooks* hooks = nullptr) {
    NoGradGuard ng;
    const auto T = static_cast<int64_t>(ids.size());
    models::GPTForwardOptions o;
    o.output_attentions = true;
    o.removed = removed;
    o.hooks = hooks;
    models::GPTOutput out = model().forward(IndexTensor(ids, {1, T}), o);
    std::vector<Tensor> att;
    for (Tensor& a : out.attentions) att.push_back(reshape(a, {cfg().n_head, T, T}));
    return att;
  }

  // The text field `key` of a request, encoded and checked against the context: 400 when it has fewer than
  // min_tokens tokens, 413 when it has more than the model's context.
  std::vector<int64_t> context_ids(const json& j, const char* key, int64_t min_tokens) {
    const std::string text = text_field(j, key, limits.max_text_bytes);
    std::vector<int64_t> ids = encode(text);
    const auto T = static_cast<int64_t>(ids.size());
    if (T == 0) fail(400, std::string("\"") + key + "\" has no tokens");
    if (T < min_tokens)
      fail(400, std::string("\"") + key + "\" has " + std::to_string(T) + " token(s); this needs at least " +
                    std::to_string(min_tokens));
    if (T > cfg().block_size)
      fail(413, std::string("\"") + key + "\" has " + std::to_string(T) + " tokens; the model's context is " +
                    std::to_string(cfg().block_size));
    return ids;
  }

  // 413 when a sweep would cost more than limits.max_intervention_flops (minutes of CPU, with the model
  // locked for everyone), naming the longest text that fits.
  void refuse_if_costly(double flops, const char* what, size_t tokens, const std::function<double(int64_t)>& cost) {
    if (flops <= limits.max_intervention_flops) return;
    int64_t fits = static_cast<int64_t>(tokens);
    while (fits > 1 && cost(fits) > limits.max_intervention_flops) --fits;
    std::ostringstream msg;
    msg << what << " of " << tokens << " tokens on this model costs about " << std::fixed << std::setprecision(1)
        << flops / 1e12 << " TFLOP, over the explorer's budget of " << limits.max_intervention_flops / 1e12
        << " TFLOP (minutes of CPU); use at most " << fits << " tokens";
    fail(413, msg.str());
  }

  // The stored analysis named by the query's "id" (404 when unknown or evicted), marked as used.
  std::pair<std::string, Analysis*> find_analysis(const Request& req) {
    const std::string& id = require_param(req.query, "id");
    auto it = analyses.find(id);
    if (it == analyses.end()) fail(404, "no analysis '" + id + "' (it may have been evicted; analyze the text again)");
    it->second.last_used = ++clock;
    return {id, &it->second};
  }

  // The live session named by the body's "session" (400 when missing, 404 when unknown).
  std::map<std::string, Session>::iterator find_session(const Request& req) {
    const json j = parse_body(req.body);
    if (!j.contains("session") || !j["session"].is_string()) fail(400, "missing field \"session\" (a string)");
    const std::string id = j["session"].get<std::string>();
    auto it = sessions.find(id);
    if (it == sessions.end()) fail(404, "no session '" + id + "' (it may have ended or been evicted; start again)");
    return it;
  }
};

Explorer::Explorer(models::LoadedGPT model, std::string name, Limits limits)
    : s_(std::make_unique<State>()), limits_(limits) {
  s_->m = std::move(model);
  s_->name = std::move(name);
  s_->limits = limits_;
  s_->m.model->eval();
}

Explorer::~Explorer() = default;

void Explorer::set_translation(std::unique_ptr<models::TranslationModel> model, std::string name, std::string path) {
  std::lock_guard<std::mutex> lock(mu_);
  s_->translation = std::move(model);
  if (s_->translation) s_->translation->module().eval();
  s_->translation_name = std::move(name);
  s_->translation_path = std::move(path);
}

void Explorer::set_image(std::unique_ptr<ImageExplorer> image) {
  std::lock_guard<std::mutex> lock(mu_);
  s_->image = std::move(image);
}

void Explorer::set_audio(std::unique_ptr<AudioExplorer> audio) {
  std::lock_guard<std::mutex> lock(mu_);
  s_->audio = std::move(audio);
}

void Explorer::set_multimodal(std::unique_ptr<MultimodalExplorer> multimodal) {
  std::lock_guard<std::mutex> lock(mu_);
  s_->multimodal = std::move(multimodal);
}

const models::GPTConfig& Explorer::config() const { return s_->cfg(); }

namespace {
// A response as JSON text. Bytes that are not UTF-8 (a request's path or text quoted in a message) become U+FFFD
// instead of making the JSON library throw.
std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

ApiResponse Explorer::handle(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& query, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    const auto& routes = State::routes();
    const auto route = routes.find(path);
    const int64_t max_body = route != routes.end() ? limits_.*(route->second.body_limit) : limits_.max_body_bytes;
    if (static_cast<int64_t>(body.size()) > max_body)
      fail(413,
           "the request body has " + std::to_string(body.size()) + " bytes; the limit is " + std::to_string(max_body));
    if (route == routes.end()) fail(404, "no API route " + path + " (see docs/explorer_api.md)");
    const State::Route& r = route->second;
    if (method != r.method) fail(405, path + " takes " + r.method + ", not " + method);
    return {200, to_text((s_.get()->*r.handler)(Request{query, body}))};
  } catch (const HttpError& e) {
    return {e.status, to_text(json{{"error", e.message}})};
  } catch (const Error& e) {
    return {400, to_text(json{{"error", e.what()}})};
  } catch (const std::exception& e) {
    return {500, to_text(json{{"error", std::string("internal error: ") + e.what()}})};
  }
}

// ---- GET /api/info --------------------------------------------------------------------------------------

json Explorer::State::info(const Request&) {
  const models::GPTConfig& c = cfg();
  return {{"version", ATTN_VERSION},
          {"model",
           {{"name", name},
            {"path", m.dir},
            {"format", m.format},
            {"tokenizer", m.tokenizer.kind},
            {"n_layer", c.n_layer},
            {"n_head", c.n_head},
            {"n_kv_head", c.kv_heads()},
            {"n_embd", c.n_embd},
            {"head_dim", c.head_dim()},
            {"block_size", c.block_size},
            {"vocab_size", c.vocab_size},
            {"n_params", model().num_parameters()},
            {"rope", c.rope}}},
          {"limits",
           {{"max_body_bytes", limits.max_body_bytes},
            {"max_text_bytes", limits.max_text_bytes},
            {"max_tokens", c.block_size},
            {"max_new_tokens", limits.max_new_tokens},
            {"max_sessions", limits.max_sessions},
            {"max_floats_per_response", limits.max_floats_per_response},
            {"max_image_bytes", limits.max_image_bytes},
            {"max_image_pixels", limits.max_image_pixels},
            {"max_audio_bytes", limits.max_audio_bytes},
            {"max_audio_seconds", limits.max_audio_seconds},
            {"max_intervention_flops", limits.max_intervention_flops}}},
          {"vit", image ? image->info() : json(nullptr)},
          {"clip", multimodal ? multimodal->info() : json(nullptr)},
          {"audio", audio ? audio->info() : json(nullptr)},
          {"translation", translation ? json{{"name", translation_name},
                                             {"path", translation_path},
                                             {"arch", translation->arch()},
                                             {"attention", models::translation_attention(translation->arch())}}
                                      : json(nullptr)}};
}

// ---- POST /api/translate: a sentence's encoder self-, decoder self- and cross-attention -----------------

json Explorer::State::translate(const Request& req) {
  if (!translation)
    fail(404,
         "no translation model is loaded (start with: attn explore --translation DIR, a folder from attn train "
         "translate)");
  const json j = parse_body(req.body);
  const std::string text = text_field(j, "text", limits.max_text_bytes);
  int64_t beam = 1;
  if (j.contains("beam")) {
    if (!j["beam"].is_number_integer() || j["beam"].get<int64_t>() < 1 || j["beam"].get<int64_t>() > 16)
      fail(400, "'beam' must be an integer from 1 to 16");
    beam = j["beam"].get<int64_t>();
  }
  if (text.find_first_not_of(" \t\n\r") == std::string::npos) fail(400, "the text is empty");
  const int64_t words = static_cast<int64_t>(std::count(text.begin(), text.end(), ' ')) + 1;
  if (words > 100) fail(413, "the sentence has " + std::to_string(words) + " words; translate at most 100 at a time");
  models::TranslationModel::Attention a = translation->attention(text, beam);
  const auto S = static_cast<int64_t>(a.source_tokens.size()), T = static_cast<int64_t>(a.target_tokens.size());
  json r = {{"arch", translation->arch()},
            {"translation", a.translation},
            {"source_tokens", a.source_tokens},
            {"target_tokens", a.target_tokens},
            {"S", S},
            {"T", T},
            {"beam", beam},
            {"encoding", "f32-base64"}};
  auto pack = [&](const std::vector<Tensor>& layers) {  // (H, *, *) per layer -> (L, H, *, *) base64
    std::vector<float> all;
    for (const Tensor& w : layers) all.insert(all.end(), w.data(), w.data() + w.numel());
    return b64_floats(all.data(), static_cast<int64_t>(all.size()));
  };
  if (a.cross.defined()) {
    const Shape sh = a.cross.shape();  // (L, H, T, S)
    r["n_layer"] = sh[0];
    r["n_head"] = sh[1];
    r["cross"] = b64_floats(a.cross.data(), a.cross.numel());
  } else {
    r["n_layer"] = 0, r["n_head"] = 0, r["cross"] = nullptr;
  }
  r["encoder"] = a.encoder_self.empty() ? json(nullptr) : json(pack(a.encoder_self));
  r["decoder"] = a.decoder_self.empty() ? json(nullptr) : json(pack(a.decoder_self));
  // Chefer et al.'s R^ts (explain/seq2seq_explain.h): row t = what the token written at t rests on in the
  // source, through every layer — one traced backward per row; Transformers only.
  r["relevance"] = nullptr;
  if (translation->arch() == "transformer") {
    const explain::TranslationRelevance rel = explain::translation_relevance(*translation, text, -1, beam);
    if (rel.source.dim() == 2 && rel.source.size(0) == T && rel.source.size(1) == S)
      r["relevance"] = b64_floats(rel.source.data(), T * S);
  }
  return r;
}

// ---- POST /api/analyze: run the model once, keep every layer's attention ---------------------------------

// An ablation spec from a request's {"heads": [[layer, head], ...], "mlps": [layer, ...], "method", "seed"}.
static explain::AblationSpec ablation_spec(const json& j, const models::GPTConfig& c) {
  explain::AblationSpec spec;
  if (j.contains("heads") && !j["heads"].is_null()) {
    if (!j["heads"].is_array()) fail(400, "\"heads\" must be a list of [layer, head] pairs");
    for (const json& h : j["heads"]) {
      if (!h.is_array() || h.size() != 2 || !h[0].is_number_integer() || !h[1].is_number_integer())
        fail(400, "each of \"heads\" must be a [layer, head] pair of integers, got " + h.dump());
      const int64_t l = h[0].get<int64_t>(), hd = h[1].get<int64_t>();
      if (l < 0 || l >= c.n_layer || hd < 0 || hd >= c.n_head)
        fail(400, "head " + h.dump() + " does not exist: the model has " + std::to_string(c.n_layer) + " layers of " +
                      std::to_string(c.n_head) + " heads");
      spec.heads.push_back({l, hd});
    }
  }
  if (j.contains("mlps") && !j["mlps"].is_null()) {
    if (!j["mlps"].is_array()) fail(400, "\"mlps\" must be a list of layer indices");
    for (const json& l : j["mlps"]) {
      if (!l.is_number_integer() || l.get<int64_t>() < 0 || l.get<int64_t>() >= c.n_layer)
        fail(400, "MLP layer " + l.dump() + " does not exist: the model has " + std::to_string(c.n_layer) + " layers");
      spec.mlps.push_back(l.get<int64_t>());
    }
  }
  if (j.contains("method") && !j["method"].is_null()) {
    if (!j["method"].is_string()) fail(400, "\"method\" must be \"zero\", \"mean\" or \"resample\"");
    spec.method = j["method"].get<std::string>();
    if (spec.method != "zero" && spec.method != "mean" && spec.method != "resample")
      fail(400, "\"method\" must be \"zero\", \"mean\" or \"resample\", got \"" + spec.method + "\"");
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer() || j["seed"].get<int64_t>() < 0) fail(400, "\"seed\" must be an integer >= 0");
    spec.seed = j["seed"].get<uint64_t>();
  }
  return spec;
}

json Explorer::State::store_analysis(const std::vector<int64_t>& ids, std::vector<Tensor> attention) {
  const int64_t L = cfg().n_layer, H = cfg().n_head;
  const auto T = static_cast<int64_t>(ids.size());
  Analysis a;
  a.ids = ids;
  a.attention = std::move(attention);
  a.rollout.resize(static_cast<size_t>(L));
  a.last_used = ++clock;
  std::string id = "a";  // "a1", "a2", … (appended, not "a" + …: GCC 12 warns falsely on that here)
  id += std::to_string(++next_id);
  const int64_t s = std::min(T, kThumbMax);
  std::vector<float> thumbs(static_cast<size_t>(L * H * s * s));
  for (int64_t l = 0; l < L; ++l)
    for (int64_t h = 0; h < H; ++h)
      pool(a.attention[static_cast<size_t>(l)].data() + h * T * T, T, s, thumbs.data() + (l * H + h) * s * s);
  analyses[id] = std::move(a);
  evict_lru(analyses, limits.max_analyses);
  // A memory budget too: GPT-2 at 1024 tokens keeps 12 × 12 × 1024² floats (600 MB) per analysis.
  auto bytes = [&] {
    int64_t b = 0;
    for (auto& [k, v] : analyses) b += L * H * static_cast<int64_t>(v.ids.size() * v.ids.size()) * 4;
    return b;
  };
  while (analyses.size() > 1 && bytes() > limits.max_analysis_bytes)
    evict_lru(analyses, static_cast<int64_t>(analyses.size()) - 1);
  return {{"id", id},
          {"tokens", labels(ids)},
          {"ids", ids},
          {"T", T},
          {"n_layer", L},
          {"n_head", H},
          {"thumb_size", s},
          {"thumbnails", b64_floats(thumbs.data(), static_cast<int64_t>(thumbs.size()))},
          {"encoding", "f32-base64"}};
}

json Explorer::State::analyze(const Request& req) {
  const json j = parse_body(req.body);
  const std::vector<int64_t> ids = context_ids(j, "text", 1);
  const auto T = static_cast<int64_t>(ids.size());
  // exBERT's masking, for a causal model: the masked tokens are removed as keys in every layer (no query
  // attends to them; every token keeps its position). The last token cannot be masked.
  Tensor removed;
  json masked = json::array();
  if (j.contains("masked") && !j["masked"].is_null()) {
    if (!j["masked"].is_array()) fail(400, "\"masked\" must be a list of token positions");
    removed = Tensor::zeros({1, T});
    for (const json& p : j["masked"]) {
      if (!p.is_number_integer() || p.get<int64_t>() < 0 || p.get<int64_t>() >= T - 1)
        fail(400, "masked position " + p.dump() + " must be an integer from 0 to " + std::to_string(T - 2) +
                      " (the last token, whose prediction is shown, cannot be masked)");
      removed.data()[p.get<int64_t>()] = 1.f;
      masked.push_back(p);
    }
  }
  json r;
  if (j.contains("ablation") && !j["ablation"].is_null()) {
    if (!j["ablation"].is_object()) fail(400, "\"ablation\" must be an object {heads, mlps, method, seed}");
    if (T < 2) fail(400, "an ablation needs a text of at least 2 tokens");
    if (removed.defined()) fail(400, "\"masked\" and \"ablation\" cannot be combined");
    const explain::AblationHooks ah(model(), ids, ablation_spec(j["ablation"], cfg()));
    r = store_analysis(ids, run_with_attention(ids, Tensor(), &ah.hooks()));
    r["ablation"] = j["ablation"];
  } else {
    r = store_analysis(ids, run_with_attention(ids, removed));
  }
  r["masked"] = masked;
  return r;
}

// ---- GET /api/attention: one head, the mean of heads, the rollout, or the whole layer -------------------

json Explorer::State::attention(const Request& req) {
  const int64_t L = cfg().n_layer, H = cfg().n_head;
  auto [id, a] = find_analysis(req);
  const int64_t layer = parse_int(req.query, "layer", 0, L);
  const std::string head = require_param(req.query, "head");
  const auto T = static_cast<int64_t>(a->ids.size());
  const Tensor& att = a->attention[static_cast<size_t>(layer)];  // (H, T, T)
  json r = {{"id", id}, {"layer", layer}, {"head", head}, {"T", T}, {"encoding", "f32-base64"}};
  if (head == "all") {
    if (H * T * T > limits.max_floats_per_response)
      fail(413, "head=all would send " + std::to_string(H * T * T) + " floats (limit " +
                    std::to_string(limits.max_floats_per_response) + "); ask for one head at a time");
    r["shape"] = {H, T, T};
    r["matrix"] = b64_floats(att.data(), H * T * T);
  } else if (head == "mean") {
    Tensor m = explain::mean_heads(att);  // (T, T)
    r["shape"] = {T, T};
    r["matrix"] = b64_floats(m.data(), T * T);
  } else if (head == "rollout") {
    // R_l = Â_l · R_{l-1} (explain/rollout.h), each layer's computed once and kept with the analysis.
    NoGradGuard ng;
    for (int64_t l = 0; l <= layer; ++l) {
      Tensor& R = a->rollout[static_cast<size_t>(l)];
      if (!R.defined())
        R = explain::rollout_step(a->attention[static_cast<size_t>(l)],
                                  l == 0 ? Tensor() : a->rollout[static_cast<size_t>(l - 1)]);
    }
    r["shape"] = {T, T};
    r["matrix"] = b64_floats(a->rollout[static_cast<size_t>(layer)].data(), T * T);
  } else {
    const int64_t h = parse_int(req.query, "head", 0, H);
    r["shape"] = {T, T};
    r["matrix"] = b64_floats(att.data() + h * T * T, T * T);
  }
  return r;
}

// ---- GET /api/neuron: q, k, q⊙k, scores and weights behind one query's row -------------------------------

json Explorer::State::neuron(const Request& req) {
  const int64_t L = cfg().n_layer, H = cfg().n_head;
  auto [id, a] = find_analysis(req);
  const int64_t layer = parse_int(req.query, "layer", 0, L);
  const int64_t head = parse_int(req.query, "head", 0, H);
  const auto T = static_cast<int64_t>(a->ids.size());
  const int64_t qi = parse_int(req.query, "query", 0, T);
  auto [q, k] = model().queries_and_keys(IndexTensor(a->ids, {1, T}), layer);  // (1, H, T, Dh), (1, Hkv, T, Dh)
  const explain::NeuronView v = explain::neuron_view(q, k, head, qi);          // causal: keys 0 … qi
  return {{"id", id},
          {"layer", layer},
          {"head", head},
          {"query", qi},
          {"head_dim", cfg().head_dim()},
          {"keys", qi + 1},
          {"tokens", labels(std::vector<int64_t>(a->ids.begin(), a->ids.begin() + qi + 1))},
          {"q", v.q},
          {"k", v.k},
          {"qk", v.qk},
          {"scores", v.scores},
          {"weights", v.weights}};
}

// ---- GET /api/head_types: previous-token, first-token and induction scores per head ---------------------

json Explorer::State::head_types(const Request&) {
  if (!head_types_cache.is_null()) return head_types_cache;
  const int64_t L = cfg().n_layer, H = cfg().n_head;
  // A random token sequence of length n, twice: [r_0 .. r_{n-1}, r_0 .. r_{n-1}].
  const int64_t n = std::min<int64_t>(40, cfg().block_size / 2);
  json heads = json::array(), types = json::array();
  if (n >= 2) {
    const std::vector<Tensor> att = run_with_attention(explain::repeated_random_tokens(n, cfg().vocab_size));
    for (int64_t l = 0; l < L; ++l) {
      const std::vector<explain::HeadTypeScores> scores = explain::head_type_scores(att[static_cast<size_t>(l)], n);
      for (int64_t h = 0; h < H; ++h) {
        const explain::HeadTypeScores& s = scores[static_cast<size_t>(h)];
        heads.push_back({{"layer", l},
                         {"head", h},
                         {"previous_token", s.previous_token},
                         {"first_token", s.first_token},
                         {"induction", s.induction}});
        if (const char* type = explain::head_type_label(s))
          types.push_back({{"layer", l}, {"head", h}, {"type", type}});
      }
    }
  }
  head_types_cache = {{"sequence", {{"kind", "repeated random tokens"}, {"length", 2 * n}, {"n", n}}},
                      {"threshold", explain::kHeadTypeThreshold},
                      {"heads", heads},
                      {"labels", types}};
  return head_types_cache;
}

// ---- POST /api/relevance: which tokens of a text made the GPT predict its next token ----------------------

json Explorer::State::relevance(const Request& req) {
  const int64_t block = cfg().block_size, V = cfg().vocab_size;
  const json j = parse_body(req.body);
  const std::string text = text_field(j, "text", limits.max_text_bytes);
  const std::vector<int64_t> ids = encode(text);
  const auto T = static_cast<int64_t>(ids.size());
  if (T < 2) fail(400, "the text has " + std::to_string(T) + " token(s); explaining the next one needs at least 2");
  if (T > block)
    fail(413, "the text has " + std::to_string(T) + " tokens; the model's context is " + std::to_string(block));
  int64_t target = -1;
  if (j.contains("target") && !j["target"].is_null()) {
    if (!j["target"].is_number_integer() || j["target"].get<int64_t>() < 0 || j["target"].get<int64_t>() >= V)
      fail(400, "\"target\" must be a token id from 0 to " + std::to_string(V - 1));
    target = j["target"].get<int64_t>();
  }
  // One traced forward and one backward from the next-token logit at position T-1 (explain/gpt_explain.h).
  const explain::GPTTrace t = explain::trace_gpt(model(), ids, target);
  std::vector<std::string> methods, skipped;
  for (const std::string& m : explain::kMethods) (m == "flow" && T > kFlowMaxTokens ? skipped : methods).push_back(m);
  // Each method's (T) scores, and its perturbation curves on this text: candidates = tokens 0 .. T-2 (the
  // query, T-1, stays), judged against the model's own prediction (the true next token is unknown).
  const explain::RemovalForward forward = explain::gpt_removal_forward(model(), ids);
  std::vector<int64_t> candidates(static_cast<size_t>(T - 1));
  std::iota(candidates.begin(), candidates.end(), 0);
  json scores = json::object();
  std::vector<std::pair<std::string, std::vector<float>>> rankings;
  for (const std::string& m : methods) {
    const Tensor s = explain::scores(m, t.trace);  // (T); the candidates' are its first T-1 (flow solved once)
    scores[m] = b64_floats(s.data(), T);
    rankings.emplace_back(m, std::vector<float>(s.data(), s.data() + T - 1));
  }
  const json curves = perturbation_curves_json(forward, T, candidates, rankings, t.predicted, t.target);
  json top = json::array();
  for (const explain::TokenProbability& p :
       explain::topk_probabilities(std::span<const float>(t.logits.data(), static_cast<size_t>(V)), 10))
    top.push_back({{"token", m.tokenizer.label(p.id)}, {"id", p.id}, {"p", p.p}});
  const Tensor probs = softmax(t.logits, -1);
  return {{"tokens", labels(ids)},
          {"ids", ids},
          {"T", T},
          {"query", T - 1},
          {"predicted", t.predicted},
          {"target", t.target},
          {"target_token", m.tokenizer.label(t.target)},
          {"target_p", probs.data()[t.target]},
          {"top", top},
          {"methods", methods},
          {"skipped", skipped.empty()
                          ? json::object()
                          : json{{"flow", "over " + std::to_string(kFlowMaxTokens) + " tokens (T max-flow problems)"}}},
          {"scores", scores},
          {"fractions", perturbation_fractions_json()},
          {"curves", curves},
          {"judged_against", "prediction"},
          {"encoding", "f32-base64"}};
}

// ---- POST /api/generate/start | next | stop: token-by-token generation with a KV cache --------------------

json Explorer::State::generate_start(const Request& req) {
  const int64_t block = cfg().block_size;
  const json j = parse_body(req.body);
  Session s;
  const std::string prompt = text_field(j, "prompt", limits.max_text_bytes);
  s.options.temperature = static_cast<float>(number_field(j, "temperature", 0.8));
  s.options.top_k = static_cast<int64_t>(number_field(j, "top_k", 0));
  s.options.top_p = static_cast<float>(number_field(j, "top_p", 1.0));
  s.options.seed = static_cast<uint64_t>(std::max(0.0, number_field(j, "seed", 0)));
  if (!(s.options.temperature >= 0.f && s.options.temperature <= 100.f))
    fail(400, "\"temperature\" must be in [0, 100]");
  if (s.options.top_k < 0) fail(400, "\"top_k\" must be >= 0 (0 = off)");
  if (!(s.options.top_p > 0.f && s.options.top_p <= 1.f)) fail(400, "\"top_p\" must be in (0, 1]");
  s.gen = Generator(s.options.seed);
  s.seq = encode(prompt);
  if (s.seq.empty()) fail(400, "the prompt has no tokens");
  s.prompt_len = static_cast<int64_t>(s.seq.size());
  s.start = std::max<int64_t>(0, s.prompt_len - block);  // a long prompt keeps its tail
  s.caches = model().make_caches(1, block);
  feed(model(), s, std::vector<int64_t>(s.seq.begin() + s.start, s.seq.end()));  // prefill
  s.last_used = ++clock;
  const std::string id = "s" + std::to_string(++next_id);
  json r = {{"session", id},
            {"tokens", labels(s.seq)},
            {"ids", s.seq},
            {"window_start", s.start},
            {"cache", cache_json(s.caches, block)}};
  sessions[id] = std::move(s);
  evict_lru(sessions, limits.max_sessions);
  return r;
}

json Explorer::State::generate_next(const Request& req) {
  const int64_t L = cfg().n_layer, H = cfg().n_head, V = cfg().vocab_size, block = cfg().block_size;
  auto it = find_session(req);
  const std::string& id = it->first;
  Session& s = it->second;
  s.last_used = ++clock;
  if (s.generated >= limits.max_new_tokens)
    fail(400, "session '" + id + "' has generated its " + std::to_string(limits.max_new_tokens) +
                  " tokens (max_new_tokens); start a new one");
  // The 10 most likely next tokens (at the session's temperature; greedy shows temperature 1).
  const float temp = s.options.temperature > 0.f ? s.options.temperature : 1.f;
  json top = json::array();
  for (const explain::TokenProbability& t : explain::topk_probabilities(s.logits, 10, temp))
    top.push_back({{"token", m.tokenizer.label(t.id)}, {"id", t.id}, {"p", t.p}});
  const int64_t next = models::GPT::sample_next(s.logits.data(), V, s.options, s.gen);
  const auto position = static_cast<int64_t>(s.seq.size());
  s.seq.push_back(next);
  ++s.generated;
  json r = {{"token", m.tokenizer.label(next)},
            {"bytes_b64", base64_encode(m.tokenizer.bytes(next).data(), m.tokenizer.bytes(next).size())},
            {"id", next},
            {"position", position},
            {"window_start", s.start},
            {"shape", {L, H, s.rows.shape()[2]}},
            {"attention", b64_floats(s.rows.data(), s.rows.numel())},
            {"top", top},
            {"encoding", "f32-base64"}};
  // Feed the new token (or re-prefill when the window jumps), ready for the next call.
  {
    NoGradGuard ng;
    const auto len = static_cast<int64_t>(s.seq.size());
    const int64_t new_start = models::GPT::window_start(len, block, s.start);
    std::vector<int64_t> w;
    if (new_start != s.start) {
      for (KVCache& c : s.caches) c.reset();
      w.assign(s.seq.begin() + new_start, s.seq.end());
    } else {
      w = {next};
    }
    s.start = new_start;
    feed(model(), s, w);
  }
  r["cache"] = cache_json(s.caches, block);
  r["next_window_start"] = s.start;
  return r;
}

json Explorer::State::generate_stop(const Request& req) {
  auto it = find_session(req);
  const std::string id = it->first;
  sessions.erase(it);
  return {{"session", id}, {"stopped", true}};
}

// ---- GET /api/image/gallery, POST /api/image/explain: the Image tab (image_view.h) -------------------------

namespace {
void require_image(const std::unique_ptr<ImageExplorer>& image) {
  if (!image)
    fail(404,
         "no Vision Transformer is loaded (the project ships models/vit-fashion-mnist; or start with: "
         "attn explore --vit DIR, a folder from attn train vit or a Hugging Face ViT)");
}
}  // namespace

json Explorer::State::image_gallery(const Request& req) {
  require_image(image);
  const int64_t offset = req.query.count("offset") ? parse_int(req.query, "offset", 0, INT64_MAX) : 0;
  const int64_t count = req.query.count("count") ? parse_int(req.query, "count", 1, INT64_MAX) : 32;
  return image->gallery(offset, count);
}

json Explorer::State::image_explain(const Request& req) {
  require_image(image);
  const int64_t K = image->config().num_labels;
  const int64_t target = req.query.count("class") ? parse_int(req.query, "class", 0, K) : -1;
  const bool has_index = req.query.count("index") > 0;
  if (has_index == !req.body.empty())
    fail(400, "give either ?index=N (a test picture) or a PNG as the request body, not both or neither");
  if (has_index) return image->explain_test(parse_int(req.query, "index", 0, INT64_MAX), target);
  return image->explain_png(req.body, target, limits.max_image_pixels);
}

// ---- GET /api/audio/recordings, POST /api/audio/analyze: the Audio tab (audio_view.h) ---------------------

namespace {
void require_audio(const std::unique_ptr<AudioExplorer>& audio) {
  if (!audio)
    fail(404,
         "no speech model is loaded (the project ships models/kwt-words; or start with: attn explore --kwt DIR "
         "or --las DIR, folders from attn train audio)");
}
}  // namespace

json Explorer::State::audio_recordings(const Request&) {
  require_audio(audio);
  return audio->recordings();
}

json Explorer::State::audio_analyze(const Request& req) {
  require_audio(audio);
  const bool has_index = req.query.count("index") > 0;
  if (has_index == !req.body.empty())
    fail(400, "give either ?index=N (a test recording) or a WAV/OGG file as the request body, not both or neither");
  if (has_index) return audio->analyze_recording(parse_int(req.query, "index", 0, INT64_MAX));
  return audio->analyze_upload(req.body, limits.max_audio_seconds);
}

// ---- GET /api/multimodal/search, POST /api/multimodal/explain: the Multimodal tab (multimodal_view.h) -------

namespace {
void require_multimodal(const std::unique_ptr<MultimodalExplorer>& m) {
  if (!m)
    fail(404,
         "no image+text model is loaded (the project ships models/clip-emoji; or start with: attn explore --clip DIR, "
         "a folder from attn train clip)");
}
}  // namespace

json Explorer::State::multimodal_search(const Request& req) {
  require_multimodal(multimodal);
  const int64_t k = req.query.count("k") ? parse_int(req.query, "k", 1, 65) : 12;
  const auto split = req.query.find("split");
  return multimodal->search(require_param(req.query, "q"), k, split == req.query.end() ? "all" : split->second);
}

json Explorer::State::multimodal_explain(const Request& req) {
  require_multimodal(multimodal);
  return multimodal->explain(parse_int(req.query, "index", 0, INT64_MAX), require_param(req.query, "q"));
}

// ---- interventions (explain/interventions.h) ------------------------------------------------------------

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
json rows_json(const Tensor& t) {  // (R, C) -> [[C floats] × R]
  json out = json::array();
  const int64_t R = t.size(0), C = t.numel() / std::max<int64_t>(R, 1);
  for (int64_t r = 0; r < R; ++r) out.push_back(std::vector<float>(t.data() + r * C, t.data() + (r + 1) * C));
  return out;
}
int64_t int_field(const json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number_integer() || j[key].get<int64_t>() < lo || j[key].get<int64_t>() > hi)
    fail(400,
         std::string("\"") + key + "\" must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return j[key].get<int64_t>();
}
}  // namespace

// POST /api/ablate {"text", "heads": [[l, h]...], "mlps": [l...], "method", "seed", "position", "k"}
json Explorer::State::ablate(const Request& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const json j = parse_body(req.body);
  const std::vector<int64_t> ids = context_ids(j, "text", 2);
  const auto T = static_cast<int64_t>(ids.size());
  const explain::AblationSpec spec = ablation_spec(j, cfg());
  const int64_t position = int_field(j, "position", T - 1, 0, T - 1);
  const int64_t k = int_field(j, "k", 10, 1, 100);
  const explain::AblationResult a = explain::ablate(model(), ids, spec, position, k);
  auto shifts = [&](const std::vector<explain::TokenShift>& v) {
    json out = json::array();
    for (const auto& t : v)
      out.push_back({{"token", m.tokenizer.label(t.id)}, {"id", t.id}, {"p", t.p}, {"p_ablated", t.p_ablated}});
    return out;
  };
  json heads = json::array();
  for (const auto& h : spec.heads) heads.push_back({h.layer, h.head});
  return {{"tokens", labels(ids)},
          {"ids", ids},
          {"T", T},
          {"method", spec.method},
          {"heads", heads},
          {"mlps", spec.mlps},
          {"loss", a.loss},
          {"loss_ablated", a.loss_ablated},
          {"token_loss", a.token_loss},
          {"token_loss_ablated", a.token_loss_ablated},
          {"kl", a.kl},
          {"position", a.position},
          {"top", shifts(a.top)},
          {"top_ablated", shifts(a.top_ablated)},
          {"elapsed_ms", ms_since(t0)}};
}

// POST /api/ablation_grid {"text", "method", "seed"}
json Explorer::State::ablation_grid(const Request& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const json j = parse_body(req.body);
  const std::vector<int64_t> ids = context_ids(j, "text", 2);
  const explain::AblationSpec spec = ablation_spec(j, cfg());  // method and seed only
  refuse_if_costly(explain::ablation_grid_flops(cfg(), static_cast<int64_t>(ids.size())), "an ablation grid",
                   ids.size(), [&](int64_t t) { return explain::ablation_grid_flops(cfg(), t); });
  const explain::AblationGrid g = explain::ablation_grid(model(), ids, spec.method, spec.seed);
  return {{"tokens", labels(ids)},
          {"T", static_cast<int64_t>(ids.size())},
          {"n_layer", cfg().n_layer},
          {"n_head", cfg().n_head},
          {"method", spec.method},
          {"loss", g.loss},
          {"head_delta", rows_json(g.head_delta)},
          {"mlp_delta", g.mlp_delta.to_vector()},
          {"elapsed_ms", ms_since(t0)}};
}

// POST /api/logit_lens {"text", "k"}
json Explorer::State::logit_lens(const Request& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const json j = parse_body(req.body);
  const std::vector<int64_t> ids = context_ids(j, "text", 1);
  const auto T = static_cast<int64_t>(ids.size());
  const int64_t k = int_field(j, "k", 5, 1, 20);
  const explain::LogitLens lens = explain::logit_lens(model(), ids, k);
  const int64_t R = lens.top_ids.size(0), K = lens.k;
  json top = json::array(), probs = json::array(), label_of = json::object();
  for (int64_t r = 0; r < R; ++r) {
    json trow = json::array(), prow = json::array();
    for (int64_t t = 0; t < T; ++t) {
      std::vector<int64_t> idv;
      std::vector<float> pv;
      for (int64_t i = 0; i < K; ++i) {
        const auto id = static_cast<int64_t>(lens.top_ids.data()[(r * T + t) * K + i]);
        idv.push_back(id);
        pv.push_back(lens.top_probs.data()[(r * T + t) * K + i]);
        const std::string key = std::to_string(id);
        if (!label_of.contains(key)) label_of[key] = m.tokenizer.label(id);
      }
      trow.push_back(idv);
      prow.push_back(pv);
    }
    top.push_back(trow);
    probs.push_back(prow);
  }
  return {{"tokens", labels(ids)},
          {"ids", ids},
          {"T", T},
          {"n_rows", R},
          {"k", K},
          {"top_ids", top},
          {"top_probs", probs},
          {"labels", label_of},
          {"target_rank", T > 1 ? rows_json(lens.target_rank) : json::array()},
          {"target_prob", T > 1 ? rows_json(lens.target_prob) : json::array()},
          {"elapsed_ms", ms_since(t0)}};
}

// POST /api/patch {"clean", "corrupt", "target": null | token id | the token's text}
json Explorer::State::patch(const Request& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const json j = parse_body(req.body);
  const std::vector<int64_t> clean = context_ids(j, "clean", 1), corrupt = context_ids(j, "corrupt", 1);
  if (clean.size() != corrupt.size())
    fail(400, "the clean prompt has " + std::to_string(clean.size()) + " tokens and the corrupted one " +
                  std::to_string(corrupt.size()) +
                  ": patching copies position t into position t, so both need the "
                  "same number of tokens (change a word for one of the same token length)");
  int64_t target = -1;
  if (j.contains("target") && !j["target"].is_null()) {
    const json& tj = j["target"];
    if (tj.is_number_integer()) {
      target = tj.get<int64_t>();
      if (target < 0 || target >= cfg().vocab_size)
        fail(400, "\"target\" must be a token id from 0 to " + std::to_string(cfg().vocab_size - 1));
    } else if (tj.is_string()) {
      const std::vector<int64_t> t = encode(tj.get<std::string>());
      if (t.size() != 1)
        fail(400, "\"target\" must be one token; \"" + tj.get<std::string>() + "\" is " + std::to_string(t.size()) +
                      " tokens (" + labels(t).dump() + ")");
      target = t[0];
    } else {
      fail(400, "\"target\" must be a token id, a one-token string, or null (the clean prediction)");
    }
  }
  refuse_if_costly(explain::activation_patching_flops(cfg(), static_cast<int64_t>(clean.size())), "patching",
                   clean.size(), [&](int64_t t) { return explain::activation_patching_flops(cfg(), t); });
  const explain::PatchingResult p = explain::activation_patching(model(), clean, corrupt, target);
  std::vector<int64_t> differ;
  for (size_t i = 0; i < clean.size(); ++i)
    if (clean[i] != corrupt[i]) differ.push_back(static_cast<int64_t>(i));
  return {{"clean_tokens", labels(clean)},
          {"corrupt_tokens", labels(corrupt)},
          {"T", static_cast<int64_t>(clean.size())},
          {"n_layer", cfg().n_layer},
          {"n_head", cfg().n_head},
          {"target", p.target},
          {"target_token", m.tokenizer.label(p.target)},
          {"p_clean", p.p_clean},
          {"p_corrupt", p.p_corrupt},
          {"differ", differ},
          {"resid", rows_json(p.resid)},
          {"mlp", rows_json(p.mlp)},
          {"heads", rows_json(p.heads)},
          {"elapsed_ms", ms_since(t0)}};
}

}  // namespace attn::explore
