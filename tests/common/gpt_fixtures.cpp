#include "gpt_fixtures.h"

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"

namespace attn::testing {

std::unique_ptr<models::GPT> random_gpt(const models::GPTConfig& c, uint64_t seed) {
  Generator gen(seed);
  auto m = std::make_unique<models::GPT>(c, gen);
  NoGradGuard ng;
  for (auto& [name, p] : m->named_parameters()) {
    const bool ln = name.find("ln_") != std::string::npos;
    const Tensor noise = Tensor::randn(p.shape(), gen);
    const float center = ln && name.find("weight") != std::string::npos ? 1.f : 0.f;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (ln ? 0.1f : 0.4f) * noise.data()[i];
  }
  m->eval();
  return m;
}

std::vector<int64_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = g.randint(static_cast<uint32_t>(V));
  return v;
}

}  // namespace attn::testing
