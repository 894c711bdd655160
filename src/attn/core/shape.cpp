#include "attn/core/shape.h"

#include "attn/core/error.h"

namespace attn {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    ATTN_CHECK(s >= 0, "Tensor", "negative size in shape " << shape_str(shape));
    ATTN_CHECK(!__builtin_mul_overflow(n, s, &n), "Tensor", "shape " << shape_str(shape) << " has too many elements");
  }
  // A zero-size dim makes the product 0 whatever follows; the other dims must still be sane.
  return n;
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t lo = -std::max<int64_t>(ndim, 1), hi = std::max<int64_t>(ndim, 1) - 1;
  ATTN_CHECK(
      dim >= lo && dim <= hi, op,
      "dim " << dim << " is out of range for a tensor with " << ndim << " dims (expected " << lo << ".." << hi << ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    ATTN_CHECK(da == db || da == 1 || db == 1, op,
               "shapes " << shape_str(a) << " and " << shape_str(b) << " do not broadcast (dim " << i << ": " << da
                         << " vs " << db << ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const auto own = contiguous_strides(shape);
  const size_t lead = out.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) strides[lead + i] = shape[i] == 1 ? 0 : own[i];
  return strides;
}

DimSplit split_at_dim(const Shape& shape, int64_t dim) {
  DimSplit s{1, shape.empty() ? 1 : shape[dim], 1};
  for (int64_t i = 0; i < dim; ++i) s.outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) s.inner *= shape[i];
  return s;
}

}  // namespace attn
