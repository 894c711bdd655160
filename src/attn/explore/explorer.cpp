#include "attn/explore/explorer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explore {

using nlohmann::json;

namespace {

// Thrown inside the handlers, turned into a response by handle().
struct HttpError {
  int status;
  std::string message;
};

[[noreturn]] void fail(int status, const std::string& message) { throw HttpError{status, message}; }

constexpr int64_t kThumbMax = 48;        // thumbnails are at most 48 × 48
constexpr float kHeadTypeThreshold = 0.4f;

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
  std::vector<int64_t> seq;       // prompt + generated ids
  int64_t prompt_len = 0;
  int64_t start = 0;              // window start of the last forward
  std::vector<KVCache> caches;
  std::vector<float> logits;      // (V) the last forward's prediction for the next token
  Tensor rows;                    // (L, H, S) the last query's attention over [start, start + S)
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
      std::copy_n(out.attentions[static_cast<size_t>(l)].data() + (h * P + P - 1) * S, S, s.rows.data() + (l * H + h) * S);
}

struct Explorer::State {
  models::LoadedGPT m;
  std::string name;
  std::map<std::string, Analysis> analyses;
  std::map<std::string, Session> sessions;
  uint64_t clock = 0;
  uint64_t next_id = 0;
  json head_types;  // cached once computed
  std::unique_ptr<models::TranslationModel> translation;
  std::string translation_name, translation_path;

  models::GPT& model() { return *m.model; }
  const models::GPTConfig& cfg() const { return m.model->config(); }

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

  // Runs the model over `ids`, recording attention; returns (L) × (H, T, T) and the last row's logits.
  std::vector<Tensor> run_with_attention(const std::vector<int64_t>& ids) {
    NoGradGuard ng;
    const auto T = static_cast<int64_t>(ids.size());
    models::GPTOutput out = model().forward(IndexTensor(ids, {1, T}), true);
    std::vector<Tensor> att;
    for (Tensor& a : out.attentions) att.push_back(reshape(a, {cfg().n_head, T, T}));
    return att;
  }
};

Explorer::Explorer(models::LoadedGPT model, std::string name, Limits limits)
    : s_(std::make_unique<State>()), limits_(limits) {
  s_->m = std::move(model);
  s_->name = std::move(name);
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

const models::GPTConfig& Explorer::config() const { return s_->cfg(); }

namespace {

json cache_json(const std::vector<KVCache>& caches, int64_t capacity) {
  int64_t used = 0, total = 0;
  for (const KVCache& c : caches) used += c.bytes_used(), total += c.bytes();
  return {{"tokens", caches.empty() ? 0 : caches[0].size()}, {"capacity", capacity}, {"bytes", used},
          {"capacity_bytes", total}};
}

}  // namespace

ApiResponse Explorer::handle(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& query, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  State& S = *s_;
  const models::GPTConfig& cfg = S.cfg();
  const int64_t L = cfg.n_layer, H = cfg.n_head, V = cfg.vocab_size, block = cfg.block_size;
  auto ok = [](const json& j) { return ApiResponse{200, j.dump()}; };
  auto want = [&](const char* m) {
    if (method != m) fail(405, path + " takes " + m + ", not " + method);
  };
  try {
    if (static_cast<int64_t>(body.size()) > limits_.max_body_bytes)
      fail(413, "the request body has " + std::to_string(body.size()) + " bytes; the limit is " +
                    std::to_string(limits_.max_body_bytes));

    if (path == "/api/info") {
      want("GET");
      return ok({{"version", ATTN_VERSION},
                 {"model",
                  {{"name", S.name},
                   {"path", S.m.dir},
                   {"format", S.m.format},
                   {"tokenizer", S.m.tokenizer.kind},
                   {"n_layer", L},
                   {"n_head", H},
                   {"n_kv_head", cfg.kv_heads()},
                   {"n_embd", cfg.n_embd},
                   {"head_dim", cfg.head_dim()},
                   {"block_size", block},
                   {"vocab_size", V},
                   {"n_params", S.model().num_parameters()},
                   {"rope", cfg.rope}}},
                 {"limits",
                  {{"max_body_bytes", limits_.max_body_bytes},
                   {"max_text_bytes", limits_.max_text_bytes},
                   {"max_tokens", block},
                   {"max_new_tokens", limits_.max_new_tokens},
                   {"max_sessions", limits_.max_sessions},
                   {"max_floats_per_response", limits_.max_floats_per_response}}},
                 {"translation", S.translation ? json{{"name", S.translation_name},
                                                      {"path", S.translation_path},
                                                      {"arch", S.translation->arch()},
                                                      {"attention", models::translation_attention(S.translation->arch())}}
                                               : json(nullptr)}});
    }

    if (path == "/api/translate") {
      want("POST");
      if (!S.translation)
        fail(404, "no translation model is loaded (start with: attn explore --translation DIR, a folder from attn train translate)");
      const json j = parse_body(body);
      const std::string text = text_field(j, "text", limits_.max_text_bytes);
      int64_t beam = 1;
      if (j.contains("beam")) {
        if (!j["beam"].is_number_integer() || j["beam"].get<int64_t>() < 1 || j["beam"].get<int64_t>() > 16)
          fail(400, "'beam' must be an integer from 1 to 16");
        beam = j["beam"].get<int64_t>();
      }
      if (text.find_first_not_of(" \t\n\r") == std::string::npos) fail(400, "the text is empty");
      const int64_t words = static_cast<int64_t>(std::count(text.begin(), text.end(), ' ')) + 1;
      if (words > 100) fail(413, "the sentence has " + std::to_string(words) + " words; translate at most 100 at a time");
      models::TranslationModel::Attention a = S.translation->attention(text, beam);
      const auto Ssrc = static_cast<int64_t>(a.source_tokens.size()), T = static_cast<int64_t>(a.target_tokens.size());
      json r = {{"arch", S.translation->arch()}, {"translation", a.translation}, {"source_tokens", a.source_tokens},
                {"target_tokens", a.target_tokens}, {"S", Ssrc}, {"T", T}, {"beam", beam}, {"encoding", "f32-base64"}};
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
      return ok(r);
    }

    if (path == "/api/analyze") {
      want("POST");
      const json j = parse_body(body);
      const std::string text = text_field(j, "text", limits_.max_text_bytes);
      std::vector<int64_t> ids = S.encode(text);
      const auto T = static_cast<int64_t>(ids.size());
      if (T == 0) fail(400, "the text has no tokens");
      if (T > block)
        fail(413, "the text has " + std::to_string(T) + " tokens; the model's context is " + std::to_string(block));
      Analysis a;
      a.ids = ids;
      a.attention = S.run_with_attention(ids);
      a.rollout.resize(static_cast<size_t>(L));
      a.last_used = ++S.clock;
      const std::string id = "a" + std::to_string(++S.next_id);
      const int64_t s = std::min(T, kThumbMax);
      std::vector<float> thumbs(static_cast<size_t>(L * H * s * s));
      for (int64_t l = 0; l < L; ++l)
        for (int64_t h = 0; h < H; ++h)
          pool(a.attention[static_cast<size_t>(l)].data() + h * T * T, T, s, thumbs.data() + (l * H + h) * s * s);
      S.analyses[id] = std::move(a);
      State::evict_lru(S.analyses, limits_.max_analyses);
      // A memory budget too: GPT-2 at 1024 tokens keeps 12 × 12 × 1024² floats (600 MB) per analysis.
      auto bytes = [&] {
        int64_t b = 0;
        for (auto& [k, v] : S.analyses) b += L * H * static_cast<int64_t>(v.ids.size() * v.ids.size()) * 4;
        return b;
      };
      while (S.analyses.size() > 1 && bytes() > limits_.max_analysis_bytes)
        State::evict_lru(S.analyses, static_cast<int64_t>(S.analyses.size()) - 1);
      return ok({{"id", id},
                 {"tokens", S.labels(ids)},
                 {"ids", ids},
                 {"T", T},
                 {"n_layer", L},
                 {"n_head", H},
                 {"thumb_size", s},
                 {"thumbnails", b64_floats(thumbs.data(), static_cast<int64_t>(thumbs.size()))},
                 {"encoding", "f32-base64"}});
    }

    auto analysis = [&]() -> std::pair<std::string, Analysis*> {
      const std::string& id = require_param(query, "id");
      auto it = S.analyses.find(id);
      if (it == S.analyses.end()) fail(404, "no analysis '" + id + "' (it may have been evicted; analyze the text again)");
      it->second.last_used = ++S.clock;
      return {id, &it->second};
    };

    if (path == "/api/attention") {
      want("GET");
      auto [id, a] = analysis();
      const int64_t layer = parse_int(query, "layer", 0, L);
      const std::string head = require_param(query, "head");
      const auto T = static_cast<int64_t>(a->ids.size());
      const Tensor& att = a->attention[static_cast<size_t>(layer)];  // (H, T, T)
      json r = {{"id", id}, {"layer", layer}, {"head", head}, {"T", T}, {"encoding", "f32-base64"}};
      if (head == "all") {
        if (H * T * T > limits_.max_floats_per_response)
          fail(413, "head=all would send " + std::to_string(H * T * T) + " floats (limit " +
                        std::to_string(limits_.max_floats_per_response) + "); ask for one head at a time");
        r["shape"] = {H, T, T};
        r["matrix"] = b64_floats(att.data(), H * T * T);
      } else if (head == "mean") {
        Tensor m = mean(att, {0});  // (T, T)
        r["shape"] = {T, T};
        r["matrix"] = b64_floats(m.data(), T * T);
      } else if (head == "rollout") {
        // R_l = Â_l R_{l-1}, Â_l = rownorm(½ mean_h A_l + ½ I); computed once per layer and kept.
        for (int64_t l = 0; l <= layer; ++l) {
          if (a->rollout[static_cast<size_t>(l)].defined()) continue;
          NoGradGuard ng;
          Tensor A = mean(a->attention[static_cast<size_t>(l)], {0}) * 0.5f + Tensor::eye(T) * 0.5f;
          A = A / sum(A, {1}, true);
          a->rollout[static_cast<size_t>(l)] = l == 0 ? A : matmul(A, a->rollout[static_cast<size_t>(l - 1)]);
        }
        r["shape"] = {T, T};
        r["matrix"] = b64_floats(a->rollout[static_cast<size_t>(layer)].data(), T * T);
      } else {
        const int64_t h = parse_int(query, "head", 0, H);
        r["shape"] = {T, T};
        r["matrix"] = b64_floats(att.data() + h * T * T, T * T);
      }
      return ok(r);
    }

    if (path == "/api/neuron") {
      want("GET");
      auto [id, a] = analysis();
      const int64_t layer = parse_int(query, "layer", 0, L);
      const int64_t head = parse_int(query, "head", 0, H);
      const auto T = static_cast<int64_t>(a->ids.size());
      const int64_t qi = parse_int(query, "query", 0, T);
      auto [q, k] = S.model().queries_and_keys(IndexTensor(a->ids, {1, T}), layer);  // (1,H,T,Dh), (1,Hkv,T,Dh)
      const int64_t Dh = cfg.head_dim(), kvh = head / (H / cfg.kv_heads());
      const float* qv = q.data() + (head * T + qi) * Dh;
      json kj = json::array(), qk = json::array(), scores = json::array();
      std::vector<double> sc;
      for (int64_t j = 0; j <= qi; ++j) {
        const float* kv = k.data() + (kvh * T + j) * Dh;
        std::vector<float> kk(kv, kv + Dh), prod(static_cast<size_t>(Dh));
        double dot = 0;
        for (int64_t d = 0; d < Dh; ++d) {
          prod[static_cast<size_t>(d)] = qv[d] * kv[d];
          dot += prod[static_cast<size_t>(d)];
        }
        kj.push_back(kk);
        qk.push_back(prod);
        sc.push_back(dot / std::sqrt(static_cast<double>(Dh)));
      }
      const double mx = *std::max_element(sc.begin(), sc.end());
      double z = 0;
      for (double s : sc) z += std::exp(s - mx);
      json weights = json::array();
      for (double s : sc) {
        scores.push_back(s);
        weights.push_back(std::exp(s - mx) / z);
      }
      return ok({{"id", id}, {"layer", layer}, {"head", head}, {"query", qi}, {"head_dim", Dh},
                 {"keys", qi + 1}, {"tokens", S.labels(std::vector<int64_t>(a->ids.begin(), a->ids.begin() + qi + 1))},
                 {"q", std::vector<float>(qv, qv + Dh)}, {"k", kj}, {"qk", qk}, {"scores", scores}, {"weights", weights}});
    }

    if (path == "/api/head_types") {
      want("GET");
      if (S.head_types.is_null()) {
        // A random token sequence of length n, twice: [r_0 .. r_{n-1}, r_0 .. r_{n-1}].
        const int64_t n = std::min<int64_t>(40, block / 2);
        json heads = json::array(), labels = json::array();
        if (n >= 2) {
          Generator g(1234);
          std::vector<int64_t> ids;
          for (int64_t i = 0; i < n; ++i) ids.push_back(g.randint(static_cast<uint32_t>(V)));
          for (int64_t i = 0; i < n; ++i) ids.push_back(ids[static_cast<size_t>(i)]);
          const int64_t T = 2 * n;
          std::vector<Tensor> att = S.run_with_attention(ids);
          for (int64_t l = 0; l < L; ++l)
            for (int64_t h = 0; h < H; ++h) {
              const float* w = att[static_cast<size_t>(l)].data() + h * T * T;  // (T, T)
              double prev = 0, first = 0, induction = 0;
              for (int64_t i = 1; i < T; ++i) prev += w[i * T + i - 1], first += w[i * T];
              for (int64_t i = n; i < T; ++i) induction += w[i * T + i - n + 1];
              prev /= static_cast<double>(T - 1);
              first /= static_cast<double>(T - 1);
              induction /= static_cast<double>(n);
              heads.push_back({{"layer", l}, {"head", h}, {"previous_token", prev}, {"first_token", first},
                               {"induction", induction}});
              const std::pair<double, const char*> best =
                  std::max({std::pair<double, const char*>{prev, "previous-token"}, {first, "first-token"},
                            {induction, "induction"}});
              if (best.first >= kHeadTypeThreshold) labels.push_back({{"layer", l}, {"head", h}, {"type", best.second}});
            }
        }
        S.head_types = {{"sequence", {{"kind", "repeated random tokens"}, {"length", 2 * n}, {"n", n}}},
                        {"threshold", kHeadTypeThreshold},
                        {"heads", heads},
                        {"labels", labels}};
      }
      return ok(S.head_types);
    }

    if (path == "/api/generate/start") {
      want("POST");
      const json j = parse_body(body);
      Session s;
      const std::string prompt = text_field(j, "prompt", limits_.max_text_bytes);
      s.options.temperature = static_cast<float>(number_field(j, "temperature", 0.8));
      s.options.top_k = static_cast<int64_t>(number_field(j, "top_k", 0));
      s.options.top_p = static_cast<float>(number_field(j, "top_p", 1.0));
      s.options.seed = static_cast<uint64_t>(std::max(0.0, number_field(j, "seed", 0)));
      if (!(s.options.temperature >= 0.f && s.options.temperature <= 100.f)) fail(400, "\"temperature\" must be in [0, 100]");
      if (s.options.top_k < 0) fail(400, "\"top_k\" must be >= 0 (0 = off)");
      if (!(s.options.top_p > 0.f && s.options.top_p <= 1.f)) fail(400, "\"top_p\" must be in (0, 1]");
      s.gen = Generator(s.options.seed);
      s.seq = S.encode(prompt);
      if (s.seq.empty()) fail(400, "the prompt has no tokens");
      s.prompt_len = static_cast<int64_t>(s.seq.size());
      s.start = std::max<int64_t>(0, s.prompt_len - block);  // a long prompt keeps its tail
      s.caches = S.model().make_caches(1, block);
      feed(S.model(), s, std::vector<int64_t>(s.seq.begin() + s.start, s.seq.end()));  // prefill
      s.last_used = ++S.clock;
      const std::string id = "s" + std::to_string(++S.next_id);
      json r = {{"session", id}, {"tokens", S.labels(s.seq)}, {"ids", s.seq}, {"window_start", s.start},
                {"cache", cache_json(s.caches, block)}};
      S.sessions[id] = std::move(s);
      State::evict_lru(S.sessions, limits_.max_sessions);
      return ok(r);
    }

    if (path == "/api/generate/next" || path == "/api/generate/stop") {
      want("POST");
      const json j = parse_body(body);
      if (!j.contains("session") || !j["session"].is_string()) fail(400, "missing field \"session\" (a string)");
      const std::string id = j["session"].get<std::string>();
      auto it = S.sessions.find(id);
      if (it == S.sessions.end()) fail(404, "no session '" + id + "' (it may have ended or been evicted; start again)");
      if (path == "/api/generate/stop") {
        S.sessions.erase(it);
        return ok({{"session", id}, {"stopped", true}});
      }
      Session& s = it->second;
      s.last_used = ++S.clock;
      if (s.generated >= limits_.max_new_tokens)
        fail(400, "session '" + id + "' has generated its " + std::to_string(limits_.max_new_tokens) +
                      " tokens (max_new_tokens); start a new one");
      // The 10 most likely next tokens (at the session's temperature; greedy shows temperature 1).
      const float temp = s.options.temperature > 0.f ? s.options.temperature : 1.f;
      std::vector<int64_t> order(static_cast<size_t>(V));
      for (int64_t i = 0; i < V; ++i) order[static_cast<size_t>(i)] = i;
      const int64_t k = std::min<int64_t>(10, V);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t a, int64_t b) { return s.logits[static_cast<size_t>(a)] > s.logits[static_cast<size_t>(b)]; });
      const double mx = s.logits[static_cast<size_t>(order[0])];
      double z = 0;
      for (float x : s.logits) z += std::exp((x - mx) / temp);
      json top = json::array();
      for (int64_t i = 0; i < k; ++i) {
        const int64_t t = order[static_cast<size_t>(i)];
        top.push_back({{"token", S.m.tokenizer.label(t)}, {"id", t},
                       {"p", std::exp((s.logits[static_cast<size_t>(t)] - mx) / temp) / z}});
      }
      const int64_t next = models::GPT::sample_next(s.logits.data(), V, s.options, s.gen);
      const auto position = static_cast<int64_t>(s.seq.size());
      s.seq.push_back(next);
      ++s.generated;
      json r = {{"token", S.m.tokenizer.label(next)},
                {"bytes_b64", base64_encode(S.m.tokenizer.bytes(next).data(), S.m.tokenizer.bytes(next).size())},
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
        feed(S.model(), s, w);
      }
      r["cache"] = cache_json(s.caches, block);
      r["next_window_start"] = s.start;
      return ok(r);
    }

    fail(404, "no API route " + path + " (see docs/explorer_api.md)");
  } catch (const HttpError& e) {
    return {e.status, json{{"error", e.message}}.dump()};
  } catch (const Error& e) {
    return {400, json{{"error", e.what()}}.dump()};
  } catch (const std::exception& e) {
    return {500, json{{"error", std::string("internal error: ") + e.what()}}.dump()};
  }
}

}  // namespace attn::explore
