#include "op_cases.h"

#include <cmath>

#include "attn/core/rng.h"
#include "attn/ops/ops.h"

namespace attn::testing {

namespace {

using json = nlohmann::json;

struct Builder {
  Generator gen{20260101, 7};
  std::vector<OpCase> cases;

  Tensor randn(const Shape& s) { return Tensor::randn(s, gen); }
  // Positive inputs for log, sqrt, fractional pow, div denominators.
  Tensor positive(const Shape& s) { return Tensor::uniform(s, 0.5f, 2.f, gen); }
  // Values at least 0.1 from zero, for ops with a kink at 0 (relu).
  Tensor away_from_zero(const Shape& s) {
    Tensor t = randn(s);
    for (int64_t i = 0; i < t.numel(); ++i) {
      float& v = t.data()[i];
      if (std::fabs(v) < 0.1f) v = v < 0 ? v - 0.1f : v + 0.1f;
    }
    return t;
  }
  // Distinct values (for max, where ties would make the gradient ambiguous).
  Tensor distinct(const Shape& s) {
    Tensor t = Tensor::empty(s);
    const int64_t n = t.numel();
    std::vector<int64_t> perm(n);
    for (int64_t i = 0; i < n; ++i) perm[i] = i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[gen.randint(static_cast<uint32_t>(i + 1))]);
    for (int64_t i = 0; i < n; ++i) t.data()[i] = 0.25f * static_cast<float>(perm[i]) - 0.1f * n;
    return t;
  }
  Tensor mask(const Shape& s, float p_true = 0.3f) {
    Tensor t = Tensor::empty(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = gen.uniform() < p_true ? 1.f : 0.f;
    return t;
  }
  IndexTensor ints(const Shape& s, int64_t hi) {
    std::vector<int64_t> v(numel(s));
    for (auto& x : v) x = gen.randint(static_cast<uint32_t>(hi));
    return IndexTensor(v, s);
  }

  OpCase& add(std::string name, std::string op, json args, std::vector<Tensor> inputs, OpFn fn) {
    cases.push_back(make_op_case(std::move(name), std::move(op), std::move(args), std::move(inputs), std::move(fn)));
    return cases.back();
  }
};

}  // namespace

OpCase make_op_case(std::string name, std::string op, nlohmann::json args, std::vector<Tensor> inputs, OpFn fn) {
  OpCase c;
  c.name = std::move(name);
  c.op = std::move(op);
  c.args = std::move(args);
  c.differentiable.assign(inputs.size(), true);
  c.inputs = std::move(inputs);
  c.fn = std::move(fn);
  return c;
}

std::vector<OpCase> all_op_cases() {
  Builder b;
  const json none = json::object();

  // ---- matmul / linear ----
  auto mm = [](bool ta, bool tb) {
    return [ta, tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], ta, tb); };
  };
  b.add("matmul/2d", "matmul", none, {b.randn({3, 4}), b.randn({4, 5})}, mm(false, false));
  b.add("matmul/batched", "matmul", none, {b.randn({2, 3, 4}), b.randn({2, 4, 5})}, mm(false, false));
  b.add("matmul/fold_batch_into_rows", "matmul", none, {b.randn({2, 3, 4}), b.randn({4, 5})}, mm(false, false));
  b.add("matmul/broadcast_batch", "matmul", none, {b.randn({2, 1, 3, 4}), b.randn({3, 4, 2})}, mm(false, false));
  b.add("matmul/size1_dims", "matmul", none, {b.randn({1, 1, 4}), b.randn({2, 4, 1})}, mm(false, false));
  b.add("matmul/transpose_b", "matmul", {{"transpose_b", true}}, {b.randn({2, 3, 4}), b.randn({2, 5, 4})},
        mm(false, true));
  b.add("matmul/transpose_a", "matmul", {{"transpose_a", true}}, {b.randn({2, 4, 3}), b.randn({2, 4, 5})},
        mm(true, false));
  b.add("matmul/transpose_both", "matmul", {{"transpose_a", true}, {"transpose_b", true}},
        {b.randn({4, 3}), b.randn({5, 4})}, mm(true, true));
  b.add("matmul/fold_transpose_b", "matmul", {{"transpose_b", true}}, {b.randn({2, 3, 4}), b.randn({5, 4})},
        mm(false, true));
  b.add("matmul/vector_matrix", "matmul", none, {b.randn({4}), b.randn({4, 3})}, mm(false, false));
  b.add("matmul/matrix_vector", "matmul", none, {b.randn({2, 3, 4}), b.randn({4})}, mm(false, false));
  b.add("matmul/large", "matmul", none, {b.randn({64, 300}), b.randn({300, 48})}, mm(false, false)).fd_check = false;
  b.add("linear/bias", "linear", none, {b.randn({2, 3, 4}), b.randn({5, 4}), b.randn({5})},
        [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); });
  b.add("linear/no_bias", "linear", none, {b.randn({3, 4}), b.randn({2, 4})},
        [](const std::vector<Tensor>& x) { return linear(x[0], x[1]); });

  // ---- broadcasting arithmetic ----
  struct Bin {
    const char* op;
    Tensor (*fn)(const Tensor&, const Tensor&);
  };
  for (Bin bin : {Bin{"add", add}, Bin{"sub", sub}, Bin{"mul", mul}, Bin{"div", div}}) {
    const bool is_div = std::string(bin.op) == "div";
    auto rhs = [&](const Shape& s) { return is_div ? b.positive(s) : b.randn(s); };
    auto f = [fn = bin.fn](const std::vector<Tensor>& x) { return fn(x[0], x[1]); };
    b.add(std::string(bin.op) + "/same_shape", bin.op, none, {b.randn({3, 4}), rhs({3, 4})}, f);
    b.add(std::string(bin.op) + "/broadcast_row", bin.op, none, {b.randn({2, 3, 4}), rhs({4})}, f);
    b.add(std::string(bin.op) + "/broadcast_both", bin.op, none, {b.randn({2, 1, 4}), rhs({3, 1})}, f);
    b.add(std::string(bin.op) + "/scalar_rhs", bin.op, none, {b.randn({2, 3}), rhs({1})}, f);
    b.add(std::string(bin.op) + "/broadcast_lhs", bin.op, none, {b.randn({1, 3, 1}), rhs({2, 3, 4})}, f);
  }
  b.add("add_scalar", "add_scalar", {{"other", 0.75}}, {b.randn({2, 3})},
        [](const std::vector<Tensor>& x) { return x[0] + 0.75f; });
  b.add("mul_scalar", "mul_scalar", {{"other", -1.5}}, {b.randn({2, 3})},
        [](const std::vector<Tensor>& x) { return x[0] * -1.5f; });
  b.add("rsub_scalar", "rsub_scalar", {{"other", 2.0}}, {b.randn({2, 3})},
        [](const std::vector<Tensor>& x) { return 2.f - x[0]; });
  b.add("rdiv_scalar", "rdiv_scalar", {{"other", 3.0}}, {b.positive({2, 3})},
        [](const std::vector<Tensor>& x) { return 3.f / x[0]; });

  // ---- unary ----
  auto un = [](Tensor (*fn)(const Tensor&)) { return [fn](const std::vector<Tensor>& x) { return fn(x[0]); }; };
  b.add("neg", "neg", none, {b.randn({2, 3})}, un(neg));
  b.add("exp", "exp", none, {b.randn({2, 3, 4})}, un(exp));
  b.add("log", "log", none, {b.positive({2, 3, 4})}, un(log));
  b.add("sqrt", "sqrt", none, {b.positive({2, 3, 4})}, un(sqrt));
  b.add("tanh", "tanh", none, {b.randn({2, 3, 4})}, un(tanh));
  b.add("sigmoid", "sigmoid", none, {b.randn({2, 3, 4})}, un(sigmoid));
  b.add("relu", "relu", none, {b.away_from_zero({2, 3, 4})}, un(relu));
  b.add("gelu/exact", "gelu", {{"approximate", "none"}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return gelu(x[0], "none"); });
  b.add("gelu/tanh", "gelu", {{"approximate", "tanh"}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return gelu(x[0], "tanh"); });
  for (float p : {2.f, 3.f, 0.5f, -1.f, 1.5f}) {
    b.add("pow/" + std::to_string(p).substr(0, 4), "pow", {{"exponent", p}}, {b.positive({2, 3})},
          [p](const std::vector<Tensor>& x) { return pow(x[0], p); });
  }
  b.add("unary/large_exp", "exp", none, {b.randn({70000})}, un(exp)).fd_check = false;

  // ---- softmax family ----
  for (int64_t dim : {0, 1, -1}) {
    b.add("softmax/dim" + std::to_string(dim), "softmax", {{"dim", dim}}, {b.randn({3, 4, 5})},
          [dim](const std::vector<Tensor>& x) { return softmax(x[0], dim); });
    b.add("log_softmax/dim" + std::to_string(dim), "log_softmax", {{"dim", dim}}, {b.randn({3, 4, 5})},
          [dim](const std::vector<Tensor>& x) { return log_softmax(x[0], dim); });
  }
  b.add("softmax/size1_dim", "softmax", {{"dim", 1}}, {b.randn({3, 1, 2})},
        [](const std::vector<Tensor>& x) { return softmax(x[0], 1); });
  b.add("softmax/wide_rows", "softmax", {{"dim", -1}}, {b.randn({8, 4096})}, [](const std::vector<Tensor>& x) {
     return softmax(x[0], -1);
   }).fd_check = false;

  // ---- reductions ----
  b.add("sum/all", "sum", none, {b.randn({2, 3, 4})}, [](const std::vector<Tensor>& x) { return sum(x[0]); });
  b.add("sum/dim1", "sum", {{"dim", {1}}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return sum(x[0], {1}); });
  b.add("sum/dims_keepdim", "sum", {{"dim", {0, 2}}, {"keepdim", true}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) {
          return sum(x[0], {0, 2}, true);
        });
  b.add("sum/size1", "sum", {{"dim", {-1}}}, {b.randn({3, 1})},
        [](const std::vector<Tensor>& x) { return sum(x[0], {-1}); });
  b.add("mean/all", "mean", none, {b.randn({2, 3, 4})}, [](const std::vector<Tensor>& x) { return mean(x[0]); });
  b.add("mean/dim_neg", "mean", {{"dim", {-1}}, {"keepdim", true}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return mean(x[0], {-1}, true); });
  b.add("sum/thousands", "sum", {{"dim", {1}}}, {b.randn({4, 5000})}, [](const std::vector<Tensor>& x) {
     return sum(x[0], {1});
   }).fd_check = false;
  b.cases.back().torch_rtol = 1e-4;
  b.add("mean/thousands", "mean", none, {b.randn({3, 4000})}, [](const std::vector<Tensor>& x) {
     return mean(x[0]);
   }).fd_check = false;
  b.cases.back().torch_rtol = 1e-4;
  for (int64_t dim : {0, 1, -1}) {
    b.add("cumsum/dim" + std::to_string(dim), "cumsum", {{"dim", dim}}, {b.randn({3, 5, 4})},
          [dim](const std::vector<Tensor>& x) { return cumsum(x[0], dim); });
  }
  b.add("cumsum/size1", "cumsum", {{"dim", 1}}, {b.randn({2, 1, 3})},
        [](const std::vector<Tensor>& x) { return cumsum(x[0], 1); });
  b.add("cumsum/long", "cumsum", {{"dim", 0}}, {b.randn({3000, 4})}, [](const std::vector<Tensor>& x) {
     return cumsum(x[0], 0);
   }).fd_check = false;
  b.add("max/dim1", "max", {{"dim", 1}}, {b.distinct({2, 5, 3})},
        [](const std::vector<Tensor>& x) { return max(x[0], 1); });
  b.add("max/dim_keepdim", "max", {{"dim", -1}, {"keepdim", true}}, {b.distinct({3, 4})},
        [](const std::vector<Tensor>& x) { return max(x[0], -1, true); });
  b.add("max/all", "max", none, {b.distinct({3, 4})}, [](const std::vector<Tensor>& x) { return max(x[0]); });

  // ---- shape ----
  b.add("reshape", "reshape", {{"shape", {4, -1}}}, {b.randn({2, 3, 4})}, [](const std::vector<Tensor>& x) {
    return reshape(x[0], {4, -1});
  });
  b.add("permute", "permute", {{"dims", {2, 0, 1}}}, {b.randn({2, 3, 4})}, [](const std::vector<Tensor>& x) {
    return permute(x[0], {2, 0, 1});
  });
  b.add("permute/4d", "permute", {{"dims", {0, 2, 1, 3}}}, {b.randn({2, 3, 2, 4})}, [](const std::vector<Tensor>& x) {
    return permute(x[0], {0, 2, 1, 3});
  });
  // Heads from columns 2..8 of a width-10 projection (the columns outside get no gradient), and the
  // q|k|v use: three calls on one (B, T, 3·H·Dh) tensor, scaled differently so each backward counts.
  b.add("split_heads", "split_heads", {{"heads", 2}, {"head_dim", 3}, {"col", 2}}, {b.randn({2, 4, 10})},
        [](const std::vector<Tensor>& x) { return split_heads(x[0], 2, 3, 2); });
  b.add("split_heads/qkv", "split_heads_qkv", {{"heads", 2}, {"head_dim", 3}}, {b.randn({2, 4, 18})},
        [](const std::vector<Tensor>& x) {
          return concat(
              {split_heads(x[0], 2, 3, 0) * 2.f, split_heads(x[0], 2, 3, 6), split_heads(x[0], 2, 3, 12) * 3.f}, 1);
        });
  b.add("merge_heads", "merge_heads", none, {b.randn({2, 3, 4, 5})},
        [](const std::vector<Tensor>& x) { return merge_heads(x[0]); });
  b.add("transpose", "transpose", {{"dim0", -1}, {"dim1", 0}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return transpose(x[0], -1, 0); });
  b.add("concat/dim1", "concat", {{"dim", 1}}, {b.randn({2, 3, 4}), b.randn({2, 1, 4}), b.randn({2, 2, 4})},
        [](const std::vector<Tensor>& x) { return concat(x, 1); });
  b.add("concat/last", "concat", {{"dim", -1}}, {b.randn({2, 3}), b.randn({2, 2})},
        [](const std::vector<Tensor>& x) { return concat(x, -1); });
  b.add("stack", "stack", {{"dim", 1}}, {b.randn({2, 3}), b.randn({2, 3})},
        [](const std::vector<Tensor>& x) { return stack(x, 1); });
  // split returns several tensors: checked through their concatenation in reverse order
  b.add("split/sizes", "split", {{"sizes", {1, 3, 2}}, {"dim", 1}}, {b.randn({2, 6, 3})},
        [](const std::vector<Tensor>& x) {
          auto parts = split(x[0], std::vector<int64_t>{1, 3, 2}, 1);
          return concat({parts[2], parts[0] * 2.f, parts[1]}, 1);
        });
  b.add("slice/step", "slice", {{"dim", 1}, {"start", 1}, {"end", 7}, {"step", 2}}, {b.randn({2, 8, 3})},
        [](const std::vector<Tensor>& x) { return slice(x[0], 1, 1, 7, 2); });
  b.add("slice/negative", "slice", {{"dim", -1}, {"start", -3}, {"end", 100}, {"step", 1}}, {b.randn({2, 5})},
        [](const std::vector<Tensor>& x) { return slice(x[0], -1, -3, 100); });
  {
    IndexTensor idx({2, 0, 2, 3}, {4});
    OpCase& c = b.add("index_select/repeated", "index_select", {{"dim", 1}}, {b.randn({2, 4, 3})},
                      [idx](const std::vector<Tensor>& x) { return index_select(x[0], 1, idx); });
    c.indices = {idx};
  }
  {
    IndexTensor idx = b.ints({3, 2, 4}, 5);
    OpCase& c = b.add("gather/dim1", "gather", {{"dim", 1}}, {b.randn({3, 5, 4})},
                      [idx](const std::vector<Tensor>& x) { return gather(x[0], 1, idx); });
    c.indices = {idx};
  }
  {
    IndexTensor idx = b.ints({2, 3}, 4);
    OpCase& c = b.add("gather/last", "gather", {{"dim", -1}}, {b.randn({2, 4})},
                      [idx](const std::vector<Tensor>& x) { return gather(x[0], -1, idx); });
    c.indices = {idx};
  }
  {
    IndexTensor ids({1, 3, 1, 0, 4, 3}, {2, 3});
    OpCase& c = b.add("embedding", "embedding", none, {b.randn({5, 4})},
                      [ids](const std::vector<Tensor>& x) { return embedding(ids, x[0]); });
    c.indices = {ids};
    OpCase& p = b.add("embedding/padding_idx", "embedding", {{"padding_idx", 3}}, {b.randn({5, 4})},
                      [ids](const std::vector<Tensor>& x) { return embedding(ids, x[0], 3); });
    p.indices = {ids};
    p.fd_check = false;  // a convention (no gradient to the padding row), not calculus: torch checks it
  }

  // ---- normalization ----
  b.add("layer_norm/affine", "layer_norm", {{"normalized_shape", {6}}},
        {b.randn({2, 3, 6}), b.randn({6}), b.randn({6})},
        [](const std::vector<Tensor>& x) { return layer_norm(x[0], {6}, x[1], x[2]); });
  b.add("layer_norm/two_dims_no_affine", "layer_norm", {{"normalized_shape", {3, 4}}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) {
          return layer_norm(x[0], {3, 4});
        });
  b.add("layer_norm/wide", "layer_norm", {{"normalized_shape", {2048}}},
        {b.randn({4, 2048}), b.randn({2048}), b.randn({2048})},
        [](const std::vector<Tensor>& x) { return layer_norm(x[0], {2048}, x[1], x[2]); })
      .fd_check = false;
  b.cases.back().torch_rtol = 1e-4;
  b.add("rms_norm/weight", "rms_norm", {{"normalized_shape", {5}}}, {b.randn({3, 5}), b.randn({5})},
        [](const std::vector<Tensor>& x) { return rms_norm(x[0], {5}, x[1]); });
  b.add("rms_norm/no_weight", "rms_norm", {{"normalized_shape", {4}}}, {b.randn({2, 3, 4})},
        [](const std::vector<Tensor>& x) { return rms_norm(x[0], {4}); });

  // ---- masking ----
  {
    OpCase& c = b.add("masked_fill/broadcast", "masked_fill", {{"value", -2.5}}, {b.randn({2, 3, 4}), b.mask({3, 1})},
                      [](const std::vector<Tensor>& x) { return masked_fill(x[0], x[1], -2.5f); });
    c.differentiable = {true, false};
  }
  {
    OpCase& c = b.add("where/broadcast", "where", none, {b.mask({3, 1}, 0.5f), b.randn({2, 3, 4}), b.randn({4})},
                      [](const std::vector<Tensor>& x) { return where(x[0], x[1], x[2]); });
    c.differentiable = {false, true, true};
  }
  {
    // The dropout mask is drawn from a generator seeded inside the op call, so every evaluation of the
    // finite-difference stencil sees the same mask; the torch side re-derives it from our output.
    b.add("dropout", "dropout", {{"p", 0.3}}, {b.positive({4, 50})}, [](const std::vector<Tensor>& x) {
      Generator g(5, 1);
      return dropout(x[0], 0.3f, true, &g);
    });
  }

  // ---- losses ----
  {
    IndexTensor t = b.ints({6}, 5);
    OpCase& c = b.add("cross_entropy/mean", "cross_entropy", none, {b.randn({6, 5})},
                      [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t); });
    c.indices = {t};
  }
  {
    IndexTensor t({1, -100, 3, 0, -100}, {5});
    OpCase& c = b.add("cross_entropy/ignore_index", "cross_entropy", {{"ignore_index", -100}}, {b.randn({5, 4})},
                      [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t); });
    c.indices = {t};
  }
  {
    IndexTensor t({2, 0, 1, 2}, {4});
    OpCase& c = b.add("cross_entropy/label_smoothing", "cross_entropy", {{"label_smoothing", 0.1}, {"ignore_index", 1}},
                      {b.randn({4, 3})}, [t](const std::vector<Tensor>& x) {
                        return cross_entropy(x[0], t, CrossEntropyOptions().smoothing(0.1f).ignore(1));
                      });
    c.indices = {t};
  }
  {
    IndexTensor t = b.ints({4}, 3);
    OpCase& c = b.add(
        "cross_entropy/sum", "cross_entropy", {{"reduction", "sum"}}, {b.randn({4, 3})},
        [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, CrossEntropyOptions().reduce("sum")); });
    c.indices = {t};
    OpCase& n = b.add(
        "cross_entropy/none", "cross_entropy", {{"reduction", "none"}}, {b.randn({4, 3})},
        [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, CrossEntropyOptions().reduce("none")); });
    n.indices = {t};
  }
  {
    IndexTensor t = b.ints({512}, 1000);
    OpCase& c = b.add("cross_entropy/large_vocab", "cross_entropy", none, {b.randn({512, 1000})},
                      [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t); });
    c.indices = {t};
    c.fd_check = false;
    c.torch_rtol = 1e-4;
  }
  b.add("mse_loss", "mse_loss", none, {b.randn({3, 4}), b.randn({3, 4})},
        [](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1]); });
  b.add("mse_loss/sum", "mse_loss", {{"reduction", "sum"}}, {b.randn({3, 4}), b.randn({3, 4})},
        [](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1], "sum"); });

  // ---- compositions: several ops in one graph (exercise accumulation through shared inputs) ----
  b.add("compose/attention_scores", "compose_attention", none,
        {b.randn({2, 3, 4}), b.randn({2, 5, 4}), b.randn({2, 5, 4})}, [](const std::vector<Tensor>& x) {
          Tensor s = softmax(matmul(x[0], x[1], false, true) * 0.5f, -1);  // (2, 3, 5)
          return matmul(s, x[2]);                                          // (2, 3, 4)
        });
  b.add("compose/reuse_input", "compose_reuse", none, {b.randn({3, 4})},
        [](const std::vector<Tensor>& x) { return tanh(x[0]) * x[0] + exp(x[0] * 0.5f); });
  return b.cases;
}

}  // namespace attn::testing
