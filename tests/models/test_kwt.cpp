// The Keyword Transformer (attn/models/kwt.h): token layout, gradients by finite differences (input features and
// the KWT's own parameters — the encoder blocks are the ViT's, checked against PyTorch in test_vit_vs_torch),
// the folder round trip and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "attn/autograd/autograd.h"
#include "attn/models/kwt.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"
#include "test_util.h"

namespace attn::models {
namespace {

KWTConfig tiny() {
  KWTConfig c;
  c.features.clip_seconds = 0.1;  // 1600 samples -> 11 frames
  c.features.mel.n_mels = 6;
  c.features.mel.n_fft = 256;
  c.features.mel.win_length = 200;
  c.patch_frames = 3;  // 3 tokens of sound (the 11th and 12th frames... the last 2 frames dropped)
  c.hidden_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.num_labels = 4;
  c.id2label = {"a", "b", "c", "d"};
  return c;
}

TEST(KWT, TokensAreSlicesOfTimeAndTheDroppedFramesDoNotMatter) {
  const KWTConfig c = tiny();
  ASSERT_EQ(c.num_frames(), 11);
  ASSERT_EQ(c.num_patches(), 3);
  ASSERT_EQ(c.seq_len(), 4);
  Generator gen(3);
  KWTForKeywordSpotting m(c, gen);
  Tensor x = Tensor::randn({2, 11, 6}, gen);
  NoGradGuard ng;
  const KWTOutput out = m.forward(x, true);
  ASSERT_EQ(out.logits.shape(), (Shape{2, 4}));
  ASSERT_EQ(out.attentions.size(), 2u);
  EXPECT_EQ(out.attentions[0].shape(), (Shape{2, 2, 4, 4}));
  // Frames 9 and 10 are past the last whole token: changing them changes nothing.
  Tensor y = x.clone();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 9; t < 11; ++t)
      for (int64_t k = 0; k < 6; ++k) y.data()[(b * 11 + t) * 6 + k] += 5.f;
  const Tensor ly = m.forward(y);
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(ly.data()[i], out.logits.data()[i]);
  // Sound token 1 (position 2, after CLS) is frames 3..5 flattened frame-major: x[0, 3:6, :] as 18 numbers.
  const Tensor emb = m.embeddings->forward(x);  // (2, 4, 8)
  const Tensor manual = m.embeddings->patch_projection->forward(reshape(slice(slice(x, 0, 0, 1), 1, 3, 6), {1, 18}));
  for (int64_t d = 0; d < 8; ++d)
    EXPECT_NEAR(emb.data()[2 * 8 + d], manual.data()[d] + m.embeddings->position_embeddings.data()[2 * 8 + d], 1e-5);
  // The batch does not mix: item 1 alone gives item 1's logits.
  const Tensor alone = m.forward(slice(x, 0, 1, 2));
  for (int64_t k = 0; k < 4; ++k) EXPECT_NEAR(alone.data()[k], out.logits.data()[4 + k], 1e-5);
}

TEST(KWT, GradientsOfInputAndOwnParametersMatchFiniteDifferences) {
  testing::PoisonUninitializedGradients poison;
  const KWTConfig c = tiny();
  Generator gen(5);
  auto m = std::make_shared<KWTForKeywordSpotting>(c, gen);
  for (auto& [name, p] : m->named_parameters()) {  // larger weights: every path matters
    NoGradGuard ng;
    if (name.find("layernorm") != std::string::npos) continue;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = 0.3f * gen.normal();
  }
  const Tensor x = Tensor::randn({2, 11, 6}, gen);
  const Tensor g = Tensor::randn({2, 4}, gen);
  const testing::GradCheckResult r =
      testing::gradcheck([&](const std::vector<Tensor>& in) { return m->forward(in[0]) * g; }, {x}, {true});
  EXPECT_TRUE(r.ok) << r.report;
  // The KWT's own parameters: analytic gradient of sum(logits * g) vs central differences.
  auto loss = [&] { return sum(m->forward(x) * g); };
  m->zero_grad();
  Tensor l = loss();
  l.backward();
  for (Tensor* p : {&m->embeddings->cls_token, &m->embeddings->position_embeddings,
                    &m->embeddings->patch_projection->weight, &m->classifier->weight}) {
    for (int64_t i = 0; i < p->numel(); i += std::max<int64_t>(1, p->numel() / 7)) {
      NoGradGuard ng;
      const float keep = p->data()[i], h = 1.f / 256;
      p->data()[i] = keep + h;
      const double up = loss().item();
      p->data()[i] = keep - h;
      const double down = loss().item();
      p->data()[i] = keep;
      const double num = (up - down) / (2 * h), ana = p->grad().data()[i];
      EXPECT_NEAR(ana, num, 3e-3 + 2e-2 * std::fabs(num)) << "element " << i;
    }
  }
}

TEST(KWT, FolderRoundTripAndBadInput) {
  const KWTConfig c = tiny();
  Generator gen(9);
  KWTForKeywordSpotting m(c, gen);
  const std::string dir = testing::fresh_dir("kwt_folder");
  save_kwt(dir, m, "F32", R"({"note": "test"})");
  LoadedKWT back = load_kwt(dir);
  EXPECT_EQ(back.model->config().id2label, c.id2label);
  EXPECT_EQ(back.model->config().features.mel.n_fft, 256);
  const Tensor x = Tensor::randn({1, 11, 6}, gen);
  NoGradGuard ng;
  m.eval();
  const Tensor a = m.forward(x), b = back.model->forward(x);
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(a.data()[k], b.data()[k]);
  EXPECT_NE(testing::error_of([&] {
              m.forward(Tensor::zeros({1, 10, 6}));
            }).find("features must be (B, 11, 6)"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { load_kwt(dir + "/nothing"); }).find("attn train audio"), std::string::npos);
  { std::ofstream(dir + "/config.json") << R"({"architecture": "las"})"; }
  EXPECT_NE(testing::error_of([&] { load_kwt(dir); }).find("architecture is 'las', not kwt"), std::string::npos);
  KWTConfig bad = c;
  bad.num_attention_heads = 3;
  EXPECT_NE(testing::error_of([&] { KWTForKeywordSpotting k(bad, gen); }).find("not divisible"), std::string::npos);
  IndexTensor labels(std::vector<int64_t>{7});
  EXPECT_NE(testing::error_of([&] { m.loss(x, labels); }).find("label 7 outside 0..3"), std::string::npos);
}

}  // namespace
}  // namespace attn::models
