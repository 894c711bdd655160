// Small sequence tasks whose correct alignment is known — the clearest way to see what attention learns.
//
//   reverse:  3 7 5 9  ->  9 5 7 3      target position t copies source position S-1-t (anti-diagonal)
//   sort:     3 7 5 9  ->  3 5 7 9      each target token comes from wherever it sits in the source
//   copy:     3 7 5 9  ->  3 7 5 9      the diagonal
//
// Token ids: 0 = <pad>, 1 = <bos>, 2 = <eos>, symbols are 3 .. 3 + num_symbols - 1. Sources are padded
// with <pad> to the batch's longest; targets end with <eos>.
#pragma once
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn::data {

inline constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kFirstSymbol = 3;

struct SeqBatch {
  IndexTensor src;      // (B, S), padded with kPad
  IndexTensor tgt_in;   // (B, T): kBos, y_1 … y_{T-1}
  IndexTensor tgt_out;  // (B, T): y_1 … y_T (= … kEos), padded with kPad (ignore it in the loss)
  std::vector<int64_t> src_lengths;
};

struct ToyTask {
  std::string name = "reverse";  // "reverse" | "sort" | "copy"
  int64_t num_symbols = 10;
  int64_t min_len = 4, max_len = 8;

  int64_t vocab_size() const { return kFirstSymbol + num_symbols; }
  // The target for one source sequence (without <eos>).
  std::vector<int64_t> target_of(const std::vector<int64_t>& src) const;
  // A batch of `batch` random examples drawn from `gen`.
  SeqBatch sample(int64_t batch, Generator& gen) const;
  // Pads and frames explicit source sequences (for fixed evaluation sets and figures).
  SeqBatch make_batch(const std::vector<std::vector<int64_t>>& sources) const;
  // Human-readable tokens: "<pad>", "<bos>", "<eos>", or the symbol's index as a digit/letter.
  static std::string token_str(int64_t id);
};

}  // namespace attn::data
