// matmul and linear on top of kernels::gemm (CBLAS). Transposes are BLAS flags, never copies.
#include <algorithm>
#include <vector>

#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "attn/kernels/parallel.h"
#include "attn/ops/ops.h"

namespace attn {

namespace {

// Batch geometry of a broadcast batched matmul: for output matrix `i`, the matrix index into a and b.
struct BatchPlan {
  Shape batch;  // broadcast batch shape
  std::vector<int64_t> a_index, b_index;
};

BatchPlan plan_batches(const Shape& ba, const Shape& bb) {
  BatchPlan p;
  p.batch = broadcast_shapes(ba, bb, "matmul");
  const auto sa = broadcast_strides(ba, p.batch), sb = broadcast_strides(bb, p.batch);
  const int64_t n = numel(p.batch);
  p.a_index.resize(n);
  p.b_index.resize(n);
  std::vector<int64_t> idx(p.batch.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < p.batch.size(); ++d) {
      ia += idx[d] * sa[d];
      ib += idx[d] * sb[d];
    }
    p.a_index[i] = ia;
    p.b_index[i] = ib;
    for (int64_t d = static_cast<int64_t>(p.batch.size()) - 1; d >= 0; --d) {
      if (++idx[d] < p.batch[d]) break;
      idx[d] = 0;
    }
  }
  return p;
}

Tensor matmul_2plus(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  const int64_t na = a.dim(), nb = b.dim();
  // Stored (rows, cols) of each operand; op() applies the transpose flag.
  const int64_t a_rows = as[na - 2], a_cols = as[na - 1];
  const int64_t b_rows = bs[nb - 2], b_cols = bs[nb - 1];
  const int64_t M = ta ? a_cols : a_rows, K = ta ? a_rows : a_cols;
  const int64_t Kb = tb ? b_cols : b_rows, N = tb ? b_rows : b_cols;
  ATTN_CHECK(K == Kb, "matmul",
             "inner dims differ: " << shape_str(as) << (ta ? "ᵀ" : "") << " @ " << shape_str(bs) << (tb ? "ᵀ" : "")
                                   << " (" << K << " vs " << Kb << ")");
  const Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);

  // Fast path: b is a single matrix and a is not transposed — fold a's batch into M: one big gemm.
  if (bb.empty() && !ta) {
    const int64_t rows = numel(ba) * M;
    Shape out_shape = ba;
    out_shape.push_back(M);
    out_shape.push_back(N);
    Tensor out = Tensor::empty(out_shape);
    kernels::gemm(false, tb, rows, N, K, 1.f, a.data(), b.data(), 0.f, out.data());
    if (needs_grad({&a, &b})) {
      Tensor sa = a.detach(), sb = b.detach();
      record(
          out, "matmul", {a, b},
          [sa, sb, tb, rows, N, K](const Tensor& gc, std::vector<Tensor>& gin) {
            // in the forward pass: C (rows, N) = A (rows, K) @ op(B) (K, N), so now
            //   dA (rows, K) += dC @ op(B)ᵀ   (beta = 0, "=", when dA holds nothing yet)
            if (gin[0].defined()) {
              const float beta = first_write(gin[0]) ? 0.f : 1.f;
              kernels::gemm(false, !tb, rows, K, N, 1.f, gc.data(), sb.data(), beta, gin[0].data());
            }
            //   dB: op(B) = B -> dB (K, N) += Aᵀ @ dC;  op(B) = Bᵀ -> dB (N, K) += dCᵀ @ A
            if (gin[1].defined()) {
              const float beta = first_write(gin[1]) ? 0.f : 1.f;
              if (!tb) kernels::gemm(true, false, K, N, rows, 1.f, sa.data(), gc.data(), beta, gin[1].data());
              else kernels::gemm(true, false, N, K, rows, 1.f, gc.data(), sa.data(), beta, gin[1].data());
            }
          },
          GradInit::MaybeUninitialized);
    }
    return out;
  }

  const BatchPlan plan = plan_batches(ba, bb);
  Shape out_shape = plan.batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape);
  const int64_t nbatch = numel(plan.batch);
  const int64_t a_step = M * K, b_step = K * N, c_step = M * N;
  for (int64_t i = 0; i < nbatch; ++i)
    kernels::gemm(ta, tb, M, N, K, 1.f, a.data() + plan.a_index[i] * a_step, b.data() + plan.b_index[i] * b_step, 0.f,
                  out.data() + i * c_step);

  if (needs_grad({&a, &b})) {
    Tensor sa = a.detach(), sb = b.detach();
    record(out, "matmul", {a, b}, [sa, sb, ta, tb, M, N, K, plan](const Tensor& gc, std::vector<Tensor>& gin) {
      const int64_t a_step = M * K, b_step = K * N, c_step = M * N;
      for (size_t i = 0; i < plan.a_index.size(); ++i) {
        const float* A = sa.data() + plan.a_index[i] * a_step;
        const float* B = sb.data() + plan.b_index[i] * b_step;
        const float* dC = gc.data() + i * c_step;
        // in the forward pass: C = op(A) @ op(B). With beta = 1 broadcast batches accumulate.
        if (gin[0].defined()) {
          float* dA = gin[0].data() + plan.a_index[i] * a_step;
          if (!ta) kernels::gemm(false, !tb, M, K, N, 1.f, dC, B, 1.f, dA);  // dA = dC op(B)ᵀ
          else kernels::gemm(tb, true, K, M, N, 1.f, B, dC, 1.f, dA);        // dA = op(B) dCᵀ
        }
        if (gin[1].defined()) {
          float* dB = gin[1].data() + plan.b_index[i] * b_step;
          if (!tb) kernels::gemm(!ta, false, K, N, M, 1.f, A, dC, 1.f, dB);  // dB = op(A)ᵀ dC
          else kernels::gemm(true, ta, N, K, M, 1.f, dC, A, 1.f, dB);        // dB = dCᵀ op(A)
        }
      }
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  ATTN_CHECK(a.defined() && b.defined(), "matmul", "an input is undefined");
  ATTN_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul",
             "both arguments need at least 1 dim, got " << shape_str(a.shape()) << " and " << shape_str(b.shape()));
  ATTN_CHECK(!(transpose_a && a.dim() < 2) && !(transpose_b && b.dim() < 2), "matmul", "transpose flags need 2+ dims");
  // Vectors become (1, K) and (K, 1) matrices; the added dim is removed from the result.
  const bool va = a.dim() == 1, vb = b.dim() == 1;
  Tensor a2 = va ? reshape(a, {1, a.size(0)}) : a;
  Tensor b2 = vb ? reshape(b, {b.size(0), 1}) : b;
  Tensor out = matmul_2plus(a2, b2, transpose_a, transpose_b);
  if (va) out = squeeze(out, -2);
  if (vb) out = squeeze(out, -1);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ATTN_CHECK(x.defined() && weight.defined(), "linear", "input or weight is undefined");
  ATTN_CHECK(weight.dim() == 2, "linear",
             "weight must be (out_features, in_features), got " << shape_str(weight.shape()));
  ATTN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear",
             "input " << shape_str(x.shape()) << " has last dim " << (x.dim() ? x.size(-1) : 0) << " but weight "
                      << shape_str(weight.shape()) << " expects " << weight.size(1));
  const int64_t in = weight.size(1), outf = weight.size(0);
  const int64_t rows = numel(Shape(x.shape().begin(), x.shape().end() - 1));  // all leading dims
  if (bias.defined())
    ATTN_CHECK(bias.dim() == 1 && bias.size(0) == outf, "linear",
               "bias must be (" << outf << ",), got " << shape_str(bias.shape()));
  Shape out_shape = x.shape();
  out_shape.back() = outf;
  Tensor y = Tensor::empty(out_shape);
  // y (rows, out) = x (rows, in) @ Wᵀ; start from the bias broadcast over rows and let gemm add (beta=1).
  float beta = 0.f;
  if (bias.defined()) {
    float* yd = y.data();
    const float* bd = bias.data();
    kernels::parallel_rows(rows, outf, [&](int64_t r) { std::copy(bd, bd + outf, yd + r * outf); });
    beta = 1.f;
  }
  kernels::gemm(false, true, rows, outf, in, 1.f, x.data(), weight.data(), beta, y.data());
  if (needs_grad({&x, &weight, &bias})) {
    Tensor sx = x.detach(), sw = weight.detach();
    record(
        y, "linear", {x, weight, bias},
        [sx, sw, rows, in, outf](const Tensor& gy, std::vector<Tensor>& gin) {
          // in the forward pass: y = x Wᵀ + b, so now (each with beta = 0, "=", when the buffer holds nothing yet)
          if (gin[0].defined())  // dx (rows, in) += dy (rows, out) @ W (out, in)
            kernels::gemm(false, false, rows, in, outf, 1.f, gy.data(), sw.data(), first_write(gin[0]) ? 0.f : 1.f,
                          gin[0].data());
          if (gin[1].defined())  // dW (out, in) += dyᵀ (out, rows) @ x (rows, in)
            kernels::gemm(true, false, outf, in, rows, 1.f, gy.data(), sx.data(), first_write(gin[1]) ? 0.f : 1.f,
                          gin[1].data());
          if (gin[2].defined()) {  // db (out) += Σ_rows dy = dyᵀ (out, rows) @ 1 (rows): a matrix-vector product
            const std::vector<float> ones(static_cast<size_t>(rows), 1.f);
            kernels::gemm(true, false, outf, 1, rows, 1.f, gy.data(), ones.data(), first_write(gin[2]) ? 0.f : 1.f,
                          gin[2].data());
          }
        },
        GradInit::MaybeUninitialized);
  }
  return y;
}

}  // namespace attn
