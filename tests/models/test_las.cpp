// Listen, Attend and Spell (attn/models/las.h): targets, shapes, alignments that are distributions, gradients by
// finite differences, greedy decoding, a tiny model that learns to spell two "words", the character error rate,
// the folder round trip and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "attn/autograd/autograd.h"
#include "attn/models/kwt.h"
#include "attn/models/las.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"
#include "test_util.h"

namespace attn::models {
namespace {

LASConfig tiny() {
  LASConfig c;
  c.features.clip_seconds = 0.1;  // 11 frames
  c.features.mel.n_mels = 6;
  c.features.mel.n_fft = 256;
  c.features.mel.win_length = 200;
  c.stack_frames = 2;  // 5 steps, then one pyramid level: 2 keys... use 0 levels below where needed
  c.pyramid_levels = 1;
  c.listener_hidden = 5;
  c.speller_hidden = 7;
  c.embedding = 4;
  c.attention_dim = 6;
  c.location_filters = 3;
  c.location_width = 3;
  c.max_letters = 6;
  c.alphabet = "abc ";
  c.id2label = {"ab", "ca"};
  c.texts = {"ab", "ca"};
  return c;
}

TEST(LAS, TargetsShapesAndAlignments) {
  const LASConfig c = tiny();
  EXPECT_EQ(c.vocab(), 6);
  EXPECT_EQ(c.num_keys(), 2);  // 11 frames -> 8 used -> 4 stacked steps -> 2 keys
  Generator gen(1);
  LASForSpelling m(c, gen);
  const IndexTensor t = m.encode({"ab", "c a", ""});
  EXPECT_EQ(t.shape, (Shape{3, 4}));
  EXPECT_EQ(t.data, (std::vector<int64_t>{2, 3, kEos, -100, 4, 5, 2, kEos, kEos, -100, -100, -100}));
  EXPECT_NE(testing::error_of([&] { m.encode({"abd"}); }).find("'abd' has a letter outside the alphabet"),
            std::string::npos);
  const Tensor x = Tensor::randn({3, 11, 6}, gen);
  std::vector<Tensor> alignments;
  NoGradGuard ng;
  const Tensor logits = m.forward(x, t, &alignments);
  EXPECT_EQ(logits.shape(), (Shape{3, 4, 6}));
  ASSERT_EQ(alignments.size(), 4u);
  for (const Tensor& a : alignments) {
    ASSERT_EQ(a.shape(), (Shape{3, 2}));
    for (int64_t b = 0; b < 3; ++b) EXPECT_NEAR(a.data()[b * 2] + a.data()[b * 2 + 1], 1.f, 1e-5);
  }
  const LASDecoded d = m.greedy_decode(x);
  ASSERT_EQ(d.text.size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    EXPECT_LE(d.text[b].size(), 6u);
    EXPECT_EQ(d.alignment[b].size(), (d.text[b].size() + 1) * 2);  // a row per letter and one for <eos>
    for (char ch : d.text[b]) EXPECT_NE(c.alphabet.find(ch), std::string::npos);
  }
  EXPECT_NE(testing::error_of([&] {
              m.forward(Tensor::zeros({1, 10, 6}), m.encode({"a"}));
            }).find("features must be (B, 11, 6)"),
            std::string::npos);
}

TEST(LAS, GradientsMatchFiniteDifferences) {
  testing::PoisonUninitializedGradients poison;
  LASConfig c = tiny();
  Generator gen(2);
  auto m = std::make_shared<LASForSpelling>(c, gen);
  const IndexTensor t = m->encode({"ab", "c"});
  const Tensor g = Tensor::randn({2, 3, 6}, gen);
  const Tensor x = Tensor::randn({2, 11, 6}, gen);
  const testing::GradCheckResult r =
      testing::gradcheck([&](const std::vector<Tensor>& in) { return m->forward(in[0], t) * g; }, {x}, {true});
  EXPECT_TRUE(r.ok) << r.report;
  auto loss = [&] { return sum(m->forward(x, t) * g); };
  m->zero_grad();
  Tensor l = loss();
  l.backward();
  Tensor listener_w = m->listener->layer[1]->weights(0, 1).weight_ih;  // a handle: shares the parameter's storage
  for (Tensor* p : {&m->attention->v, &m->attention->location_conv->weight, &m->attention->location->weight,
                    &m->attention->query->weight, &m->cell->weight_hh, &listener_w}) {
    for (int64_t i = 0; i < p->numel(); i += std::max<int64_t>(1, p->numel() / 5)) {
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

TEST(LAS, LearnsToSpellTwoSoundsAndScoresTheirErrors) {
  LASConfig c = tiny();
  c.listener_hidden = 12;
  c.speller_hidden = 16;
  c.attention_dim = 12;
  Generator gen(3);
  LASForSpelling m(c, gen);
  // Two "sounds": the first word is loud in the low mels, the second in the high ones.
  Tensor x = Tensor::zeros({2, 11, 6});
  for (int64_t t = 0; t < 11; ++t)
    for (int64_t k = 0; k < 3; ++k) {
      x.data()[(0 * 11 + t) * 6 + k] = 1.f;
      x.data()[(1 * 11 + t) * 6 + 3 + k] = 1.f;
    }
  const IndexTensor targets = m.encode({"ab", "ca"});
  nn::AdamW opt(m.parameters(), 0.02f);
  for (int step = 0; step < 150; ++step) {
    Tensor l = m.loss(x, targets);
    l.backward();
    opt.step();
    opt.zero_grad();
  }
  m.eval();
  const LASDecoded d = m.greedy_decode(x);
  EXPECT_EQ(d.text[0], "ab");
  EXPECT_EQ(d.text[1], "ca");
  const LASEvaluation e = evaluate_las(m, {slice(x, 0, 0, 1), slice(x, 0, 1, 2)}, {0, 1});
  EXPECT_EQ(e.cer, 0.0);
  EXPECT_EQ(e.word_accuracy, 1.0);
  EXPECT_EQ(e.spelled, (std::vector<std::string>{"ab", "ca"}));
  const LASEvaluation swapped = evaluate_las(m, {slice(x, 0, 0, 1), slice(x, 0, 1, 2)}, {1, 0});
  EXPECT_EQ(swapped.word_accuracy, 0.0);
  EXPECT_NEAR(swapped.cer, 4.0 / 4.0, 1e-12);  // "ab" vs "ca": 2 edits each
}

TEST(LAS, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0);
  EXPECT_EQ(edit_distance("abc", ""), 3);
  EXPECT_EQ(edit_distance("", "ab"), 2);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(edit_distance("sphinx", "sphynx"), 1);
  EXPECT_EQ(edit_distance("ab", "ba"), 2);
}

TEST(LAS, FolderRoundTripAndArchitectureCheck) {
  const LASConfig c = tiny();
  Generator gen(4);
  LASForSpelling m(c, gen);
  const std::string dir = testing::fresh_dir("las_folder");
  save_las(dir, m);
  EXPECT_EQ(audio_model_architecture(dir), "las");
  LoadedLAS back = load_las(dir);
  EXPECT_EQ(back.model->config().texts, c.texts);
  EXPECT_EQ(back.model->config().alphabet, c.alphabet);
  const Tensor x = Tensor::randn({1, 11, 6}, gen);
  m.eval();
  EXPECT_EQ(m.greedy_decode(x).text, back.model->greedy_decode(x).text);
  EXPECT_NE(testing::error_of([&] { load_kwt(dir); }).find("architecture is 'las', not kwt"), std::string::npos);
  { std::ofstream(dir + "/config.json") << R"({"architecture": "wav2vec"})"; }
  EXPECT_NE(testing::error_of([&] { audio_model_architecture(dir); }).find("neither kwt nor las"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { load_las(dir + "/none"); }).find("--arch las"), std::string::npos);
  LASConfig bad = c;
  bad.location_width = 4;
  EXPECT_NE(testing::error_of([&] { LASForSpelling l(bad, gen); }).find("location_width odd"), std::string::npos);
}

}  // namespace
}  // namespace attn::models
