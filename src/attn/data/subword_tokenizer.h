// Subword tokenization shared by two languages: SentencePiece (Kudo & Richardson 2018; Debian's
// libsentencepiece), BPE by default, trained on the training split of both sides together.
//
// BPE in one paragraph: start from characters (with "▁" marking a word start), count adjacent pairs over
// the corpus, merge the most frequent pair into a new symbol, repeat until the vocabulary has vocab_size
// symbols. Frequent words end up as one token ("▁the"), rare ones as pieces ("▁Anspruch" -> "▁An" "spruch"),
// and nothing is ever out of vocabulary. A shared vocabulary lets names and numbers be copied from German to
// English token for token, and lets a Transformer tie its embeddings across the two sides.
//
// Special ids: 0 <pad>, 1 <unk>, 2 <s> (bos), 3 </s> (eos). Training is deterministic (no sampling, all
// sentences, no shuffling).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::data {

struct SubwordOptions {
  int64_t vocab_size = 8000;
  std::string model_type = "bpe";   // "bpe" or "unigram"
  double character_coverage = 1.0;  // keep every character (German umlauts, ß, punctuation)
};

class SubwordTokenizer {
 public:
  // Trains on `texts` (one sentence each). Throws attn::Error with SentencePiece's message on failure
  // (e.g. a vocab_size larger than the text allows).
  static SubwordTokenizer train(const std::vector<std::string>& texts,
                                const SubwordOptions& options = SubwordOptions());
  // A SentencePiece .model file (written by save, or by spm_train).
  static SubwordTokenizer load(const std::string& path);
  void save(const std::string& path) const;  // atomic

  std::vector<int64_t> encode(std::string_view text) const;      // no bos/eos added
  // BPE-dropout (Provilkov et al. 2020, "BPE-Dropout: Simple and Effective Subword Regularization"): each merge
  // is skipped with probability p, so a word comes out in a different, finer segmentation now and then
  // ("▁Kofferraum" -> "▁Koffer" "raum" or "▁Ko" "ffer" "raum"); the model sees how pieces compose. p = 0 is
  // encode(). Draws come from SentencePiece's generator: set its seed with seed_sampling.
  std::vector<int64_t> sample_encode(std::string_view text, float p) const;
  // The seed of sample_encode's draws: SentencePiece seeds a thread's generator at the thread's first sampling,
  // so call this before it (a later call changes nothing for that thread).
  static void seed_sampling(uint32_t seed);
  std::string decode(const std::vector<int64_t>& ids) const;     // pad/bos/eos are skipped
  std::vector<std::string> pieces(std::string_view text) const;  // "▁Der", "▁Hund", ...
  std::string piece(int64_t id) const;

  int64_t vocab_size() const;
  static constexpr int64_t pad_id = 0, unk_id = 1, bos_id = 2, eos_id = 3;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace attn::data
