#include "attn/kernels/flash_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <vector>

#include "attn/core/memory.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ATTN_FLASH_AVX2 1
#endif

namespace attn::kernels {

namespace {

// A float buffer aligned to a cache line, so that 8-wide loads of tile rows never straddle two lines. It
// comes from the tensor memory cache (core/memory.h): a buffer of a size the last call freed is reused
// rather than page-faulted in again (the transposed keys of a ViT's batch are 2 MB on every call).
struct Buf {
  struct Uninitialized {};
  explicit Buf(int64_t n, float fill = 0.f) : Buf(n, Uninitialized{}) { std::fill(p, p + n, fill); }
  // For a buffer every read of which is preceded by a write (the transposed keys): no pass to zero it.
  Buf(int64_t n, Uninitialized) : mem(static_cast<size_t>(n)), p(mem.data()) {}
  float* data() { return p; }
  const float* data() const { return p; }
  float& operator[](int64_t i) { return p[i]; }
  float* begin() { return p; }
  memory::ScratchBuffer mem;
  float* p;
};

constexpr int64_t Br = 64;  // query rows per tile
constexpr int64_t Bc = 64;  // keys per tile
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Below about a million multiply-adds a call runs on one thread: waking the others costs more, and under
// load (other processes on the cores) spinning OpenMP workers can cost milliseconds.
constexpr double kParallelWork = 1e6;
// How far the running max may rise above the reference before the accumulator is rescaled (e^8 ≈ 3000:
// far from float's range, and it skips nearly every rescale after the first tiles).
constexpr float kRescale = 8.f;
inline bool worth_threads(const FlashParams& p) {
  return static_cast<double>(p.B) * p.H * p.L * p.S * (p.D + p.Dv) > kParallelWork;
}

// ---- small dense products on tiles -------------------------------------------------------------------
// C (M, N) = [C +] A (M, K) · B (K, N), all row-major with leading dimensions lda, ldb, ldc.
#ifdef ATTN_FLASH_AVX2
// One R × 16 register tile of C: per k, two 8-wide loads of B, R broadcasts of A, 2R FMAs into 2R
// accumulators (R = 6: 12 of the 16 ymm registers — enough independent sums to cover FMA latency).
// The accumulators are named variables, not an array: GCC spilled an array of __m256 to the stack on
// every iteration, which halved the speed.
// The register-tile macros are laid out by hand (one row of the tile per macro call): not reformatted.
// clang-format off
#define ATTN_ROW(r)                                                                    \
  __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define ATTN_LOAD(r)                                     \
  if (accumulate) {                                      \
    c##r##0 = _mm256_loadu_ps(C + (r) * ldc);            \
    c##r##1 = _mm256_loadu_ps(C + (r) * ldc + 8);        \
  }
#define ATTN_FMA(r, a_ptr)                                    \
  {                                                           \
    const __m256 a = _mm256_broadcast_ss(a_ptr);              \
    c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0);                \
    c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1);                \
  }
#define ATTN_STORE(r)                              \
  _mm256_storeu_ps(C + (r) * ldc, c##r##0);        \
  _mm256_storeu_ps(C + (r) * ldc + 8, c##r##1);

// C rows r < R (R = 4 or 6), columns [0, 16): C = [C +] A · B, A row-major (lda), B (K, 16+) (ldb).
template <int R>
inline void tile_nn(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                    bool accumulate) {
  static_assert(R == 4 || R == 6);
  ATTN_ROW(0) ATTN_ROW(1) ATTN_ROW(2) ATTN_ROW(3) ATTN_ROW(4) ATTN_ROW(5)
  ATTN_LOAD(0) ATTN_LOAD(1) ATTN_LOAD(2) ATTN_LOAD(3)
  if constexpr (R == 6) {
    ATTN_LOAD(4) ATTN_LOAD(5)
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
    ATTN_FMA(0, A + k) ATTN_FMA(1, A + lda + k) ATTN_FMA(2, A + 2 * lda + k) ATTN_FMA(3, A + 3 * lda + k)
    if constexpr (R == 6) {
      ATTN_FMA(4, A + 4 * lda + k) ATTN_FMA(5, A + 5 * lda + k)
    }
  }
  ATTN_STORE(0) ATTN_STORE(1) ATTN_STORE(2) ATTN_STORE(3)
  if constexpr (R == 6) {
    ATTN_STORE(4) ATTN_STORE(5)
  }
  (void)c40, (void)c41, (void)c50, (void)c51;
}

// The transpose-left tile: C rows r < R, columns [0, 16) += Σ_k A[k, r] B[k, :], A stored (K, M) (lda).
template <int R>
inline void tile_tn(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  static_assert(R == 4 || R == 6);
  const bool accumulate = true;
  ATTN_ROW(0) ATTN_ROW(1) ATTN_ROW(2) ATTN_ROW(3) ATTN_ROW(4) ATTN_ROW(5)
  ATTN_LOAD(0) ATTN_LOAD(1) ATTN_LOAD(2) ATTN_LOAD(3)
  if constexpr (R == 6) {
    ATTN_LOAD(4) ATTN_LOAD(5)
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
    const float* ak = A + k * lda;
    ATTN_FMA(0, ak) ATTN_FMA(1, ak + 1) ATTN_FMA(2, ak + 2) ATTN_FMA(3, ak + 3)
    if constexpr (R == 6) {
      ATTN_FMA(4, ak + 4) ATTN_FMA(5, ak + 5)
    }
  }
  ATTN_STORE(0) ATTN_STORE(1) ATTN_STORE(2) ATTN_STORE(3)
  if constexpr (R == 6) {
    ATTN_STORE(4) ATTN_STORE(5)
  }
  (void)c40, (void)c41, (void)c50, (void)c51;
}
#undef ATTN_ROW
#undef ATTN_LOAD
#undef ATTN_FMA
#undef ATTN_STORE
// clang-format on

#ifdef __AVX512F__
// The same R × 32 tiles with 512-bit registers, where the CPU has them (two zmm accumulators per row:
// 12 of 32 for R = 6). The 8-wide tiles above remain the path for AVX2-only machines and for tails.
// The register-tile macros are laid out by hand (one row of the tile per macro call): not reformatted.
// clang-format off
#define ATTN_ROW512(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define ATTN_LOAD512(r)                                  \
  if (accumulate) {                                      \
    c##r##0 = _mm512_loadu_ps(C + (r) * ldc);            \
    c##r##1 = _mm512_loadu_ps(C + (r) * ldc + 16);       \
  }
#define ATTN_FMA512(r, a_ptr)                                 \
  {                                                           \
    const __m512 a = _mm512_set1_ps(*(a_ptr));                \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);                \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);                \
  }
#define ATTN_STORE512(r)                            \
  _mm512_storeu_ps(C + (r) * ldc, c##r##0);         \
  _mm512_storeu_ps(C + (r) * ldc + 16, c##r##1);

template <int R>
inline void tile_nn512(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                       bool accumulate) {
  static_assert(R == 4 || R == 6);
  ATTN_ROW512(0) ATTN_ROW512(1) ATTN_ROW512(2) ATTN_ROW512(3) ATTN_ROW512(4) ATTN_ROW512(5)
  ATTN_LOAD512(0) ATTN_LOAD512(1) ATTN_LOAD512(2) ATTN_LOAD512(3)
  if constexpr (R == 6) {
    ATTN_LOAD512(4) ATTN_LOAD512(5)
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_loadu_ps(B + k * ldb), b1 = _mm512_loadu_ps(B + k * ldb + 16);
    ATTN_FMA512(0, A + k) ATTN_FMA512(1, A + lda + k) ATTN_FMA512(2, A + 2 * lda + k) ATTN_FMA512(3, A + 3 * lda + k)
    if constexpr (R == 6) {
      ATTN_FMA512(4, A + 4 * lda + k) ATTN_FMA512(5, A + 5 * lda + k)
    }
  }
  ATTN_STORE512(0) ATTN_STORE512(1) ATTN_STORE512(2) ATTN_STORE512(3)
  if constexpr (R == 6) {
    ATTN_STORE512(4) ATTN_STORE512(5)
  }
  (void)c40, (void)c41, (void)c50, (void)c51;
}

template <int R>
inline void tile_tn512(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  static_assert(R == 4 || R == 6);
  const bool accumulate = true;
  ATTN_ROW512(0) ATTN_ROW512(1) ATTN_ROW512(2) ATTN_ROW512(3) ATTN_ROW512(4) ATTN_ROW512(5)
  ATTN_LOAD512(0) ATTN_LOAD512(1) ATTN_LOAD512(2) ATTN_LOAD512(3)
  if constexpr (R == 6) {
    ATTN_LOAD512(4) ATTN_LOAD512(5)
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_loadu_ps(B + k * ldb), b1 = _mm512_loadu_ps(B + k * ldb + 16);
    const float* ak = A + k * lda;
    ATTN_FMA512(0, ak) ATTN_FMA512(1, ak + 1) ATTN_FMA512(2, ak + 2) ATTN_FMA512(3, ak + 3)
    if constexpr (R == 6) {
      ATTN_FMA512(4, ak + 4) ATTN_FMA512(5, ak + 5)
    }
  }
  ATTN_STORE512(0) ATTN_STORE512(1) ATTN_STORE512(2) ATTN_STORE512(3)
  if constexpr (R == 6) {
    ATTN_STORE512(4) ATTN_STORE512(5)
  }
  (void)c40, (void)c41, (void)c50, (void)c51;
}
#undef ATTN_ROW512
#undef ATTN_LOAD512
#undef ATTN_FMA512
#undef ATTN_STORE512
// clang-format on
#endif

template <int R>
inline void rows_nn(int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                    int64_t ldc, bool accumulate) {
  int64_t j = 0;
#ifdef __AVX512F__
  for (; j + 32 <= N; j += 32) tile_nn512<R>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
#endif
  for (; j + 16 <= N; j += 16) tile_nn<R>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
  for (; j < N; ++j)  // column tail
    for (int r = 0; r < R; ++r) {
      float s = accumulate ? C[r * ldc + j] : 0.f;
      for (int64_t k = 0; k < K; ++k) s += A[r * lda + k] * B[k * ldb + j];
      C[r * ldc + j] = s;
    }
}
#endif

void gemm_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
             int64_t ldc, bool accumulate) {
  int64_t i = 0;
#ifdef ATTN_FLASH_AVX2
  for (; i + 6 <= M; i += 6) rows_nn<6>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
  for (; i + 4 <= M; i += 4) rows_nn<4>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
#endif
  for (; i < M; ++i) {  // row tail (and the portable path)
    float* c = C + i * ldc;
    if (!accumulate)
      for (int64_t j = 0; j < N; ++j) c[j] = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float a = A[i * lda + k];
      const float* b = B + k * ldb;
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

// C (M, N) += Aᵀ · B with A stored (K, M) and B (K, N): the "transpose-left" product of the backward.
void gemm_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
             int64_t ldc) {
  int64_t i = 0;
#ifdef ATTN_FLASH_AVX2
  auto rows = [&](auto R_const) {
    constexpr int R = decltype(R_const)::value;
    int64_t j = 0;
#ifdef __AVX512F__
    for (; j + 32 <= N; j += 32) tile_tn512<R>(K, A + i, lda, B + j, ldb, C + i * ldc + j, ldc);
#endif
    for (; j + 16 <= N; j += 16) tile_tn<R>(K, A + i, lda, B + j, ldb, C + i * ldc + j, ldc);
    for (; j < N; ++j)
      for (int r = 0; r < R; ++r) {
        float s = C[(i + r) * ldc + j];
        for (int64_t k = 0; k < K; ++k) s += A[k * lda + i + r] * B[k * ldb + j];
        C[(i + r) * ldc + j] = s;
      }
  };
  for (; i + 6 <= M; i += 6) rows(std::integral_constant<int, 6>{});
  for (; i + 4 <= M; i += 4) rows(std::integral_constant<int, 4>{});
#endif
  for (; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const float a = A[k * lda + i];
      const float* b = B + k * ldb;
      float* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
    }
}

// ---- exp over a row ----------------------------------------------------------------------------------
#ifdef ATTN_FLASH_AVX2
// e^x for 8 floats: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial (relative error
// < 2e-7 on that interval), then 2^n built directly in the exponent bits. -inf (a masked score) -> 0.
inline __m256 exp256(__m256 x) {
  const __m256 masked = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  // Clamp with x as the *second* operand: MAXPS/MINPS return it when either is NaN, so NaN survives.
  // (Callers keep x <= 8; above 88.3 the result saturates instead of overflowing to inf.)
  x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);  // ln2 split in two for exactness
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(masked, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}
#endif

// x[j] = exp(x[j] - shift) for j < n; returns the sum of the results.
inline float exp_shift_sum(float* x, int64_t n, float shift) {
  float sum = 0.f;
  int64_t j = 0;
#ifdef ATTN_FLASH_AVX2
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(x + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  for (float v : lanes) sum += v;
#endif
  for (; j < n; ++j) {
    x[j] = std::exp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

// max over x[0 .. n); NaN if any element is NaN (a NaN score must not look like a masked one).
inline float row_max(const float* x, int64_t n) {
  float m = kNegInf;
  bool nan = false;
  int64_t j = 0;
#ifdef ATTN_FLASH_AVX2
  __m256 mv = _mm256_set1_ps(kNegInf), unordered = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    mv = _mm256_max_ps(mv, v);
    unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  nan = _mm256_movemask_ps(unordered) != 0;
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, mv);
  for (float v : lanes) m = std::max(m, v);
#endif
  for (; j < n; ++j) {
    nan |= std::isnan(x[j]);
    m = std::max(m, x[j]);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// The mask of one tile: which (query row, key) pairs are hidden, and the additive bias.
struct TileMask {
  const FlashParams& p;
  int64_t b, h;
  // Applies causal/window/padding/bias to S (rows × cols, ld Bc) for queries i0.. and keys j0...
  void apply(float* S, int64_t i0, int64_t rows, int64_t j0, int64_t cols) const {
    const int64_t off = p.S - p.L;
    const bool causal = p.causal || p.window > 0;
    const float* pad = p.key_padding ? p.key_padding + b * p.S + j0 : nullptr;
    const int64_t row_stride = p.bias_row_stride < 0 ? p.S : p.bias_row_stride;
    const float* bias =
        p.bias ? p.bias + b * p.bias_batch_stride + h * p.bias_head_stride + i0 * row_stride + j0 : nullptr;
    // Tiles wholly inside the visible region need only padding/bias.
    const bool need_causal = causal && j0 + cols - 1 > i0 + off;
    const bool need_window = p.window > 0 && j0 <= i0 + rows - 1 + off - p.window;
    if (!need_causal && !need_window && !pad && !bias) return;
    for (int64_t r = 0; r < rows; ++r) {
      float* s = S + r * Bc;
      const int64_t qi = i0 + r + off;  // the query's absolute position
      if (bias)
        for (int64_t c = 0; c < cols; ++c) s[c] += bias[r * row_stride + c];
      if (pad)
        for (int64_t c = 0; c < cols; ++c)
          if (pad[c] != 0.f) s[c] = kNegInf;
      if (need_causal)
        for (int64_t c = std::max<int64_t>(0, qi + 1 - j0); c < cols; ++c) s[c] = kNegInf;
      if (need_window)
        for (int64_t c = 0; c < std::min<int64_t>(cols, qi - p.window + 1 - j0); ++c) s[c] = kNegInf;
    }
  }
};

// Keys a query tile [i0, i0 + rows) can see at all: [lo, hi).
void key_range(const FlashParams& p, int64_t i0, int64_t rows, int64_t* lo, int64_t* hi) {
  const int64_t off = p.S - p.L;
  *lo = 0;
  *hi = p.S;
  if (p.causal || p.window > 0) *hi = std::clamp<int64_t>(i0 + rows - 1 + off + 1, 0, p.S);
  if (p.window > 0) *lo = std::clamp<int64_t>(i0 + off - p.window + 1, 0, p.S);
}

// A tile that the causal diagonal crosses is taken kDiagRows query rows at a time, each block only as
// wide as its last row sees, rounded up to the 16-wide register tile: a 64 × 64 diagonal tile then
// computes 2,560 scores for its 2,080 visible ones instead of all 4,096. (At T ≤ 128 the diagonal tiles
// are half or more of the work, so this is most of the causal speed there.) Other tiles are one block.
constexpr int64_t kDiagRows = 16;
template <class F>
void for_each_block(const FlashParams& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols, F&& block) {
  const int64_t off = p.S - p.L;
  const bool diagonal = (p.causal || p.window > 0) && j0 + cols - 1 > i0 + off;
  if (!diagonal) {
    block(0, rows, cols);
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kDiagRows) {
    const int64_t rc = std::min(kDiagRows, rows - r0);
    const int64_t visible = i0 + r0 + rc - 1 + off - j0 + 1;  // keys of this tile the block's last row sees
    if (visible <= 0) continue;                               // none: every row of the block is masked here
    block(r0, rc, std::min(cols, (visible + 15) / 16 * 16));
  }
}

// dst (cols, rows_src) ← srcᵀ: dst[d * Bc + c] = src[c * ld + d], for a K or V tile.
void transpose_tile(const float* src, int64_t ld, int64_t cols, int64_t dims, float* dst) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t d = 0; d < dims; ++d) dst[d * Bc + c] = src[c * ld + d];
}

}  // namespace

void flash_attention_forward(const FlashParams& p, const float* q, const float* k, const float* v, float* out,
                             float* lse) {
  const int64_t n_tiles = (p.L + Br - 1) / Br, group = p.H / p.Hkv;
  // Kᵀ of every (batch, kv head), transposed once here rather than once per query tile, and stored tile by
  // tile — (B·Hkv, key tiles, D, Bc) — so that a tile's rows are Bc floats apart. (Rows S floats apart
  // would be 4 KB apart at S = 1024: every row in the same L1 cache set, evicting each other.)
  const int64_t n_ktiles = (p.S + Bc - 1) / Bc;
  Buf k_t(p.B * p.Hkv * n_ktiles * p.D * Bc, Buf::Uninitialized{});  // a last tile's unused columns are never read
  const bool par = worth_threads(p);
#pragma omp parallel for collapse(2) if (par)
  for (int64_t bkv = 0; bkv < p.B * p.Hkv; ++bkv)
    for (int64_t t = 0; t < n_ktiles; ++t) {
      const int64_t j0 = t * Bc, cols = std::min(Bc, p.S - j0);
      transpose_tile(k + (bkv * p.S + j0) * p.D, p.D, cols, p.D, k_t.data() + (bkv * n_ktiles + t) * p.D * Bc);
    }
#pragma omp parallel if (par)
  {
    // Per-thread tiles: Q·scale (Br, D), S/P (Br, Bc), acc (Br, Dv), m and l (Br).
    Buf qs(Br * p.D), s(Br * Bc), acc(Br * p.Dv), m(Br), l(Br);
#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t bh = 0; bh < p.B * p.H; ++bh)
      for (int64_t t = 0; t < n_tiles; ++t) {
        const int64_t b = bh / p.H, h = bh % p.H, kvh = h / group;
        const int64_t i0 = t * Br, rows = std::min(Br, p.L - i0);
        const float* Q = q + (bh * p.L + i0) * p.D;
        const float* Kt = k_t.data() + (b * p.Hkv + kvh) * n_ktiles * p.D * Bc;  // (key tiles, D, Bc)
        const float* V = v + (b * p.Hkv + kvh) * p.S * p.Dv;
        for (int64_t x = 0; x < rows * p.D; ++x) qs[x] = Q[x] * p.scale;  // fold the scale into Q once
        std::fill(acc.p, acc.p + Br * p.Dv, 0.f);
        std::fill(m.p, m.p + Br, kNegInf);
        std::fill(l.p, l.p + Br, 0.f);
        const TileMask mask{p, b, h};
        int64_t lo, hi;
        key_range(p, i0, rows, &lo, &hi);
        // One block of the tile: query rows [r0, r0 + rc) against keys [j0, j0 + cc) of this tile.
        auto block = [&](int64_t j0, int64_t r0, int64_t rc, int64_t cc) {
          float* sb = s.data() + r0 * Bc;
          gemm_nn(rc, cc, p.D, qs.data() + r0 * p.D, p.D, Kt + (j0 / Bc) * p.D * Bc, Bc, sb, Bc, false);  // S = Q Kᵀ
          mask.apply(sb, i0 + r0, rc, j0, cc);
          for (int64_t r = r0; r < r0 + rc; ++r) {  // online softmax, row by row
            float* sr = s.data() + r * Bc;
            const float tile_max = row_max(sr, cc);
            if (std::isnan(tile_max)) {  // a NaN score: the exact answer is NaN, as in the composed path
              m[r] = l[r] = tile_max;
              std::fill(sr, sr + cc, tile_max);
              continue;
            }
            if (tile_max == kNegInf && m[r] == kNegInf) {  // nothing visible yet: contributes nothing
              std::fill(sr, sr + cc, 0.f);
              continue;
            }
            // Lazy rescaling: m[r] is the reference the exponentials are taken against. It only has to
            // be *near* the running max for exp not to overflow, so move it (and rescale acc and l,
            // Dv + 1 multiplies per row) only when the max rises by more than kRescale; otherwise the
            // tile's P = e^(S - m) stays below e^kRescale. The result is exact either way: O = acc / l.
            if (tile_max > m[r] + kRescale) {
              const float alpha = std::exp(m[r] - tile_max);  // 0 when m[r] = -inf
              if (m[r] != kNegInf)
                for (int64_t d = 0; d < p.Dv; ++d) acc[r * p.Dv + d] *= alpha;
              l[r] *= alpha;
              m[r] = tile_max;
            }
            l[r] += exp_shift_sum(sr, cc, m[r]);
          }
          gemm_nn(rc, p.Dv, cc, sb, Bc, V + j0 * p.Dv, p.Dv, acc.data() + r0 * p.Dv, p.Dv, true);  // acc += P V
        };
        for (int64_t j0 = (lo / Bc) * Bc; j0 < hi; j0 += Bc) {  // whole stored tiles; the mask trims the edges
          const int64_t cols = std::min(Bc, hi - j0);
          for_each_block(p, i0, rows, j0, cols, [&](int64_t r0, int64_t rc, int64_t cc) { block(j0, r0, rc, cc); });
        }
        float* O = out + (bh * p.L + i0) * p.Dv;
        for (int64_t r = 0; r < rows; ++r) {
          const float inv = l[r] != 0.f ? 1.f / l[r] : 0.f;  // l = 0: nothing visible (NaN stays NaN)
          for (int64_t d = 0; d < p.Dv; ++d) O[r * p.Dv + d] = acc[r * p.Dv + d] * inv;
          lse[bh * p.L + i0 + r] = l[r] != 0.f ? m[r] + std::log(l[r]) : kNegInf;
        }
      }
  }
}

void flash_attention_backward(const FlashParams& p, const float* q, const float* k, const float* v, const float* out,
                              const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const int64_t group = p.H / p.Hkv;
  const int64_t off = p.S - p.L;
  // One task per (batch, kv head): it owns dk/dv of that kv head and dq of the query heads sharing it.
#pragma omp parallel if (worth_threads(p))
  {
    // Per-thread tiles: Q·scale (Br, D), K_jᵀ (D, Bc), V_jᵀ (Dv, Bc), P (Br, Bc), dP then dS (Br, Bc),
    // Δ (L) of the current head; dK_j (Bc, D) and dV_j (Bc, Dv) summed over every query of the group.
    Buf qs(Br * p.D), kt(p.D * Bc), vt(p.Dv * Bc), s(Br * Bc), dp(Br * Bc), delta(p.L);
    Buf dk_acc(Bc * p.D), dv_acc(Bc * p.Dv);
#pragma omp for schedule(dynamic)
    for (int64_t bkv = 0; bkv < p.B * p.Hkv; ++bkv) {
      const int64_t b = bkv / p.Hkv, kvh = bkv % p.Hkv;
      const float* K = k + bkv * p.S * p.D;
      const float* V = v + bkv * p.S * p.Dv;
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const int64_t bh = b * p.H + h;
        const float* Qh = q + bh * p.L * p.D;
        const float* Oh = out + bh * p.L * p.Dv;
        const float* dOh = dout + bh * p.L * p.Dv;
        const float* lse_h = lse + bh * p.L;
        for (int64_t i = 0; i < p.L; ++i) {  // Δ_i = rowsum(dO_i ∘ O_i)
          float acc = 0.f;
          for (int64_t d = 0; d < p.Dv; ++d) acc += dOh[i * p.Dv + d] * Oh[i * p.Dv + d];
          delta[i] = acc;
        }
        const TileMask mask{p, b, h};
        for (int64_t j0 = 0; j0 < p.S; j0 += Bc) {
          const int64_t cols = std::min(Bc, p.S - j0);
          // Queries that can see any key of this tile: causal needs i + off >= j0; the window needs
          // i + off < j0 + cols - 1 + window.
          int64_t i_lo = 0, i_hi = p.L;
          if (p.causal || p.window > 0) i_lo = std::clamp<int64_t>(j0 - off, 0, p.L);
          if (p.window > 0) i_hi = std::clamp<int64_t>(j0 + cols - 1 + p.window - off, 0, p.L);
          if (i_lo >= i_hi) continue;
          transpose_tile(K + j0 * p.D, p.D, cols, p.D, kt.data());
          transpose_tile(V + j0 * p.Dv, p.Dv, cols, p.Dv, vt.data());
          std::fill(dk_acc.p, dk_acc.p + Bc * p.D, 0.f);
          std::fill(dv_acc.p, dv_acc.p + Bc * p.Dv, 0.f);
          // One block: query rows [i0, i0 + rc) against keys [j0, j0 + cc) of this tile.
          auto block = [&](int64_t i0, int64_t rc, int64_t cc) {
            const float* Q = Qh + i0 * p.D;
            const float* dO = dOh + i0 * p.Dv;
            for (int64_t x = 0; x < rc * p.D; ++x) qs[x] = Q[x] * p.scale;
            // P = exp(S - lse), recomputed: the forward's probabilities, never stored.
            gemm_nn(rc, cc, p.D, qs.data(), p.D, kt.data(), Bc, s.data(), Bc, false);
            mask.apply(s.data(), i0, rc, j0, cc);
            for (int64_t r = 0; r < rc; ++r) {
              float* sr = s.data() + r * Bc;
              const float lr = lse_h[i0 + r];
              if (lr == kNegInf) std::fill(sr, sr + cc, 0.f);
              else exp_shift_sum(sr, cc, lr);
            }
            // in the forward pass: O = P V, so dV += Pᵀ dO and dP = dO Vᵀ
            gemm_tn(cc, p.Dv, rc, s.data(), Bc, dO, p.Dv, dv_acc.data(), p.Dv);
            gemm_nn(rc, cc, p.Dv, dO, p.Dv, vt.data(), Bc, dp.data(), Bc, false);
            // softmax backward: dS = P ∘ (dP - Δ), times the scale that multiplied S
            for (int64_t r = 0; r < rc; ++r) {
              float* dpr = dp.data() + r * Bc;
              const float* pr = s.data() + r * Bc;
              const float dl = delta[i0 + r];
              for (int64_t c = 0; c < cc; ++c) dpr[c] = pr[c] * (dpr[c] - dl) * p.scale;
            }
            // S = scale · Q Kᵀ, so dQ += dS K and dK += dSᵀ Q
            if (dq) gemm_nn(rc, p.D, cc, dp.data(), Bc, K + j0 * p.D, p.D, dq + (bh * p.L + i0) * p.D, p.D, true);
            gemm_tn(cc, p.D, rc, dp.data(), Bc, Q, p.D, dk_acc.data(), p.D);
          };
          for (int64_t i0 = (i_lo / Br) * Br; i0 < i_hi; i0 += Br) {
            const int64_t rows = std::min(Br, p.L - i0);
            for_each_block(p, i0, rows, j0, cols, [&](int64_t r0, int64_t rc, int64_t cc) { block(i0 + r0, rc, cc); });
          }
          if (dk)
            for (int64_t x = 0; x < cols * p.D; ++x) dk[(bkv * p.S + j0) * p.D + x] += dk_acc[x];
          if (dv)
            for (int64_t x = 0; x < cols * p.Dv; ++x) dv[(bkv * p.S + j0) * p.Dv + x] += dv_acc[x];
        }
      }
    }
  }
}

void flash_decode(const FlashParams& p, const float* q, const float* k, const float* v, int64_t kv_stride_len,
                  float* out, float* lse) {
  const int64_t group = p.H / p.Hkv;
  const int64_t threads = omp_get_max_threads();
  // Enough splits to give every thread work even for one (batch, kv head); at least 256 keys each.
  const int64_t n_split = std::max<int64_t>(
      1, std::min<int64_t>(threads * 2 / std::max<int64_t>(1, std::min<int64_t>(p.B * p.Hkv, threads)) + 0,
                           (p.S + 255) / 256));
  const int64_t chunk = (p.S + n_split - 1) / n_split;
  // Partial results per (b, h, split): unnormalized acc (Dv), running max m and sum l.
  std::vector<float> part_acc(p.B * p.H * n_split * p.Dv), part_m(p.B * p.H * n_split), part_l(p.B * p.H * n_split);
  const int64_t lo_window = p.window > 0 ? std::max<int64_t>(0, p.S - p.window) : 0;
#pragma omp parallel if (worth_threads(p))
  {
    std::vector<float> scores(chunk);
#pragma omp for schedule(dynamic) collapse(2)
    for (int64_t bkv = 0; bkv < p.B * p.Hkv; ++bkv)
      for (int64_t sp = 0; sp < n_split; ++sp) {
        const int64_t b = bkv / p.Hkv, kvh = bkv % p.Hkv;
        const int64_t j0 = std::max(sp * chunk, lo_window), j1 = std::min(p.S, (sp + 1) * chunk);
        const float* K = k + bkv * kv_stride_len * p.D;
        const float* V = v + bkv * kv_stride_len * p.Dv;
        for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
          const int64_t bh = b * p.H + h, slot = bh * n_split + sp;
          const float* Q = q + bh * p.D;
          float* acc = part_acc.data() + slot * p.Dv;
          std::fill(acc, acc + p.Dv, 0.f);
          const int64_t n = std::max<int64_t>(0, j1 - j0);
          // scores = q · k_j · scale over this chunk (K rows are contiguous: read once, streamed)
          int64_t j = 0;
#ifdef ATTN_FLASH_AVX2
          // Four keys at a time: four independent dot products hide the FMA latency of one.
          for (; j + 4 <= n && p.D % 8 == 0; j += 4) {
            const float* k0 = K + (j0 + j) * p.D;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t d = 0; d < p.D; d += 8) {
              const __m256 qv = _mm256_loadu_ps(Q + d);
              a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
              a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + p.D + d), a1);
              a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 2 * p.D + d), a2);
              a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 3 * p.D + d), a3);
            }
            // Horizontal sums of the four: two hadds, then fold the 128-bit halves.
            const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
            const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
            _mm_storeu_ps(scores.data() + j, _mm_mul_ps(sum4, _mm_set1_ps(p.scale)));
          }
#endif
          for (; j < n; ++j) {
            const float* kj = K + (j0 + j) * p.D;
            float dot = 0.f;
            for (int64_t d = 0; d < p.D; ++d) dot += Q[d] * kj[d];
            scores[j] = dot * p.scale;
          }
          if (p.key_padding)
            for (int64_t jj = 0; jj < n; ++jj)
              if (p.key_padding[b * p.S + j0 + jj] != 0.f) scores[jj] = kNegInf;
          const float m = row_max(scores.data(), n);
          float l = 0.f;
          if (m != kNegInf) {
            l = exp_shift_sum(scores.data(), n, m);
            for (int64_t j = 0; j < n; ++j) {
              const float w = scores[j];
              const float* vj = V + (j0 + j) * p.Dv;
#pragma omp simd
              for (int64_t d = 0; d < p.Dv; ++d) acc[d] += w * vj[d];
            }
          }
          part_m[slot] = m;
          part_l[slot] = l;
        }
      }
  }
  // Merge the splits exactly: rescale each partial sum to the global max.
  for (int64_t bh = 0; bh < p.B * p.H; ++bh) {
    float m = kNegInf;
    bool nan = false;  // a NaN score anywhere: the exact answer is NaN (std::max would skip it)
    for (int64_t sp = 0; sp < n_split; ++sp) {
      m = std::max(m, part_m[bh * n_split + sp]);
      nan |= std::isnan(part_m[bh * n_split + sp]);
    }
    float l = 0.f;
    float* o = out + bh * p.Dv;
    if (nan) {
      std::fill(o, o + p.Dv, std::numeric_limits<float>::quiet_NaN());
      if (lse) lse[bh] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    std::fill(o, o + p.Dv, 0.f);
    if (m != kNegInf) {
      for (int64_t sp = 0; sp < n_split; ++sp) {
        const int64_t slot = bh * n_split + sp;
        if (part_l[slot] == 0.f) continue;
        const float w = std::exp(part_m[slot] - m);
        l += w * part_l[slot];
        for (int64_t d = 0; d < p.Dv; ++d) o[d] += w * part_acc[slot * p.Dv + d];
      }
      for (int64_t d = 0; d < p.Dv; ++d) o[d] /= l;
    }
    if (lse) lse[bh] = l > 0.f ? m + std::log(l) : kNegInf;
  }
}

void flash_attention_weights(const FlashParams& p, const float* q, const float* k, const float* lse,
                             const int64_t* rows, int64_t n_rows, float* weights) {
  const int64_t group = p.H / p.Hkv;
  std::vector<float> s(Bc * Br);
  for (int64_t bh = 0; bh < p.B * p.H; ++bh) {
    const int64_t b = bh / p.H, h = bh % p.H;
    const float* K = k + (b * p.Hkv + h / group) * p.S * p.D;
    const TileMask mask{p, b, h};
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t i = rows[r];
      float* w = weights + (bh * n_rows + r) * p.S;
      const float* Q = q + (bh * p.L + i) * p.D;
      const float l = lse[bh * p.L + i];
      for (int64_t j0 = 0; j0 < p.S; j0 += Bc) {
        const int64_t cols = std::min(Bc, p.S - j0);
        for (int64_t c = 0; c < cols; ++c) {
          float acc = 0.f;
          for (int64_t d = 0; d < p.D; ++d) acc += Q[d] * K[(j0 + c) * p.D + d];
          s[c] = acc * p.scale;
        }
        mask.apply(s.data(), i, 1, j0, cols);
        for (int64_t c = 0; c < cols; ++c) w[j0 + c] = l == kNegInf ? 0.f : std::exp(s[c] - l);
      }
    }
  }
}

const char* flash_kernel_name() {
#if defined(__AVX512F__) && defined(ATTN_FLASH_AVX2)
  return "avx512f: 6x32 zmm FMA tiles (6x16 ymm for tails)";
#elif defined(ATTN_FLASH_AVX2)
  return "avx2+fma: 6x16 ymm FMA tiles";
#else
  return "portable: scalar loops";
#endif
}

}  // namespace attn::kernels
