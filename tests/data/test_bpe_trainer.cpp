// The byte-level BPE trainer: merges worked out by hand on a tiny text, files that GPT2Tokenizer reads back
// and that encode every piece as the training applied its merges, errors, and the multi-document split.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "attn/core/error.h"
#include "attn/data/bpe_trainer.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/data/text_corpus.h"
#include "test_util.h"

namespace {

using attn::data::BpeTrainOptions;
using attn::data::BpeVocabulary;
using attn::data::GPT2Tokenizer;
using attn::data::train_byte_level_bpe;

TEST(DataBpeTrainer, MergesTheMostFrequentPairFirstWorkedByHand) {
  // Pieces: "ab", " ab", " ab", " abc". Pairs weighted by count: (a,b) 4, (Ġ,a) 3, (b,c) 1.
  //   merge 0: a b   -> "ab"   (4)      then (Ġ,ab) 3, (ab,c) 1
  //   merge 1: Ġ ab  -> " ab"  (3)      then ( ab,c) 1 < min_frequency 2: stop.
  const std::string text = "ab ab ab abc";
  BpeTrainOptions o;
  o.vocab_size = 1000;
  o.min_frequency = 2;
  const BpeVocabulary v = train_byte_level_bpe({text}, o);
  ASSERT_EQ(v.merges.size(), 2u);
  // GPT-2's base order: 'a' (0x61) is id 0x61 - 0x21 = 64, 'b' 65; space is id 220 ('Ġ').
  EXPECT_EQ(v.merges[0], std::make_pair(int64_t{64}, int64_t{65}));
  EXPECT_EQ(v.merges[1], std::make_pair(int64_t{220}, int64_t{256}));
  EXPECT_EQ(v.tokens[256], "ab");
  EXPECT_EQ(v.tokens[257], " ab");
  EXPECT_EQ(v.vocab_size(), 259);
  EXPECT_EQ(v.tokens[static_cast<size_t>(v.eot_token())], "<|endoftext|>");

  // Written and read back by GPT-2's tokenizer: " abc" is " ab" + "c", "ab" one token.
  const std::string dir = attn::testing::fresh_dir("bpe_hand");
  v.save(dir);
  const GPT2Tokenizer tok = GPT2Tokenizer::from_folder(dir);
  EXPECT_EQ(tok.vocab_size(), 259);
  EXPECT_EQ(tok.num_merges(), 2);
  EXPECT_EQ(tok.eot_token(), 258);
  EXPECT_EQ(tok.encode("ab abc"), (std::vector<int64_t>{256, 257, 66}));
  EXPECT_EQ(tok.token_spelling(257), "Ġab");
}

TEST(DataBpeTrainer, VocabularySizeIsHonouredAndMinFrequencyOneMergesRarePairs) {
  const std::string text = "the theme of thee";
  BpeTrainOptions o;
  o.vocab_size = 260;  // three merges + <|endoftext|>
  o.min_frequency = 1;
  const BpeVocabulary v = train_byte_level_bpe({text}, o);
  EXPECT_EQ(v.vocab_size(), 260);
  EXPECT_EQ(v.merges.size(), 3u);
  // (t,h) and (h,e) both occur 3 times ("the", " theme", " thee"): the tie goes to the smaller pair of
  // ids, h = 71 < t = 83, so "he" is merge 0, and then (t,he) 3 times is merge 1.
  EXPECT_EQ(v.tokens[256], "he");
  EXPECT_EQ(v.tokens[257], "the");
}

// Applies merges as training did (each merge in order, left to right in every piece): an independent
// statement of what GPT2Tokenizer's rank-ordered encoding must reproduce.
std::vector<std::string> apply_in_order(const BpeVocabulary& v, const std::string& piece) {
  std::vector<std::string> syms;
  for (char c : piece) syms.emplace_back(1, c);
  for (const auto& [a, b] : v.merges) {
    const std::string& l = v.tokens[static_cast<size_t>(a)];
    const std::string& r = v.tokens[static_cast<size_t>(b)];
    std::vector<std::string> out;
    for (size_t i = 0; i < syms.size();) {
      if (i + 1 < syms.size() && syms[i] == l && syms[i + 1] == r) {
        out.push_back(l + r);
        i += 2;
      } else {
        out.push_back(syms[i++]);
      }
    }
    syms = std::move(out);
  }
  return syms;
}

TEST(DataBpeTrainer, TokenizerEncodesEveryPieceAsTrainingMergedIt) {
  // A real text (Moby-Dick's first 60 kB when installed; a generated one otherwise), 700 tokens.
  std::string text;
  {
    std::ifstream in(attn::data::moby_dick_path(ATTN_SOURCE_DIR), std::ios::binary);
    if (in) {
      text.resize(60000);
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
      while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
      if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
    } else {
      for (int i = 0; i < 3000; ++i) text += "Call me Ishmael, said the whale " + std::to_string(i % 97) + "; ";
    }
  }
  BpeTrainOptions o;
  o.vocab_size = 700;
  const BpeVocabulary v = train_byte_level_bpe({text}, o);
  EXPECT_EQ(v.vocab_size(), 700);
  const std::string dir = attn::testing::fresh_dir("bpe_moby");
  v.save(dir);
  const GPT2Tokenizer tok = GPT2Tokenizer::from_folder(dir);
  std::map<std::string, int> pieces;
  for (const std::string& p : tok.pretokenize(text)) ++pieces[p];
  for (const auto& [p, n] : pieces) ASSERT_EQ(tok.bpe(p), apply_in_order(v, p)) << "piece \"" << p << "\"";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  // Training is deterministic.
  const BpeVocabulary again = train_byte_level_bpe({text}, o);
  EXPECT_EQ(again.merges, v.merges);
  // Fewer tokens than bytes: the merges compress the text.
  EXPECT_LT(tok.encode(text).size(), text.size() / 2);
}

TEST(DataBpeTrainer, BadInputIsNamed) {
  BpeTrainOptions o;
  o.vocab_size = 256;
  EXPECT_THROW(
      {
        try {
          train_byte_level_bpe({"abc"}, o);
        } catch (const attn::Error& e) {
          EXPECT_NE(std::string(e.what()).find("257"), std::string::npos) << e.what();
          throw;
        }
      },
      attn::Error);
  o.vocab_size = 300;
  const std::string bad = std::string("fine ") + "\xC3";  // a truncated two-byte character
  EXPECT_THROW(
      {
        try {
          train_byte_level_bpe({"ok", bad}, o);
        } catch (const attn::Error& e) {
          EXPECT_NE(std::string(e.what()).find("text 1"), std::string::npos) << e.what();
          throw;
        }
      },
      attn::Error);
}

TEST(DataTextCorpus, SplitDocumentsHoldsOutEachTailAndSeparates) {
  const std::vector<std::vector<int64_t>> docs = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {11, 12, 13, 14}};
  const attn::data::TokenSplit s = attn::data::split_documents(docs, 0.2, 99);
  // doc 0: 8 train + 2 val; doc 1: round(0.8) = 1 val.
  EXPECT_EQ(s.train, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 99, 11, 12, 13, 99}));
  EXPECT_EQ(s.val, (std::vector<int64_t>{9, 10, 99, 14, 99}));
  EXPECT_THROW(attn::data::split_documents(docs, 1.0, 99), attn::Error);
}

TEST(DataTextCorpus, ListTextFilesExpandsFoldersInNameOrder) {
  namespace fs = std::filesystem;
  const std::string dir = attn::testing::fresh_dir("list_text_files");
  fs::create_directories(dir + "/texts");
  std::ofstream(dir + "/texts/b.txt") << "b";
  std::ofstream(dir + "/texts/a.txt") << "a";
  std::ofstream(dir + "/texts/notes.json") << "{}";
  std::ofstream(dir + "/single.md") << "c";
  const std::vector<std::string> files = attn::data::list_text_files({dir + "/texts", dir + "/single.md"});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(fs::path(files[0]).filename(), "a.txt");
  EXPECT_EQ(fs::path(files[1]).filename(), "b.txt");
  EXPECT_EQ(fs::path(files[2]).filename(), "single.md");
  fs::create_directories(dir + "/empty");
  EXPECT_THROW(attn::data::list_text_files({dir + "/empty"}), attn::Error);
  EXPECT_THROW(attn::data::list_text_files({dir + "/missing.txt"}), attn::Error);
}

}  // namespace
