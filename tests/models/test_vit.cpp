// The Vision Transformer (attn/models/vit.h) beyond the live torch check (tests/torch/test_vit_vs_torch.cpp):
// patches, shapes and errors, removed tokens = tokens left out of the sequence, recorded attention, the
// folder round trip and the picture -> tensor preprocessing.
#include <gtest/gtest.h>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn::testing {
namespace {

models::ViTConfig small() {
  models::ViTConfig c;
  c.image_size = 8;
  c.patch_size = 4;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.num_labels = 3;
  c.id2label = {"a", "b", "c"};
  return c;
}

TEST(ViT, PatchifyCutsRowByRowInChannelRowColumnOrder) {
  Tensor img = Tensor::arange(2 * 4 * 4);  // one image, 2 channels of 4x4: value = c*16 + y*4 + x
  Tensor p = models::patchify(reshape(img, {1, 2, 4, 4}), 2);
  ASSERT_EQ(p.shape(), Shape({1, 4, 8}));
  // patch 1 = top right: rows 0-1, columns 2-3; channel 0 then channel 1
  EXPECT_EQ(reshape(slice(p, 1, 1, 2), {8}).to_vector(), std::vector<float>({2, 3, 6, 7, 18, 19, 22, 23}));
  EXPECT_NE(error_of([] {
              models::patchify(Tensor::zeros({1, 1, 5, 4}), 2);
            }).find("not a whole number of 2x2 patches"),
            std::string::npos);
}

TEST(ViT, ShapesRecordedAttentionAndBadInput) {
  Generator gen(1);
  models::ViTForImageClassification m(small(), gen);
  m.eval();
  Tensor images = Tensor::randn({3, 1, 8, 8}, gen);
  models::ViTForwardOptions o;
  o.output_attentions = true;
  o.output_hidden_states = true;
  NoGradGuard ng;
  models::ImageClassifierOutput out = m.forward(images, o);
  EXPECT_EQ(out.logits.shape(), Shape({3, 3}));
  ASSERT_EQ(out.attentions.size(), 2u);
  EXPECT_EQ(out.attentions[1].shape(), Shape({3, 2, 5, 5}));  // T = 4 patches + CLS
  for (int64_t r = 0; r < 3 * 2 * 5; ++r) {                   // every row a distribution
    double s = 0;
    for (int64_t j = 0; j < 5; ++j) s += out.attentions[1].data()[r * 5 + j];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  EXPECT_EQ(out.hidden_states.size(), 3u);
  EXPECT_NEAR(max_abs_diff(out.logits, m.forward(images)), 0.0, 1e-6);
  EXPECT_NE(error_of([&] {
              m.forward(Tensor::zeros({1, 1, 9, 9}));
            }).find("expected images (B, 1, 8, 8)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { m.forward(Tensor::zeros({1, 3, 8, 8})); }).find("got (1, 3, 8, 8)"), std::string::npos);
  EXPECT_NE(error_of([&] { m.loss(images, IndexTensor({0, 1, 3})); }).find("label 3 outside 0..2"), std::string::npos);
  models::ViTConfig huge = small();  // a hostile config.json: refused before any allocation
  huge.hidden_size = 16384;
  huge.intermediate_size = 65536;
  huge.num_hidden_layers = 256;
  huge.num_attention_heads = 16;
  EXPECT_NE(error_of([&] { huge.validate(); }).find("billion parameters"), std::string::npos);
  huge = small();
  huge.hidden_size = 1 << 20;
  EXPECT_NE(error_of([&] { huge.validate(); }).find("beyond what this ViT supports"), std::string::npos);
  models::ViTConfig bad = small();
  bad.patch_size = 3;
  EXPECT_NE(error_of([&] { models::ViTForImageClassification(bad, gen); }).find("not a multiple of patch_size"),
            std::string::npos);
}

TEST(ViT, RemovedTokensAreTheSameAsLeavingThemOut) {
  Generator gen(2);
  models::ViTForImageClassification m(small(), gen);
  m.eval();
  NoGradGuard ng;
  Tensor image = Tensor::randn({1, 1, 8, 8}, gen);
  // Remove patches 1 and 3 (tokens 2 and 4).
  models::ViTForwardOptions o;
  o.removed = Tensor::from_vector({0, 0, 1, 0, 1}, {1, 5});
  const Tensor masked = m.forward(image, o).logits;
  // By hand: embed, keep tokens 0, 1, 3, run the layers on 3 tokens, classify the CLS token.
  Tensor x = index_select(m.vit->embeddings->forward(image), 1, IndexTensor({0, 1, 3}));
  for (auto& l : m.vit->layer) x = l->forward(x);
  const Tensor by_hand = m.classifier->forward(squeeze(slice(m.vit->layernorm->forward(x), 1, 0, 1), 1));
  EXPECT_LE(max_abs_diff(masked, by_hand), 1e-5);
  EXPECT_GT(max_abs_diff(masked, m.forward(image)), 1e-4);  // and it did change the answer
  o.removed = Tensor::from_vector({1, 0, 0, 0, 0}, {1, 5});
  EXPECT_NE(error_of([&] { m.forward(image, o); }).find("CLS token"), std::string::npos);
}

TEST(ViT, FolderRoundTripAndPictures) {
  Generator gen(3);
  models::ViTForImageClassification m(small(), gen);
  models::ImagePreprocess pp;
  pp.height = pp.width = 8;
  const std::string dir = fresh_dir("vit_folder");
  models::save_vit(dir, m, pp);
  models::LoadedViT back = models::load_vit(dir);
  EXPECT_EQ(back.model->config().label(2), "c");
  EXPECT_FALSE(back.preprocess.do_resize);
  Tensor images = Tensor::randn({2, 1, 8, 8}, gen);
  NoGradGuard ng;
  m.eval();
  EXPECT_EQ(max_abs_diff(back.model->forward(images), m.forward(images)), 0.0);
  EXPECT_NE(error_of([&] { models::load_vit(dir + "/nowhere"); }).find("no ViT model"), std::string::npos);

  // A grey picture: (luma / 255 - mean) / std; a wrong size is an error without resizing, resized with it.
  viz::Image pic;
  pic.width = pic.height = 8;
  pic.pixels.assign(64, {255, 0, 0});
  const Tensor x = models::image_to_tensor(pic, pp, 1);
  EXPECT_NEAR(x.data()[0], (0.299f * 255 / 255 - pp.image_mean[0]) / pp.image_std[0], 1e-5);
  pic.width = 16;
  pic.pixels.assign(128, {0, 0, 0});
  EXPECT_NE(error_of([&] {
              models::image_to_tensor(pic, pp, 1, "shoe.png");
            }).find("shoe.png is 16x8 pixels but the model reads 8x8"),
            std::string::npos);
  pp.do_resize = true;
  pp.image_mean = {0.5f, 0.5f, 0.5f};
  pp.image_std = {0.5f, 0.5f, 0.5f};
  for (int i = 0; i < 128; ++i) pic.pixels[i] = {static_cast<uint8_t>(i % 16 < 8 ? 0 : 200), 0, 0};
  const Tensor r = models::image_to_tensor(pic, pp, 3);  // RGB; 16 -> 8 columns: left half 0, right half 200
  EXPECT_EQ(r.shape(), Shape({1, 3, 8, 8}));
  EXPECT_NEAR(r.data()[0] * pp.image_std[0] + pp.image_mean[0], 0.f, 1e-5);
  EXPECT_NEAR((r.data()[7] * pp.image_std[0] + pp.image_mean[0]) * 255, 200.f, 1e-3);
}

}  // namespace
}  // namespace attn::testing
