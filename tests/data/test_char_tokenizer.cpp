// The character tokenizer: UTF-8 code points, round trips, unknown characters, JSON save/load.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"
#include "test_util.h"

using namespace attn;

TEST(DataCharTokenizer, RoundTripsUnicodeAndEmoji) {
  const std::string text = "Call me Ishmael. Ça va? Ελληνικά, 日本語 🙂🐳\n\ttabs  and  spaces";
  data::CharTokenizer tok = data::CharTokenizer::from_text(text);
  const std::vector<int64_t> ids = tok.encode(text);
  EXPECT_EQ(ids.size(), data::utf8_decode(text).size());  // one token per code point
  EXPECT_EQ(tok.decode(ids), text);
  // Sorted vocabulary: '\t' < '\n' < ' ' < … < '🐳' (U+1F433) < '🙂' (U+1F642).
  EXPECT_EQ(tok.token(0), "\t");
  EXPECT_EQ(tok.token(tok.vocab_size() - 1), "🙂");
  EXPECT_EQ(tok.token(tok.vocab_size() - 2), "🐳");
  EXPECT_EQ(tok.encode("🐳🙂"), (std::vector<int64_t>{tok.vocab_size() - 2, tok.vocab_size() - 1}));
  EXPECT_EQ(data::CharTokenizer::from_text("abca").vocab_size(), 3);
}

TEST(DataCharTokenizer, UnknownCharacterAndBadInputAreClearErrors) {
  data::CharTokenizer tok = data::CharTokenizer::from_text("hello");
  try {
    tok.encode("hex");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[CharTokenizer::encode] character 'x' (U+0078) at character 2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(tok.encode("h\xff"), Error);     // invalid UTF-8
  EXPECT_THROW(tok.encode("\xc3"), Error);      // truncated sequence
  EXPECT_THROW(tok.encode("\xc0\xaf"), Error);  // overlong '/'
  EXPECT_THROW(tok.decode({0, 4}), Error);      // id out of range (vocabulary e, h, l, o)
  EXPECT_THROW(data::CharTokenizer::from_text(""), Error);
  EXPECT_THROW(data::CharTokenizer(std::vector<char32_t>{U'b', U'a'}), Error);  // not sorted
}

TEST(DataCharTokenizer, SavesAndLoadsJson) {
  const std::string text = "naïve café — 🙂\n\"quotes\" \\ back";
  data::CharTokenizer tok = data::CharTokenizer::from_text(text);
  const std::string dir = attn::testing::fresh_dir("char_tokenizer");
  const std::string path = dir + "/tokenizer.json";
  tok.save(path);
  data::CharTokenizer back = data::CharTokenizer::load(path);
  EXPECT_EQ(back.vocab(), tok.vocab());
  EXPECT_EQ(back.decode(back.encode(text)), text);
  {
    std::ofstream f(path);
    f << R"({"type": "char", "version": 1, "vocab": ["a", "bc"]})";
  }
  EXPECT_THROW(data::CharTokenizer::load(path), Error);
  {
    std::ofstream f(path);
    f << R"({"type": "bpe"})";
  }
  EXPECT_THROW(data::CharTokenizer::load(path), Error);
  EXPECT_THROW(data::CharTokenizer::load(dir + "/missing.json"), Error);
}
