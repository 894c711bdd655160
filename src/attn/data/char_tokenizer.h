// A character-level tokenizer: one token per Unicode code point, the vocabulary being the sorted set
// of code points seen in a training text (Karpathy's char-rnn / nanoGPT "shakespeare_char").
//
//   text  "héllo 🙂"  --UTF-8 decode-->  code points  h é l l o ␠ 🙂
//                      --vocabulary index-->           ids  (one per code point)
//
// Token id i is the i-th smallest code point of the vocabulary, so the same text always gives the same
// vocabulary and ids. Unlike a byte-level tokenizer, an emoji is one token, not four bytes; unlike BPE,
// there are no merges: the model must learn spelling itself, which is what makes it a good first model.
//
// The vocabulary is saved as JSON ({"type": "char", "version": 1, "vocab": ["\n", " ", "!", …]}), so a
// trained model's checkpoint folder can carry the tokenizer it was trained with.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attn::data {

// UTF-8 <-> code points. utf8_decode throws attn::Error naming `op` and the byte offset on malformed
// input (bad lead byte, truncated sequence, overlong form, surrogate, or a value above U+10FFFF).
std::vector<char32_t> utf8_decode(std::string_view text, const char* op = "utf8_decode");
std::string utf8_encode(char32_t code_point);
std::string utf8_encode(const std::vector<char32_t>& code_points);

class CharTokenizer {
 public:
  CharTokenizer() = default;
  // The vocabulary of `text`: its distinct code points, sorted. Throws on an empty text.
  static CharTokenizer from_text(std::string_view text);
  // An explicit vocabulary: code points, strictly increasing (sorted, no duplicates).
  explicit CharTokenizer(std::vector<char32_t> vocab);

  // text -> ids, one per code point. Throws attn::Error naming the first character that is not in the
  // vocabulary (with its U+ code and position).
  std::vector<int64_t> encode(std::string_view text) const;
  // ids -> text. Throws on an id outside [0, vocab_size).
  std::string decode(const std::vector<int64_t>& ids) const;
  // One token as UTF-8 (for labels on attention heatmaps).
  std::string token(int64_t id) const;

  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  const std::vector<char32_t>& vocab() const { return vocab_; }
  bool contains(char32_t code_point) const { return index_.count(code_point) != 0; }

  // JSON file, written atomically (a temporary file renamed into place). load validates the type,
  // version and that every entry is exactly one code point, sorted, without duplicates.
  void save(const std::string& path) const;
  static CharTokenizer load(const std::string& path);
  std::string to_json() const;
  static CharTokenizer from_json(const std::string& json);

 private:
  std::vector<char32_t> vocab_;                  // id -> code point, increasing
  std::unordered_map<char32_t, int64_t> index_;  // code point -> id
};

}  // namespace attn::data
