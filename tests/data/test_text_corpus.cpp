// TextCorpus: the train/validation split of a text, its vocabulary, and the random training windows.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "attn/core/error.h"
#include "attn/data/text_corpus.h"
#include "test_util.h"

namespace {

using attn::Generator;
using attn::data::TextCorpus;

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = attn::testing::fresh_dir("text_corpus") + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(DataTextCorpus, SplitsTheTailForValidation) {
  // 100 code points (é is one code point in two bytes): 90 train, the last 10 for validation.
  std::string text;
  for (int i = 0; i < 10; ++i) text += "abcdéfghi\n";
  const TextCorpus c = TextCorpus::load(write_text("a.txt", text), 0.1);
  EXPECT_EQ(c.size(), 100);
  EXPECT_EQ(c.train().size(), 90u);
  EXPECT_EQ(c.val().size(), 10u);
  EXPECT_EQ(c.tokenizer().vocab_size(), 10);  // a b c d é f g h i \n
  // The validation split is the text's last ten characters, in order.
  EXPECT_EQ(c.tokenizer().decode(c.val()), "abcdéfghi\n");
}

TEST(DataTextCorpus, WindowsAreShiftedPairsInRange) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "the cat sat. ";
  const TextCorpus c = TextCorpus::load(write_text("b.txt", text), 0.2);
  Generator gen(3);
  const int64_t B = 8, T = 12;
  const auto b = c.sample_train(B, T, gen);
  ASSERT_EQ(b.x.shape, (attn::Shape{B, T}));
  ASSERT_EQ(b.y.shape, (attn::Shape{B, T}));
  const int64_t V = c.tokenizer().vocab_size();
  for (int64_t r = 0; r < B; ++r) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t x = b.x[r * T + t], y = b.y[r * T + t];
      EXPECT_TRUE(x >= 0 && x < V && y >= 0 && y < V);
      if (t + 1 < T) {
        EXPECT_EQ(y, b.x[r * T + t + 1]);  // y is x shifted left by one
      }
    }
  }
}

TEST(DataTextCorpus, SamplingIsDeterministicForAGeneratorState) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "call me ishmael. ";
  const TextCorpus c = TextCorpus::load(write_text("c.txt", text));
  Generator g1(7, 1), g2(7, 1);
  EXPECT_EQ(c.sample_train(4, 16, g1).x.data, c.sample_train(4, 16, g2).x.data);
  // A saved state replays the same windows (what --resume relies on).
  const Generator::State st = g1.get_state();
  const auto next = c.sample_train(4, 16, g1).x.data;
  g2.set_state(st);
  EXPECT_EQ(c.sample_train(4, 16, g2).x.data, next);
  Generator g3(8, 1);
  EXPECT_NE(c.sample_train(4, 16, g3).x.data, next);
}

TEST(DataTextCorpus, ClearErrors) {
  using attn::testing::error_of;
  EXPECT_NE(error_of([] { TextCorpus::load("/no/such/file.txt"); }).find("cannot open /no/such/file.txt"),
            std::string::npos);
  const std::string moby = attn::data::moby_dick_path("/no/such/root");
  EXPECT_NE(error_of([&] { TextCorpus::load(moby); }).find("scripts/setup.sh"), std::string::npos);
  EXPECT_NE(error_of([] { TextCorpus::load(write_text("e.txt", "")); }).find("empty"), std::string::npos);
  const TextCorpus c = TextCorpus::load(write_text("d.txt", "short text"), 0.1);
  Generator gen(0);
  EXPECT_NE(error_of([&] { c.sample_train(1, 64, gen); }).find("fewer than block + 1"), std::string::npos);
  // A given vocabulary must cover the text.
  const auto tok = attn::data::CharTokenizer::from_text("abc");
  EXPECT_NE(error_of([&] { TextCorpus::load(write_text("f.txt", "abcz"), 0.1, &tok); }), "(no error)");
}

}  // namespace
