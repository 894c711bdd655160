// kernels::gemm against a naive triple loop, including the single-row and single-column shapes that go
// through sgemv, the few-rows-times-weights shapes of skinny_gemm_nt, every transpose combination, and
// beta = 0 / 1 (beta = 0 must not read C: it starts as NaN there).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "attn/core/rng.h"
#include "attn/kernels/gemm.h"

TEST(KernelsGemm, MatchesTheDefinitionForVectorShapesAndTransposes) {
  attn::Generator g(5);
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 7, 5},
                         {6, 1, 4},
                         {1, 1, 9},
                         {3, 4, 2},
                         {1, 300, 64},
                         // few rows times a large (N, K) matrix: the skinny path when tb, OpenBLAS otherwise
                         {2, 600, 130},
                         {8, 257, 300},
                         {16, 300, 250},
                         {17, 300, 250}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.f, 1.f}) {
          std::vector<float> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N)),
              C(static_cast<size_t>(M * N));
          for (auto* v : {&A, &B, &C})
            for (float& x : *v) x = g.uniform() * 2.f - 1.f;
          if (beta == 0.f)
            for (float& x : C) x = std::nanf("");
          std::vector<float> ref = C;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double acc = 0;
              for (int64_t k = 0; k < K; ++k) {
                const float a = ta ? A[static_cast<size_t>(k * M + i)] : A[static_cast<size_t>(i * K + k)];
                const float b = tb ? B[static_cast<size_t>(j * K + k)] : B[static_cast<size_t>(k * N + j)];
                acc += static_cast<double>(a) * b;
              }
              ref[static_cast<size_t>(i * N + j)] =
                  static_cast<float>(0.5 * acc + (beta == 0.f ? 0.0 : beta * ref[static_cast<size_t>(i * N + j)]));
            }
          attn::kernels::gemm(ta, tb, M, N, K, 0.5f, A.data(), B.data(), beta, C.data());
          for (size_t i = 0; i < C.size(); ++i)
            ASSERT_NEAR(C[i], ref[i], 1e-4) << "M " << M << " N " << N << " K " << K << " ta " << ta << " tb " << tb
                                            << " beta " << beta << " at " << i;
        }
}
