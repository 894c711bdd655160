// Differentiable tensor ops — the functional API, named as in PyTorch (torch.* and torch.nn.functional.*).
//
// Each op validates its inputs up front (errors name the op and the shapes), computes the forward with a
// kernel from attn/kernels, and — when grad mode is on and an input requires grad — records its backward.
// Shape legend used in the comments: N batch/rows, C classes or channels, T time, D features, (...) any.
#pragma once
#include <string>
#include <vector>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn {

// ---- pointwise, with NumPy/PyTorch broadcasting ------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);  // a + b
Tensor sub(const Tensor& a, const Tensor& b);  // a - b
Tensor mul(const Tensor& a, const Tensor& b);  // a * b
Tensor div(const Tensor& a, const Tensor& b);  // a / b
Tensor add(const Tensor& a, float b);
Tensor mul(const Tensor& a, float b);
Tensor rsub(const Tensor& a, float b);  // b - a
Tensor rdiv(const Tensor& a, float b);  // b / a
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
// GELU: approximate = "none" (exact, x Φ(x)) or "tanh" (GPT-2's).
Tensor gelu(const Tensor& x, const std::string& approximate = "none");

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, float b) { return add(a, b); }
inline Tensor operator+(float a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(const Tensor& a, float b) { return add(a, -b); }
inline Tensor operator-(float a, const Tensor& b) { return rsub(b, a); }
inline Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
inline Tensor operator*(float a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Tensor& a, float b) { return mul(a, 1.f / b); }
inline Tensor operator/(float a, const Tensor& b) { return rdiv(b, a); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// out = x with positions where `mask` is non-zero replaced by `value`; mask broadcasts to x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);
// out = condition ? a : b, elementwise with broadcasting of all three (condition: non-zero = true).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// ---- linear algebra ---------------------------------------------------------------------------------
// Matrix product over the last two dims, batch dims broadcast: (..., M, K) @ (..., K, N) -> (..., M, N).
// 1-d operands act as a row (left) or column (right) vector, as in torch.matmul. transpose_a/_b use
// the operand's last-two-dims transpose (a BLAS flag, not a copy): matmul(q, k, false, true) = q @ kᵀ.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// y = x @ Wᵀ + b:  x (..., in), weight (out, in) [PyTorch's layout], bias (out) or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- reductions -------------------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // all elements -> ()
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Max over one dim; the gradient flows to the first maximal element. `indices` (optional) gets argmax.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false, IndexTensor* indices = nullptr);
Tensor max(const Tensor& x);  // over all elements -> ()
// Cumulative sum along `dim` (torch.cumsum): out[..., i, ...] = Σ_{j <= i} x[..., j, ...], same shape.
// Its backward is the reverse cumulative sum: dx[j] += Σ_{i >= j} dout[i]. (Prefix sums turn causal
// linear attention into a pass that is linear in T.)
Tensor cumsum(const Tensor& x, int64_t dim);
// Sum a broadcast gradient back down to `shape` (the inverse of broadcasting; used by backward passes).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

// ---- shape and indexing -----------------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // one dim may be -1; shares storage
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);  // torch.cat
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
// x[..., start:end:step, ...] along `dim`, Python slice semantics (negative indices, clamping).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
// The heads of a projection, read from its columns [col, col + H·Dh): x (B, T, W) -> (B, H, T, Dh),
//   out[b, h, t, d] = x[b, t, col + h·Dh + d]
// = x[..., col:col+H*Dh].reshape(B, T, H, Dh).permute(0, 2, 1, 3) in one copy of Dh-float rows; the backward
// adds into those columns only. Three calls split a fused (B, T, 3C) q|k|v projection without a slice.
Tensor split_heads(const Tensor& x, int64_t num_heads, int64_t head_dim, int64_t col = 0);
// The inverse layout: (B, H, T, Dh) -> (B, T, H·Dh) = x.permute(0, 2, 1, 3).reshape(B, T, H*Dh).
Tensor merge_heads(const Tensor& x);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // equal chunks
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// Rows of x along `dim` picked by a 1-d index: out.shape[dim] = index.numel().
Tensor index_select(const Tensor& x, int64_t dim, const IndexTensor& index);
// out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); index has x's number of dims.
Tensor gather(const Tensor& x, int64_t dim, const IndexTensor& index);
// Lookup rows of weight (V, D) for ids of any shape -> (*ids.shape, D). Rows equal to padding_idx
// get no gradient (padding_idx = -1: none).
Tensor embedding(const IndexTensor& ids, const Tensor& weight, int64_t padding_idx = -1);

// ---- neural-network functions -----------------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Normalize over the trailing dims `normalized_shape`; weight/bias of that shape or undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), float eps = 1e-5f);
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(), float eps = 1e-6f);
// Inverted dropout: zero each element with probability p, scale survivors by 1/(1-p). Identity when
// !training or p == 0. The mask is drawn from `gen` (default generator when null): same seed, same mask.
Tensor dropout(const Tensor& x, float p, bool training = true, Generator* gen = nullptr);

// ---- losses -----------------------------------------------------------------------------------------
struct CrossEntropyOptions {
  int64_t ignore_index = -100;
  float label_smoothing = 0.f;
  std::string reduction = "mean";  // "mean" | "sum" | "none"
  CrossEntropyOptions& ignore(int64_t v) {
    ignore_index = v;
    return *this;
  }
  CrossEntropyOptions& smoothing(float v) {
    label_smoothing = v;
    return *this;
  }
  CrossEntropyOptions& reduce(std::string v) {
    reduction = std::move(v);
    return *this;
  }
};
// logits (N, C), target (N) class ids. With smoothing ε the target distribution is (1-ε)·onehot + ε/C.
// "mean" divides by the number of non-ignored targets (0 when every target is ignored).
Tensor cross_entropy(const Tensor& logits, const IndexTensor& target,
                     const CrossEntropyOptions& options = CrossEntropyOptions());
// mean((input - target)^2) (reduction "mean" | "sum" | "none"); shapes must match.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");

}  // namespace attn
