// Matrix multiply through CBLAS (OpenBLAS). Row-major throughout.
//
//   C (M, N) = alpha * op(A) @ op(B) + beta * C,   op(X) = X or Xᵀ
//
// A is stored (M, K) or, with trans_a, (K, M); B is (K, N) or, with trans_b, (N, K). Transposes are
// BLAS flags — no copies. The backward of C = A @ B needs exactly these flags:
//   dA (M, K) += dC (M, N) @ Bᵀ      -> gemm(trans_b = true)
//   dB (K, N) += Aᵀ @ dC (M, N)      -> gemm(trans_a = true)
#pragma once
#include <cstdint>

namespace attn::kernels {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C);

// The skinny case gemm() sends here rather than to OpenBLAS: few rows (M ≤ kSkinnyRows) times a large
// matrix stored transposed, (N, K) — a linear layer's weight — with N·K ≥ kSkinnyMinWeights. Each weight row
// is read once and dotted with every row of A; OpenBLAS would pack (read and write) the whole weight
// matrix first. Batched decoding is exactly this shape: B prompts × every weight of the model per token.
inline constexpr int64_t kSkinnyRows = 16;
inline constexpr int64_t kSkinnyMinWeights = int64_t{1} << 16;
void skinny_gemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B, float beta,
                    float* C);

// The BLAS library in use and its thread count, for `attn info`.
const char* blas_name();
int blas_num_threads();
void blas_set_num_threads(int n);

}  // namespace attn::kernels
