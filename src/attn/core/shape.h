// Shapes and the small utilities every op needs: element counts, contiguous strides, negative-dim
// wrapping, and NumPy/PyTorch broadcasting.
//
// Broadcasting (as in NumPy and PyTorch): align shapes on the right; each pair of sizes must be equal or
// one of them 1; the result takes the larger. (2, 1, 4) with (3, 1) -> (2, 3, 4).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);
std::vector<int64_t> contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

// Wraps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// Broadcast shape of a and b; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides for reading a tensor of `shape` as if it had the (broadcast) shape `out`: 0 on broadcast dims.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out);

// For reductions over one dim: a tensor of `shape` seen as (outer, size, inner) around `dim`.
struct DimSplit {
  int64_t outer, size, inner;
};
DimSplit split_at_dim(const Shape& shape, int64_t dim);

}  // namespace attn
