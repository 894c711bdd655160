// torch.Tensor-style methods on Tensor, forwarding to the functional ops.
#include "attn/ops/ops.h"

namespace attn {

Tensor Tensor::reshape(const Shape& shape) const { return attn::reshape(*this, shape); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return attn::transpose(*this, d0, d1); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const { return attn::permute(*this, dims); }
Tensor Tensor::matmul(const Tensor& other) const { return attn::matmul(*this, other); }
Tensor Tensor::sum() const { return attn::sum(*this); }
Tensor Tensor::mean() const { return attn::mean(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return attn::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return attn::mean(*this, dims, keepdim); }
Tensor Tensor::exp() const { return attn::exp(*this); }
Tensor Tensor::log() const { return attn::log(*this); }
Tensor Tensor::tanh() const { return attn::tanh(*this); }
Tensor Tensor::sigmoid() const { return attn::sigmoid(*this); }
Tensor Tensor::relu() const { return attn::relu(*this); }
Tensor Tensor::softmax(int64_t dim) const { return attn::softmax(*this, dim); }
Tensor Tensor::pow(float exponent) const { return attn::pow(*this, exponent); }
Tensor Tensor::sqrt() const { return attn::sqrt(*this); }
Tensor Tensor::unsqueeze(int64_t dim) const { return attn::unsqueeze(*this, dim); }
Tensor Tensor::squeeze(int64_t dim) const { return attn::squeeze(*this, dim); }
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const { return attn::flatten(*this, start_dim, end_dim); }

}  // namespace attn
