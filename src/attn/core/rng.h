// Seeded random numbers with reproducible, independent streams.
//
// Generator is PCG32 (O'Neill 2014): a 64-bit linear congruential state advanced as
//   state = state * 6364136223846793005 + (2 * stream + 1)
// and a permuted 32-bit output. Each (seed, stream) pair is its own sequence, so a model can give its
// initializer, its dropout and its data loader separate streams that do not shift when one draws more.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace attn {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t stream = 0);

  uint32_t next_u32();
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform();
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box–Muller; the second value is kept for the next call).
  float normal();
  // Uniform integer in [0, n).
  uint32_t randint(uint32_t n);
  // Fisher–Yates: every order equally likely; swaps v[i-1] with v[randint(i)] for i = n .. 2.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[randint(static_cast<uint32_t>(i))]);
  }

  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }
  // Full state, so that training can be resumed with the same random sequence.
  struct State {
    uint64_t state, inc;
    bool has_spare;
    float spare;
  };
  State get_state() const { return {state_, inc_, has_spare_, spare_}; }
  void set_state(const State& s);

 private:
  uint64_t seed_, stream_;
  uint64_t state_ = 0, inc_ = 0;
  bool has_spare_ = false;
  float spare_ = 0.f;
};

// The process-wide default generator (used when an op is not given one). Not thread-safe: code that
// draws from several threads gives each thread its own Generator (a different stream).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace attn
