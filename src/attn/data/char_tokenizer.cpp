#include "attn/data/char_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"

namespace attn::data {

namespace {

// "U+1F642" for messages.
std::string u_plus(char32_t cp) {
  std::ostringstream os;
  os << "U+" << std::uppercase << std::hex << std::setw(4) << std::setfill('0') << static_cast<uint32_t>(cp);
  return os.str();
}

}  // namespace

// UTF-8 encodes a code point in 1-4 bytes; the lead byte says how many:
//   0xxxxxxx                             U+0000  .. U+007F
//   110xxxxx 10xxxxxx                    U+0080  .. U+07FF
//   1110xxxx 10xxxxxx 10xxxxxx           U+0800  .. U+FFFF   (minus the surrogates U+D800 .. U+DFFF)
//   11110xxx 10xxxxxx 10xxxxxx 10xxxxxx  U+10000 .. U+10FFFF
std::vector<char32_t> utf8_decode(std::string_view text, const char* op) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int len = 0;
    char32_t cp = 0, min_cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
      min_cp = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
      min_cp = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
      min_cp = 0x10000;
    } else ATTN_FAIL(op, "invalid UTF-8: unexpected byte 0x" << std::hex << int(b0) << std::dec << " at byte " << i);
    ATTN_CHECK(i + len <= text.size(), op, "invalid UTF-8: truncated sequence at byte " << i);
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ATTN_CHECK((b & 0xC0) == 0x80, op, "invalid UTF-8: bad continuation byte at byte " << i + k);
      cp = (cp << 6) | (b & 0x3F);
    }
    ATTN_CHECK(cp >= min_cp, op, "invalid UTF-8: overlong encoding at byte " << i);
    ATTN_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), op,
               "invalid UTF-8: " << u_plus(cp) << " is not a Unicode scalar value (byte " << i << ")");
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string utf8_encode(char32_t cp) {
  ATTN_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), "utf8_encode",
             u_plus(cp) << " is not a Unicode scalar value");
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string utf8_encode(const std::vector<char32_t>& code_points) {
  std::string s;
  for (char32_t cp : code_points) s += utf8_encode(cp);
  return s;
}

// ---- CharTokenizer ------------------------------------------------------------------------------------

CharTokenizer CharTokenizer::from_text(std::string_view text) {
  const std::vector<char32_t> cps = utf8_decode(text, "CharTokenizer::from_text");
  ATTN_CHECK(!cps.empty(), "CharTokenizer::from_text", "the text is empty: no characters to build a vocabulary from");
  std::set<char32_t> unique(cps.begin(), cps.end());  // sorted, distinct
  return CharTokenizer(std::vector<char32_t>(unique.begin(), unique.end()));
}

CharTokenizer::CharTokenizer(std::vector<char32_t> vocab) : vocab_(std::move(vocab)) {
  for (size_t i = 0; i < vocab_.size(); ++i) {
    const char32_t cp = vocab_[i];
    ATTN_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), "CharTokenizer",
               "entry " << i << " (" << u_plus(cp) << ") is not a Unicode scalar value");
    ATTN_CHECK(i == 0 || vocab_[i - 1] < cp, "CharTokenizer",
               "the vocabulary must be strictly increasing; entry " << i << " (" << u_plus(cp) << ") is not");
    index_.emplace(cp, static_cast<int64_t>(i));
  }
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text) const {
  const std::vector<char32_t> cps = utf8_decode(text, "CharTokenizer::encode");
  std::vector<int64_t> ids;
  ids.reserve(cps.size());
  for (size_t pos = 0; pos < cps.size(); ++pos) {
    auto it = index_.find(cps[pos]);
    ATTN_CHECK(it != index_.end(), "CharTokenizer::encode",
               "character '" << utf8_encode(cps[pos]) << "' (" << u_plus(cps[pos]) << ") at character " << pos
                             << " is not in the vocabulary of " << vocab_.size() << " characters");
    ids.push_back(it->second);
  }
  return ids;
}

std::string CharTokenizer::token(int64_t id) const {
  ATTN_CHECK(id >= 0 && id < vocab_size(), "CharTokenizer::decode",
             "id " << id << " is out of range [0, " << vocab_size() << ")");
  return utf8_encode(vocab_[static_cast<size_t>(id)]);
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string s;
  for (int64_t id : ids) s += token(id);
  return s;
}

std::string CharTokenizer::to_json() const {
  nlohmann::json j;
  j["type"] = "char";
  j["version"] = 1;
  nlohmann::json v = nlohmann::json::array();
  for (char32_t cp : vocab_) v.push_back(utf8_encode(cp));
  j["vocab"] = std::move(v);
  return j.dump(1);
}

CharTokenizer CharTokenizer::from_json(const std::string& text) {
  constexpr const char* op = "CharTokenizer::load";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ATTN_FAIL(op, "not valid JSON: " << e.what());
  }
  // A field of the wrong type ("version": {}) is an error of this file, not an exception of the JSON library.
  auto field_is = [&](const char* key, const nlohmann::json& expected) {
    return j.contains(key) && j[key] == expected;
  };
  ATTN_CHECK(j.is_object() && field_is("type", "char"), op, "not a character tokenizer (\"type\": \"char\")");
  ATTN_CHECK(field_is("version", 1), op, "unsupported version (expected \"version\": 1)");
  ATTN_CHECK(j.contains("vocab") && j["vocab"].is_array(), op, "missing \"vocab\" array");
  std::vector<char32_t> vocab;
  for (const auto& e : j["vocab"]) {
    ATTN_CHECK(e.is_string(), op, "vocabulary entry " << vocab.size() << " is not a string");
    const std::vector<char32_t> cps = utf8_decode(e.get<std::string>(), op);
    ATTN_CHECK(cps.size() == 1, op,
               "vocabulary entry " << vocab.size() << " holds " << cps.size() << " characters, expected exactly 1");
    vocab.push_back(cps[0]);
  }
  return CharTokenizer(std::move(vocab));
}

void CharTokenizer::save(const std::string& path) const {
  io::write_file_atomic(path, to_json() + "\n", "CharTokenizer::save");
}

CharTokenizer CharTokenizer::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  ATTN_CHECK(f, "CharTokenizer::load", "cannot open " << path);
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json(ss.str());
}

}  // namespace attn::data
