// The explorer's JSON API (docs/explorer_api.md), called directly through Explorer::handle on a small
// random character-level GPT written as an `attn train gpt` checkpoint: every number it sends is checked
// against the model itself, and every kind of bad request gets its 4xx and a message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/data/char_tokenizer.h"
#include "attn/explain/gpt_explain.h"
#include "attn/explain/interventions.h"
#include "attn/explain/relevance.h"
#include "attn/explain/seq2seq_explain.h"
#include "attn/explore/explorer.h"
#include "attn/models/gpt2_hf.h"
#include "attn/models/gpt_config_json.h"
#include "attn/models/gpt_loader.h"
#include "attn/nn/checkpoint.h"
#include "attn/ops/ops.h"
#include "test_util.h"
#include "translation_fixtures.h"

using namespace attn;
using json = nlohmann::json;

namespace {

const std::string kText = "Call me Ishmael. Some years ago, never mind how long precisely.";

using attn::testing::decode_floats;

// A random GPT (2 layers, 2 heads, context 24) saved as an attn checkpoint, loaded the way the CLI does.
std::string make_checkpoint(int64_t n_kv_head = 0, bool rope = false) {
  const std::string dir = attn::testing::fresh_dir("explorer_model_" + std::to_string(n_kv_head) + (rope ? "r" : ""));
  data::CharTokenizer tok = data::CharTokenizer::from_text(kText + " abcdefghijklmnopqrstuvwxyzCIS,.");
  models::GPTConfig c;
  c.vocab_size = tok.vocab_size();
  c.n_layer = 2;
  c.n_head = 2;
  c.n_kv_head = n_kv_head;
  c.rope = rope;
  c.n_embd = 16;
  c.block_size = 24;
  Generator g(7);
  models::GPT m(c, g);
  nn::save_checkpoint(m, dir + "/model.safetensors");
  tok.save(dir + "/tokenizer.json");
  std::ofstream(dir + "/config.json") << json{{"model", models::model_config_json(c)}}.dump();
  return dir;
}

struct Fixture {
  std::string dir = make_checkpoint();
  explore::Limits limits;
  std::unique_ptr<explore::Explorer> ex;
  explicit Fixture(explore::Limits l = explore::Limits()) : limits(l) {
    ex = std::make_unique<explore::Explorer>(models::load_gpt(dir, ATTN_SOURCE_DIR), "tiny", limits);
  }
  json call(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q = {},
            const std::string& body = "", int expect = 200) {
    explore::ApiResponse r = ex->handle(method, path, q, body);
    EXPECT_EQ(r.status, expect) << method << " " << path << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  json post(const std::string& path, const json& body, int expect = 200) {
    return call("POST", path, {}, body.dump(), expect);
  }
};

}  // namespace

TEST(Explorer, InfoDescribesTheModelAndLimits) {
  Fixture f;
  json info = f.call("GET", "/api/info");
  EXPECT_EQ(info["model"]["n_layer"], 2);
  EXPECT_EQ(info["model"]["n_head"], 2);
  EXPECT_EQ(info["model"]["block_size"], 24);
  EXPECT_EQ(info["model"]["tokenizer"], "char");
  EXPECT_EQ(info["model"]["head_dim"], 8);
  EXPECT_EQ(info["limits"]["max_tokens"], 24);
  EXPECT_GT(info["model"]["n_params"].get<int64_t>(), 0);
}

TEST(Explorer, AnalyzeAndAttentionReturnTheModelsOwnWeights) {
  Fixture f;
  const std::string text = "Call me Ishmael.";
  json a = f.post("/api/analyze", {{"text", text}});
  const int64_t T = a["T"];
  ASSERT_EQ(T, 16);
  EXPECT_EQ(a["tokens"][0], "C");
  EXPECT_EQ(a["thumb_size"], 16);
  // The model's own recorded attention.
  models::LoadedGPT m = models::load_gpt(f.dir, ATTN_SOURCE_DIR);
  std::vector<int64_t> ids = m.tokenizer.encode(text);
  NoGradGuard ng;
  std::vector<Tensor> att = m.model->forward(IndexTensor(ids, {1, T}), true).attentions;  // (1, 2, T, T)
  const std::vector<float> thumbs = decode_floats(a["thumbnails"]);
  ASSERT_EQ(thumbs.size(), static_cast<size_t>(2 * 2 * T * T));  // T ≤ 48: thumbnails are the matrices
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 2; ++h) {
      json r =
          f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", std::to_string(l)}, {"head", std::to_string(h)}});
      std::vector<float> w = decode_floats(r["matrix"]);
      ASSERT_EQ(w.size(), static_cast<size_t>(T * T));
      const float* ref = att[static_cast<size_t>(l)].data() + h * T * T;
      for (int64_t i = 0; i < T * T; ++i) {
        EXPECT_NEAR(w[static_cast<size_t>(i)], ref[i], 1e-6);
        EXPECT_NEAR(thumbs[static_cast<size_t>((l * 2 + h) * T * T + i)], ref[i], 1e-6);
      }
    }
  // mean of heads, a whole layer, rollout
  json mean = f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "1"}, {"head", "mean"}});
  std::vector<float> mw = decode_floats(mean["matrix"]);
  EXPECT_NEAR(mw[5 * T + 2], 0.5 * (att[1].data()[5 * T + 2] + att[1].data()[T * T + 5 * T + 2]), 1e-6);
  json all = f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "0"}, {"head", "all"}});
  EXPECT_EQ(all["shape"], json({2, T, T}));
  EXPECT_EQ(decode_floats(all["matrix"]).size(), static_cast<size_t>(2 * T * T));
  json r0 = f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "0"}, {"head", "rollout"}});
  json r1 = f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "1"}, {"head", "rollout"}});
  std::vector<float> R0 = decode_floats(r0["matrix"]), R1 = decode_floats(r1["matrix"]);
  // Â_0 = rownorm(½ mean_h A_0 + ½ I): rows sum to 1 already, so Â_0[i][i] = ½ mean + ½.
  const double a00 = 0.5 * (att[0].data()[3 * T + 3] + att[0].data()[T * T + 3 * T + 3]);
  EXPECT_NEAR(R0[3 * T + 3], 0.5 * a00 + 0.5, 1e-5);
  for (int64_t i = 0; i < T; ++i) {
    double s0 = 0, s1 = 0;
    for (int64_t j = 0; j < T; ++j) s0 += R0[i * T + j], s1 += R1[i * T + j];
    EXPECT_NEAR(s0, 1.0, 1e-5);
    EXPECT_NEAR(s1, 1.0, 1e-5);
    for (int64_t j = i + 1; j < T; ++j) EXPECT_EQ(R1[i * T + j], 0.f);  // still causal
  }
}

TEST(Explorer, NeuronViewRebuildsTheAttentionRow) {
  for (auto [kv, rope] : {std::pair<int64_t, bool>{0, false}, {1, true}}) {
    Fixture f;
    f.dir = make_checkpoint(kv, rope);
    f.ex = std::make_unique<explore::Explorer>(models::load_gpt(f.dir, ATTN_SOURCE_DIR), "tiny");
    json a = f.post("/api/analyze", {{"text", "Call me Ishmael."}});
    json att = f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "1"}, {"head", "1"}});
    std::vector<float> w = decode_floats(att["matrix"]);
    json n = f.call("GET", "/api/neuron", {{"id", a["id"]}, {"layer", "1"}, {"head", "1"}, {"query", "9"}});
    ASSERT_EQ(n["keys"], 10);
    ASSERT_EQ(n["q"].size(), 8u);
    ASSERT_EQ(n["k"].size(), 10u);
    double dot = 0;
    for (int d = 0; d < 8; ++d) {
      EXPECT_FLOAT_EQ(n["qk"][4][d].get<float>(), n["q"][d].get<float>() * n["k"][4][d].get<float>());
      dot += n["qk"][4][d].get<double>();
    }
    EXPECT_NEAR(n["scores"][4].get<double>(), dot / std::sqrt(8.0), 1e-6);
    for (int j = 0; j < 10; ++j) EXPECT_NEAR(n["weights"][j].get<double>(), w[9 * 16 + j], 1e-5) << j;
  }
}

TEST(Explorer, HeadTypesScoreEveryHeadFromItsAttention) {
  Fixture f;
  json ht = f.call("GET", "/api/head_types");
  ASSERT_EQ(ht["heads"].size(), 4u);
  EXPECT_EQ(ht["sequence"]["n"], 12);  // context 24 = two copies of 12 random tokens
  for (const json& h : ht["heads"])
    for (const char* k : {"previous_token", "first_token", "induction"}) {
      EXPECT_GE(h[k].get<double>(), 0.0);
      EXPECT_LE(h[k].get<double>(), 1.0);
    }
  EXPECT_EQ(f.call("GET", "/api/head_types"), ht);  // cached, identical
}

TEST(Explorer, GenerationStepsMatchTheLibraryAndShowWhatEachTokenAttendedTo) {
  Fixture f;
  json st = f.post("/api/generate/start", {{"prompt", "Call me"}, {"temperature", 0}});
  ASSERT_EQ(st["cache"]["tokens"], 7);
  const std::string sid = st["session"];
  models::LoadedGPT m = models::load_gpt(f.dir, ATTN_SOURCE_DIR);
  std::vector<int64_t> prompt = m.tokenizer.encode("Call me");
  const std::vector<int64_t> expected = m.model->generate(prompt, 30, models::GenerateOptions().greedy());
  std::vector<int64_t> seq = prompt;
  int64_t last_cache = 7;
  for (int i = 0; i < 30; ++i) {
    json r = f.post("/api/generate/next", {{"session", sid}});
    ASSERT_EQ(r["id"], expected[static_cast<size_t>(i)]) << "token " << i;
    ASSERT_EQ(r["position"], 7 + i);
    // The row that chose this token: query position - 1 over window_start .. position - 1.
    const int64_t ws = r["window_start"], S = 7 + i - ws;
    ASSERT_EQ(r["shape"], json({2, 2, S}));
    std::vector<int64_t> window(seq.begin() + ws, seq.end());
    NoGradGuard ng;
    std::vector<Tensor> att = m.model->forward(IndexTensor(window, {1, S}), true).attentions;
    std::vector<float> rows = decode_floats(r["attention"]);
    for (int64_t lh = 0; lh < 4; ++lh)
      for (int64_t j = 0; j < S; ++j)
        ASSERT_NEAR(rows[static_cast<size_t>(lh * S + j)],
                    att[static_cast<size_t>(lh / 2)].data()[((lh % 2) * S + S - 1) * S + j], 1e-5);
    EXPECT_EQ(r["top"].size(), 10u);
    EXPECT_EQ(r["top"][0]["id"], r["id"]);  // greedy picks the most likely
    const int64_t cache = r["cache"]["tokens"];
    if (r["next_window_start"] == ws) {
      EXPECT_EQ(cache, last_cache + 1);  // grows by one, or jumps with the window
    }
    last_cache = cache;
    seq.push_back(r["id"]);
  }
  EXPECT_EQ(f.post("/api/generate/stop", {{"session", sid}})["stopped"], true);
  f.post("/api/generate/next", {{"session", sid}}, 404);
}

TEST(Explorer, RelevanceExplainsTheNextTokenWithEveryMethod) {
  Fixture f;
  const std::string text = "Call me Ishmael.";
  const json r = f.post("/api/relevance", {{"text", text}});
  models::LoadedGPT same = models::load_gpt(f.dir, ATTN_SOURCE_DIR);  // the same weights, explained directly
  same.model->eval();
  const std::vector<int64_t> ids = same.tokenizer.encode(text);
  const auto T = static_cast<int64_t>(ids.size());
  EXPECT_EQ(r["T"], T);
  EXPECT_EQ(r["query"], T - 1);
  const explain::GPTTrace t = explain::trace_gpt(*same.model, ids);
  EXPECT_EQ(r["predicted"], t.predicted);
  EXPECT_EQ(r["target"], t.predicted);
  EXPECT_EQ(r["top"][0]["id"], t.predicted);
  EXPECT_EQ(r["methods"].size(), explain::kMethods.size());
  for (const std::string& m : explain::kMethods) {
    const std::vector<float> got = decode_floats(r["scores"][m]);
    const Tensor want = explain::scores(m, t.trace);
    ASSERT_EQ(static_cast<int64_t>(got.size()), T) << m;
    for (int64_t i = 0; i < T; ++i)
      EXPECT_NEAR(got[i], want.data()[i], 1e-5 * (1 + std::abs(want.data()[i]))) << m << " " << i;
    const json& c = r["curves"][m];
    EXPECT_EQ(c["positive"].size(), explain::kPerturbationFractions.size());
    EXPECT_EQ(c["positive"][0], 1.0) << "nothing removed: the prediction is the prediction";
    EXPECT_NEAR(c["deletion"][0].get<double>(), r["target_p"].get<double>(), 1e-5);
  }
  EXPECT_TRUE(r["curves"].contains("random"));
  // Another target token: the gradient methods follow it.
  const int64_t other = (t.predicted + 1) % f.ex->config().vocab_size;
  const json r2 = f.post("/api/relevance", {{"text", text}, {"target", other}});
  EXPECT_EQ(r2["target"], other);
  const explain::GPTTrace t2 = explain::trace_gpt(*same.model, ids, other);
  const std::vector<float> got = decode_floats(r2["scores"]["relevance"]);
  const Tensor want = explain::scores("relevance", t2.trace);
  for (int64_t i = 0; i < T; ++i) EXPECT_NEAR(got[i], want.data()[i], 1e-5 * (1 + std::abs(want.data()[i])));
  // Bad input.
  auto err = [](const json& j) { return j["error"].get<std::string>(); };
  EXPECT_NE(err(f.post("/api/relevance", {{"text", "C"}}, 400)).find("at least 2"), std::string::npos);
  EXPECT_NE(err(f.post("/api/relevance", {{"text", text}, {"target", -1}}, 400)).find("\"target\" must be a token id"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/relevance", {{"text", text}, {"target", "a"}}, 400)).find("\"target\""),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/relevance", {{"text", std::string(30, 'a')}}, 413)).find("context is 24"),
            std::string::npos);
  EXPECT_EQ(f.call("GET", "/api/relevance", {}, "", 405)["error"], "/api/relevance takes POST, not GET");
}

TEST(Explorer, BadRequestsGetA4xxWithAMessage) {
  explore::Limits lim;
  lim.max_text_bytes = 100;
  lim.max_body_bytes = 300;
  lim.max_floats_per_response = 60;  // one 7 × 7 head fits, a layer of two does not
  lim.max_sessions = 2;
  lim.max_new_tokens = 3;
  Fixture f(lim);
  auto err = [](const json& j) { return j.value("error", std::string("(no error field)")); };
  EXPECT_NE(err(f.call("POST", "/api/analyze", {}, "{not json", 400)).find("JSON object"), std::string::npos);
  EXPECT_NE(err(f.call("POST", "/api/analyze", {}, "[1, 2]", 400)).find("JSON object"), std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", json::object(), 400)).find("missing field \"text\""), std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", 5}}, 400)).find("must be a string"), std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", ""}}, 400)).find("is empty"), std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", std::string(150, 'a')}}, 413)).find("limit is 100"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", std::string(30, 'a')}}, 413)).find("context is 24"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", "Zq"}}, 400)).find("never saw"), std::string::npos);
  EXPECT_NE(err(f.call("POST", "/api/analyze", {}, std::string(400, ' '), 413)).find("limit is 300"),
            std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/analyze", {}, "", 405)).find("takes POST"), std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/nope", {}, "", 404)).find("no API route"), std::string::npos);

  json a = f.post("/api/analyze", {{"text", "Call me"}});
  const std::string id = a["id"];
  EXPECT_NE(
      err(f.call("GET", "/api/attention", {{"id", "zz"}, {"layer", "0"}, {"head", "0"}}, "", 404)).find("no analysis"),
      std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/attention", {{"id", id}, {"layer", "2"}, {"head", "0"}}, "", 400))
                .find("out of range [0, 2)"),
            std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/attention", {{"id", id}, {"layer", "x1"}, {"head", "0"}}, "", 400))
                .find("must be an integer"),
            std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/attention", {{"id", id}, {"layer", "0"}}, "", 400))
                .find("missing query parameter 'head'"),
            std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/attention", {{"id", id}, {"layer", "0"}, {"head", "all"}}, "", 413))
                .find("one head at a time"),
            std::string::npos);
  EXPECT_NE(err(f.call("GET", "/api/neuron", {{"id", id}, {"layer", "0"}, {"head", "0"}, {"query", "7"}}, "", 400))
                .find("query"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/generate/start", {{"prompt", "Ca"}, {"top_p", 0}}, 400)).find("top_p"), std::string::npos);
  EXPECT_NE(err(f.post("/api/generate/start", {{"prompt", "Ca"}, {"temperature", -1}}, 400)).find("temperature"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/generate/next", json::object(), 400)).find("session"), std::string::npos);
  // Sessions: the least recently used is evicted past max_sessions; max_new_tokens per session.
  const std::string s1 = f.post("/api/generate/start", {{"prompt", "Ca"}})["session"];
  const std::string s2 = f.post("/api/generate/start", {{"prompt", "Ca"}})["session"];
  for (int i = 0; i < 3; ++i) f.post("/api/generate/next", {{"session", s1}});
  EXPECT_NE(err(f.post("/api/generate/next", {{"session", s1}}, 400)).find("max_new_tokens"), std::string::npos);
  f.post("/api/generate/start", {{"prompt", "Ca"}});
  EXPECT_NE(err(f.post("/api/generate/next", {{"session", s2}}, 404)).find("no session"), std::string::npos);
}

TEST(Explorer, ServesAHuggingFaceGpt2FolderWithBpeTokens) {
  models::GPTConfig c;
  c.vocab_size = 50257;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 32;
  Generator g(9);
  models::GPT m(c, g);
  const std::string dir = attn::testing::fresh_dir("explorer_hf_gpt2");
  models::save_hf_gpt2(m, dir);
  explore::Explorer ex(models::load_gpt(dir, ATTN_SOURCE_DIR), "gpt2-tiny");
  explore::ApiResponse info = ex.handle("GET", "/api/info", {}, "");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(json::parse(info.body)["model"]["tokenizer"], "gpt2-bpe");
  EXPECT_EQ(json::parse(info.body)["model"]["format"], "hf-gpt2");
  explore::ApiResponse a = ex.handle("POST", "/api/analyze", {}, json{{"text", "Hello world, attention!"}}.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  const json j = json::parse(a.body);
  EXPECT_EQ(j["ids"][0], 15496);  // "Hello" in GPT-2's vocabulary
  EXPECT_EQ(j["ids"][1], 995);    // " world"
  EXPECT_EQ(j["tokens"][1], " world");
  explore::ApiResponse s =
      ex.handle("POST", "/api/generate/start", {}, json{{"prompt", "Hello"}, {"temperature", 0}}.dump());
  ASSERT_EQ(s.status, 200) << s.body;
  explore::ApiResponse n =
      ex.handle("POST", "/api/generate/next", {}, json{{"session", json::parse(s.body)["session"]}}.dump());
  ASSERT_EQ(n.status, 200) << n.body;
  EXPECT_EQ(json::parse(n.body)["id"], m.generate({15496}, 1, models::GenerateOptions().greedy())[0]);
}

// ---- /api/translate: the encoder-decoder view ----------------------------------------------------------------

using attn::testing::tiny_subwords;
using attn::testing::tiny_translation;

TEST(Explorer, TranslateReturnsTheTranslationModelsThreeAttentions) {
  Fixture f;
  // No translation model yet: a 404 that says how to load one; /api/info says null.
  json none = f.post("/api/translate", {{"text", "Der Hund bellt."}}, 404);
  EXPECT_NE(none["error"].get<std::string>().find("--translation"), std::string::npos);
  EXPECT_TRUE(f.call("GET", "/api/info")["translation"].is_null());

  for (const std::string arch : {"transformer", "bahdanau", "gru"}) {
    f.ex->set_translation(std::make_unique<models::TranslationModel>(tiny_translation(arch), tiny_subwords()),
                          "tiny-" + arch, "/x");
    models::TranslationModel same(tiny_translation(arch), tiny_subwords());  // the same seed: the same weights
    const json info = f.call("GET", "/api/info");
    EXPECT_EQ(info["translation"]["arch"], arch);
    EXPECT_EQ(info["translation"]["name"], "tiny-" + arch);
    const std::string text = "Der Hund bellt.";
    json r = f.post("/api/translate", {{"text", text}, {"beam", 2}});
    const auto want = same.attention(text, 2);
    EXPECT_EQ(r["translation"], want.translation) << arch;
    EXPECT_EQ(r["source_tokens"].get<std::vector<std::string>>(), want.source_tokens);
    EXPECT_EQ(r["target_tokens"].get<std::vector<std::string>>(), want.target_tokens);
    const int64_t S = r["S"], T = r["T"];
    EXPECT_EQ(S, static_cast<int64_t>(want.source_tokens.size()));
    EXPECT_EQ(T, static_cast<int64_t>(want.target_tokens.size()));
    if (arch != "transformer") {
      EXPECT_TRUE(r["relevance"].is_null()) << arch;
    }
    if (arch == "gru") {
      EXPECT_TRUE(r["cross"].is_null());
      EXPECT_EQ(r["n_layer"], 0);
      continue;
    }
    const int64_t L = r["n_layer"], H = r["n_head"];
    EXPECT_EQ(L, arch == "transformer" ? 2 : 1);
    EXPECT_EQ(H, arch == "transformer" ? 2 : 1);
    const std::vector<float> cross = decode_floats(r["cross"]);
    ASSERT_EQ(static_cast<int64_t>(cross.size()), L * H * T * S);
    for (int64_t i = 0; i < want.cross.numel(); ++i) EXPECT_EQ(cross[i], want.cross.data()[i]);
    for (int64_t row = 0; row < L * H * T; ++row) {  // every row a distribution over the source
      double sum = 0;
      for (int64_t j = 0; j < S; ++j) sum += cross[row * S + j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    if (arch == "transformer") {
      // Chefer et al.'s R^ts, every row: what the explain layer computes for the same translation.
      const explain::TranslationRelevance rel = explain::translation_relevance(same, text, -1, 2);
      const std::vector<float> got = decode_floats(r["relevance"]);
      ASSERT_EQ(static_cast<int64_t>(got.size()), T * S);
      for (int64_t i = 0; i < T * S; ++i) EXPECT_NEAR(got[i], rel.source.data()[i], 1e-6 * (1 + std::abs(got[i])));
      const std::vector<float> enc = decode_floats(r["encoder"]), dec = decode_floats(r["decoder"]);
      ASSERT_EQ(static_cast<int64_t>(enc.size()), L * H * S * S);
      ASSERT_EQ(static_cast<int64_t>(dec.size()), L * H * T * T);
      for (int64_t lh = 0; lh < L * H; ++lh)
        for (int64_t i = 0; i < T; ++i)
          for (int64_t j = i + 1; j < T; ++j) EXPECT_EQ(dec[(lh * T + i) * T + j], 0.f) << "the decoder is causal";
    } else {
      EXPECT_TRUE(r["encoder"].is_null());
      EXPECT_TRUE(r["decoder"].is_null());
    }
  }
  // Bad requests.
  EXPECT_NE(f.post("/api/translate", {{"text", "  "}}, 400)["error"].get<std::string>().find("empty"),
            std::string::npos);
  EXPECT_NE(f.post("/api/translate", {{"text", "Hallo."}, {"beam", 0}}, 400)["error"].get<std::string>().find("beam"),
            std::string::npos);
  EXPECT_NE(f.post("/api/translate", {{"text", "Hallo."}, {"beam", "x"}}, 400)["error"].get<std::string>().find("beam"),
            std::string::npos);
  std::string long_text;
  for (int i = 0; i < 120; ++i) long_text += "Wort ";
  EXPECT_EQ(f.ex->handle("POST", "/api/translate", {}, json{{"text", long_text}}.dump()).status, 413);
  EXPECT_EQ(f.ex->handle("GET", "/api/translate", {}, "").status, 405);
}

// ---- interventions: every number against explain/interventions.h on the same model ---------------------

TEST(Explorer, AblateMatchesTheLibraryAndAnalyzeShowsTheAblatedAttention) {
  Fixture f;
  const std::string text = "Call me Ishmael. Some";
  json r = f.post("/api/ablate", {{"text", text}, {"heads", {{1, 0}}}, {"mlps", {0}}, {"method", "mean"}, {"k", 3}});
  models::LoadedGPT m = models::load_gpt(f.dir, ATTN_SOURCE_DIR);
  const std::vector<int64_t> ids = m.tokenizer.encode(text);
  explain::AblationSpec spec;
  spec.heads = {{1, 0}};
  spec.mlps = {0};
  spec.method = "mean";
  const explain::AblationResult want = explain::ablate(*m.model, ids, spec, -1, 3);
  EXPECT_NEAR(r["loss"].get<double>(), want.loss, 1e-9);
  EXPECT_NEAR(r["loss_ablated"].get<double>(), want.loss_ablated, 1e-9);
  EXPECT_EQ(r["kl"].size(), ids.size());
  EXPECT_EQ(r["token_loss"].size(), ids.size() - 1);
  ASSERT_EQ(r["top"].size(), 3u);
  EXPECT_EQ(r["top"][0]["id"], want.top[0].id);
  EXPECT_EQ(r["top"][0]["token"], m.tokenizer.label(want.top[0].id));
  EXPECT_EQ(r["position"], static_cast<int64_t>(ids.size()) - 1);
  EXPECT_TRUE(r.contains("elapsed_ms"));

  // /api/analyze with the same ablation: layer 1's attention differs from the intact analysis only
  // through layer 0's MLP (ablated) — layer 0's attention is the intact one.
  json intact = f.post("/api/analyze", {{"text", text}});
  json ablated =
      f.post("/api/analyze", {{"text", text}, {"ablation", {{"heads", {{1, 0}}}, {"mlps", {0}}, {"method", "mean"}}}});
  EXPECT_EQ(ablated["ablation"]["method"], "mean");
  auto matrix = [&](const json& a, int layer) {
    return decode_floats(
        f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", std::to_string(layer)}, {"head", "0"}})["matrix"]);
  };
  EXPECT_EQ(matrix(intact, 0), matrix(ablated, 0));
  EXPECT_NE(matrix(intact, 1), matrix(ablated, 1));
}

TEST(Explorer, AblationGridLogitLensAndPatchMatchTheLibrary) {
  Fixture f;
  const std::string text = "Call me Ishmael.";
  models::LoadedGPT m = models::load_gpt(f.dir, ATTN_SOURCE_DIR);
  const std::vector<int64_t> ids = m.tokenizer.encode(text);
  json g = f.post("/api/ablation_grid", {{"text", text}, {"method", "zero"}});
  const explain::AblationGrid want = explain::ablation_grid(*m.model, ids, "zero");
  ASSERT_EQ(g["head_delta"].size(), 2u);
  ASSERT_EQ(g["head_delta"][1].size(), 2u);
  EXPECT_NEAR(g["head_delta"][1][0].get<double>(), want.head_delta.at({1, 0}), 1e-6);
  EXPECT_NEAR(g["mlp_delta"][0].get<double>(), want.mlp_delta.at({0}), 1e-6);
  EXPECT_NEAR(g["loss"].get<double>(), want.loss, 1e-9);

  json lens = f.post("/api/logit_lens", {{"text", text}, {"k", 2}});
  EXPECT_EQ(lens["n_rows"], 3);
  EXPECT_EQ(lens["top_ids"].size(), 3u);
  EXPECT_EQ(lens["top_ids"][2].size(), ids.size());
  const explain::LogitLens wl = explain::logit_lens(*m.model, ids, 2);
  EXPECT_EQ(lens["top_ids"][2][4][0].get<int64_t>(), static_cast<int64_t>(wl.top_ids.at({2, 4, 0})));
  const std::string key = std::to_string(lens["top_ids"][2][4][0].get<int64_t>());
  EXPECT_EQ(lens["labels"][key], m.tokenizer.label(lens["top_ids"][2][4][0].get<int64_t>()));
  EXPECT_EQ(lens["target_rank"][0].size(), ids.size() - 1);

  json p = f.post("/api/patch", {{"clean", "Call me Ishmael."}, {"corrupt", "Call me Ismhael."}, {"target", "."}});
  EXPECT_EQ(p["target_token"], ".");
  EXPECT_EQ(p["differ"], json({10, 11}));
  EXPECT_EQ(p["resid"].size(), 3u);
  EXPECT_EQ(p["heads"].size(), 2u);
  const explain::PatchingResult wp = explain::activation_patching(*m.model, m.tokenizer.encode("Call me Ishmael."),
                                                                  m.tokenizer.encode("Call me Ismhael."), p["target"]);
  EXPECT_NEAR(p["p_clean"].get<double>(), wp.p_clean, 1e-9);
  EXPECT_NEAR(p["resid"][1][11].get<double>(), wp.resid.at({1, 11}), 1e-6);
  EXPECT_NEAR(p["heads"][1][1].get<double>(), wp.heads.at({1, 1}), 1e-6);
}

TEST(Explorer, InterventionErrorsNameWhatWasWrong) {
  Fixture f;
  auto err = [](const json& j) { return j.value("error", std::string("(no error field)")); };
  EXPECT_NE(err(f.post("/api/patch", {{"clean", "Call me"}, {"corrupt", "Call"}}, 400))
                .find("7 tokens and the corrupted one 4"),
            std::string::npos);
  EXPECT_NE(
      err(f.post("/api/patch", {{"clean", "Call"}, {"corrupt", "Cell"}, {"target", "ab"}}, 400)).find("one token"),
      std::string::npos);
  EXPECT_NE(err(f.post("/api/ablate", {{"text", "Call me"}, {"heads", {{2, 0}}}}, 400)).find("does not exist"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/ablate", {{"text", "Call me"}, {"heads", {1, 0}}}, 400)).find("[layer, head] pair"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/ablate", {{"text", "Call me"}, {"method", "noise"}}, 400)).find("noise"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/ablate", {{"text", "C"}}, 400)).find("at least 2"), std::string::npos);
  EXPECT_NE(err(f.post("/api/ablation_grid", {{"text", std::string(30, 'a')}}, 413)).find("context is 24"),
            std::string::npos);
  EXPECT_NE(err(f.post("/api/logit_lens", {{"text", "Call"}, {"k", 0}}, 400)).find("\"k\""), std::string::npos);
  EXPECT_NE(err(f.post("/api/analyze", {{"text", "Call me"}, {"masked", {6}}}, 400)).find("cannot be masked"),
            std::string::npos);
  EXPECT_NE(
      err(f.post("/api/analyze", {{"text", "Call me"}, {"masked", {1}}, {"ablation", {{"heads", {{0, 0}}}}}}, 400))
          .find("cannot be combined"),
      std::string::npos);
}

TEST(Explorer, MaskedTokensGetNoAttention) {
  Fixture f;
  json a = f.post("/api/analyze", {{"text", "Call me Ishmael"}, {"masked", {2, 5}}});
  EXPECT_EQ(a["masked"], json({2, 5}));
  const std::vector<float> w =
      decode_floats(f.call("GET", "/api/attention", {{"id", a["id"]}, {"layer", "1"}, {"head", "1"}})["matrix"]);
  const int64_t T = a["T"];
  for (int64_t q = 0; q < T; ++q) {
    if (q >= 2) {
      EXPECT_EQ(w[static_cast<size_t>(q * T + 2)], 0.f) << q;
    }
    if (q >= 5) {
      EXPECT_EQ(w[static_cast<size_t>(q * T + 5)], 0.f) << q;
    }
  }
  EXPECT_GT(w[static_cast<size_t>((T - 1) * T + 3)], 0.f);
}

TEST(Explorer, CostlySweepsAreRefusedNamingWhatFits) {
  explore::Limits lim;
  lim.max_intervention_flops = 5e5;  // a few tokens' worth on the tiny model
  Fixture f(lim);
  auto err = [](const json& j) { return j.value("error", std::string("(no error field)")); };
  const std::string e = err(f.post("/api/ablation_grid", {{"text", "Call me Ishmael."}}, 413));
  EXPECT_NE(e.find("use at most"), std::string::npos) << e;
  const std::string e2 =
      err(f.post("/api/patch", {{"clean", "Call me Ishmael."}, {"corrupt", "Call me Ismhael."}}, 413));
  EXPECT_NE(e2.find("patching of 16 tokens"), std::string::npos) << e2;
  // What the message names fits: a text of that many tokens is answered.
  const auto at = e.find("use at most ");
  const int n = std::atoi(e.c_str() + at + 12);
  ASSERT_GE(n, 2) << e;
  f.post("/api/ablation_grid", {{"text", std::string("Call me Ishmael.").substr(0, static_cast<size_t>(n))}});
  EXPECT_EQ(f.call("GET", "/api/info")["limits"]["max_intervention_flops"], 5e5);
}
