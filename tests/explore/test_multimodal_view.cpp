// The explorer's Multimodal tab (/api/multimodal/..., src/attn/explore/multimodal_view.h), called through
// Explorer::handle on a small random CLIP and a dozen made-up "emoji": the ranking and every map it sends are checked
// against the model and the explain layer called directly, and every kind of bad request gets its 4xx and a message.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/explain/clip_explain.h"
#include "attn/explore/explorer.h"
#include "attn/explore/multimodal_view.h"
#include "attn/models/gpt_loader.h"
#include "attn/ops/ops.h"
#include "gpt_fixtures.h"
#include "test_util.h"

using namespace attn;
using json = nlohmann::json;
using attn::testing::base64_decode;
using attn::testing::decode_floats;

namespace {

const std::vector<std::string> kNames = {"red heart", "grinning face", "cat face", "rocket",    "happy cat", "blue heart",
                                         "sun",       "moon face",     "red apple", "grinning cat", "tree", "fire"};

data::SubwordTokenizer tokenizer() {
  std::vector<std::string> text;
  for (int r = 0; r < 4; ++r) text.insert(text.end(), kNames.begin(), kNames.end());
  data::SubwordOptions so;
  so.vocab_size = 40;
  return data::SubwordTokenizer::train(text, so);
}

models::ClipConfig config(int64_t vocab) {
  models::ClipConfig c;
  c.image_size = 8, c.patch_size = 4;
  c.vision_hidden_size = 16, c.vision_layers = 1, c.vision_heads = 2, c.vision_intermediate_size = 24;
  c.vocab_size = vocab, c.max_position_embeddings = 10;
  c.text_hidden_size = 16, c.text_layers = 1, c.text_heads = 2, c.text_intermediate_size = 24;
  c.projection_dim = 8;
  return c;
}

data::EmojiSet emoji() {
  data::EmojiSet s;
  s.images.channels = 3, s.images.height = s.images.width = 8;
  Generator gen(4);
  for (size_t i = 0; i < kNames.size(); ++i) {
    for (int k = 0; k < 3 * 64; ++k) s.images.pixels.push_back(static_cast<uint8_t>(gen.randint(256)));
    s.images.labels.push_back(static_cast<int64_t>(i));
    s.images.classes.push_back(kNames[i]);
    s.emoji.push_back({"e" + std::to_string(i), kNames[i], {}, "g" + std::to_string(i)});
  }
  return s;
}

models::LoadedClip clip() {
  models::LoadedClip c{nullptr, tokenizer(), "/tiny-clip"};
  Generator gen(6);
  c.model = std::make_unique<models::ClipModel>(config(c.tokenizer.vocab_size()), gen);
  return c;
}

struct Fixture {
  std::unique_ptr<explore::Explorer> ex;
  explicit Fixture(bool with_clip = true) {
    ex = std::make_unique<explore::Explorer>(
        models::load_gpt(attn::testing::tiny_char_gpt_folder("multimodal_view_gpt"), ATTN_SOURCE_DIR), "gpt");
    if (with_clip)
      ex->set_multimodal(std::make_unique<explore::MultimodalExplorer>(clip(), "tiny-clip", "/tiny-clip", [] { return emoji(); }));
  }
  json call(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q = {},
            int expect = 200) {
    explore::ApiResponse r = ex->handle(method, path, q, "");
    EXPECT_EQ(r.status, expect) << method << " " << path << " -> " << r.body.substr(0, 300);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  std::string error(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q,
                    int expect) {
    json j = call(method, path, q, expect);
    return j.contains("error") ? j["error"].get<std::string>() : "(no error)";
  }
};

}  // namespace

TEST(MultimodalView, SearchRanksEveryEmojiByCosineWithTheWords) {
  Fixture f;
  json info = f.call("GET", "/api/info")["clip"];
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info["grid"], 2);
  EXPECT_TRUE(info["emoji"].is_null());  // drawn on the first search, not when the explorer starts
  const json r = f.call("GET", "/api/multimodal/search", {{"q", "Happy cat"}, {"k", "5"}});
  info = f.call("GET", "/api/info")["clip"];
  EXPECT_EQ(info["emoji"], 12);
  EXPECT_EQ(r["total"], 12);
  ASSERT_EQ(r["results"].size(), 5u);
  // The same ranking from the model directly.
  models::LoadedClip c = clip();
  const data::EmojiSet e = emoji();
  std::vector<int64_t> all(12);
  std::iota(all.begin(), all.end(), int64_t{0});
  const Tensor img = models::clip_image_embeddings(*c.model, e.images, all);
  const Tensor txt = models::clip_text_embeddings(*c.model, c.tokenizer, {"happy cat"});
  const Tensor s = matmul(img, txt, false, true);
  std::vector<int64_t> order = all;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s.data()[a] > s.data()[b]; });
  const std::string px = base64_decode(r["pixels"]);
  ASSERT_EQ(px.size(), 5u * 3 * 64);
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(r["results"][k]["index"], order[k]);
    EXPECT_NEAR(r["results"][k]["similarity"].get<double>(), s.data()[order[k]], 1e-5);
    EXPECT_EQ(r["results"][k]["name"], kNames[order[k]]);
    EXPECT_EQ(static_cast<uint8_t>(px[k * 192]), e.images.image(order[k])[0]);
  }
  // A split: only its emoji.
  const data::EmojiSplits sp = data::split_emoji(e);
  const json t = f.call("GET", "/api/multimodal/search", {{"q", "cat"}, {"k", "64"}, {"split", "train"}});
  EXPECT_EQ(t["results"].size(), sp.train.size());
  for (const json& hit : t["results"]) EXPECT_EQ(hit["split"], "train");
}

TEST(MultimodalView, ExplainSendsTheExplainLayersMaps) {
  Fixture f;
  const json r = f.call("POST", "/api/multimodal/explain", {{"index", "4"}, {"q", "happy cat"}});
  models::LoadedClip c = clip();
  const data::EmojiSet e = emoji();
  const explain::ClipExplanation want =
      explain::explain_clip(*c.model, c.tokenizer, models::clip_images(e.images, {4}, c.model->config()), "happy cat");
  EXPECT_EQ(r["name"], "happy cat");
  EXPECT_NEAR(r["similarity"].get<double>(), want.similarity, 1e-5);
  const std::vector<float> rel = decode_floats(r["image_relevance"]);
  ASSERT_EQ(rel.size(), want.image_relevance.size());
  for (size_t i = 0; i < rel.size(); ++i) EXPECT_NEAR(rel[i], want.image_relevance[i], 1e-5);
  ASSERT_EQ(r["words"].size(), 2u);
  EXPECT_EQ(r["words"][1]["word"], "cat");
  const std::vector<float> cat = decode_floats(r["words"][1]["relevance"]);
  for (size_t i = 0; i < cat.size(); ++i) EXPECT_NEAR(cat[i], want.word_relevance[1][i], 1e-5);
  EXPECT_EQ(r["tokens"], json(want.tokens));
}

TEST(MultimodalView, BadRequestsAreRefusedWithTheReason) {
  Fixture f;
  EXPECT_NE(f.error("GET", "/api/multimodal/search", {}, 400).find("missing query parameter 'q'"), std::string::npos);
  EXPECT_NE(f.error("GET", "/api/multimodal/search", {{"q", "  "}}, 400).find("empty"), std::string::npos);
  EXPECT_NE(f.error("GET", "/api/multimodal/search", {{"q", std::string(301, 'a')}}, 413).find("the limit is 300"),
            std::string::npos);
  EXPECT_NE(f.error("GET", "/api/multimodal/search", {{"q", "cat"}, {"k", "0"}}, 400).find("'k'"), std::string::npos);
  EXPECT_NE(f.error("GET", "/api/multimodal/search", {{"q", "cat"}, {"split", "nope"}}, 400).find("'split'"),
            std::string::npos);
  EXPECT_NE(f.error("POST", "/api/multimodal/explain", {{"index", "12"}, {"q", "cat"}}, 400).find("out of range"),
            std::string::npos);
  EXPECT_EQ(f.call("POST", "/api/multimodal/search", {{"q", "cat"}}, 405).count("error"), 1u);
  // Emoji that cannot be drawn (a missing font): the tab's requests say so.
  auto ex = std::make_unique<explore::Explorer>(
      models::load_gpt(attn::testing::tiny_char_gpt_folder("multimodal_view_gpt"), ATTN_SOURCE_DIR), "gpt");
  ex->set_multimodal(std::make_unique<explore::MultimodalExplorer>(clip(), "tiny-clip", "/tiny-clip", [] {
    data::EmojiOptions o;
    o.font = "/nonexistent.ttf";
    return data::load_emoji(o);
  }));
  const explore::ApiResponse missing = ex->handle("GET", "/api/multimodal/search", {{"q", "cat"}}, "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("fonts-noto-color-emoji"), std::string::npos) << missing.body;
  Fixture none(false);
  EXPECT_TRUE(none.call("GET", "/api/info")["clip"].is_null());
  EXPECT_NE(none.error("GET", "/api/multimodal/search", {{"q", "cat"}}, 404).find("--clip DIR"), std::string::npos);
}
