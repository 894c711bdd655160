// Tensor: an N-d array of float32, contiguous, row-major — the one data type of explore-attention.
//
// A Tensor is a cheap handle (a shared pointer) to a TensorImpl, like torch.Tensor: copying a Tensor
// shares the data. `reshape` and `detach` make new handles over the same storage; every other op
// writes a new contiguous buffer. Indices (token ids, class targets, gather indices) are int64 and live
// in IndexTensor; boolean masks are float tensors where non-zero means true.
//
// Autograd fields (requires_grad, grad, grad_fn) live here so that every op can record itself; the
// engine that walks them backwards is in attn/autograd.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "attn/core/shape.h"

namespace attn {

class Generator;
struct Node;  // a recorded op (attn/autograd/node.h)

// A float buffer: our own (64-byte aligned), or memory someone else owns (a numpy array handed in by the
// Python bindings, zero-copy) kept alive by `owner` and never freed here. No kernel relies on alignment.
struct Storage {
  explicit Storage(int64_t n);
  Storage(float* external, int64_t n, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data;
  int64_t size;
  std::shared_ptr<void> owner;  // set for external memory
};

class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in floats, for views that share storage
  Shape shape;
  bool requires_grad = false;
  bool retains_grad = false;         // keep .grad on a non-leaf after backward
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient, same shape
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
  // A gradient buffer the autograd engine allocated without zeroing it: its first writer overwrites it
  // (see GradInit in autograd.h). False for every other tensor.
  bool grad_uninitialized = false;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (like an empty optional)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories -------------------------------------------------------------------------------
  static Tensor empty(const Shape& shape);  // uninitialized
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value);  // 0-d tensor
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  // A tensor over memory it does not own (like torch.from_numpy): `data` holds numel(shape) floats,
  // contiguous, and stays valid while `owner` lives; writes through the tensor write that memory.
  static Tensor from_blob(float* data, const Shape& shape, std::shared_ptr<void> owner);
  static Tensor arange(int64_t n);  // (n,) with 0, 1, ..., n-1
  static Tensor eye(int64_t n);
  static Tensor randn(const Shape& shape, Generator& gen);  // N(0, 1)
  static Tensor rand(const Shape& shape, Generator& gen);   // U[0, 1)
  static Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen);
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape()); }

  // ---- shape and data --------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return attn::numel(shape()); }
  // Inline (kernels call these in loops); an undefined tensor throws attn::Error.
  float* data() {
    if (!impl_) [[unlikely]]
      throw_undefined();
    return impl_->storage->data + impl_->offset;
  }
  const float* data() const {
    if (!impl_) [[unlikely]]
      throw_undefined();
    return impl_->storage->data + impl_->offset;
  }
  float item() const;                                    // the value of a one-element tensor
  float at(std::initializer_list<int64_t> index) const;  // bounds-checked element read
  float& at(std::initializer_list<int64_t> index);
  std::vector<float> to_vector() const;
  Tensor clone() const;           // deep copy of the data, no autograd history
  void copy_(const Tensor& src);  // copy values from a same-shaped tensor (no autograd)
  void fill_(float value);

  // ---- autograd --------------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward pass reaches this tensor
  void zero_grad();     // drops the gradient (like PyTorch's set_to_none)
  void retain_grad();   // keep .grad of a non-leaf
  // Reverse-mode differentiation from this tensor. A scalar gets gradient 1; otherwise pass `gradient`
  // of the same shape. Gradients accumulate (+=) into the .grad of leaves that require grad.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same data, cut from the graph
  std::shared_ptr<Node> grad_fn() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

  std::string to_string(int max_per_dim = 6) const;  // PyTorch-like printing

  // Convenience methods mirroring torch.Tensor (defined in attn/ops).
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const { return reshape(shape); }
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor matmul(const Tensor& other) const;
  Tensor sum() const;
  Tensor mean() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor softmax(int64_t dim) const;
  Tensor pow(float exponent) const;
  Tensor sqrt() const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

 private:
  [[noreturn]] static void throw_undefined();
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// max |a - b| over all elements (like (a - b).abs().max() in torch), for "do these agree?" checks.
// Throws naming both shapes when they differ. NaN anywhere gives NaN.
double max_abs_diff(const Tensor& a, const Tensor& b);

// Integer tensor for indices (token ids, targets, gather/index_select indices). Not differentiable.
struct IndexTensor {
  Shape shape;
  std::vector<int64_t> data;

  IndexTensor() = default;
  IndexTensor(std::vector<int64_t> values, Shape s);
  explicit IndexTensor(std::vector<int64_t> values)  // 1-d
      : IndexTensor(values, Shape{static_cast<int64_t>(values.size())}) {}
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  int64_t operator[](int64_t i) const { return data[i]; }
};

}  // namespace attn
