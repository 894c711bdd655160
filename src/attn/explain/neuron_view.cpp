#include "attn/explain/neuron_view.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"

namespace attn::explain {

NeuronView neuron_view(const Tensor& q, const Tensor& k, int64_t head, int64_t query, bool causal) {
  const char* op = "neuron_view";
  ATTN_CHECK(q.defined() && k.defined(), op, "q and k must be defined");
  ATTN_CHECK(
      (q.dim() == 3 || (q.dim() == 4 && q.size(0) == 1)) && k.dim() == q.dim() && (k.dim() == 3 || k.size(0) == 1), op,
      "q must be (H, T, Dh) or (1, H, T, Dh) and k alike, got q " << shape_str(q.shape()) << ", k "
                                                                  << shape_str(k.shape()));
  const int64_t H = q.size(-3), T = q.size(-2), Dh = q.size(-1);
  const int64_t Hkv = k.size(-3), S = k.size(-2);
  ATTN_CHECK(k.size(-1) == Dh, op, "q has head dim " << Dh << ", k " << k.size(-1));
  ATTN_CHECK(Hkv > 0 && H % Hkv == 0, op, Hkv << " key heads do not divide " << H << " query heads");
  ATTN_CHECK(head >= 0 && head < H, op, "head " << head << " is out of range [0, " << H << ")");
  ATTN_CHECK(query >= 0 && query < T, op, "query " << query << " is out of range [0, " << T << ")");
  ATTN_CHECK(S > 0, op, "there are no keys");
  ATTN_CHECK(!causal || S >= T, op,
             "causal attention needs at least as many keys (" << S << ") as queries (" << T << ")");
  const int64_t kv_head = head / (H / Hkv);                 // grouped-query attention: shared keys
  const int64_t n_keys = causal ? query + (S - T) + 1 : S;  // keys this query may see

  NeuronView v;
  const float* q_i = q.data() + (head * T + query) * Dh;  // q[head, query]  (Dh)
  v.q.assign(q_i, q_i + Dh);
  const double sqrt_d = std::sqrt(static_cast<double>(Dh));
  for (int64_t j = 0; j < n_keys; ++j) {
    const float* k_j = k.data() + (kv_head * S + j) * Dh;  // k[kv_head, j]   (Dh)
    std::vector<float> qk(static_cast<size_t>(Dh));
    double dot = 0;
    for (int64_t d = 0; d < Dh; ++d) {
      qk[static_cast<size_t>(d)] = q_i[d] * k_j[d];  // q_i ⊙ k_j
      dot += qk[static_cast<size_t>(d)];
    }
    v.k.emplace_back(k_j, k_j + Dh);
    v.qk.push_back(std::move(qk));
    v.scores.push_back(dot / sqrt_d);  // s_j = q_i · k_j / √Dh
  }
  // softmax, shifted by the largest score so that exp never overflows
  const double max_score = *std::max_element(v.scores.begin(), v.scores.end());
  double z = 0;
  for (double s : v.scores) z += std::exp(s - max_score);
  for (double s : v.scores) v.weights.push_back(std::exp(s - max_score) / z);
  return v;
}

}  // namespace attn::explain
