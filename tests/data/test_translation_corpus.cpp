// The German–English corpus from Debian's trans-de-en (cleaning, deduplication, leak-free splits) and the
// shared SentencePiece subword vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

#include "attn/core/error.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/translation_batches.h"
#include "attn/data/translation_corpus.h"
#include "test_util.h"

using namespace attn;
using namespace attn::data;

TEST(TranslationCorpus, CleansTagsAndWhitespace) {
  EXPECT_EQ(clean_dictionary_entry("Schiff {n} [naut.]"), "Schiff");
  EXPECT_EQ(clean_dictionary_entry("  to knife   (through) sth. [fig.] "), "to knife (through) sth.");
  EXPECT_EQ(clean_dictionary_entry("Er kam {vi} ."), "Er kam.");
  EXPECT_EQ(clean_dictionary_entry("<Abk.> {f}"), "");
  EXPECT_EQ(count_words("Das Schiff sank."), 3);
  EXPECT_EQ(count_words(""), 0);
}

TEST(TranslationCorpus, ParsesAlignsDeduplicatesAndKeepsGroupsTogether) {
  const std::string path = attn::testing::fresh_dir("trans_small") + "/de-en";
  std::ofstream(path) << "# comment :: line\n"
                         "Schiff {n} | Das Schiff sank sehr schnell. :: ship | The ship sank very quickly.\n"
                         "Hund {m} | Der Hund bellt laut und lange. :: dog | The dog barks loudly and long.\n"
                         "Der Hund bellt laut und lange. :: The dog is barking loudly for a long time.\n"
                         "Das Schiff sank sehr schnell. :: The ship sank very quickly.\n"             // duplicate
                         "Er kommt / sie geht morgen früh. :: He comes / she goes early tomorrow.\n"  // alternatives
                         "A | B | C :: a | b\n"                                                       // unaligned
                         "Zu kurz hier. :: Too short here.\n";                                        // 3 words
  TranslationCorpusOptions o;
  o.path = path;
  o.val_fraction = 0.0;
  o.test_fraction = 0.5;
  TranslationSplits s = load_trans_de_en(o);
  const TranslationCorpusReport& r = s.report;
  EXPECT_EQ(r.lines, 7);
  EXPECT_EQ(r.mismatched_lines, 1);
  EXPECT_EQ(r.sentences, 5);  // two dog, two ship (one a duplicate), one with alternatives
  EXPECT_EQ(r.alternatives, 1);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.groups, 2);  // the two translations of the dog sentence are one group
  EXPECT_EQ(r.train + r.val + r.test, 3);
  // The dog pairs are in the same split.
  int dog_train = 0, dog_test = 0;
  for (auto& p : s.train) dog_train += p.de.rfind("Der Hund", 0) == 0;
  for (auto& p : s.test) dog_test += p.de.rfind("Der Hund", 0) == 0;
  EXPECT_TRUE((dog_train == 2 && dog_test == 0) || (dog_train == 0 && dog_test == 2));
  EXPECT_NE(r.to_string().find("train / validation / test pairs"), std::string::npos);
}

TEST(TranslationCorpus, RealDictionarySplitsAndPhrasesWithoutLeaksDeterministically) {
  TranslationSplits s = load_trans_de_en();
  const TranslationCorpusReport& r = s.report;
  std::cout << r.to_string();
  EXPECT_GT(r.lines, 150000);
  EXPECT_GT(r.train + r.val + r.test, 15000);  // the issue expects about 17,700 sentence pairs
  EXPECT_LT(r.train + r.val + r.test, 20000);
  const double n = static_cast<double>(r.train + r.val + r.test);
  EXPECT_NEAR(r.val / n, 0.05, 0.01);
  EXPECT_NEAR(r.test / n, 0.05, 0.01);
  std::set<std::string> train_de, train_en;
  for (const auto& p : s.train) {
    train_de.insert(p.de);
    train_en.insert(p.en);
    ASSERT_GE(count_words(p.de), 4) << p.de;
    ASSERT_EQ(p.de.find('{'), std::string::npos) << p.de;
    ASSERT_EQ(p.en.find('['), std::string::npos) << p.en;
  }
  for (const auto* split : {&s.val, &s.test})
    for (const auto& p : *split) {
      EXPECT_EQ(train_de.count(p.de), 0u) << "leak: " << p.de;
      EXPECT_EQ(train_en.count(p.en), 0u) << "leak: " << p.en;
    }
  // The phrases: many, and none equal to a held-out sentence (up to case and final punctuation) on either side.
  EXPECT_GT(r.phrases, 200000);
  EXPECT_GT(r.phrases_held_out, 0);  // there are such phrases, and they were dropped
  std::set<std::string> held_de, held_en;
  for (const auto* split : {&s.val, &s.test})
    for (const auto& p : *split) held_de.insert(held_out_key(p.de)), held_en.insert(held_out_key(p.en));
  for (const auto& p : s.phrases) {
    ASSERT_FALSE(held_de.count(held_out_key(p.de))) << "leak: " << p.de;
    ASSERT_FALSE(held_en.count(held_out_key(p.en))) << "leak: " << p.en;
    ASSERT_EQ(p.de.find('{'), std::string::npos) << p.de;
    ASSERT_EQ(p.en.find('['), std::string::npos) << p.en;
    ASSERT_LE(count_words(p.de), 12) << p.de;
  }
  TranslationSplits again = load_trans_de_en();
  EXPECT_EQ(again.test, s.test);
  EXPECT_EQ(again.train.size(), s.train.size());
  EXPECT_EQ(again.phrases, s.phrases);
  TranslationCorpusOptions missing;
  missing.path = "/no/such/de-en";
  EXPECT_NE(attn::testing::error_of([&] { load_trans_de_en(missing); }).find("trans-de-en"), std::string::npos);
}

TEST(TranslationCorpus, PhrasesPairSynonymsDropExplanationsAndNeverRepeatAHeldOutSentence) {
  EXPECT_EQ(held_out_key("Das Schiff sank."), "das schiff sank");
  EXPECT_EQ(held_out_key("\xe2\x80\x9eJa!\xe2\x80\x9c"), "\xe2\x80\x9eja");
  EXPECT_EQ(clean_phrase("air handling unit /AHU/"), "air handling unit");
  EXPECT_EQ(clean_phrase("(im Gedr\xc3\xa4nge) aneinandersto\xc3\x9f"
                         "en"),
            "aneinandersto\xc3\x9f"
            "en");
  EXPECT_EQ(clean_phrase("and/or"), "and/or");
  const std::string path = attn::testing::fresh_dir("trans_phrases") + "/de-en";
  std::ofstream(path)
      << "Planungsprozess {m}; Planungsverfahren {n} | Das Schiff sank sehr schnell. :: planning process; planning "
         "procedure "
         "| The ship sank very quickly.\n"
         "L\xc3\xbc"
         "ftungsger\xc3\xa4t {n} (kompakt) :: air handling unit /AHU/; air handler\n"
         "Ja. | Es regnet. :: Yes. | It's raining.\n"
         // Each side of these equals a held-out sentence up to case and final punctuation: a leak, dropped.
         "das schiff sank sehr schnell :: a fast ship\n"
         "Boot {n} :: the ship sank very quickly!\n"
         // A held-out sentence with an explanation in parentheses, and a phrase that equals it once cleaned.
         "Das ist (nicht) mein Problem heute. :: That is (not) my problem today.\n"
         "Das ist (nicht) mein Problem heute :: not my business\n";
  TranslationCorpusOptions o;
  o.path = path;
  o.val_fraction = 0.0;
  o.test_fraction = 0.9999;  // both sentences go to the test split (checked below)
  TranslationSplits s = load_trans_de_en(o);
  ASSERT_EQ(s.test.size(), 2u);
  ASSERT_TRUE(s.train.empty());
  const std::vector<SentencePair> expected = {{"Planungsprozess", "planning process"},
                                              {"Planungsverfahren", "planning procedure"},
                                              {"L\xc3\xbc"
                                               "ftungsger\xc3\xa4t",
                                               "air handling unit"},
                                              {"Ja.", "Yes."},
                                              {"Es regnet.", "It's raining."}};
  EXPECT_EQ(s.phrases, expected);
  EXPECT_EQ(s.report.phrases, 5);
  EXPECT_EQ(s.report.phrases_held_out, 3);
  o.phrases = false;
  EXPECT_TRUE(load_trans_de_en(o).phrases.empty());
}

TEST(SubwordTokenizer, TrainsASharedVocabularyThatRoundTrips) {
  const std::vector<std::string> texts = {"Der Hund bellt laut.",
                                          "The dog barks loudly.",
                                          "Das Schiff sank sehr schnell.",
                                          "The ship sank very quickly.",
                                          "Ich habe keine Zeit.",
                                          "I have no time.",
                                          "Wir gehen morgen ins Kino.",
                                          "We are going to the cinema tomorrow.",
                                          "Größe und Straße: Umlaute äöü ß.",
                                          "Numbers 1234 and 3.14 stay."};
  std::vector<std::string> corpus;
  for (int i = 0; i < 20; ++i) corpus.insert(corpus.end(), texts.begin(), texts.end());
  SubwordOptions o;
  o.vocab_size = 120;
  SubwordTokenizer t = SubwordTokenizer::train(corpus, o);
  EXPECT_EQ(t.vocab_size(), 120);
  EXPECT_EQ(t.piece(SubwordTokenizer::pad_id), "<pad>");
  EXPECT_EQ(t.piece(SubwordTokenizer::eos_id), "</s>");
  for (const std::string& s : texts) EXPECT_EQ(t.decode(t.encode(s)), s);
  EXPECT_EQ(t.decode(t.encode("Der Hund")), "Der Hund");
  std::vector<int64_t> with_specials = t.encode("Der Hund");
  with_specials.insert(with_specials.begin(), SubwordTokenizer::bos_id);
  with_specials.push_back(SubwordTokenizer::eos_id);
  EXPECT_EQ(t.decode(with_specials), "Der Hund");
  // Deterministic, and a saved model loads back to the same encodings.
  SubwordTokenizer t2 = SubwordTokenizer::train(corpus, o);
  const std::string path = attn::testing::fresh_dir("subword") + "/spm.model";
  t.save(path);
  SubwordTokenizer t3 = SubwordTokenizer::load(path);
  for (const std::string& s : texts) {
    EXPECT_EQ(t2.encode(s), t.encode(s));
    EXPECT_EQ(t3.encode(s), t.encode(s));
  }
  // Errors.
  EXPECT_NE(attn::testing::error_of([&] { t.decode({120}); }).find("out of range"), std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { SubwordTokenizer::load(path + ".missing"); }).find("cannot read"),
            std::string::npos);
  o.vocab_size = 100000;
  EXPECT_NE(attn::testing::error_of([&] { SubwordTokenizer::train(corpus, o); }).find("SentencePiece"),
            std::string::npos);
}

TEST(TranslationBatches, PadsShiftsAndBucketsEveryPairOnce) {
  std::vector<std::string> texts = {
      "Der Hund bellt.", "The dog barks.", "Ich habe keine Zeit mehr.", "I have no time left.", "Ja.", "Yes."};
  std::vector<std::string> corpus;
  for (int i = 0; i < 30; ++i) corpus.insert(corpus.end(), texts.begin(), texts.end());
  SubwordOptions so;
  so.vocab_size = 60;
  SubwordTokenizer tok = SubwordTokenizer::train(corpus, so);
  std::vector<SentencePair> pairs = {
      {"Der Hund bellt.", "The dog barks."}, {"Ich habe keine Zeit mehr.", "I have no time left."}, {"Ja.", "Yes."}};
  EncodedPairs enc = encode_pairs(pairs, tok, 64);
  ASSERT_EQ(enc.size(), 3u);
  SeqBatch b = make_translation_batch(enc, {0, 2});
  const int64_t S = b.src.shape[1], T = b.tgt_in.shape[1];
  EXPECT_EQ(S, static_cast<int64_t>(enc.src[0].size()) + 1);  // the longer source + </s>
  EXPECT_EQ(b.src[S - 1], SubwordTokenizer::eos_id);
  EXPECT_EQ(b.tgt_in[0], SubwordTokenizer::bos_id);
  for (int64_t t = 0; t + 1 < T; ++t)
    if (b.tgt_out[t] != SubwordTokenizer::eos_id) {
      EXPECT_EQ(b.tgt_in[t + 1], b.tgt_out[t]);  // shifted by one
    }
  EXPECT_EQ(b.src[S + static_cast<int64_t>(enc.src[2].size())],
            SubwordTokenizer::eos_id);  // row 1: "Ja." + </s> + pads
  EXPECT_EQ(b.src[2 * S - 1], SubwordTokenizer::pad_id);
  EXPECT_EQ(tok.decode(std::vector<int64_t>(b.tgt_out.data.begin(), b.tgt_out.data.begin() + T)), "The dog barks.");
  // Too long pairs are left out and named in `kept`.
  EncodedPairs short_only = encode_pairs(pairs, tok, 3);
  for (size_t k : short_only.kept) EXPECT_LE(tok.encode(pairs[k].de).size(), 3u);
  // Buckets: every index once, deterministic for a seed.
  EncodedPairs many;
  for (int i = 0; i < 250; ++i) {
    many.src.push_back(std::vector<int64_t>(static_cast<size_t>(1 + i % 17), 5));
    many.tgt.push_back({5});
    many.kept.push_back(static_cast<size_t>(i));
  }
  Generator g1(3), g2(3);
  auto b1 = length_bucketed_batches(many, 8, g1), b2 = length_bucketed_batches(many, 8, g2);
  EXPECT_EQ(b1, b2);
  std::vector<int> seen(250, 0);
  for (const auto& batch : b1) {
    EXPECT_LE(batch.size(), 8u);
    for (size_t i : batch) ++seen[i];
  }
  for (int c : seen) EXPECT_EQ(c, 1);
  // A token budget: no batch pads past it (pairs × (longest side + 1)), and short pairs fill bigger batches.
  Generator g3(3);
  auto by_tokens = length_bucketed_batches(many, 64, g3, 40);
  std::fill(seen.begin(), seen.end(), 0);
  size_t largest = 0;
  for (const auto& batch : by_tokens) {
    size_t longest = 0;
    for (size_t i : batch) longest = std::max({longest, many.src[i].size(), many.tgt[i].size()}), ++seen[i];
    EXPECT_LE(batch.size() * (longest + 1), 40u);
    largest = std::max(largest, batch.size());
  }
  for (int c : seen) EXPECT_EQ(c, 1);
  EXPECT_GT(largest, 8u);
  // A subset: exactly its indices; out of range ones are an error naming the op.
  Generator g4(3);
  const std::vector<size_t> subset = {0, 5, 7, 100, 249};
  std::vector<size_t> got;
  for (const auto& batch : length_bucketed_batches(many, subset, 2, g4))
    got.insert(got.end(), batch.begin(), batch.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, subset);
  EXPECT_NE(
      attn::testing::error_of([&] { length_bucketed_batches(many, {250}, 2, g4); }).find("length_bucketed_batches"),
      std::string::npos);
  // append_pairs keeps `kept` pointing into the appended list's own input, offset.
  EncodedPairs joined = enc;
  append_pairs(joined, enc, 100);
  ASSERT_EQ(joined.size(), 2 * enc.size());
  EXPECT_EQ(joined.kept.back(), enc.kept.back() + 100);
  EXPECT_EQ(joined.src.back(), enc.src.back());
}
