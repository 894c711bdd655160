// Shape and indexing ops: reshape (a view), permute/transpose, concat/stack, slice/split,
// index_select, gather, embedding.
#include <cstring>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/parallel.h"
#include "attn/ops/ops.h"

namespace attn {

Tensor reshape(const Tensor& x, const Shape& shape) {
  ATTN_CHECK(x.defined(), "reshape", "input is undefined");
  Shape s = shape;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      ATTN_CHECK(infer < 0, "reshape", "only one dim can be -1 in " << shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      ATTN_CHECK(s[i] >= 0, "reshape", "invalid size " << s[i] << " in " << shape_str(shape));
      ATTN_CHECK(!__builtin_mul_overflow(known, s[i], &known), "reshape",
                 "shape " << shape_str(shape) << " has too many elements");
    }
  }
  if (infer >= 0) {
    ATTN_CHECK(known > 0 && x.numel() % known == 0, "reshape",
               "cannot reshape " << shape_str(x.shape()) << " into " << shape_str(shape));
    s[infer] = x.numel() / known;
  }
  ATTN_CHECK(numel(s) == x.numel(), "reshape",
             "shape " << shape_str(shape) << " is invalid for input of shape " << shape_str(x.shape()) << " ("
                      << x.numel() << " elements)");
  // A view: new handle, same storage (contiguous layout means the flat order is unchanged).
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->offset = x.impl()->offset;
  impl->shape = s;
  Tensor out(impl);
  if (needs_grad({&x})) {
    record(
        out, "reshape", {x},
        [](const Tensor& gy, std::vector<Tensor>& gin) {
          if (first_write(gin[0])) std::memcpy(gin[0].data(), gy.data(), gy.numel() * sizeof(float));
          else kernels::add_inplace(gin[0].data(), gy.data(), gy.numel());
        },
        GradInit::MaybeUninitialized);
  }
  return out;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  ATTN_CHECK(x.defined(), "unsqueeze", "input is undefined");
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.shape();
  s.insert(s.begin() + dim, 1);
  return reshape(x, s);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  ATTN_CHECK(x.defined(), "squeeze", "input is undefined");
  dim = wrap_dim(dim, x.dim(), "squeeze");
  Shape s = x.shape();
  if (s.empty() || s[dim] != 1) return x;  // as in PyTorch: no-op when the dim is not 1
  s.erase(s.begin() + dim);
  return reshape(x, s);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  ATTN_CHECK(x.defined(), "flatten", "input is undefined");
  if (x.dim() == 0) return reshape(x, {1});
  start_dim = wrap_dim(start_dim, x.dim(), "flatten");
  end_dim = wrap_dim(end_dim, x.dim(), "flatten");
  ATTN_CHECK(start_dim <= end_dim, "flatten", "start_dim " << start_dim << " is after end_dim " << end_dim);
  Shape s(x.shape().begin(), x.shape().begin() + start_dim);
  int64_t m = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) m *= x.shape()[d];
  s.push_back(m);
  s.insert(s.end(), x.shape().begin() + end_dim + 1, x.shape().end());
  return reshape(x, s);
}

namespace {
// Walks the permuted tensor in row-major order, calling f(i, off): i its flat index, off the flat index
// of the same element in x (of shape xs). out[i] = x[off] is the forward; dx[off] += dy[i] the backward.
template <class F>
void for_each_permuted(const Shape& xs, const std::vector<int64_t>& perm, F&& f) {
  const auto xstr = contiguous_strides(xs);
  const size_t nd = xs.size();
  Shape os(nd);
  std::vector<int64_t> rs(nd);  // stride in x of each output dim
  for (size_t i = 0; i < nd; ++i) {
    os[i] = xs[perm[i]];
    rs[i] = xstr[perm[i]];
  }
  const int64_t n = numel(xs);
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int64_t d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
      off += rs[d];
      if (++idx[d] < os[d]) break;
      off -= rs[d] * os[d];
      idx[d] = 0;
    }
  }
}
}  // namespace

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  ATTN_CHECK(x.defined(), "permute", "input is undefined");
  const int64_t nd = x.dim();
  ATTN_CHECK(static_cast<int64_t>(dims.size()) == nd, "permute",
             "got " << dims.size() << " dims for a tensor of shape " << shape_str(x.shape()));
  std::vector<int64_t> perm(nd);
  std::vector<bool> used(nd, false);
  for (int64_t i = 0; i < nd; ++i) {
    perm[i] = wrap_dim(dims[i], nd, "permute");
    ATTN_CHECK(!used[perm[i]], "permute", "dim " << dims[i] << " repeats");
    used[perm[i]] = true;
  }
  Shape os(nd);
  for (int64_t i = 0; i < nd; ++i) os[i] = x.shape()[perm[i]];
  Tensor out = Tensor::empty(os);
  const float* xp = x.data();
  float* op = out.data();
  for_each_permuted(x.shape(), perm, [&](int64_t i, int64_t off) { op[i] = xp[off]; });
  if (needs_grad({&x})) {
    const Shape xs = x.shape();
    record(out, "permute", {x}, [perm, xs](const Tensor& gy, std::vector<Tensor>& gin) {
      // in the forward pass: out[i] = x[off(i)], so now dx[off(i)] += dy[i]
      const float* g = gy.data();
      float* dx = gin[0].data();
      for_each_permuted(xs, perm, [&](int64_t i, int64_t off) { dx[off] += g[i]; });
    });
  }
  return out;
}

Tensor split_heads(const Tensor& x, int64_t num_heads, int64_t head_dim, int64_t col) {
  ATTN_CHECK(x.defined() && x.dim() == 3, "split_heads",
             "expected x of shape (B, T, W), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  ATTN_CHECK(num_heads > 0 && head_dim > 0, "split_heads",
             "num_heads and head_dim must be positive, got " << num_heads << " and " << head_dim);
  const int64_t B = x.size(0), T = x.size(1), W = x.size(2), H = num_heads, Dh = head_dim;
  ATTN_CHECK(col >= 0 && col + H * Dh <= W, "split_heads",
             "columns [" << col << ", " << col + H * Dh << ") of " << H << " heads × " << Dh
                         << " are outside the input's " << W);
  Tensor out = Tensor::empty({B, H, T, Dh});
  const float* xp = x.data();
  float* op = out.data();
  // Row r of the output = (b, h, t): Dh floats from x's row (b, t), columns col + h·Dh ...
  auto src = [=](int64_t r) {
    const int64_t t = r % T, bh = r / T;
    return (bh / H * T + t) * W + col + bh % H * Dh;
  };
  kernels::parallel_rows(B * H * T, Dh, [&](int64_t r) { std::memcpy(op + r * Dh, xp + src(r), Dh * sizeof(float)); });
  if (needs_grad({&x})) {
    const bool whole_rows = col == 0 && H * Dh == W;  // this op's gradient covers every element of dx
    record(
        out, "split_heads", {x},
        [src, B, H, T, Dh, whole_rows](const Tensor& gy, std::vector<Tensor>& gin) {
          // in the forward pass: out row r = x[src(r) ...], so now dx[src(r) ...] += dy row r (or = when dx
          // holds nothing yet and this op writes all of it; q, k and v taken from one (B, T, 3E) tensor
          // each write a third of it, so the first of them starts from zeros)
          const bool overwrite = first_write(gin[0]);
          if (overwrite && !whole_rows) gin[0].fill_(0.f);
          const float* g = gy.data();
          float* dx = gin[0].data();
          kernels::parallel_rows(B * H * T, Dh, [&](int64_t r) {
            float* d = dx + src(r);
            const float* gr = g + r * Dh;
            if (overwrite && whole_rows) std::memcpy(d, gr, Dh * sizeof(float));
            else
              for (int64_t i = 0; i < Dh; ++i) d[i] += gr[i];
          });
        },
        GradInit::MaybeUninitialized);
  }
  return out;
}

Tensor merge_heads(const Tensor& x) {
  ATTN_CHECK(x.defined() && x.dim() == 4, "merge_heads",
             "expected x of shape (B, H, T, Dh), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), Dh = x.size(3);
  Tensor out = Tensor::empty({B, T, H * Dh});
  const float* xp = x.data();
  float* op = out.data();
  // Row r of the input = (b, h, t) goes to columns h·Dh ... of the output's row (b, t).
  auto dst = [=](int64_t r) {
    const int64_t t = r % T, bh = r / T;
    return (bh / H * T + t) * H * Dh + bh % H * Dh;
  };
  kernels::parallel_rows(B * H * T, Dh, [&](int64_t r) { std::memcpy(op + dst(r), xp + r * Dh, Dh * sizeof(float)); });
  if (needs_grad({&x})) {
    record(
        out, "merge_heads", {x},
        [dst, B, H, T, Dh](const Tensor& gy, std::vector<Tensor>& gin) {
          const bool overwrite = first_write(gin[0]);
          const float* g = gy.data();
          float* dx = gin[0].data();
          kernels::parallel_rows(B * H * T, Dh, [&](int64_t r) {
            const float* gr = g + dst(r);
            float* d = dx + r * Dh;
            if (overwrite) std::memcpy(d, gr, Dh * sizeof(float));
            else
              for (int64_t i = 0; i < Dh; ++i) d[i] += gr[i];
          });
        },
        GradInit::MaybeUninitialized);
  }
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  ATTN_CHECK(x.defined(), "transpose", "input is undefined");
  if (x.dim() == 0) return permute(x, {});  // as in torch: a 0-d tensor transposes to itself
  dim0 = wrap_dim(dim0, x.dim(), "transpose");
  dim1 = wrap_dim(dim1, x.dim(), "transpose");
  std::vector<int64_t> perm(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) perm[i] = i;
  std::swap(perm[dim0], perm[dim1]);
  return permute(x, perm);
}

// ---- concat / stack ----------------------------------------------------------------------------------

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  ATTN_CHECK(!tensors.empty(), "concat", "expected a non-empty list of tensors");
  for (const Tensor& t : tensors) ATTN_CHECK(t.defined(), "concat", "an input is undefined");
  const Shape& s0 = tensors[0].shape();
  ATTN_CHECK(!s0.empty(), "concat", "zero-dim tensors cannot be concatenated");
  dim = wrap_dim(dim, static_cast<int64_t>(s0.size()), "concat");
  Shape out_shape = s0;
  out_shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool ok = s.size() == s0.size();
    for (size_t d = 0; ok && d < s.size(); ++d) ok = static_cast<int64_t>(d) == dim || s[d] == s0[d];
    ATTN_CHECK(ok, "concat",
               "tensor " << i << " has shape " << shape_str(s) << ", incompatible with tensor 0's " << shape_str(s0)
                         << " outside dim " << dim);
    out_shape[dim] += s[dim];
  }
  Tensor out = Tensor::empty(out_shape);
  const DimSplit os = split_at_dim(out_shape, dim);
  std::vector<int64_t> sizes, offsets;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    const int64_t sz = t.shape()[dim];
    sizes.push_back(sz);
    offsets.push_back(at);
    // Each input fills a (outer, sz * inner) band of the output.
    for (int64_t o = 0; o < os.outer; ++o)
      std::memcpy(out.data() + (o * os.size + at) * os.inner, t.data() + o * sz * os.inner,
                  sz * os.inner * sizeof(float));
    at += sz;
  }
  if (needs_grad(tensors)) {
    record(
        out, "concat", tensors,
        [sizes, offsets, os](const Tensor& gy, std::vector<Tensor>& gin) {
          for (size_t i = 0; i < gin.size(); ++i) {
            if (!gin[i].defined()) continue;
            const bool overwrite = first_write(gin[i]);  // input i's band of dy is all of dx_i
            for (int64_t o = 0; o < os.outer; ++o) {
              float* d = gin[i].data() + o * sizes[i] * os.inner;
              const float* g = gy.data() + (o * os.size + offsets[i]) * os.inner;
              if (overwrite) std::memcpy(d, g, sizes[i] * os.inner * sizeof(float));
              else kernels::add_inplace(d, g, sizes[i] * os.inner);
            }
          }
        },
        GradInit::MaybeUninitialized);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  ATTN_CHECK(!tensors.empty(), "stack", "expected a non-empty list of tensors");
  for (const Tensor& t : tensors) ATTN_CHECK(t.defined(), "stack", "an input is undefined");
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    ATTN_CHECK(tensors[i].defined() && tensors[i].shape() == tensors[0].shape(), "stack",
               "tensor " << i << " has shape " << (tensors[i].defined() ? shape_str(tensors[i].shape()) : "undefined")
                         << ", expected " << shape_str(tensors[0].shape()));
    parts.push_back(unsqueeze(tensors[i], dim));
  }
  return concat(parts, dim);
}

// ---- slice / split -----------------------------------------------------------------------------------

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  ATTN_CHECK(x.defined() && x.dim() > 0, "slice", "input must have at least 1 dim");
  dim = wrap_dim(dim, x.dim(), "slice");
  ATTN_CHECK(step > 0, "slice", "step must be positive, got " << step);
  const int64_t n = x.shape()[dim];
  // Python slice semantics: negative indices count from the end; out-of-range bounds clamp.
  auto clamp = [n](int64_t i) {
    if (i < 0) i += n;
    return std::min(std::max<int64_t>(i, 0), n);
  };
  start = clamp(start);
  end = clamp(end);
  const int64_t len = end > start ? (end - start - 1) / step + 1 : 0;  // ceil((end - start) / step), no overflow
  Shape out_shape = x.shape();
  out_shape[dim] = len;
  Tensor out = Tensor::empty(out_shape);
  const DimSplit s = split_at_dim(x.shape(), dim);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      std::memcpy(out.data() + (o * len + j) * s.inner, x.data() + (o * n + start + j * step) * s.inner,
                  s.inner * sizeof(float));
  if (needs_grad({&x})) {
    record(out, "slice", {x}, [s, len, start, step, n](const Tensor& gy, std::vector<Tensor>& gin) {
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t j = 0; j < len; ++j)
          kernels::add_inplace(gin[0].data() + (o * n + start + j * step) * s.inner,
                               gy.data() + (o * len + j) * s.inner, s.inner);
    });
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  ATTN_CHECK(x.defined() && x.dim() > 0, "split", "input must have at least 1 dim");
  dim = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    ATTN_CHECK(s >= 0, "split", "negative size " << s);
    total += s;
  }
  ATTN_CHECK(
      total == x.shape()[dim], "split",
      "sizes add up to " << total << " but dim " << dim << " of " << shape_str(x.shape()) << " has " << x.shape()[dim]);
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(slice(x, dim, at, at + s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  ATTN_CHECK(split_size > 0, "split", "split_size must be positive, got " << split_size);
  ATTN_CHECK(x.defined() && x.dim() > 0, "split", "input must have at least 1 dim");
  const int64_t n = x.shape()[wrap_dim(dim, x.dim(), "split")];
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
  return split(x, sizes, dim);
}

// ---- index_select / gather / embedding ---------------------------------------------------------------

Tensor index_select(const Tensor& x, int64_t dim, const IndexTensor& index) {
  ATTN_CHECK(x.defined() && x.dim() > 0, "index_select", "input must have at least 1 dim");
  ATTN_CHECK(index.dim() == 1, "index_select", "index must be 1-d, got shape " << shape_str(index.shape));
  dim = wrap_dim(dim, x.dim(), "index_select");
  const DimSplit s = split_at_dim(x.shape(), dim);
  for (int64_t v : index.data)
    ATTN_CHECK(v >= 0 && v < s.size, "index_select",
               "index " << v << " is out of range for dim " << dim << " of size " << s.size);
  const int64_t m = index.numel();
  Shape out_shape = x.shape();
  out_shape[dim] = m;
  Tensor out = Tensor::empty(out_shape);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(out.data() + (o * m + j) * s.inner, x.data() + (o * s.size + index[j]) * s.inner,
                  s.inner * sizeof(float));
  if (needs_grad({&x})) {
    record(out, "index_select", {x}, [s, m, index](const Tensor& gy, std::vector<Tensor>& gin) {
      // Repeated indices add up (scatter-add).
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t j = 0; j < m; ++j)
          kernels::add_inplace(gin[0].data() + (o * s.size + index[j]) * s.inner, gy.data() + (o * m + j) * s.inner,
                               s.inner);
    });
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const IndexTensor& index) {
  ATTN_CHECK(x.defined(), "gather", "input is undefined");
  ATTN_CHECK(index.dim() == x.dim(), "gather",
             "index has " << index.dim() << " dims but input " << shape_str(x.shape()) << " has " << x.dim());
  ATTN_CHECK(x.dim() > 0, "gather", "input must have at least 1 dim");
  dim = wrap_dim(dim, x.dim(), "gather");
  for (int64_t d = 0; d < x.dim(); ++d)
    ATTN_CHECK(
        d == dim || index.shape[d] <= x.shape()[d], "gather",
        "index shape " << shape_str(index.shape) << " exceeds input shape " << shape_str(x.shape()) << " at dim " << d);
  const auto xstr = contiguous_strides(x.shape());
  const int64_t n = index.numel(), nd = x.dim();
  // Flat offset into x of every index element: the index position, with dim replaced by its value.
  std::vector<int64_t> offs(n);
  std::vector<int64_t> idx(nd, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = index[i];
    ATTN_CHECK(v >= 0 && v < x.shape()[dim], "gather",
               "index " << v << " is out of range for dim " << dim << " of size " << x.shape()[dim]);
    int64_t off = 0;
    for (int64_t d = 0; d < nd; ++d) off += (d == dim ? v : idx[d]) * xstr[d];
    offs[i] = off;
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < index.shape[d]) break;
      idx[d] = 0;
    }
  }
  Tensor out = Tensor::empty(index.shape);
  for (int64_t i = 0; i < n; ++i) out.data()[i] = x.data()[offs[i]];
  if (needs_grad({&x})) {
    record(out, "gather", {x}, [offs](const Tensor& gy, std::vector<Tensor>& gin) {
      for (size_t i = 0; i < offs.size(); ++i) gin[0].data()[offs[i]] += gy.data()[i];
    });
  }
  return out;
}

Tensor embedding(const IndexTensor& ids, const Tensor& weight, int64_t padding_idx) {
  ATTN_CHECK(weight.defined() && weight.dim() == 2, "embedding",
             "weight must be (num_embeddings, embedding_dim), got "
                 << (weight.defined() ? shape_str(weight.shape()) : "undefined"));
  const int64_t V = weight.size(0), D = weight.size(1);
  for (int64_t v : ids.data)
    ATTN_CHECK(v >= 0 && v < V, "embedding", "id " << v << " is out of range for " << V << " embeddings");
  Shape out_shape = ids.shape;
  out_shape.push_back(D);
  Tensor out = Tensor::empty(out_shape);  // (*ids.shape, D)
  for (int64_t i = 0; i < ids.numel(); ++i)
    std::memcpy(out.data() + i * D, weight.data() + ids[i] * D, D * sizeof(float));
  if (needs_grad({&weight})) {
    record(out, "embedding", {weight}, [ids, D, padding_idx](const Tensor& gy, std::vector<Tensor>& gin) {
      for (int64_t i = 0; i < ids.numel(); ++i)
        if (ids[i] != padding_idx) kernels::add_inplace(gin[0].data() + ids[i] * D, gy.data() + i * D, D);
    });
  }
  return out;
}

}  // namespace attn
