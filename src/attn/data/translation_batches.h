// Sentence pairs -> subword ids -> padded batches of similar lengths, for the translation models.
//
//   src     = encode(de) + [</s>]                  (B, S) padded with <pad>
//   tgt_in  = [<s>] + encode(en)                   (B, T) what the decoder reads (teacher forcing)
//   tgt_out = encode(en) + [</s>]                  (B, T) what it must predict, <pad> ignored by the loss
//
// Batching by length: each epoch the pairs are shuffled (seeded), cut into pools of 50 batches, each pool
// sorted by source length and cut into batches, and the batches shuffled again — so a batch holds
// sentences of similar length (little padding) while the epoch still sees them in a random order.
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/rng.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/toy_tasks.h"
#include "attn/data/translation_corpus.h"

namespace attn::data {

struct EncodedPairs {
  std::vector<std::vector<int64_t>> src, tgt;  // without <s>/</s>; src gets </s> in make_batch
  std::vector<size_t> kept;                    // index of each pair in the input (pairs too long are skipped)
  size_t size() const { return src.size(); }
};

// Pairs whose source or target exceeds max_tokens subwords are left out (their indices are not in kept).
EncodedPairs encode_pairs(const std::vector<SentencePair>& pairs, const SubwordTokenizer& tok, int64_t max_tokens);

// One epoch of batches (indices into `pairs`), grouped by source length as described above. A batch holds
// at most batch_size pairs and, when max_batch_tokens > 0, at most max_batch_tokens padded tokens
// (pairs × the longest side + 1) — fairseq's --max-tokens, so that batches of short phrases hold many
// pairs and batches of long sentences few.
std::vector<std::vector<size_t>> length_bucketed_batches(const EncodedPairs& pairs, int64_t batch_size, Generator& gen,
                                                         int64_t max_batch_tokens = 0);
// The same over a chosen subset of the pairs (each index once), e.g. every sentence and a sample of phrases.
std::vector<std::vector<size_t>> length_bucketed_batches(const EncodedPairs& pairs, std::vector<size_t> subset,
                                                         int64_t batch_size, Generator& gen,
                                                         int64_t max_batch_tokens = 0);
// Appends `more` to `pairs` (its `kept` indices offset by `kept_offset`).
void append_pairs(EncodedPairs& pairs, const EncodedPairs& more, size_t kept_offset);

// The padded tensors for the pairs at `idx`.
SeqBatch make_translation_batch(const EncodedPairs& pairs, const std::vector<size_t>& idx);

}  // namespace attn::data
