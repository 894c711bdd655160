// The CLIP-style dual encoder (attn/models/clip.h): the symmetric InfoNCE loss written out by hand, unit embeddings,
// the text tower's padding mask and </s> pooling, gradients by finite differences (images and the temperature; the
// whole model is checked against PyTorch in tests/torch/test_clip_vs_torch.cpp), tokenization, the folder round
// trip and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "attn/autograd/autograd.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/explain/clip_explain.h"
#include "attn/models/clip.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"
#include "test_util.h"

namespace attn::models {
namespace {

ClipConfig tiny() {
  ClipConfig c;
  c.image_size = 8, c.patch_size = 4;
  c.vision_hidden_size = 16, c.vision_layers = 1, c.vision_heads = 2, c.vision_intermediate_size = 24;
  c.vocab_size = 20, c.max_position_embeddings = 8;
  c.text_hidden_size = 12, c.text_layers = 2, c.text_heads = 2, c.text_intermediate_size = 16;
  c.projection_dim = 6;
  return c;
}

const IndexTensor kIds({2, 5, 9, 3, 0, 0,  //
                        2, 7, 3, 0, 0, 0,  //
                        2, 11, 12, 13, 14, 3},
                       {3, 6});

TEST(Clip, LossIsTheSymmetricInfoNceOfTheCosineMatrix) {
  Generator gen(5);
  ClipModel m(tiny(), gen);
  const Tensor images = Tensor::randn({3, 3, 8, 8}, gen);
  NoGradGuard ng;
  const ClipOutput out = m.forward(images, kIds);
  ASSERT_EQ(out.logits_per_image.shape(), (Shape{3, 3}));
  for (const Tensor* e : {&out.image_embeds, &out.text_embeds})
    for (int64_t b = 0; b < 3; ++b) {
      double n = 0;
      for (int64_t k = 0; k < 6; ++k) n += std::pow(e->data()[b * 6 + k], 2);
      EXPECT_NEAR(n, 1.0, 1e-5);  // unit rows
    }
  const float scale = std::exp(m.logit_scale.data()[0]);
  EXPECT_NEAR(scale, 1 / 0.07, 1e-3);
  double loss = 0;
  for (int64_t i = 0; i < 3; ++i) {
    double zr = 0, zc = 0;
    double sim[3], simt[3];
    for (int64_t j = 0; j < 3; ++j) {
      double dot = 0, dott = 0;
      for (int64_t k = 0; k < 6; ++k) {
        dot += out.image_embeds.data()[i * 6 + k] * out.text_embeds.data()[j * 6 + k];
        dott += out.image_embeds.data()[j * 6 + k] * out.text_embeds.data()[i * 6 + k];
      }
      sim[j] = scale * dot, simt[j] = scale * dott;
      EXPECT_NEAR(out.logits_per_image.data()[i * 3 + j], sim[j], 1e-4);
      EXPECT_NEAR(out.logits_per_text.data()[j * 3 + i], sim[j], 1e-4);
      zr += std::exp(sim[j]), zc += std::exp(simt[j]);
    }
    loss += 0.5 * ((std::log(zr) - sim[i]) + (std::log(zc) - simt[i])) / 3;
  }
  EXPECT_NEAR(m.loss(images, kIds).item(), loss, 1e-4);
}

TEST(Clip, PaddingIsMaskedAndTheEndTokenPools) {
  Generator gen(6);
  ClipModel m(tiny(), gen);
  NoGradGuard ng;
  m.eval();
  // Row 1 alone, without padding, gives the same embedding as inside the padded batch.
  const Tensor batch = m.get_text_features(kIds);
  const Tensor alone = m.get_text_features(IndexTensor({2, 7, 3}, {1, 3}));
  EXPECT_LT(max_abs_diff(slice(batch, 0, 1, 2), alone), 1e-5);
  // What follows </s> and is padding changes nothing; the pooled token is </s>: changing a piece changes it.
  const Tensor other = m.get_text_features(IndexTensor({2, 8, 3}, {1, 3}));
  EXPECT_GT(max_abs_diff(alone, other), 1e-3);
  EXPECT_NE(testing::error_of([&] { m.get_text_features(IndexTensor({2, 7, 0}, {1, 3})); }).find("no </s>"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { m.get_text_features(IndexTensor({2, 70, 3}, {1, 3})); }).find("outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { m.get_text_features(IndexTensor(std::vector<int64_t>(9, 3), {1, 9})); })
                .find("longer than the model's 8"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { m.get_image_features(Tensor::zeros({1, 1, 8, 8})); }).find("images must be (B, 3, 8, 8)"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { m.loss(Tensor::zeros({2, 3, 8, 8}), kIds); }).find("B images needs B texts"),
            std::string::npos);
}

TEST(Clip, GradientsOfImagesAndTemperatureMatchFiniteDifferences) {
  Generator gen(7);
  ClipModel m(tiny(), gen);
  m.logit_scale.data()[0] = 0.5f;  // a temperature at which the loss is not saturated
  const Tensor images = Tensor::randn({3, 3, 8, 8}, gen);
  testing::GradCheckOptions o;
  o.h = 1.0 / 64;
  const testing::GradCheckResult r = testing::gradcheck(
      [&](const std::vector<Tensor>& in) { return m.loss(in[0], kIds); }, {images}, {true}, o);
  EXPECT_TRUE(r.ok) << r.report;
  m.zero_grad();
  m.loss(images, kIds).backward();
  const double analytic = m.logit_scale.grad().data()[0];
  NoGradGuard ng;
  const float h = 1.f / 256;
  m.logit_scale.data()[0] = 0.5f + h;
  const double up = m.loss(images, kIds).item();
  m.logit_scale.data()[0] = 0.5f - h;
  const double down = m.loss(images, kIds).item();
  EXPECT_NEAR(analytic, (up - down) / (2 * h), 2e-3);
  // The paper's clipping: at most ln 100.
  m.logit_scale.data()[0] = 9.f;
  m.clamp_logit_scale();
  EXPECT_NEAR(m.temperature_inverse(), 100.f, 1e-3);
}

TEST(Clip, TokenizeLowerCasesWrapsAndPads) {
  std::vector<std::string> text;
  for (int i = 0; i < 40; ++i) text.push_back(i % 2 ? "grinning face" : "red heart with a cat");
  data::SubwordOptions so;
  so.vocab_size = 40;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(text, so);
  const IndexTensor ids = clip_tokenize(tok, {"Red Heart", "red heart with a cat grinning face"}, 6);
  ASSERT_EQ(ids.shape[0], 2);
  ASSERT_EQ(ids.shape[1], 6);  // the long one cut to 4 pieces
  const std::vector<int64_t> red = tok.encode("red heart");
  EXPECT_EQ(ids.data[0], data::SubwordTokenizer::bos_id);
  for (size_t k = 0; k < red.size(); ++k) EXPECT_EQ(ids.data[1 + k], red[k]);  // lower-cased
  EXPECT_EQ(ids.data[1 + red.size()], data::SubwordTokenizer::eos_id);
  for (size_t k = red.size() + 2; k < 6; ++k) EXPECT_EQ(ids.data[k], data::SubwordTokenizer::pad_id);
  EXPECT_EQ(ids.data[11], data::SubwordTokenizer::eos_id);
  EXPECT_NE(testing::error_of([&] { clip_tokenize(tok, {"  "}, 6); }).find("empty"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { clip_tokenize(tok, {}, 6); }).find("no texts"), std::string::npos);
}

TEST(Clip, FolderRoundTripAndRetrievalOfAModelThatKnowsItsPairs) {
  // evaluate_clip's recalls against a brute-force count of each image's rank of its own text, on a random model.
  Generator gen(8);
  ClipConfig c = tiny();
  std::vector<std::string> text;
  for (int i = 0; i < 40; ++i) text.push_back(i % 2 ? "grinning face" : "red heart with a cat");
  data::SubwordOptions so;
  so.vocab_size = 20;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(text, so);
  c.vocab_size = tok.vocab_size();
  ClipModel m(c, gen);
  data::ImageDataset d;
  d.channels = 3, d.height = d.width = 8;
  for (int i = 0; i < 12; ++i) {
    for (int k = 0; k < 3 * 64; ++k) d.pixels.push_back(static_cast<uint8_t>(gen.randint(256)));
    d.labels.push_back(i);
  }
  const std::vector<int64_t> idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const std::vector<std::string> names = {"red", "heart", "cat", "face", "grin", "with", "a", "red cat", "heart face",
                                          "grinning", "red heart", "cat face"};
  const ClipRetrieval r = evaluate_clip(m, tok, d, idx, names);
  const Tensor sim = matmul(clip_image_embeddings(m, d, idx), clip_text_embeddings(m, tok, names), false, true);
  double r1 = 0, r5 = 0, r10 = 0, t5 = 0;
  for (int64_t i = 0; i < 12; ++i) {
    int64_t above = 0, above_t = 0;
    for (int64_t j = 0; j < 12; ++j) {
      above += sim.data()[i * 12 + j] > sim.data()[i * 12 + i];
      above_t += sim.data()[j * 12 + i] > sim.data()[i * 12 + i];
    }
    r1 += above < 1, r5 += above < 5, r10 += above < 10, t5 += above_t < 5;
  }
  EXPECT_DOUBLE_EQ(r.image_to_text[0], r1 / 12);
  EXPECT_DOUBLE_EQ(r.image_to_text[1], r5 / 12);
  EXPECT_DOUBLE_EQ(r.image_to_text[2], r10 / 12);
  EXPECT_DOUBLE_EQ(r.text_to_image[1], t5 / 12);

  // Its loss is the model's InfoNCE of the 12 pairs.
  {
    NoGradGuard ng;
    m.eval();
    EXPECT_NEAR(r.loss, m.loss(clip_images(d, idx, c), clip_tokenize(tok, names, c.max_position_embeddings)).item(),
                1e-4);
  }
  // Saved and loaded: the same embeddings; F16 within half precision.
  const std::string dir = testing::fresh_dir("clip_folder");
  save_clip(dir + "/f32", m, tok);
  LoadedClip back = load_clip(dir + "/f32");
  EXPECT_EQ(back.tokenizer.vocab_size(), tok.vocab_size());
  EXPECT_LT(max_abs_diff(clip_text_embeddings(*back.model, back.tokenizer, names), clip_text_embeddings(m, tok, names)),
            1e-6);
  save_clip(dir + "/f16", m, tok, "F16");
  EXPECT_LT(max_abs_diff(clip_image_embeddings(*load_clip(dir + "/f16").model, d, idx), clip_image_embeddings(m, d, idx)),
            2e-2);
  EXPECT_NE(testing::error_of([&] { load_clip(dir + "/none"); }).find("attn train clip"), std::string::npos);
  // A config.json that asks for the impossible is refused by name, before anything is allocated.
  for (const auto& [field, value, why] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"image_size", "1e300", "image_size must be an integer"},
           {"vision_hidden_size", "1000000000", "sizes beyond what this ViT supports"},
           {"vocab_size", "-3", "vocab_size must be positive"},
           {"image_mean", "[1e300, 0, 0]", "image_mean must be a finite number"},
           {"dropout", "\"x\"", "dropout must be a finite number"}}) {
    std::ifstream in(dir + "/f16/config.json");
    nlohmann::json j = nlohmann::json::parse(in);
    j[field] = nlohmann::json::parse(value);
    std::filesystem::create_directories(dir + "/bad");
    std::ofstream(dir + "/bad/config.json") << j.dump();
    EXPECT_NE(testing::error_of([&] { load_clip(dir + "/bad"); }).find(why), std::string::npos) << field;
  }
  std::filesystem::remove(dir + "/f32/spm.model");
  EXPECT_NE(testing::error_of([&] { load_clip(dir + "/f32"); }).find("no spm.model"), std::string::npos);
}

TEST(Clip, ExplanationsOfBothTowersAndOfEachWord) {
  std::vector<std::string> text;
  for (int i = 0; i < 40; ++i) text.push_back(i % 2 ? "grinning face" : "red heart with a cat");
  data::SubwordOptions so;
  so.vocab_size = 30;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(text, so);
  ClipConfig c = tiny();
  c.vocab_size = tok.vocab_size();
  Generator gen(10);
  ClipModel m(c, gen);
  m.train();
  const Tensor image = Tensor::randn({1, 3, 8, 8}, gen);
  const explain::ClipExplanation e = explain::explain_clip(m, tok, image, "Red heart");
  EXPECT_TRUE(m.is_training());  // the mode comes back
  for (const auto& [name, p] : m.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;  // .grad untouched
  {
    NoGradGuard ng;
    m.eval();
    const Tensor want = sum(m.get_image_features(image) *
                            m.get_text_features(clip_tokenize(tok, {"red heart"}, c.max_position_embeddings)));
    EXPECT_NEAR(e.similarity, want.item(), 1e-5);
  }
  EXPECT_EQ(e.grid, 2);
  EXPECT_EQ(e.image_relevance.size(), 4u);
  EXPECT_EQ(e.image_attention.size(), 4u);
  const IndexTensor ids = clip_tokenize(tok, {"red heart"}, c.max_position_embeddings);
  ASSERT_EQ(e.tokens.size(), static_cast<size_t>(ids.shape[1]));
  EXPECT_EQ(e.tokens.front(), "<s>");
  EXPECT_EQ(e.tokens.back(), "</s>");
  EXPECT_EQ(e.text_relevance.size(), e.tokens.size());
  float attention_sum = 0;  // a softmax row over the tokens
  for (float a : e.text_attention) attention_sum += a;
  EXPECT_NEAR(attention_sum, 1.f, 1e-5);
  EXPECT_EQ(e.words, (std::vector<std::string>{"red", "heart"}));
  ASSERT_EQ(e.word_relevance.size(), 2u);
  EXPECT_NE(e.word_relevance[0], e.word_relevance[1]);  // each word's own gradient
  EXPECT_NE(testing::error_of([&] { explain::explain_clip(m, tok, Tensor::zeros({2, 3, 8, 8}), "red"); })
                .find("one picture at a time"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { explain::explain_clip(m, tok, image, " "); }).find("empty"), std::string::npos);
}

TEST(Clip, ShiftedPicturesMoveOnWhite) {
  ClipConfig c = tiny();
  c.image_mean = {0, 0, 0}, c.image_std = {1, 1, 1};
  data::ImageDataset d;
  d.channels = 3, d.height = d.width = 8;
  d.pixels.assign(3 * 64, 0);  // black
  d.labels = {0};
  Generator gen(9);
  const Tensor x = clip_images(d, {0}, c, 3, &gen);
  Generator again(9);
  const int64_t dy = static_cast<int64_t>(again.randint(7)) - 3, dx = static_cast<int64_t>(again.randint(7)) - 3;
  int64_t white = 0;
  for (int64_t i = 0; i < 64; ++i) white += x.data()[i] == 1.f;
  EXPECT_EQ(white, 64 - (8 - std::abs(dy)) * (8 - std::abs(dx)));  // what the move uncovered
  EXPECT_NE(testing::error_of([&] { clip_images(d, {1}, c); }).find("outside"), std::string::npos);
}

}  // namespace
}  // namespace attn::models
