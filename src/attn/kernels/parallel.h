// parallel_for: run f(i) for i in [0, n), split over OpenMP threads only when n is large enough to pay
// for waking them. (An `omp parallel for if(...)` still enters the OpenMP runtime on every call — about
// 0.3 µs — which dominates small ops such as the per-row adds of a slice backward.)
#pragma once
#include <cstdint>

namespace attn::kernels {

inline constexpr int64_t kParallelGrain = 32768;

template <class F>
inline void parallel_for(int64_t n, F&& f) {
  if (n < kParallelGrain) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(r) for r in [0, rows): rows of row_len elements each (copies of head rows, per-row norms), split over
// threads when rows · row_len is large enough.
template <class F>
inline void parallel_rows(int64_t rows, int64_t row_len, F&& f) {
  if (rows * row_len < kParallelGrain) {
    for (int64_t r = 0; r < rows; ++r) f(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) f(r);
}

}  // namespace attn::kernels
