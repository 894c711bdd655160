#include "attn/explain/relevance.h"

#include <algorithm>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/flow.h"
#include "attn/explain/rollout.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "explain";

// (1, T, D) or (T, D) -> (T, D)
Tensor tokens_of(const Tensor& h, const char* what) {
  ATTN_CHECK(
      h.defined() && (h.dim() == 2 || (h.dim() == 3 && h.size(0) == 1)), kOp,
      what << " must be (1, T, D) or (T, D), got " << (h.defined() ? shape_str(h.shape()) : std::string("none")));
  return h.dim() == 3 ? reshape(h, {h.size(1), h.size(2)}) : h;
}

Tensor row(const Tensor& m, int64_t q) {  // (T, T) -> (T)
  ATTN_CHECK(q >= 0 && q < m.size(0), kOp, "query token " << q << " outside 0.." << m.size(0) - 1);
  return reshape(slice(m, 0, q, q + 1), {m.size(1)});
}

void check_grads(const Trace& t) {
  ATTN_CHECK(t.attention_grads.size() == t.attentions.size(), kOp,
             "this trace has no attention gradients (" << t.attention_grads.size() << " for " << t.attentions.size()
                                                       << " layers): trace the model with gradients");
}

}  // namespace

Tensor attention_heads(const Tensor& a, const char* what) {
  ATTN_CHECK(
      a.defined() && (a.dim() == 3 || (a.dim() == 4 && a.size(0) == 1)) && a.size(-1) == a.size(-2), kOp,
      what << " must be (1, H, T, T) or (H, T, T), got " << (a.defined() ? shape_str(a.shape()) : std::string("none")));
  return a.dim() == 4 ? reshape(a.detach(), {a.size(1), a.size(2), a.size(3)}) : a.detach();
}

Trace trace_from_graph(const Tensor& y, const std::vector<Tensor>& attentions, const Tensor& input_embeddings,
                       const Tensor& last_hidden, int64_t query) {
  std::vector<Tensor> wrt = attentions;  // L × (1, H, T, T)
  wrt.push_back(input_embeddings);       // x₀ (1, T, D)
  wrt.push_back(last_hidden);            // h_L (1, T, D)
  const std::vector<Tensor> g = grad(y, wrt);
  const size_t L = attentions.size();
  Trace t;
  for (size_t i = 0; i < L; ++i) {
    t.attentions.push_back(attentions[i].detach());
    t.attention_grads.push_back(g[i]);
  }
  t.input_embeddings = input_embeddings.detach();
  t.input_grad = g[L];
  t.last_hidden = last_hidden.detach();
  t.last_grad = g[L + 1];
  t.query = query;
  return t;
}

int64_t Trace::num_tokens() const {
  ATTN_CHECK(!attentions.empty(), kOp, "the trace recorded no attention (a model without attention layers?)");
  return attentions.front().size(-1);
}

Tensor raw_attention(const Trace& t, int64_t layer) {
  NoGradGuard no_grad;
  const int64_t L = static_cast<int64_t>(t.attentions.size());
  ATTN_CHECK(L > 0, kOp, "the trace recorded no attention");
  const int64_t l = layer < 0 ? L + layer : layer;
  ATTN_CHECK(l >= 0 && l < L, kOp, "layer " << layer << " outside 0.." << L - 1);
  return row(mean_heads(attention_heads(t.attentions[l])), t.query);
}

Tensor rollout_scores(const Trace& t) {
  NoGradGuard no_grad;
  std::vector<Tensor> layers;
  for (const Tensor& a : t.attentions) layers.push_back(attention_heads(a));
  ATTN_CHECK(!layers.empty(), kOp, "the trace recorded no attention");
  return row(attention_rollout(layers), t.query);
}

Tensor gradient_x_input(const Trace& t) {
  NoGradGuard no_grad;
  ATTN_CHECK(t.input_grad.defined(), kOp, "this trace has no input gradient: trace the model with gradients");
  const Tensor x = tokens_of(t.input_embeddings, "input embeddings"), g = tokens_of(t.input_grad, "input gradient");
  ATTN_CHECK(x.shape() == g.shape(), kOp, "input embeddings and their gradient differ in shape");
  return sum(x.detach() * g, {1});  // (T): Σ_d x_{j,d} ∂y/∂x_{j,d}
}

Tensor grad_cam(const Trace& t) {
  NoGradGuard no_grad;
  ATTN_CHECK(t.last_grad.defined(), kOp,
             "this trace has no gradient of the last block: trace the model with gradients");
  const Tensor h = tokens_of(t.last_hidden, "last hidden state"), g = tokens_of(t.last_grad, "last gradient");
  ATTN_CHECK(h.shape() == g.shape(), kOp, "the last hidden state and its gradient differ in shape");
  const Tensor alpha = mean(g, {0}, /*keepdim=*/true);  // (1, D): each feature's weight, averaged over tokens
  return relu(sum(h.detach() * alpha, {1}));            // (T)
}

Tensor relevance_matrix(const Trace& t) {
  NoGradGuard no_grad;
  check_grads(t);
  const int64_t T = t.num_tokens();
  Tensor R = Tensor::eye(T);                            // R = I: each token is its own source
  for (size_t l = 0; l < t.attentions.size(); ++l) {    // bottom layer first
    const Tensor A = attention_heads(t.attentions[l]);  // (H, T, T)
    const Tensor dA = attention_heads(t.attention_grads[l], "attention gradient");
    ATTN_CHECK(A.shape() == dA.shape(), kOp, "layer " << l << ": attention and gradient differ in shape");
    const Tensor A_bar = mean(relu(dA * A), {0});  // (T, T) = E_h[(∇A ⊙ A)⁺]
    R = R + matmul(A_bar, R);                      // R ← R + Ā · R
  }
  return R;
}

Tensor relevance_scores(const Trace& t) { return row(relevance_matrix(t), t.query); }

Tensor scores(const std::string& method, const Trace& t) {
  if (method == "raw_attention") return raw_attention(t);
  if (method == "rollout") return rollout_scores(t);
  if (method == "flow") return attention_flow_scores(t.attentions, t.query);
  if (method == "grad_x_input") return gradient_x_input(t);
  if (method == "grad_cam") return grad_cam(t);
  if (method == "relevance") return relevance_scores(t);
  std::string names;
  for (const std::string& m : kMethods) names += (names.empty() ? "" : ", ") + m;
  ATTN_FAIL(kOp, "unknown method \"" << method << "\" (methods: " << names << ")");
}

Tensor patch_scores(const Tensor& s, int64_t skip) {
  ATTN_CHECK(s.dim() == 1 && skip >= 0 && skip < s.size(0), kOp,
             "cannot drop " << skip << " tokens from scores " << shape_str(s.shape()));
  return slice(s, 0, skip, s.size(0));
}

}  // namespace attn::explain
