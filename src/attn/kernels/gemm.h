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

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
          float beta, float* C);

// The skinny case gemm() sends here rather than to OpenBLAS: few rows (M ≤ kSkinnyRows) times a large
// matrix stored transposed, (N, K) — a linear layer's weight — with N·K ≥ kSkinnyMinWeights. Each weight row
// is read once and dotted with every row of A; OpenBLAS would pack (read and write) the whole weight
// matrix first. Batched decoding is exactly this shape: B prompts × every weight of the model per token.
inline constexpr int64_t kSkinnyRows = 16;
inline constexpr int64_t kSkinnyMinWeights = int64_t{1} << 16;
void skinny_gemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B, float beta, float* C);

// OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU's family and model when it loads. A CPU newer than
// the library (Debian 12's 0.3.21 on an Intel family 6 model 207 Xeon) gets the generic Prescott (SSE3) kernels:
// sgemm at 38 GFLOP/s where the CPU's own AVX-512 kernels give 190–226 (measured on 2 cores). The kernel it would
// have had, from the CPU's features: "Cooperlake" (AVX-512 BF16), "SkylakeX" (AVX-512 F/BW/DQ/VL), "Haswell"
// (AVX2 + FMA); null when OpenBLAS already chose something else than Prescott, or the CPU has none of these.
const char* blas_kernel_for_this_cpu();
// When blas_kernel_for_this_cpu() names a kernel and OPENBLAS_CORETYPE is not set, sets it and executes this program
// again from the start (OpenBLAS reads the variable only when it loads; exec keeps the pid, so mpirun's ranks and a
// caller's pid stay valid); ATTN_BLAS_KERNEL_CHOSEN then names the kernel (`attn info` and the benchmarks' machine
// line show it; `attn bench` gives PyTorch's child processes the same). Returns when there is nothing to do or exec
// failed.
// Called first thing by `attn`'s main and by every lesson. ATTN_KEEP_BLAS_KERNEL=1 turns it off.
void reexec_with_blas_kernel_for_this_cpu(char** argv);

// The BLAS library in use and its thread count, for `attn info`.
const char* blas_name();
int blas_num_threads();
void blas_set_num_threads(int n);

}  // namespace attn::kernels
