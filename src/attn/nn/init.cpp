#include "attn/nn/init.h"

#include <cmath>

#include "attn/core/error.h"

namespace attn::nn::init {

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  ATTN_CHECK(t.defined() && t.dim() >= 1, "calculate_fan_in_and_fan_out", "needs a tensor with at least 1 dim");
  if (t.dim() == 1) return {t.size(0), t.size(0)};
  int64_t receptive = 1;  // prod of the kernel dims (*k) after (out, in)
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

void uniform_(Tensor& t, float a, float b, Generator& gen) {
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.uniform(a, b);
}

void normal_(Tensor& t, float mean, float std, Generator& gen) {
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = mean + std * gen.normal();
}

void constant_(Tensor& t, float value) { t.fill_(value); }
void zeros_(Tensor& t) { t.fill_(0.f); }
void ones_(Tensor& t) { t.fill_(1.f); }

void kaiming_uniform_(Tensor& t, float a, Generator& gen) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  (void)fan_out;
  const double gain = std::sqrt(2.0 / (1.0 + double(a) * a));
  const float bound = fan_in > 0 ? static_cast<float>(gain * std::sqrt(3.0 / double(fan_in))) : 0.f;
  uniform_(t, -bound, bound, gen);
}

void xavier_uniform_(Tensor& t, Generator& gen, float gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const float bound = static_cast<float>(gain * std::sqrt(6.0 / double(fan_in + fan_out)));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(Tensor& t, Generator& gen, float gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  normal_(t, 0.f, static_cast<float>(gain * std::sqrt(2.0 / double(fan_in + fan_out))), gen);
}

}  // namespace attn::nn::init
