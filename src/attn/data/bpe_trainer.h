// Training GPT-2's byte-level BPE on a corpus of our own: the same pre-tokenizer, the same 256 byte
// stand-ins and the same file format as GPT-2's (vocab.json + merges.txt, read back by GPT2Tokenizer),
// but merges learnt from the corpus, so a small model gets a small vocabulary that fits its text
// (GPT-2's 50,257 tokens would make the embedding alone larger than a few-MB model; the words of
// Moby-Dick and the State of the Union addresses need ~8,000).
//
// The algorithm (Sennrich et al. 2016, byte-level as in GPT-2 and Hugging Face's ByteLevel BPE trainer):
//
//   1. Pre-tokenize every text with GPT-2's pattern and count the pieces ("word" counts):
//        " the" x 145,006   "," x 120,930   " whale" x 1,150 ...
//   2. Each piece starts as its bytes (base vocabulary: the 256 bytes, ids 0..255 in GPT-2's order, i.e.
//      sorted by stand-in character: '!' = 0 ... 'ÿ' = 187, then the 68 stand-ins Ā, ā, ... = 188..255).
//   3. Repeat until the vocabulary is full: count every adjacent pair of symbols, weighted by its word's
//      count; the most frequent pair (ties: the smallest pair of ids) becomes merge number k and token
//      256 + k; replace it in every word, left to right ("a a a" -> "aa a").
//      Stop early when the best pair occurs fewer than min_frequency times.
//   4. The last id is "<|endoftext|>", the document separator.
//
// Encoding a text with GPT2Tokenizer and the written files then gives each piece exactly the symbols it
// ended with here (merges applied lowest rank first reproduce the training order): tested.
//
// Pair counts are kept up to date incrementally (only the words holding the merged pair are touched) and
// the best pair comes from a max-heap with lazy deletion, so 8,000 merges over ~60,000 distinct words
// take seconds.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::data {

struct BpeVocabulary {
  std::vector<std::string> tokens;                  // id -> the token's bytes ("<|endoftext|>" last)
  std::vector<std::pair<int64_t, int64_t>> merges;  // rank -> (left id, right id); merge k makes id 256 + k
  int64_t eot_token() const { return static_cast<int64_t>(tokens.size()) - 1; }
  int64_t vocab_size() const { return static_cast<int64_t>(tokens.size()); }

  // DIR/vocab.json ({"spelling": id}) and DIR/merges.txt ("#version: 0.2" then "left right" per line), in
  // the byte stand-in spelling, as Hugging Face writes them; each file written atomically.
  void save(const std::string& dir) const;
};

struct BpeTrainOptions {
  int64_t vocab_size = 8192;  // all tokens: 256 bytes + merges + <|endoftext|>; at least 257
  int64_t min_frequency = 2;  // a pair seen fewer times is never merged (the vocabulary may end smaller)
};

// Learns merges from `texts` (UTF-8; each pre-tokenized on its own). Throws attn::Error on invalid UTF-8
// (naming the text and byte offset) or a vocab_size below 257.
BpeVocabulary train_byte_level_bpe(const std::vector<std::string_view>& texts, const BpeTrainOptions& options = {});

}  // namespace attn::data
