// The explorer's Image tab (/api/image/..., src/attn/explore/image_view.h), called through Explorer::handle on
// a small random ViT and six made-up test pictures: every number it sends is checked against the model and
// the explain layer called directly, and every kind of bad request gets its 4xx and a message.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/data/char_tokenizer.h"
#include "attn/explain/faithfulness.h"
#include "attn/explain/vit_explain.h"
#include "attn/explore/explorer.h"
#include "attn/explore/image_view.h"
#include "attn/models/gpt_config_json.h"
#include "attn/models/gpt_loader.h"
#include "attn/nn/checkpoint.h"
#include "attn/ops/ops.h"
#include "attn/viz/image.h"
#include "gpt_fixtures.h"
#include "test_util.h"

using namespace attn;
using json = nlohmann::json;
using attn::testing::base64_decode;
using attn::testing::decode_floats;

namespace {

models::ViTConfig vit_config() {
  models::ViTConfig c;
  c.image_size = 8;
  c.patch_size = 4;  // a 2 × 2 grid: N = 4 patches, T = 5 tokens
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.num_labels = 3;
  c.id2label = {"cat", "dog", "owl"};
  return c;
}

models::ImagePreprocess vit_preprocess() {
  models::ImagePreprocess pp;
  pp.height = pp.width = 8;
  pp.image_mean = {0.5f};
  pp.image_std = {0.25f};
  return pp;
}

models::LoadedViT make_vit() {
  Generator gen(5);
  models::LoadedViT v;
  v.model = std::make_unique<models::ViTForImageClassification>(vit_config(), gen);
  v.preprocess = vit_preprocess();
  v.dir = "/tiny-vit";
  return v;
}

// Six 8 × 8 grey pictures of random bytes, labels 0, 1, 2, 0, 1, 2.
data::ImageDataset make_pictures() {
  data::ImageDataset d;
  d.channels = 1;
  d.height = d.width = 8;
  Generator gen(9);
  for (int i = 0; i < 6 * 64; ++i) d.pixels.push_back(static_cast<uint8_t>(gen.uniform() * 255.99));
  d.labels = {0, 1, 2, 0, 1, 2};
  d.classes = {"cat", "dog", "owl"};
  return d;
}

struct Fixture {
  std::unique_ptr<explore::Explorer> ex;
  explicit Fixture(bool with_vit = true, bool with_pictures = true, explore::Limits limits = explore::Limits()) {
    ex = std::make_unique<explore::Explorer>(
        models::load_gpt(attn::testing::tiny_char_gpt_folder("image_view_gpt"), ATTN_SOURCE_DIR), "gpt", limits);
    if (with_vit)
      ex->set_image(std::make_unique<explore::ImageExplorer>(
          make_vit(), "tiny-vit", "/tiny-vit", with_pictures ? make_pictures() : data::ImageDataset(), "Made-up"));
  }
  json call(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q = {},
            const std::string& body = "", int expect = 200) {
    explore::ApiResponse r = ex->handle(method, path, q, body);
    EXPECT_EQ(r.status, expect) << method << " " << path << " -> " << r.body.substr(0, 300);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  std::string error(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q,
                    const std::string& body, int expect) {
    json j = call(method, path, q, body, expect);
    return j.contains("error") ? j["error"].get<std::string>() : "(no error)";
  }
};

// Test picture i as the model's input (1, 1, 8, 8).
Tensor picture_tensor(int64_t i) {
  const data::ImageDataset d = make_pictures();
  return models::image_to_tensor(viz::grey_image(d.image(i), 8, 8), vit_preprocess(), 1);
}

}  // namespace

TEST(ImageView, InfoAndGalleryDescribeTheModelAndItsPictures) {
  Fixture f;
  const json info = f.call("GET", "/api/info");
  const json& v = info["vit"];
  ASSERT_TRUE(v.is_object()) << info.dump();
  EXPECT_EQ(v["name"], "tiny-vit");
  EXPECT_EQ(v["grid"], 2);
  EXPECT_EQ(v["patch_size"], 4);
  EXPECT_EQ(v["n_layer"], 2);
  EXPECT_EQ(v["n_head"], 2);
  EXPECT_EQ(v["classes"], json({"cat", "dog", "owl"}));
  EXPECT_EQ(v["methods"].size(), explain::kMethods.size());
  EXPECT_EQ(v["test"]["size"], 6);
  EXPECT_EQ(info["limits"]["max_image_bytes"], explore::Limits().max_image_bytes);

  const json g = f.call("GET", "/api/image/gallery", {{"offset", "2"}, {"count", "10"}});
  EXPECT_EQ(g["count"], 4);  // cut at the end of the set
  EXPECT_EQ(g["total"], 6);
  EXPECT_EQ(g["labels"], json({2, 0, 1, 2}));
  const std::string px = base64_decode(g["pixels"]);
  const data::ImageDataset d = make_pictures();
  ASSERT_EQ(px.size(), 4u * 64);
  for (size_t i = 0; i < px.size(); ++i) ASSERT_EQ(static_cast<uint8_t>(px[i]), d.pixels[2 * 64 + i]);

  EXPECT_NE(f.error("GET", "/api/image/gallery", {{"offset", "6"}}, "", 400).find("'offset' = 6 is out of range"),
            std::string::npos);
  EXPECT_NE(f.error("GET", "/api/image/gallery", {{"count", "1000"}}, "", 400).find("'count' = 1000"),
            std::string::npos);
  EXPECT_NE(f.error("GET", "/api/image/gallery", {{"count", "x"}}, "", 400).find("must be an integer"),
            std::string::npos);
  EXPECT_EQ(f.call("POST", "/api/image/gallery", {}, "", 405)["error"], "/api/image/gallery takes GET, not POST");
}

TEST(ImageView, ExplainSendsTheModelsPredictionAttentionMapsAndCurves) {
  Fixture f;
  const json r = f.call("POST", "/api/image/explain", {{"index", "4"}});
  EXPECT_EQ(r["index"], 4);
  EXPECT_EQ(r["label"], 1);
  EXPECT_EQ(r["label_name"], "dog");
  EXPECT_EQ(r["judged_against"], "label");

  // The same model and picture, explained directly with the explain layer.
  models::LoadedViT vit = make_vit();
  vit.model->eval();
  const Tensor x = picture_tensor(4);
  const explain::ViTTrace t = explain::trace_vit(*vit.model, x);
  EXPECT_EQ(r["predicted"], t.predicted);
  EXPECT_EQ(r["target"], t.predicted);
  const Tensor probs = softmax(t.logits, -1);
  ASSERT_EQ(r["top"].size(), 3u);
  EXPECT_EQ(r["top"][0]["class"], t.predicted);
  double total = 0;
  for (const json& c : r["top"]) {
    EXPECT_NEAR(c["p"].get<double>(), probs.data()[c["class"].get<int64_t>()], 1e-6);
    EXPECT_EQ(c["name"], vit.model->config().label(c["class"]));
    total += c["p"].get<double>();
  }
  EXPECT_NEAR(total, 1.0, 1e-5);

  // attention (L, H, N): row 0 (CLS) of every layer and head, CLS column dropped.
  const std::vector<float> att = decode_floats(r["attention"]);
  ASSERT_EQ(att.size(), 2u * 2 * 4);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_NEAR(att[(l * 2 + h) * 4 + j], t.trace.attentions[l].data()[h * 25 + 1 + j], 1e-6) << l << h << j;

  // Every method's patch map is what vit_patch_scores gives.
  for (const std::string& m : explain::kMethods) {
    const std::vector<float> got = decode_floats(r["maps"][m]), want = explain::vit_patch_scores(m, t);
    ASSERT_EQ(got.size(), 4u) << m;
    for (size_t j = 0; j < 4; ++j) EXPECT_NEAR(got[j], want[j], 1e-5 * (1 + std::abs(want[j]))) << m << " patch " << j;
  }

  // Curves: the perturbation tests of faithfulness.h on this one picture, for each method and a random ranking.
  const explain::RemovalForward forward = explain::vit_removal_forward(*vit.model, x);
  const std::vector<int64_t> patches = {1, 2, 3, 4};
  const explain::ExampleCurves want =
      explain::example_curves(forward, 5, patches, explain::vit_patch_scores("rollout", t), 1, t.predicted);
  const json& c = r["curves"]["rollout"];
  ASSERT_EQ(c["positive"].size(), explain::kPerturbationFractions.size());
  ASSERT_EQ(c["insertion"].size(), explain::kDeletionFractions.size());
  for (size_t i = 0; i < want.deletion.size(); ++i) {
    EXPECT_NEAR(c["deletion"][i].get<double>(), want.deletion[i], 1e-6);
    EXPECT_NEAR(c["insertion"][i].get<double>(), want.insertion[i], 1e-6);
  }
  for (size_t i = 0; i < want.positive.size(); ++i) EXPECT_EQ(c["positive"][i].get<double>(), want.positive[i]);
  EXPECT_TRUE(r["curves"].contains("random"));
  // Deletion starts from the whole picture (p of the explained class) and insertion ends there.
  EXPECT_NEAR(c["deletion"][0].get<double>(), probs.data()[t.predicted], 1e-5);
  EXPECT_NEAR(c["insertion"].back().get<double>(), probs.data()[t.predicted], 1e-5);

  // The picture as the model read it: the test picture's bytes, R = G = B.
  const std::string rgb = base64_decode(r["image"]["rgb"]);
  ASSERT_EQ(rgb.size(), 64u * 3);
  const data::ImageDataset d = make_pictures();
  for (int i = 0; i < 64; ++i) ASSERT_EQ(static_cast<uint8_t>(rgb[3 * i + 1]), d.image(4)[i]) << i;

  // Another class: the maps explain it, the prediction stays.
  const int64_t other = (t.predicted + 1) % 3;
  const json r2 = f.call("POST", "/api/image/explain", {{"index", "4"}, {"class", std::to_string(other)}});
  EXPECT_EQ(r2["target"], other);
  EXPECT_EQ(r2["predicted"], t.predicted);
  const explain::ViTTrace t2 = explain::trace_vit(*vit.model, x, other);
  const std::vector<float> rel = decode_floats(r2["maps"]["relevance"]),
                           want_rel = explain::vit_patch_scores("relevance", t2);
  for (size_t j = 0; j < 4; ++j) EXPECT_NEAR(rel[j], want_rel[j], 1e-5 * (1 + std::abs(want_rel[j])));
}

TEST(ImageView, AnUploadedPngIsExplainedLikeTheSamePicture) {
  Fixture f;
  const data::ImageDataset d = make_pictures();
  const std::string png = viz::encode_png(viz::grey_image(d.image(2), 8, 8));
  const json up = f.call("POST", "/api/image/explain", {}, png);
  const json test = f.call("POST", "/api/image/explain", {{"index", "2"}});
  EXPECT_TRUE(up["label"].is_null());
  EXPECT_EQ(up["judged_against"], "prediction");
  EXPECT_NE(up["source"].get<std::string>().find("uploaded PNG (8x8)"), std::string::npos) << up["source"];
  EXPECT_EQ(up["predicted"], test["predicted"]);
  for (const std::string& m : explain::kMethods) {
    const std::vector<float> a = decode_floats(up["maps"][m]), b = decode_floats(test["maps"][m]);
    for (size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-4 * (1 + std::abs(b[j]))) << m;
  }
  // Any size is read, resized to the model's 8 × 8 (a model that does not resize its own input too).
  viz::Image big;
  big.width = 24;
  big.height = 16;
  big.pixels.assign(24 * 16, viz::Rgb{200, 10, 10});
  const json r = f.call("POST", "/api/image/explain", {{"class", "2"}}, viz::encode_png(big));
  EXPECT_NE(r["source"].get<std::string>().find("24x16, resized to 8x8"), std::string::npos) << r["source"];
  EXPECT_EQ(r["target"], 2);
  EXPECT_EQ(r["image"]["width"], 8);
}

TEST(ImageView, BadRequestsGetA4xxWithAMessage) {
  explore::Limits limits;
  limits.max_image_bytes = 4000;
  limits.max_image_pixels = 100 * 100;
  Fixture f(true, true, limits);
  auto explain = [&](const std::map<std::string, std::string>& q, const std::string& body, int status) {
    return f.error("POST", "/api/image/explain", q, body, status);
  };
  EXPECT_NE(explain({{"index", "6"}}, "", 400).find("'index' = 6 is out of range [0, 6)"), std::string::npos);
  EXPECT_NE(explain({{"index", "-1"}}, "", 400).find("'index' = -1 is out of range"), std::string::npos);
  EXPECT_NE(explain({{"index", "1"}, {"class", "3"}}, "", 400).find("'class' = 3 is out of range [0, 3)"),
            std::string::npos);
  EXPECT_NE(explain({}, "", 400).find("either ?index=N"), std::string::npos);
  const std::string png = viz::encode_png(viz::grey_image(make_pictures().image(0), 8, 8));
  EXPECT_NE(explain({{"index", "1"}}, png, 400).find("not both"), std::string::npos);
  EXPECT_NE(explain({}, "GIF89a this is not a PNG", 400).find("not a PNG picture"), std::string::npos);
  // A PNG's header is read before its pixels: a huge one is refused without decoding it.
  std::string bomb = png;
  bomb[16] = bomb[20] = 0;
  bomb[17] = bomb[21] = 0x10;  // 4096 × 4096 (+ the low bytes): over the 100 × 100 limit
  EXPECT_NE(explain({}, bomb, 413).find("the limit is 10000 pixels"), std::string::npos);
  EXPECT_NE(explain({}, png.substr(0, 40), 400).find("could not be read"), std::string::npos);  // truncated
  EXPECT_NE(explain({}, std::string(5000, 'x'), 413).find("the limit is 4000"), std::string::npos);
  // The other routes keep their own, smaller body limit.
  EXPECT_EQ(f.ex->handle("POST", "/api/analyze", {}, std::string(limits.max_body_bytes + 1, ' ')).status, 413);

  Fixture no_pictures(true, false);
  EXPECT_NE(no_pictures.error("POST", "/api/image/explain", {{"index", "0"}}, "", 404).find("dataset-fashion-mnist"),
            std::string::npos);
  EXPECT_NE(no_pictures.error("GET", "/api/image/gallery", {}, "", 404).find("no test pictures"), std::string::npos);
  EXPECT_TRUE(no_pictures.call("GET", "/api/info")["vit"]["test"].is_null());
  EXPECT_EQ(no_pictures.call("POST", "/api/image/explain", {}, png)["label"], nullptr);

  Fixture no_vit(false);
  EXPECT_TRUE(no_vit.call("GET", "/api/info")["vit"].is_null());
  EXPECT_NE(no_vit.error("POST", "/api/image/explain", {{"index", "0"}}, "", 404).find("--vit DIR"), std::string::npos);
}
