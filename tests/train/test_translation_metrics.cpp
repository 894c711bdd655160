// Translation metrics: BLEU, chrF and the 13a tokenizer on hand-computed cases, then live against
// Debian's python3-nltk (corpus_bleu) and small Python rewrites of sacreBLEU's 13a regexes, BLEU and
// chrF (tests/train/translation_metrics_ref.py, run by /usr/bin/python3) on seeded random corpora.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/train/translation_metrics.h"
#include "test_util.h"

namespace attn::train {
namespace {

using Tokens = std::vector<std::string>;
using Corpus = std::vector<Tokens>;

Tokens split(const std::string& s) {
  Tokens out;
  std::string cur;
  for (char c : s) {
    if (c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// ---- BLEU by hand ----------------------------------------------------------------------------------

TEST(TranslationMetrics, BleuPerfectMatchIs100) {
  const Corpus c = {split("the cat sat on the mat"), split("a b c d e f g")};
  const BleuResult r = corpus_bleu(c, c);
  EXPECT_DOUBLE_EQ(r.bleu, 100.0);
  EXPECT_DOUBLE_EQ(r.brevity_penalty, 1.0);
  EXPECT_DOUBLE_EQ(r.ratio, 1.0);
  EXPECT_EQ(r.hyp_len, 13);
  EXPECT_EQ(r.ref_len, 13);
  for (double p : r.precisions) EXPECT_DOUBLE_EQ(p, 100.0);
  EXPECT_EQ(r.totals, (std::array<int64_t, 4>{13, 11, 9, 7}));
}

TEST(TranslationMetrics, BleuWorkedExampleWithBrevityPenalty) {
  // hyp: the cat sat on the mat (6)   ref: the cat sat on the red mat today (8)
  //   1-grams 6/6; 2-grams 4/5 (not "the mat"); 3-grams 3/4 (not "on the mat"); 4-grams 2/3
  //   BP = exp(1 - 8/6);  BLEU = 100 · BP · (1 · 4/5 · 3/4 · 2/3)^¼
  const BleuResult r = corpus_bleu({split("the cat sat on the mat")}, {split("the cat sat on the red mat today")});
  EXPECT_EQ(r.matches, (std::array<int64_t, 4>{6, 4, 3, 2}));
  EXPECT_EQ(r.totals, (std::array<int64_t, 4>{6, 5, 4, 3}));
  EXPECT_NEAR(r.brevity_penalty, std::exp(1.0 - 8.0 / 6.0), 1e-15);
  EXPECT_NEAR(r.ratio, 6.0 / 8.0, 1e-15);
  EXPECT_NEAR(r.bleu, 100.0 * std::exp(1.0 - 8.0 / 6.0) * std::pow(0.8 * 0.75 * 2.0 / 3.0, 0.25), 1e-12);
  EXPECT_NEAR(r.bleu, 56.9836, 1e-4);
  EXPECT_NEAR(r.precisions[1], 80.0, 1e-12);
}

TEST(TranslationMetrics, BleuClipsRepeatedWords) {
  // Papineni's example: "the" seven times against a reference with two "the": p_1 = 2/7.
  const BleuResult r = corpus_bleu({split("the the the the the the the")}, {split("the cat is on the mat")});
  EXPECT_EQ(r.matches[0], 2);
  EXPECT_EQ(r.totals[0], 7);
  EXPECT_NEAR(r.precisions[0], 200.0 / 7.0, 1e-12);
}

TEST(TranslationMetrics, BleuCorpusSumsCountsBeforeDividing) {
  // Two sentences: the counts add up, the BLEU is not the mean of the sentence BLEUs.
  const Corpus h = {split("a b c d e"), split("x y z w v u")}, r = {split("a b c d e"), split("x y z w q u")};
  const BleuResult b = corpus_bleu(h, r);
  EXPECT_EQ(b.matches, (std::array<int64_t, 4>{10, 7, 5, 3}));
  EXPECT_EQ(b.totals, (std::array<int64_t, 4>{11, 9, 7, 5}));
  EXPECT_NEAR(b.bleu, 100.0 * std::pow(10.0 / 11 * 7.0 / 9 * 5.0 / 7 * 3.0 / 5, 0.25), 1e-12);
}

TEST(TranslationMetrics, BleuNoFourGramMatchIsZeroUnlessSmoothed) {
  // hyp a b c d e, ref a b c x d e: p = 5/5, 3/4, 1/3, 0/2; BP = exp(1 - 6/5).
  const Corpus h = {split("a b c d e")}, r = {split("a b c x d e")};
  const BleuResult none = corpus_bleu(h, r);
  EXPECT_EQ(none.bleu, 0.0);
  EXPECT_EQ(none.matches, (std::array<int64_t, 4>{5, 3, 1, 0}));
  EXPECT_NEAR(none.precisions[2], 100.0 / 3.0, 1e-12);
  EXPECT_EQ(none.precisions[3], 0.0);
  // exp smoothing: the first zero count becomes 1/2, so p_4 = 100 / (2 · 2) = 25, and
  // BLEU = 100 · exp(-0.2) · (1 · 3/4 · 1/3 · 1/4)^¼ = 100 · exp(-0.2) · 0.5.
  const BleuResult exp = corpus_bleu(h, r, {BleuSmoothing::Exp});
  EXPECT_NEAR(exp.precisions[3], 25.0, 1e-12);
  EXPECT_NEAR(exp.bleu, 50.0 * std::exp(-0.2), 1e-12);
}

TEST(TranslationMetrics, BleuEmptyHypothesesAndCorpora) {
  const BleuResult empty_hyp = corpus_bleu({{}}, {split("a b c")});
  EXPECT_EQ(empty_hyp.bleu, 0.0);
  EXPECT_EQ(empty_hyp.brevity_penalty, 0.0);
  EXPECT_EQ(empty_hyp.hyp_len, 0);
  EXPECT_EQ(empty_hyp.ref_len, 3);
  const BleuResult empty_corpus = corpus_bleu({}, {});
  EXPECT_EQ(empty_corpus.bleu, 0.0);
  EXPECT_EQ(empty_corpus.ratio, 0.0);
  // A corpus of hypotheses shorter than 4 tokens has no 4-grams: p_4 is undefined, BLEU 0, even smoothed.
  EXPECT_EQ(corpus_bleu({split("a b c")}, {split("a b c")}, {BleuSmoothing::Exp}).bleu, 0.0);
  // Longer than the reference: no brevity penalty.
  const BleuResult longer = corpus_bleu({split("a b c d e f")}, {split("a b c d e")});
  EXPECT_EQ(longer.brevity_penalty, 1.0);
  EXPECT_NEAR(longer.ratio, 1.2, 1e-15);
  EXPECT_NE(attn::testing::error_of([] { corpus_bleu({split("a")}, {}); }).find("one each"), std::string::npos);
}

TEST(TranslationMetrics, BleuNltkDenominators) {
  // NLTK floors each sentence's n-gram count at 1: the one-token "x" adds 1 to total_2..total_4.
  //   standard: 5/6, 3/4, 2/3, 1/2      NLTK: 5/6, 3/5, 2/4, 1/3 (NLTK's corpus_bleu gives 0.537284965911771)
  const Corpus h = {split("a b c d f"), split("x")}, r = {split("a b c d e"), split("x")};
  const BleuResult standard = corpus_bleu(h, r);
  EXPECT_NEAR(standard.bleu, 100.0 * std::pow(5.0 / 6 * 3.0 / 4 * 2.0 / 3 * 1.0 / 2, 0.25), 1e-12);
  const BleuResult nltk = corpus_bleu(h, r, {BleuSmoothing::None, /*nltk_denominators=*/true});
  EXPECT_EQ(nltk.totals, (std::array<int64_t, 4>{6, 5, 4, 3}));
  EXPECT_NEAR(nltk.bleu, 53.7284965911771, 1e-11);
}

TEST(TranslationMetrics, BleuTextTokenizesWith13a) {
  const BleuResult r = corpus_bleu_text({"The cat, it sat on the mat."}, {"The cat, it sat on the mat .  \n"});
  EXPECT_DOUBLE_EQ(r.bleu, 100.0);
  EXPECT_EQ(r.hyp_len, 9);
}

// ---- chrF by hand ----------------------------------------------------------------------------------

TEST(TranslationMetrics, ChrfByHand) {
  EXPECT_DOUBLE_EQ(corpus_chrf({"the cat"}, {"the cat"}), 100.0);
  EXPECT_DOUBLE_EQ(corpus_chrf({"a b c"}, {"abc"}), 100.0);  // whitespace is removed
  // "abc" vs "abd", orders 1-2, beta 1: P_1 = R_1 = 2/3, P_2 = R_2 = 1/2 -> P = R = 7/12 -> F = 7/12.
  EXPECT_NEAR(corpus_chrf({"abc"}, {"abd"}, 2, 1.0), 100.0 * 7.0 / 12.0, 1e-12);
  // beta 2 with P != R: "ab" vs "abcd", order 1: P = 1, R = 1/2 -> F_2 = 5 · 1 · 1/2 / (4 + 1/2) = 5/9.
  EXPECT_NEAR(corpus_chrf({"ab"}, {"abcd"}, 1, 2.0), 100.0 * 5.0 / 9.0, 1e-12);
  // Characters are code points: "ä" is one character, and matches only "ä".
  EXPECT_NEAR(corpus_chrf({"ä"}, {"äa"}, 1, 1.0), 100.0 * (2.0 * 1 * 0.5 / 1.5), 1e-12);
  EXPECT_EQ(corpus_chrf({""}, {"abc"}), 0.0);
  EXPECT_EQ(corpus_chrf({"xyz"}, {"abc"}), 0.0);
  EXPECT_EQ(corpus_chrf({}, {}), 0.0);
}

// ---- 13a by hand -----------------------------------------------------------------------------------

TEST(TranslationMetrics, Tokenize13aExamples) {
  EXPECT_EQ(tokenize_13a(R"(He said "hello".)"), (Tokens{"He", "said", "\"", "hello", "\"", "."}));
  EXPECT_EQ(tokenize_13a("pi is 3.14."), (Tokens{"pi", "is", "3.14", "."}));
  EXPECT_EQ(tokenize_13a("1,000 people, 2 cats"), (Tokens{"1,000", "people", ",", "2", "cats"}));
  EXPECT_EQ(tokenize_13a("the U.S. army"), (Tokens{"the", "U", ".", "S", ".", "army"}));
  EXPECT_EQ(tokenize_13a("a well-known fact"), (Tokens{"a", "well-known", "fact"}));
  EXPECT_EQ(tokenize_13a("x-5 but 5-x"), (Tokens{"x-5", "but", "5", "-", "x"}));
  EXPECT_EQ(tokenize_13a("1990-2000"), (Tokens{"1990", "-", "2000"}));
  EXPECT_EQ(tokenize_13a("it's (not) $5.00!"), (Tokens{"it's", "(", "not", ")", "$", "5.00", "!"}));
  EXPECT_EQ(tokenize_13a(".5 and 5."), (Tokens{".", "5", "and", "5", "."}));
  EXPECT_EQ(tokenize_13a("&quot;a&quot; &amp; &lt;b&gt; &amp;quot;"),
            (Tokens{"\"", "a", "\"", "&", "<", "b", ">", "&", "quot", ";"}));
  EXPECT_EQ(tokenize_13a("infor-\nmation<skipped> on two\nlines"), (Tokens{"information", "on", "two", "lines"}));
  EXPECT_EQ(tokenize_13a("Straße, München."), (Tokens{"Straße", ",", "München", "."}));
  EXPECT_EQ(tokenize_13a("a\u00a0b\u3000c\td"), (Tokens{"a", "b", "c", "d"}));  // Unicode whitespace splits
  EXPECT_EQ(tokenize_13a(""), Tokens{});
  EXPECT_EQ(tokenize_13a("  \n "), Tokens{});
}

// ---- live: NLTK and the sacreBLEU rewrites ---------------------------------------------------------

// Runs tests/train/translation_metrics_ref.py on `cases` under Debian's /usr/bin/python3; returns its
// answers, or fails the test (never skips) when python3-nltk is missing.
nlohmann::json run_reference(const nlohmann::json& cases, const std::string& tag) {
  const auto probe = attn::testing::run_command("/usr/bin/python3 -c 'import nltk.translate.bleu_score'");
  if (probe.code != 0) {
    ADD_FAILURE() << "/usr/bin/python3 cannot import nltk (Debian's python3-nltk): run scripts/setup.sh\n" << probe.out;
    return {};
  }
  const std::string dir = attn::testing::fresh_dir("translation_metrics_" + tag);
  const std::string in = dir + "/cases.json", out = dir + "/answers.json";
  std::ofstream(in, std::ios::binary) << cases.dump();
  const std::string script = std::string(ATTN_SOURCE_DIR) + "/tests/train/translation_metrics_ref.py";
  const auto r = attn::testing::run_command("/usr/bin/python3 '" + script + "' '" + in + "' '" + out + "'");
  if (r.code != 0) {
    ADD_FAILURE() << script << " failed with status " << r.code << " (run scripts/setup.sh if nltk is missing):\n"
                  << r.out;
    return {};
  }
  std::ifstream f(out, std::ios::binary);
  return nlohmann::json::parse(f);
}

// `n` random token lists from the first `vocab` words, lengths in [lo, hi].
Corpus random_corpus(Generator& gen, size_t n, uint32_t vocab, uint32_t lo, uint32_t hi) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "it", "and", "big"};
  Corpus c(n);
  for (auto& s : c) {
    const uint32_t len = lo + gen.randint(hi - lo + 1);
    for (uint32_t i = 0; i < len; ++i) s.push_back(kWords[gen.randint(vocab)]);
  }
  return c;
}

TEST(TranslationMetrics, BleuMatchesNltkAndSacreBleuLive) {
  Generator gen(2024);
  struct Case {
    Corpus hyps, refs;
  };
  std::vector<Case> cases;
  // The main corpus: 200 pairs, lengths 1..30 on both sides (hypotheses shorter and longer than their
  // references), six words so that 4-grams overlap.
  cases.push_back({random_corpus(gen, 200, 6, 1, 30), random_corpus(gen, 200, 6, 1, 30)});
  // The same sizes with hypotheses of at least 4 tokens: there NLTK's denominators are the standard ones.
  cases.push_back({random_corpus(gen, 200, 6, 4, 30), random_corpus(gen, 200, 6, 1, 30)});
  // Many small corpora for the corners: empty sentences, no matches, no 4-grams, tiny vocabularies.
  // Every other one has references that are hypotheses, some edited (one token dropped or replaced),
  // so that 4-grams often match.
  for (int k = 0; k < 60; ++k) {
    const size_t n = 1 + gen.randint(5);
    const uint32_t vocab = 2 + gen.randint(4), hi = 1 + gen.randint(10);
    Corpus hyps = random_corpus(gen, n, vocab, 0, hi), refs = random_corpus(gen, n, vocab, 0, hi);
    if (k % 2 == 0) {
      refs = hyps;
      for (auto& r : refs) {
        if (r.empty() || gen.randint(2)) continue;
        const uint32_t at = gen.randint(static_cast<uint32_t>(r.size()));
        if (gen.randint(2)) r.erase(r.begin() + at);
        else r[at] = "dog";
      }
    }
    cases.push_back({hyps, refs});
  }
  nlohmann::json in;
  in["bleu"] = nlohmann::json::array();
  for (const auto& c : cases) in["bleu"].push_back({{"hyps", c.hyps}, {"refs", c.refs}});
  const nlohmann::json out = run_reference(in, "bleu");
  ASSERT_FALSE(out.is_null());
  ASSERT_EQ(out["bleu_nltk"].size(), cases.size());

  double worst_nltk = 0, worst_std_vs_nltk = 0, worst_none = 0, worst_exp = 0;
  int nonzero = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const double nltk = out["bleu_nltk"][i].get<double>();
    const double ours_nltk = 0.01 * corpus_bleu(c.hyps, c.refs, {BleuSmoothing::None, true}).bleu;
    const double ours = corpus_bleu(c.hyps, c.refs).bleu;
    const double ours_exp = corpus_bleu(c.hyps, c.refs, {BleuSmoothing::Exp}).bleu;
    EXPECT_NEAR(ours_nltk, nltk, 1e-9) << "case " << i << " (NLTK denominators)";
    EXPECT_NEAR(ours, out["bleu_none"][i].get<double>(), 1e-9) << "case " << i << " (sacreBLEU, no smoothing)";
    EXPECT_NEAR(ours_exp, out["bleu_exp"][i].get<double>(), 1e-9) << "case " << i << " (sacreBLEU, exp)";
    worst_nltk = std::max(worst_nltk, std::abs(ours_nltk - nltk));
    worst_none = std::max(worst_none, std::abs(ours - out["bleu_none"][i].get<double>()));
    worst_exp = std::max(worst_exp, std::abs(ours_exp - out["bleu_exp"][i].get<double>()));
    nonzero += nltk > 1e-6;
    if (i == 1) {  // every hypothesis has 4+ tokens: the standard BLEU is NLTK's
      EXPECT_NEAR(0.01 * ours, nltk, 1e-9);
      worst_std_vs_nltk = std::abs(0.01 * ours - nltk);
    }
  }
  // The main corpus scores well above 0 (so the comparison compares something), and differs from NLTK's
  // without the NLTK denominators (its hypotheses of 1-3 tokens add to total_2..4).
  EXPECT_GT(out["bleu_nltk"][0].get<double>(), 0.05);
  EXPECT_GT(std::abs(0.01 * corpus_bleu(cases[0].hyps, cases[0].refs).bleu - out["bleu_nltk"][0].get<double>()), 1e-4);
  EXPECT_GT(nonzero, 10);
  std::cout << "[ live ] BLEU: largest |ours*0.01 - nltk| = " << worst_nltk << " over " << cases.size()
            << " corpora (main corpus: nltk " << out["bleu_nltk"][0].get<double>() << "); standard vs nltk on 4+-token"
            << " hypotheses " << worst_std_vs_nltk << "; vs sacreBLEU rewrite: none " << worst_none << ", exp "
            << worst_exp << "; " << nonzero << " corpora score above 0\n";
}

// Random lines from fragments that exercise every 13a rule, entities, line breaks and non-ASCII text.
std::vector<std::string> random_lines(Generator& gen, size_t n) {
  static const std::vector<std::string> kFragments = {
      "word", "Haus",       "the",    "U",      "S",         "e",      "g",    "3",      "14",    "1",
      "000",  "0",          "9",      ".",      ",",         "-",      "--",   "'",      "\"",    " ",
      " ",    " ",          "  ",     "\t",     "\n",        "-\n",    "\r",   "&quot;", "&amp;", "&lt;",
      "&gt;", "&amp;quot;", "&",      ";",      "<skipped>", "<",      ">",    "(",      ")",     "[",
      "]",    "{",          "}",      "!",      "?",         ":",      "/",    "\\",     "$",     "%",
      "#",    "@",          "^",      "_",      "`",         "|",      "~",    "*",      "+",     "=",
      "ä",    "ß",          "Ü",      "é",      "€",         "—",      "…",    "«",      "»",     "😀",
      "日本", "\u00a0",     "\u3000", "\u2028", "\u2009",    "\u0085", "\x1c", "\u200b", "\u00ad"};
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string line;
    const uint32_t parts = gen.randint(16);
    for (uint32_t k = 0; k < parts; ++k) {
      if (gen.randint(4) == 0) line += static_cast<char>(0x20 + gen.randint(95));  // any printable ASCII
      else line += kFragments[gen.randint(static_cast<uint32_t>(kFragments.size()))];
    }
    lines.push_back(line);
  }
  return lines;
}

TEST(TranslationMetrics, Tokenize13aMatchesPythonRegexesLive) {
  Generator gen(13);
  std::vector<std::string> lines = {"Der Vertrag wurde am 3. März 2021 unterzeichnet.",
                                    "It costs $1,000.50 (approx.), i.e. a lot!",
                                    "Mr. Smith's \"well-known\" e-mail: smith@example.com / 555-1234.",
                                    "x-5, 5-x, 5--x, -5, a.b,c .d, e.",
                                    "...",
                                    ",,,",
                                    "3.14.15",
                                    "1.000,00 €",
                                    "Es ist 20:15 Uhr; \u201eJa\u201c, sagte sie.",
                                    "&amp;lt;tag&amp;gt;",
                                    "end-\n",
                                    "trailing space \u00a0",
                                    ""};
  const std::vector<std::string> random = random_lines(gen, 600);
  lines.insert(lines.end(), random.begin(), random.end());
  const nlohmann::json out = run_reference({{"tok13a", lines}}, "tok13a");
  ASSERT_FALSE(out.is_null());
  ASSERT_EQ(out["tok13a"].size(), lines.size());
  int differ = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Tokens want = out["tok13a"][i].get<Tokens>();
    const Tokens got = tokenize_13a(lines[i]);
    if (got != want && ++differ <= 5) {
      ADD_FAILURE() << "line " << i << " " << nlohmann::json(lines[i]).dump()
                    << "\n  ours:   " << nlohmann::json(got).dump() << "\n  python: " << nlohmann::json(want).dump();
    }
  }
  EXPECT_EQ(differ, 0) << "of " << lines.size() << " lines";
}

TEST(TranslationMetrics, ChrfMatchesSacreBleuRewriteLive) {
  Generator gen(6);
  static const std::vector<std::string> kChars = {"a", "b", "c", "d", "e",      "n", "r", "s", "t", " ",
                                                  " ", "ä", "ö", "ß", "\u00a0", ".", ",", "1", "2"};
  auto sentence = [&](uint32_t max_len) {  // as characters (UTF-8 pieces), so that edits keep it valid
    std::vector<std::string> s;
    const uint32_t len = gen.randint(max_len + 1);
    for (uint32_t i = 0; i < len; ++i) s.push_back(kChars[gen.randint(static_cast<uint32_t>(kChars.size()))]);
    return s;
  };
  auto join = [](const std::vector<std::string>& pieces) {
    std::string s;
    for (const auto& p : pieces) s += p;
    return s;
  };
  struct Case {
    std::vector<std::string> hyps, refs;
    int order;
    double beta;
  };
  std::vector<Case> cases;
  for (int k = 0; k < 40; ++k) {
    Case c;
    const size_t n = k < 4 ? 100 : 1 + gen.randint(6);
    const uint32_t max_len = k < 4 ? 60 : 1 + gen.randint(12);
    for (size_t i = 0; i < n; ++i) {
      const std::vector<std::string> ref = sentence(max_len);
      // Half the hypotheses are edited references (close), half are unrelated.
      std::vector<std::string> h = gen.randint(2) ? ref : sentence(max_len);
      if (!h.empty() && gen.randint(2)) h.erase(h.begin() + gen.randint(static_cast<uint32_t>(h.size())));
      c.refs.push_back(join(ref));
      c.hyps.push_back(join(h));
    }
    c.order = k % 3 == 2 ? 1 + static_cast<int>(gen.randint(8)) : 6;
    c.beta = k % 4 == 3 ? 0.5 + gen.uniform() * 3 : 2.0;
    cases.push_back(c);
  }
  nlohmann::json in;
  in["chrf"] = nlohmann::json::array();
  for (const auto& c : cases)
    in["chrf"].push_back({{"hyps", c.hyps}, {"refs", c.refs}, {"order", c.order}, {"beta", c.beta}});
  const nlohmann::json out = run_reference(in, "chrf");
  ASSERT_FALSE(out.is_null());
  ASSERT_EQ(out["chrf"].size(), cases.size());
  double worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const double want = out["chrf"][i].get<double>();
    const double got = corpus_chrf(cases[i].hyps, cases[i].refs, cases[i].order, cases[i].beta);
    EXPECT_NEAR(got, want, 1e-9) << "case " << i;
    worst = std::max(worst, std::abs(got - want));
  }
  EXPECT_GT(out["chrf"][0].get<double>(), 20.0);
  std::cout << "[ live ] chrF: largest difference " << worst << " over " << cases.size() << " corpora\n";
}

}  // namespace
}  // namespace attn::train

TEST(TranslationMetrics, ScoresByLengthBucket) {
  const std::vector<std::string> hyps = {"the cat sat on the mat today .", "a dog barks",
                                         "it rains a lot in the north of the country today .", "we work"};
  const std::vector<std::string> refs = {"the cat sat on the mat today .", "the dog barks",
                                         "it rains a lot in the north of the land today .", "we work hard"};
  const std::vector<int64_t> words = {8, 5, 16, 4};  // buckets 4-8, 4-8, 15+, 4-8
  const auto scores = attn::train::score_translations(hyps, refs, words);
  ASSERT_EQ(scores.size(), 4u);
  EXPECT_EQ(scores[0].label, "all");
  EXPECT_EQ(scores[0].sentences, 4);
  EXPECT_NEAR(scores[0].bleu, attn::train::corpus_bleu_text(hyps, refs).bleu, 1e-12);
  EXPECT_NEAR(scores[0].chrf, attn::train::corpus_chrf(hyps, refs), 1e-12);
  EXPECT_EQ(scores[1].label, "4-8");
  EXPECT_EQ(scores[1].sentences, 3);
  EXPECT_NEAR(scores[1].bleu,
              attn::train::corpus_bleu_text({hyps[0], hyps[1], hyps[3]}, {refs[0], refs[1], refs[3]}).bleu, 1e-12);
  EXPECT_EQ(scores[2].sentences, 0);  // no 9-14 sentence: scored 0
  EXPECT_EQ(scores[2].bleu, 0.0);
  EXPECT_EQ(scores[3].label, "15+");
  EXPECT_EQ(scores[3].sentences, 1);
  EXPECT_NEAR(scores[3].chrf, attn::train::corpus_chrf({hyps[2]}, {refs[2]}), 1e-12);
  EXPECT_THROW(attn::train::score_translations(hyps, refs, {1, 2}), attn::Error);
}
