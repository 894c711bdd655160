#include "attn/models/beam_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::models {

double length_normalized(double log_prob, int64_t length, float alpha) {
  if (alpha == 0.f) return log_prob;
  return log_prob / std::pow((5.0 + static_cast<double>(length)) / 6.0, static_cast<double>(alpha));
}

std::vector<Hypothesis> beam_search(const BeamStep& step_fn, int64_t V, int64_t bos_id, int64_t eos_id, int64_t pad_id,
                                    const BeamSearchOptions& o, const char* op) {
  ATTN_CHECK(o.beam_size >= 1, op, "beam_size = " << o.beam_size << " must be >= 1");
  ATTN_CHECK(o.max_len >= 1, op, "max_len = " << o.max_len << " must be >= 1");
  ATTN_CHECK(o.length_penalty >= 0.f, op, "length_penalty = " << o.length_penalty << " must be >= 0");
  const int64_t k = o.beam_size;
  struct Live {
    std::vector<int64_t> tokens;
    double log_prob = 0.0;
  };
  std::vector<Live> live(1);  // the empty hypothesis, fed BOS
  std::vector<int64_t> parents{0}, next{bos_id};
  std::vector<Hypothesis> finished;
  auto finish = [&](std::vector<int64_t> tokens, double lp, bool eos) {
    Hypothesis h;
    h.tokens = std::move(tokens);
    h.finished = eos;
    h.log_prob = lp;
    h.score = length_normalized(lp, static_cast<int64_t>(h.tokens.size()) + (eos ? 1 : 0), o.length_penalty);
    finished.push_back(std::move(h));
  };
  auto rank = [&] {
    std::stable_sort(finished.begin(), finished.end(),
                     [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
    if (static_cast<int64_t>(finished.size()) > k) finished.resize(static_cast<size_t>(k));
  };
  struct Cand {
    double log_prob;
    int64_t parent, token;
  };
  for (int64_t step = 0; step < o.max_len; ++step) {
    const Tensor logits = step_fn(parents, next);  // (n, V)
    ATTN_CHECK(
        logits.dim() == 2 && logits.shape()[0] == static_cast<int64_t>(live.size()) && logits.shape()[1] == V, op,
        "the decoder step returned " << shape_str(logits.shape()) << ", expected (" << live.size() << ", " << V << ")");
    const Tensor logp = log_softmax(logits, 1);
    std::vector<Cand> cands;
    cands.reserve(live.size() * static_cast<size_t>(V));
    for (size_t i = 0; i < live.size(); ++i)
      for (int64_t v = 0; v < V; ++v)
        if (v != pad_id)
          cands.push_back(
              {live[i].log_prob + logp.data()[static_cast<int64_t>(i) * V + v], static_cast<int64_t>(i), v});
    // The 2k best by log-probability; ties go to the earlier hypothesis, then the lower id.
    const size_t keep = std::min(cands.size(), static_cast<size_t>(2 * k));
    std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(keep), cands.end(),
                      [](const Cand& a, const Cand& b) {
                        if (a.log_prob != b.log_prob) return a.log_prob > b.log_prob;
                        return a.parent != b.parent ? a.parent < b.parent : a.token < b.token;
                      });
    std::vector<Live> new_live;
    parents.clear();
    next.clear();
    for (size_t r = 0; r < keep; ++r) {
      const Cand& c = cands[r];
      const Live& parent = live[static_cast<size_t>(c.parent)];
      if (c.token == eos_id) {
        if (r < static_cast<size_t>(k)) finish(parent.tokens, c.log_prob, true);
      } else if (static_cast<int64_t>(new_live.size()) < k) {
        Live h{parent.tokens, c.log_prob};
        h.tokens.push_back(c.token);
        new_live.push_back(std::move(h));
        parents.push_back(c.parent);
        next.push_back(c.token);
      }
    }
    rank();
    if (new_live.empty()) break;
    if (static_cast<int64_t>(finished.size()) == k &&
        finished.back().score >= length_normalized(new_live.front().log_prob, o.max_len, o.length_penalty))
      break;
    if (step + 1 == o.max_len) {  // out of length: keep them unfinished
      for (Live& h : new_live) finish(std::move(h.tokens), h.log_prob, false);
      break;
    }
    live = std::move(new_live);
  }
  rank();
  return finished;
}

}  // namespace attn::models
