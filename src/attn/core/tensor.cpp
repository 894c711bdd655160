#include "attn/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/core/memory.h"
#include "attn/core/rng.h"

namespace attn {

namespace {
size_t storage_bytes(int64_t n) {
  // aligned_alloc needs a size that is a multiple of the alignment; allocate at least one line.
  const size_t bytes = ((static_cast<size_t>(n) * sizeof(float) + 63) / 64) * 64;
  return bytes ? bytes : 64;
}
}  // namespace

Storage::Storage(int64_t n) : data(nullptr), size(n) {
  ATTN_CHECK(n >= 0, "Tensor", "negative number of elements " << n);
  ATTN_CHECK(static_cast<uint64_t>(n) <= (SIZE_MAX - 64) / sizeof(float), "Tensor",
             n << " elements do not fit in memory");
  data = static_cast<float*>(memory::allocate(storage_bytes(n)));
  ATTN_CHECK(data != nullptr, "Tensor", "out of memory allocating " << n << " floats");
}

Storage::Storage(float* external, int64_t n, std::shared_ptr<void> keep_alive)
    : data(external), size(n), owner(std::move(keep_alive)) {
  ATTN_CHECK(n >= 0, "Tensor", "negative number of elements " << n);
  ATTN_CHECK(data != nullptr || n == 0, "Tensor", "external memory is null");
  ATTN_CHECK(owner != nullptr, "Tensor", "external memory needs an owner that keeps it alive");
}

Storage::~Storage() {
  if (!owner) memory::release(data, storage_bytes(size));
}

namespace {
std::shared_ptr<TensorImpl> make_impl(const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel(shape));
  impl->shape = shape;
  return impl;
}
}  // namespace

Tensor Tensor::empty(const Shape& shape) { return Tensor(make_impl(shape)); }

Tensor Tensor::from_blob(float* data, const Shape& shape, std::shared_ptr<void> owner) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(data, attn::numel(shape), std::move(owner));
  impl->shape = shape;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.f); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  ATTN_CHECK(
      static_cast<int64_t>(values.size()) == attn::numel(shape), "from_vector",
      values.size() << " values do not fill shape " << shape_str(shape) << " (" << attn::numel(shape) << " elements)");
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::arange(int64_t n) {
  Tensor t = empty({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

Tensor Tensor::eye(int64_t n) {
  Tensor t = zeros({n, n});
  for (int64_t i = 0; i < n; ++i) t.data()[i * n + i] = 1.f;
  return t;
}

Tensor Tensor::randn(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.normal();
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.f, 1.f, gen); }

Tensor Tensor::uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = gen.uniform(lo, hi);
  return t;
}

const Shape& Tensor::shape() const {
  ATTN_CHECK(impl_, "Tensor", "use of an undefined tensor");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const {
  ATTN_CHECK(dim() > 0, "Tensor.size", "a 0-d tensor has no dims");
  return shape()[wrap_dim(d, dim(), "Tensor.size")];
}

void Tensor::throw_undefined() { ATTN_FAIL("Tensor", "use of an undefined tensor"); }

float Tensor::item() const {
  ATTN_CHECK(numel() == 1, "item",
             "tensor of shape " << shape_str(shape()) << " has " << numel() << " elements, expected 1");
  return data()[0];
}

namespace {
int64_t flat_index(const Shape& shape, std::initializer_list<int64_t> index) {
  ATTN_CHECK(index.size() == shape.size(), "at",
             "got " << index.size() << " indices for a tensor of shape " << shape_str(shape));
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    ATTN_CHECK(i >= -shape[d] && i < shape[d], "at",
               "index " << i << " is out of range for dim " << d << " of shape " << shape_str(shape));
    flat = flat * shape[d] + (i < 0 ? i + shape[d] : i);
    ++d;
  }
  return flat;
}
}  // namespace

float Tensor::at(std::initializer_list<int64_t> index) const { return data()[flat_index(shape(), index)]; }
float& Tensor::at(std::initializer_list<int64_t> index) { return data()[flat_index(shape(), index)]; }

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel()); }

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  if (numel()) std::memcpy(t.data(), data(), numel() * sizeof(float));
  return t;
}

void Tensor::copy_(const Tensor& src) {
  ATTN_CHECK(src.shape() == shape(), "copy_",
             "source shape " << shape_str(src.shape()) << " differs from destination " << shape_str(shape()));
  if (numel()) std::memmove(data(), src.data(), numel() * sizeof(float));
}

void Tensor::fill_(float value) {
  float* p = data();
  const int64_t n = numel();
  // Zeroed gradient buffers are the common large case (every intermediate's gradient starts as one):
  // split them over threads, which also spreads the first touch of fresh pages.
#pragma omp parallel for simd schedule(static) if (n >= (1 << 18))
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  ATTN_CHECK(impl_, "requires_grad_", "undefined tensor");
  ATTN_CHECK(is_leaf(), "requires_grad_",
             "can only change requires_grad of a leaf tensor; use detach() to make a new leaf");
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return impl_ && impl_->grad_fn == nullptr; }

Tensor Tensor::grad() const { return impl_ && impl_->grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::zero_grad() {
  if (impl_) impl_->grad.reset();
}

void Tensor::retain_grad() {
  ATTN_CHECK(requires_grad(), "retain_grad", "tensor does not require grad");
  impl_->retains_grad = true;
}

Tensor Tensor::detach() const {
  ATTN_CHECK(impl_, "detach", "undefined tensor");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  return Tensor(impl);
}

std::shared_ptr<Node> Tensor::grad_fn() const { return impl_ ? impl_->grad_fn : nullptr; }

// ---- printing ------------------------------------------------------------------------------------

namespace {
void print_rec(std::ostream& os, const float* p, const Shape& shape, const std::vector<int64_t>& strides, size_t d,
               int max_per_dim, int indent) {
  if (shape.empty()) {
    os << p[0];
    return;
  }
  const int64_t n = shape[d];
  const bool elide = n > 2 * max_per_dim;
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == max_per_dim) {
      os << (d + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - max_per_dim - 1;
      continue;
    }
    if (d + 1 == shape.size()) {
      os << std::setw(9) << p[i * strides[d]];
    } else {
      print_rec(os, p + i * strides[d], shape, strides, d + 1, max_per_dim, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
}  // namespace

std::string Tensor::to_string(int max_per_dim) const {
  if (!impl_) return "tensor(undefined)";
  std::ostringstream os;
  os << std::setprecision(4) << std::fixed;
  os << "tensor(";
  print_rec(os, data(), shape(), contiguous_strides(shape()), 0, max_per_dim, 7);
  os << ", shape=" << shape_str(shape());
  if (requires_grad()) os << (impl_->grad_fn ? ", grad_fn" : ", requires_grad=True");
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  ATTN_CHECK(a.defined() && b.defined() && a.shape() == b.shape(), "max_abs_diff",
             "shapes differ: " << (a.defined() ? shape_str(a.shape()) : "undefined") << " vs "
                               << (b.defined() ? shape_str(b.shape()) : "undefined"));
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]);
    if (std::isnan(d)) return d;
    m = std::max(m, d);
  }
  return m;
}

IndexTensor::IndexTensor(std::vector<int64_t> values, Shape s) : shape(std::move(s)), data(std::move(values)) {
  ATTN_CHECK(static_cast<int64_t>(data.size()) == attn::numel(shape), "IndexTensor",
             data.size() << " values do not fill shape " << shape_str(shape));
}

}  // namespace attn
