#include "attn/kernels/gemm.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <climits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "attn/core/error.h"

namespace attn::kernels {

namespace {

// out[r] = ⟨A[r, :], b⟩ for r < R (R ≤ 8): R independent sums, so that R FMA chains run in parallel (one
// chain would wait on the FMA latency at every step), and b (one weight row) loaded once per 8 floats for
// all R. `next` (the following weight row) is prefetched as b is read: the rows stream back to back.
// (Tried on a 2-core Zen 3: 8 rows of A × 1 weight row beats 4 × 2 and 2 × 4 — one stream per thread —
// and the prefetch adds ~15%.)
template <int R>
inline void dots(int64_t K, const float* A, int64_t lda, const float* b, const float* next, float* out) {
  int64_t k = 0;
  float sums[R];
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (; k + 8 <= K; k += 8) {
    if ((k & 15) == 0) _mm_prefetch(reinterpret_cast<const char*>(next + k), _MM_HINT_T0);  // one line per 16 floats
    const __m256 bv = _mm256_loadu_ps(b + k);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(A + r * lda + k), bv, acc[r]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {  // horizontal sum of the 8 lanes
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
    const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    sums[r] = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
  }
#else
  (void)next;
  for (int r = 0; r < R; ++r) sums[r] = 0.f;
#endif
  for (; k < K; ++k)  // the tail (and the portable path)
    for (int r = 0; r < R; ++r) sums[r] += A[r * lda + k] * b[k];
  for (int r = 0; r < R; ++r) out[r] = sums[r];
}

}  // namespace

void skinny_gemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B, float beta,
                    float* C) {
  // C (M, N) = alpha · A (M, K) · Bᵀ + beta · C with B stored (N, K): C[m, n] = alpha · ⟨A[m, :], B[n, :]⟩ + ...
  // Threads take blocks of weight rows n; each row is streamed from memory once and dotted with the M rows of
  // A (M·K floats, in L1/L2 for the shapes this serves), 8 rows of A at a time while the weight row is in L1.
  // Memory-bound: the weights' bytes set the time.
  const bool par = static_cast<double>(M) * N * K > 1e6;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t n = 0; n < N; ++n) {
    const float* b = B + n * K;
    const float* next = n + 1 < N ? b + K : b;
    float d[8];
    for (int64_t m0 = 0; m0 < M; m0 += 8) {
      const int64_t rows = std::min<int64_t>(8, M - m0);
      const float* a = A + m0 * K;
      switch (rows) {
        case 8:
          dots<8>(K, a, K, b, next, d);
          break;
        case 7:
          dots<7>(K, a, K, b, next, d);
          break;
        case 6:
          dots<6>(K, a, K, b, next, d);
          break;
        case 5:
          dots<5>(K, a, K, b, next, d);
          break;
        case 4:
          dots<4>(K, a, K, b, next, d);
          break;
        case 3:
          dots<3>(K, a, K, b, next, d);
          break;
        case 2:
          dots<2>(K, a, K, b, next, d);
          break;
        default:
          dots<1>(K, a, K, b, next, d);
          break;
      }
      for (int64_t r = 0; r < rows; ++r) {
        float& c = C[(m0 + r) * N + n];
        c = beta == 0.f ? alpha * d[r] : alpha * d[r] + beta * c;  // beta = 0: C is not read (it may be garbage)
      }
    }
  }
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  if (M == 0 || N == 0) return;
  ATTN_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX, "gemm",
             "sizes (" << M << ", " << N << ", " << K << ") exceed the BLAS interface's int range");
  if (K == 0) {  // empty sum: C = beta * C
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == 0.f ? 0.f : beta * C[i];
    return;
  }
  // A single row or column is a matrix-vector product: sgemv reads the matrix once, where sgemm would first
  // copy ("pack") it into its blocked layout — for decoding one token that copy doubled the memory traffic.
  if (M == 1) {   // C (1, N) = a (1, K) · op(B); a is contiguous whether or not A is "transposed"
    if (trans_b)  // B stored (N, K): C = B a
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), alpha, B, static_cast<int>(K),
                  A, 1, beta, C, 1);
    else  // B stored (K, N): C = Bᵀ a
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), alpha, B, static_cast<int>(N), A,
                  1, beta, C, 1);
    return;
  }
  if (N == 1) {   // C (M, 1) = op(A) · b
    if (trans_a)  // A stored (K, M)
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(M), alpha, A, static_cast<int>(M), B,
                  1, beta, C, 1);
    else  // A stored (M, K)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(M), static_cast<int>(K), alpha, A, static_cast<int>(K),
                  B, 1, beta, C, 1);
    return;
  }
  // A few rows against a large weight matrix stored (N, K) — a batch of prompts decoding one token each,
  // or a beam: OpenBLAS would first copy ("pack") the whole weight matrix, reading and writing it, for
  // only a few rows of output. Read each weight row once instead and take its dot products with every row
  // of A while it sits in L1.
  if (!trans_a && trans_b && M <= kSkinnyRows && N * K >= kSkinnyMinWeights) {
    skinny_gemm_nt(M, N, K, alpha, A, B, beta, C);
    return;
  }
  // Leading dimensions of the row-major buffers as stored.
  const int lda = static_cast<int>(trans_a ? M : K);
  const int ldb = static_cast<int>(trans_b ? K : N);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, lda, B, ldb, beta, C,
              static_cast<int>(N));
}

const char* blas_kernel_for_this_cpu() {
  // Only an OpenBLAS that chooses its kernels when it loads (DYNAMIC_ARCH) can be told another.
  if (std::strcmp(openblas_get_corename(), "Prescott") != 0 ||
      std::strstr(openblas_get_config(), "DYNAMIC_ARCH") == nullptr)
    return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void reexec_with_blas_kernel_for_this_cpu(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's (or an earlier exec's) choice
  const char* keep = std::getenv("ATTN_KEEP_BLAS_KERNEL");
  if (keep != nullptr && std::strcmp(keep, "0") != 0) return;
  const char* kernel = blas_kernel_for_this_cpu();
  if (kernel == nullptr) return;
  if (::setenv("OPENBLAS_CORETYPE", kernel, 1) != 0) return;  // without it the new image would exec again
  ::setenv("ATTN_BLAS_KERNEL_CHOSEN", kernel, 1);             // `attn info` and the benchmarks' machine line say so
  std::fflush(stdout);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): go on with the kernels we have.
}

const char* blas_name() { return openblas_get_config(); }
int blas_num_threads() { return openblas_get_num_threads(); }
void blas_set_num_threads(int n) { openblas_set_num_threads(n); }

}  // namespace attn::kernels
