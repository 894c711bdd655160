// Beam search with length normalization, for any decoder that can take one step for a set of rows.
//
// Keep the k best partial translations ("hypotheses"); at each step extend every one by every token,
// score each extension by its total log-probability, and keep the 2k best: those ending in EOS are
// finished (up to k of them), the others (up to k) live on. Finished hypotheses are ranked by
//
//     score = log P(y | x) / ((5 + n) / 6)^α          (GNMT's length penalty, Wu et al. 2016)
//
// so that longer translations, which collect more negative log-probabilities, are not always beaten
// by short ones; α = 0 is raw log-probability, and beam size 1 with α = 0 is greedy decoding exactly.
// The search stops when k hypotheses have finished and no live one can still beat the k-th (its
// log-probability only falls as it grows, so its best is today's log-probability under lp(max_len)).
// pad_id is never emitted.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::models {

// One decoded sequence.
struct Hypothesis {
  std::vector<int64_t> tokens;  // generated ids, without BOS and without the final EOS
  bool finished = false;        // ended with EOS (else it ran into max_len)
  double log_prob = 0.0;        // Σ log P(token | prefix, source) over the generated tokens, EOS included
  double score = 0.0;           // log_prob / ((5 + n) / 6)^α, n = tokens.size() + finished
};

inline constexpr float kDefaultLengthPenalty = 0.6f;  // GNMT's α (Wu et al. 2016 found 0.6–0.7 best)

struct BeamSearchOptions {
  int64_t beam_size = 4;
  int64_t max_len = 64;                          // generated tokens at most (EOS included)
  float length_penalty = kDefaultLengthPenalty;  // α of GNMT's ((5 + n) / 6)^α; 0 = raw log-probability
  bool use_cache = true;                         // (Transformer) incremental decoding with a KV cache
  BeamSearchOptions& beams(int64_t k) {
    beam_size = k;
    return *this;
  }
  BeamSearchOptions& max_length(int64_t n) {
    max_len = n;
    return *this;
  }
  BeamSearchOptions& alpha(float a) {
    length_penalty = a;
    return *this;
  }
  BeamSearchOptions& cache(bool v) {
    use_cache = v;
    return *this;
  }
};

// log_prob / ((5 + length) / 6)^alpha.
double length_normalized(double log_prob, int64_t length, float alpha);

// The decoder, one step for n rows: `parents` (n) says which row of the previous step's state each new
// row continues (the first call has one row and parents = {0}); `tokens` (n) are the tokens fed; returns
// logits (n, V). The callee reorders its own state (KV cache, RNN hidden state) by `parents`.
using BeamStep = std::function<Tensor(const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens)>;

// The n-best list (up to beam_size hypotheses), best first. `what` names the caller in errors.
std::vector<Hypothesis> beam_search(const BeamStep& step, int64_t vocab, int64_t bos_id, int64_t eos_id, int64_t pad_id,
                                    const BeamSearchOptions& options, const char* what = "beam_search");

}  // namespace attn::models
