#include "attn/kernels/gemm.h"

#include <cblas.h>

#include <climits>

#include "attn/core/error.h"

namespace attn::kernels {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  ATTN_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX, "gemm",
             "sizes (" << M << ", " << N << ", " << K << ") exceed the BLAS interface's int range");
  if (K == 0) {  // empty sum: C = beta * C
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == 0.f ? 0.f : beta * C[i];
    return;
  }
  // A single row or column is a matrix-vector product: sgemv reads the matrix once, where sgemm would first
  // copy ("pack") it into its blocked layout — for decoding one token that copy doubled the memory traffic.
  if (M == 1) {  // C (1, N) = a (1, K) · op(B); a is contiguous whether or not A is "transposed"
    if (trans_b)  // B stored (N, K): C = B a
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(N), static_cast<int>(K), alpha, B, static_cast<int>(K), A, 1,
                  beta, C, 1);
    else  // B stored (K, N): C = Bᵀ a
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(N), alpha, B, static_cast<int>(N), A, 1,
                  beta, C, 1);
    return;
  }
  if (N == 1) {  // C (M, 1) = op(A) · b
    if (trans_a)  // A stored (K, M)
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(K), static_cast<int>(M), alpha, A, static_cast<int>(M), B, 1,
                  beta, C, 1);
    else  // A stored (M, K)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(M), static_cast<int>(K), alpha, A, static_cast<int>(K), B, 1,
                  beta, C, 1);
    return;
  }
  // Leading dimensions of the row-major buffers as stored.
  const int lda = static_cast<int>(trans_a ? M : K);
  const int ldb = static_cast<int>(trans_b ? K : N);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, lda, B, ldb, beta, C,
              static_cast<int>(N));
}

const char* blas_name() { return openblas_get_config(); }
int blas_num_threads() { return openblas_get_num_threads(); }
void blas_set_num_threads(int n) { openblas_set_num_threads(n); }

}  // namespace attn::kernels
