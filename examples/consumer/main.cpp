// The smallest program built against an installed explore-attention: causal self-attention on random inputs,
// through the fused kernel and the composed path, which must agree; then a gradient.
#include <cstdio>

#include "attn/attention/sdpa.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"

int main() {
  attn::Generator gen(7);
  attn::Tensor q = attn::Tensor::randn({1, 4, 16, 32}, gen).requires_grad_();  // (B, H, T, D)
  attn::Tensor k = attn::Tensor::randn({1, 4, 16, 32}, gen);
  attn::Tensor v = attn::Tensor::randn({1, 4, 16, 32}, gen);
  attn::SdpaOptions opt;
  opt.causal();
  attn::Tensor fused = attn::scaled_dot_product_attention(q, k, v, opt).output;
  attn::Tensor composed = attn::scaled_dot_product_attention_math(q, k, v, opt).output;
  const double diff = attn::max_abs_diff(fused, composed);
  attn::sum(fused).backward();
  std::printf("fused vs composed: max |diff| = %.3g; |dq| sum = %.4f\n", diff, attn::sum(q.grad()).item());
  return diff < 1e-4 ? 0 : 1;
}
