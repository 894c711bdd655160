#include "attn/core/rng.h"

#include <cmath>

#include "attn/core/error.h"

namespace attn {

Generator::Generator(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {
  // PCG32 seeding: the increment must be odd; warm the state up with two steps.
  inc_ = (stream << 1u) | 1u;
  state_ = 0;
  next_u32();
  state_ += seed;
  next_u32();
}

uint32_t Generator::next_u32() {
  const uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  const uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
  const uint32_t rot = static_cast<uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float Generator::uniform() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }

float Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Box–Muller: two uniforms u1 in (0, 1], u2 in [0, 1) give two independent N(0, 1) samples.
  const double u1 = 1.0 - static_cast<double>(next_u32()) / 4294967296.0;
  const double u2 = static_cast<double>(next_u32()) / 4294967296.0;
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_ = static_cast<float>(r * std::sin(theta));
  has_spare_ = true;
  return static_cast<float>(r * std::cos(theta));
}

uint32_t Generator::randint(uint32_t n) {
  ATTN_CHECK(n > 0, "randint", "upper bound must be positive");
  // Lemire's unbiased bounded integers (rejection on the low part of the 64-bit product).
  uint64_t m = static_cast<uint64_t>(next_u32()) * n;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < n) {
    const uint32_t threshold = (0u - n) % n;
    while (low < threshold) {
      m = static_cast<uint64_t>(next_u32()) * n;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

void Generator::set_state(const State& s) {
  state_ = s.state;
  inc_ = s.inc;
  has_spare_ = s.has_spare;
  spare_ = s.spare;
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

}  // namespace attn
