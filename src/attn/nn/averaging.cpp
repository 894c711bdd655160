#include "attn/nn/averaging.h"

#include "attn/core/error.h"

namespace attn::nn {

StateDict average_state_dicts(const std::vector<StateDict>& dicts) {
  ATTN_CHECK(!dicts.empty(), "average_state_dicts", "no state dicts to average");
  StateDict out = dicts.front().clone();
  for (size_t k = 1; k < dicts.size(); ++k) {
    ATTN_CHECK(dicts[k].size() == out.size(), "average_state_dicts",
               "state dict " << k << " has " << dicts[k].size() << " tensors, the first " << out.size());
    for (const auto& [name, t] : out) {
      const Tensor* other = dicts[k].find(name);
      ATTN_CHECK(other != nullptr, "average_state_dicts", "state dict " << k << " has no '" << name << "'");
      ATTN_CHECK(other->defined() == t.defined(), "average_state_dicts",
                 "'" << name << "' is empty in only one state dict");
      if (!t.defined()) continue;
      ATTN_CHECK(other->shape() == t.shape(), "average_state_dicts",
                 "'" << name << "' is " << shape_str(other->shape()) << " in state dict " << k << ", "
                     << shape_str(t.shape()) << " in the first");
      Tensor acc = t;  // a handle on out's own copy (cloned above)
      float* sum = acc.data();
      const float* x = other->data();
      for (int64_t j = 0; j < t.numel(); ++j) sum[j] += x[j];
    }
  }
  const float inv = 1.f / static_cast<float>(dicts.size());
  for (const auto& [name, t] : out) {
    if (!t.defined()) continue;
    Tensor acc = t;
    float* v = acc.data();
    for (int64_t j = 0; j < t.numel(); ++j) v[j] *= inv;
  }
  return out;
}

}  // namespace attn::nn
