#include "attn/explain/gpt_explain.h"

#include <algorithm>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "explain (GPT)";

IndexTensor one_row(const std::vector<int64_t>& ids) {  // (1, T)
  return IndexTensor(ids, {1, static_cast<int64_t>(ids.size())});
}

}  // namespace

GPTTrace trace_gpt(models::GPT& model, const std::vector<int64_t>& ids, int64_t target) {
  const int64_t V = model.config().vocab_size;
  ATTN_CHECK(!ids.empty(), kOp, "nothing to explain: the context has no tokens");
  nn::ModeGuard mode(model);
  model.eval();
  EnableGradGuard grad_on;
  models::GPTForwardOptions o;
  o.attention_grad = true;
  o.output_hidden_states = true;
  o.logits_to_keep = 1;                                    // only position T-1 is explained
  models::GPTOutput out = model.forward(one_row(ids), o);  // logits (1, 1, V)

  GPTTrace t;
  t.logits = reshape(out.logits.detach(), {V}).clone();
  const float* l = t.logits.data();
  t.predicted = std::max_element(l, l + V) - l;
  t.target = target < 0 ? t.predicted : target;
  ATTN_CHECK(t.target < V, kOp, "next token " << target << " outside the vocabulary 0.." << V - 1);

  // y = logits[0, T-1, target]; ∂y/∂ of every attention map, of x₀ and of h_L (1, T, C), before ln_f.
  const Tensor y = sum(slice(out.logits, 2, t.target, t.target + 1));  // ()
  t.trace = trace_from_graph(y, out.attentions, out.hidden_states.front(), out.hidden_states.back(),
                             static_cast<int64_t>(ids.size()) - 1);
  return t;
}

RemovalForward gpt_removal_forward(models::GPT& model, const std::vector<int64_t>& ids) {
  ATTN_CHECK(!ids.empty(), kOp, "the context has no tokens");
  return [&model, ids](const Tensor& removed) {
    const int64_t T = static_cast<int64_t>(ids.size()), V = model.config().vocab_size;
    ATTN_CHECK(removed.defined() && removed.dim() == 2 && removed.size(1) == T, kOp,
               "removed must be (R, " << T << "), got " << (removed.defined() ? shape_str(removed.shape()) : "none"));
    NoGradGuard no_grad;
    nn::ModeGuard mode(model);
    model.eval();
    const int64_t R = removed.size(0);
    std::vector<int64_t> rows;  // (R, T): R copies of the context
    rows.reserve(static_cast<size_t>(R * T));
    for (int64_t r = 0; r < R; ++r) rows.insert(rows.end(), ids.begin(), ids.end());
    models::GPTForwardOptions o;
    o.removed = removed;
    o.logits_to_keep = 1;
    return reshape(model.forward(IndexTensor(std::move(rows), {R, T}), o).logits, {R, V});  // (R, 1, V) -> (R, V)
  };
}

std::vector<float> gpt_candidate_scores(const std::string& method, const GPTTrace& t, Generator* gen) {
  const int64_t T = t.trace.num_tokens();
  if (method == "random") {
    ATTN_CHECK(gen != nullptr, kOp, "the random baseline needs a Generator");
    return random_scores(T - 1, *gen);
  }
  const Tensor s = scores(method, t.trace);               // (T)
  return std::vector<float>(s.data(), s.data() + T - 1);  // drop the query, T-1
}

std::vector<int64_t> gpt_window_starts(int64_t N, int64_t context, int64_t count) {
  ATTN_CHECK(context >= 1 && count >= 1, kOp, "context " << context << " and count " << count << " must be >= 1");
  ATTN_CHECK(N - context >= count, kOp,
             "a text of " << N << " tokens holds " << std::max<int64_t>(0, N - context) << " windows of " << context
                          << " tokens with a next token after them, fewer than the " << count << " asked for");
  std::vector<int64_t> starts(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) starts[static_cast<size_t>(i)] = i * (N - context) / count;  // ≤ N - context - 1
  return starts;
}

std::vector<FaithfulnessSummary> gpt_faithfulness(models::GPT& model, const std::vector<int64_t>& text,
                                                  const std::vector<std::string>& methods, int64_t count,
                                                  int64_t context, uint64_t seed) {
  const int64_t block = model.config().block_size;
  ATTN_CHECK(context >= 2 && context <= block, kOp,
             "context " << context << " outside 2.." << block << " (a query and at least one token to remove)");
  ATTN_CHECK(!methods.empty(), kOp, "no methods given");
  const std::vector<int64_t> starts = gpt_window_starts(static_cast<int64_t>(text.size()), context, count);
  nn::ModeGuard mode(model);
  model.eval();
  std::vector<int64_t> candidates(static_cast<size_t>(context - 1));
  std::iota(candidates.begin(), candidates.end(), 0);  // every token but the query T-1
  std::vector<FaithfulnessSummary> out(methods.size());
  for (size_t m = 0; m < methods.size(); ++m) out[m].method = methods[m];
  Generator gen(seed, 11);
  for (int64_t s : starts) {
    const std::vector<int64_t> window(text.begin() + s, text.begin() + s + context);
    const int64_t label = text[static_cast<size_t>(s + context)];  // the true next token
    const GPTTrace t = trace_gpt(model, window);
    const RemovalForward forward = gpt_removal_forward(model, window);
    for (size_t m = 0; m < methods.size(); ++m) {
      const std::vector<float> sc = gpt_candidate_scores(methods[m], t, &gen);
      out[m].add(example_curves(forward, context, candidates, sc, label, t.predicted));
    }
  }
  for (auto& s : out) s.finish();
  return out;
}

}  // namespace attn::explain
