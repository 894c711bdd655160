// Pointwise ops: unary math and broadcasting binary arithmetic, with their backward passes.
#include <cstring>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/parallel.h"
#include "attn/ops/broadcast.h"
#include "attn/ops/ops.h"

namespace attn {

// ---- unary -----------------------------------------------------------------------------------------

namespace {

using UnaryFwd = void (*)(const float*, float*, int64_t);
using UnaryBwd = void (*)(const float*, const float*, float*, int64_t, bool accumulate);

// Backward kernels take either the saved input x or the saved output y as their first argument.
enum class Saves { Input, Output };

Tensor unary(const Tensor& x, const char* name, UnaryFwd fwd, UnaryBwd bwd, Saves saves) {
  ATTN_CHECK(x.defined(), name, "input is undefined");
  Tensor y = Tensor::empty(x.shape());
  fwd(x.data(), y.data(), x.numel());
  if (needs_grad({&x})) {
    Tensor saved = saves == Saves::Input ? x.detach() : y.detach();
    record(
        y, name, {x},
        [saved, bwd](const Tensor& gy, std::vector<Tensor>& gin) {
          const bool accumulate = !first_write(gin[0]);
          bwd(saved.data(), gy.data(), gin[0].data(), gy.numel(), accumulate);
        },
        GradInit::MaybeUninitialized);
  }
  return y;
}

}  // namespace

Tensor exp(const Tensor& x) { return unary(x, "exp", kernels::exp_forward, kernels::exp_backward, Saves::Output); }
Tensor log(const Tensor& x) { return unary(x, "log", kernels::log_forward, kernels::log_backward, Saves::Input); }
Tensor sqrt(const Tensor& x) { return unary(x, "sqrt", kernels::sqrt_forward, kernels::sqrt_backward, Saves::Output); }
Tensor tanh(const Tensor& x) { return unary(x, "tanh", kernels::tanh_forward, kernels::tanh_backward, Saves::Output); }
Tensor sigmoid(const Tensor& x) {
  return unary(x, "sigmoid", kernels::sigmoid_forward, kernels::sigmoid_backward, Saves::Output);
}
Tensor relu(const Tensor& x) { return unary(x, "relu", kernels::relu_forward, kernels::relu_backward, Saves::Input); }
Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "none") return unary(x, "gelu", kernels::gelu_forward, kernels::gelu_backward, Saves::Input);
  if (approximate == "tanh")
    return unary(x, "gelu", kernels::gelu_tanh_forward, kernels::gelu_tanh_backward, Saves::Input);
  ATTN_FAIL("gelu", "approximate must be \"none\" or \"tanh\", got \"" << approximate << "\"");
}

Tensor pow(const Tensor& x, float p) {
  ATTN_CHECK(x.defined(), "pow", "input is undefined");
  Tensor y = Tensor::empty(x.shape());
  kernels::pow_forward(x.data(), p, y.data(), x.numel());
  if (needs_grad({&x})) {
    Tensor saved = x.detach();
    record(y, "pow", {x}, [saved, p](const Tensor& gy, std::vector<Tensor>& gin) {
      kernels::pow_backward(saved.data(), p, gy.data(), gin[0].data(), gy.numel());
    });
  }
  return y;
}

// y = a·x + b with scalars: covers neg, x + s, x * s, s - x.
namespace {
Tensor affine(const Tensor& x, float a, float b, const char* name) {
  ATTN_CHECK(x.defined(), name, "input is undefined");
  Tensor y = Tensor::empty(x.shape());
  const float* xp = x.data();
  float* yp = y.data();
  const int64_t n = x.numel();
  kernels::parallel_for(n, [&](int64_t i) { yp[i] = a * xp[i] + b; });
  if (needs_grad({&x})) {
    record(y, name, {x}, [a](const Tensor& gy, std::vector<Tensor>& gin) {
      const float* g = gy.data();
      float* dx = gin[0].data();
      kernels::parallel_for(gy.numel(), [&](int64_t i) { dx[i] += a * g[i]; });
    });
  }
  return y;
}
}  // namespace

Tensor neg(const Tensor& x) { return affine(x, -1.f, 0.f, "neg"); }
Tensor add(const Tensor& a, float b) { return affine(a, 1.f, b, "add"); }
Tensor mul(const Tensor& a, float b) { return affine(a, b, 0.f, "mul"); }
Tensor rsub(const Tensor& a, float b) { return affine(a, -1.f, b, "rsub"); }
Tensor rdiv(const Tensor& a, float b) { return mul(pow(a, -1.f), b); }

// ---- binary with broadcasting ----------------------------------------------------------------------

namespace {

enum class BinOp { Add, Sub, Mul, Div };

const char* bin_name(BinOp op) {
  switch (op) {
    case BinOp::Add:
      return "add";
    case BinOp::Sub:
      return "sub";
    case BinOp::Mul:
      return "mul";
    case BinOp::Div:
      return "div";
  }
  return "?";
}

inline float apply(BinOp op, float a, float b) {
  switch (op) {
    case BinOp::Add:
      return a + b;
    case BinOp::Sub:
      return a - b;
    case BinOp::Mul:
      return a * b;
    case BinOp::Div:
      return a / b;
  }
  return 0.f;
}

Tensor binary(const Tensor& a, const Tensor& b, BinOp op) {
  const char* name = bin_name(op);
  ATTN_CHECK(a.defined() && b.defined(), name, "an input is undefined");
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape);
  const float* ap = a.data();
  const float* bp = b.data();
  float* op_ = out.data();
  const int64_t n = out.numel();
  if (a.shape() == b.shape()) {
    // Fast path: no broadcasting.
    kernels::parallel_for(n, [&](int64_t i) { op_[i] = apply(op, ap[i], bp[i]); });
  } else if (b.numel() == 1 && a.shape() == out_shape) {
    const float s = bp[0];
    kernels::parallel_for(n, [&](int64_t i) { op_[i] = apply(op, ap[i], s); });
  } else {
    const std::vector<int64_t> strides[2] = {broadcast_strides(a.shape(), out_shape),
                                             broadcast_strides(b.shape(), out_shape)};
    detail::for_each_broadcast(out_shape, strides,
                               [&](int64_t i, int64_t ia, int64_t ib) { op_[i] = apply(op, ap[ia], bp[ib]); });
  }

  if (needs_grad({&a, &b})) {
    Tensor sa = a.detach(), sb = b.detach();
    record(
        out, name, {a, b},
        [sa, sb, op, out_shape](const Tensor& gy, std::vector<Tensor>& gin) {
          // in the forward pass: out[i] = a[ia] ∘ b[ib]; each output element sends its gradient back to
          // the one a and b element it read (broadcast elements receive a sum).
          const std::vector<int64_t> strides[2] = {broadcast_strides(sa.shape(), out_shape),
                                                   broadcast_strides(sb.shape(), out_shape)};
          const float* g = gy.data();
          const float* ap = sa.data();
          const float* bp = sb.data();
          float* da = gin[0].defined() ? gin[0].data() : nullptr;
          float* db = gin[1].defined() ? gin[1].data() : nullptr;
          auto step = [&](int64_t i, int64_t ia, int64_t ib) {
            switch (op) {
              case BinOp::Add:
                if (da) da[ia] += g[i];
                if (db) db[ib] += g[i];
                break;
              case BinOp::Sub:
                if (da) da[ia] += g[i];
                if (db) db[ib] -= g[i];
                break;
              case BinOp::Mul:  // d(ab)/da = b, d(ab)/db = a
                if (da) da[ia] += g[i] * bp[ib];
                if (db) db[ib] += g[i] * ap[ia];
                break;
              case BinOp::Div:  // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
                if (da) da[ia] += g[i] / bp[ib];
                if (db) db[ib] -= g[i] * ap[ia] / (bp[ib] * bp[ib]);
                break;
            }
          };
          if (sa.shape() == sb.shape()) {  // no broadcasting: element i of a and b is element i of out
            // One loop per operand and op, without a branch inside: it vectorizes and splits over threads
            // (a residual connection's backward is 0.5 M elements per layer in the default GPT). A buffer that
            // holds nothing yet is written (=) rather than added to: no pass to zero it first.
            const int64_t n = gy.numel();
            const bool set_a = first_write(gin[0]), set_b = first_write(gin[1]);
            auto put = [n](float* d, bool set, const auto& v) {
              if (set) kernels::parallel_for(n, [&](int64_t i) { d[i] = v(i); });
              else kernels::parallel_for(n, [&](int64_t i) { d[i] += v(i); });
            };
            switch (op) {
              case BinOp::Add:
                if (da) put(da, set_a, [&](int64_t i) { return g[i]; });
                if (db) put(db, set_b, [&](int64_t i) { return g[i]; });
                break;
              case BinOp::Sub:
                if (da) put(da, set_a, [&](int64_t i) { return g[i]; });
                if (db) put(db, set_b, [&](int64_t i) { return -g[i]; });
                break;
              case BinOp::Mul:
                if (da) put(da, set_a, [&](int64_t i) { return g[i] * bp[i]; });
                if (db) put(db, set_b, [&](int64_t i) { return g[i] * ap[i]; });
                break;
              case BinOp::Div:
                if (da) put(da, set_a, [&](int64_t i) { return g[i] / bp[i]; });
                if (db) put(db, set_b, [&](int64_t i) { return -g[i] * ap[i] / (bp[i] * bp[i]); });
                break;
            }
          } else {
            for (Tensor& gi : gin)  // broadcast elements receive sums: start from zero
              if (first_write(gi)) gi.fill_(0.f);
            detail::for_each_broadcast(out_shape, strides, step);
          }
        },
        GradInit::MaybeUninitialized);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::Add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::Sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::Mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinOp::Div); }

// ---- masked_fill / where ---------------------------------------------------------------------------

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  ATTN_CHECK(x.defined() && mask.defined(), "masked_fill", "an input is undefined");
  const Shape out_shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  ATTN_CHECK(
      out_shape == x.shape(), "masked_fill",
      "mask of shape " << shape_str(mask.shape()) << " must broadcast to the input's shape " << shape_str(x.shape()));
  Tensor out = Tensor::empty(x.shape());
  const std::vector<int64_t> strides[1] = {broadcast_strides(mask.shape(), x.shape())};
  const float* xp = x.data();
  const float* mp = mask.data();
  float* yp = out.data();
  detail::for_each_broadcast(x.shape(), strides, [&](int64_t i, int64_t im) { yp[i] = mp[im] != 0.f ? value : xp[i]; });
  if (needs_grad({&x})) {
    Tensor sm = mask.detach();
    record(out, "masked_fill", {x, mask}, [sm](const Tensor& gy, std::vector<Tensor>& gin) {
      if (!gin[0].defined()) return;
      // Filled positions are constants: no gradient reaches x there.
      const std::vector<int64_t> strides[1] = {broadcast_strides(sm.shape(), gy.shape())};
      const float* g = gy.data();
      const float* mp = sm.data();
      float* dx = gin[0].data();
      detail::for_each_broadcast(gy.shape(), strides, [&](int64_t i, int64_t im) {
        if (mp[im] == 0.f) dx[i] += g[i];
      });
    });
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  ATTN_CHECK(condition.defined() && a.defined() && b.defined(), "where", "an input is undefined");
  const Shape out_shape = broadcast_shapes(condition.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Tensor out = Tensor::empty(out_shape);
  const std::vector<int64_t> strides[3] = {broadcast_strides(condition.shape(), out_shape),
                                           broadcast_strides(a.shape(), out_shape),
                                           broadcast_strides(b.shape(), out_shape)};
  const float* cp = condition.data();
  const float* ap = a.data();
  const float* bp = b.data();
  float* yp = out.data();
  detail::for_each_broadcast(out_shape, strides, [&](int64_t i, int64_t ic, int64_t ia, int64_t ib) {
    yp[i] = cp[ic] != 0.f ? ap[ia] : bp[ib];
  });
  if (needs_grad({&a, &b})) {
    Tensor sc = condition.detach();
    Shape sa = a.shape(), sb = b.shape();
    record(out, "where", {condition, a, b}, [sc, sa, sb, out_shape](const Tensor& gy, std::vector<Tensor>& gin) {
      const std::vector<int64_t> strides[3] = {broadcast_strides(sc.shape(), out_shape),
                                               broadcast_strides(sa, out_shape), broadcast_strides(sb, out_shape)};
      const float* g = gy.data();
      const float* cp = sc.data();
      float* da = gin[1].defined() ? gin[1].data() : nullptr;
      float* db = gin[2].defined() ? gin[2].data() : nullptr;
      detail::for_each_broadcast(out_shape, strides, [&](int64_t i, int64_t ic, int64_t ia, int64_t ib) {
        if (cp[ic] != 0.f) {
          if (da) da[ia] += g[i];
        } else if (db) {
          db[ib] += g[i];
        }
      });
    });
  }
  return out;
}

}  // namespace attn
