// Basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout, activations, Sequential.
//
// Shape legend: (...) any leading dims, in/out features, V vocabulary size (num_embeddings),
// E embedding_dim, (*norm) the normalized_shape (the trailing dims being normalized).
//
// Each layer has PyTorch's parameter names, shapes and default initialisation, so a state dict copied
// from torch.nn loads here and gives the same outputs.
//
//   Linear      y = x Wᵀ + b                          weight (out, in), bias (out);  U(-1/√in, 1/√in)
//   Embedding   y = weight[ids]                       weight (V, E) ~ N(0, 1); row padding_idx = 0
//   LayerNorm   y = (x - μ) / √(σ² + ε) · γ + β       weight γ (*norm) = 1, bias β (*norm) = 0
//   RMSNorm     y = x / √(mean(x²) + ε) · γ           weight γ (*norm) = 1
//   Dropout     y = x · m / (1 - p),  m ~ Bernoulli(1 - p), in training mode only
//   ReLU        y = max(x, 0)      Tanh  y = tanh(x)      Sigmoid  y = 1 / (1 + e^-x)
//   GELU        y = x Φ(x)  ("none")   or   0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))  ("tanh")
//   Sequential  y = fₙ(… f₁(f₀(x)))                   children named "0", "1", …
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "attn/core/rng.h"
#include "attn/nn/module.h"
#include "attn/ops/ops.h"

namespace attn::nn {

class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& input) override;  // (..., in) -> (..., out)
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined when bias = false
};

class Embedding : public Module {
 public:
  // padding_idx: a row that starts at zero and receives no gradient; -1 means none. (Unlike torch,
  // negative values do not count from the end.)
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen, int64_t padding_idx = -1);
  Tensor forward(const IndexTensor& ids);  // ids (...) -> (..., E)
  Tensor operator()(const IndexTensor& ids) { return forward(ids); }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim, padding_idx;
  Tensor weight;  // (V, E)
};

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f, bool elementwise_affine = true, bool bias = true);
  explicit LayerNorm(int64_t normalized_shape, float eps = 1e-5f, bool elementwise_affine = true, bool bias = true)
      : LayerNorm(Shape{normalized_shape}, eps, elementwise_affine, bias) {}
  Tensor forward(const Tensor& input) override;  // (..., *norm) -> same
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Shape normalized_shape;
  float eps;
  bool elementwise_affine;
  Tensor weight;  // (*norm), undefined without elementwise_affine
  Tensor bias;    // (*norm), undefined without elementwise_affine or bias
};

class RMSNorm : public UnaryModule {
 public:
  explicit RMSNorm(Shape normalized_shape, float eps = 1e-6f, bool elementwise_affine = true);
  explicit RMSNorm(int64_t normalized_shape, float eps = 1e-6f, bool elementwise_affine = true)
      : RMSNorm(Shape{normalized_shape}, eps, elementwise_affine) {}
  Tensor forward(const Tensor& input) override;  // (..., *norm) -> same
  std::string type_name() const override { return "RMSNorm"; }
  std::string extra_repr() const override;

  Shape normalized_shape;
  float eps;
  Tensor weight;  // (*norm), undefined without elementwise_affine
};

// Dropout draws its masks from its own Generator, so a model's dropout pattern depends only on this
// seed — not on how many random numbers anything else consumed. Give each Dropout of a model its own
// seed or stream (generator() = Generator(seed, stream)) so their masks are independent.
class Dropout : public UnaryModule {
 public:
  explicit Dropout(float p = 0.5f, uint64_t seed = 0);
  Tensor forward(const Tensor& input) override;  // (...) -> same; identity in eval mode
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  Generator& generator() { return gen_; }  // settable: drop.generator() = Generator(seed, stream)

  float p;

 private:
  Generator gen_;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& input) override { return relu(input); }
  std::string type_name() const override { return "ReLU"; }
};

class Tanh : public UnaryModule {
 public:
  Tensor forward(const Tensor& input) override { return tanh(input); }
  std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public UnaryModule {
 public:
  Tensor forward(const Tensor& input) override { return sigmoid(input); }
  std::string type_name() const override { return "Sigmoid"; }
};

class GELU : public UnaryModule {
 public:
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& input) override { return gelu(input, approximate); }
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }

  std::string approximate;  // "none" | "tanh"
};

class Identity : public UnaryModule {
 public:
  Tensor forward(const Tensor& input) override { return input; }
  std::string type_name() const override { return "Identity"; }
};

// Chains UnaryModules; the i-th is registered under the name "i", as in torch.nn.Sequential.
//   Sequential mlp{std::make_shared<Linear>(2, 8, gen), std::make_shared<Tanh>(),
//                  std::make_shared<Linear>(8, 1, gen)};
//   auto shared = std::make_shared<Sequential>(std::make_shared<Linear>(2, 8, gen), std::make_shared<Tanh>());
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> modules);
  Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> modules)
      : Sequential(std::vector<std::shared_ptr<UnaryModule>>(modules)) {}
  template <class... M>
  requires(sizeof...(M) > 0 &&
           (std::is_base_of_v<UnaryModule, M> && ...)) explicit Sequential(std::shared_ptr<M>... modules)
      : Sequential(std::vector<std::shared_ptr<UnaryModule>>{std::move(modules)...}) {}
  void push_back(std::shared_ptr<UnaryModule> module);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }

  size_t size() const { return modules_.size(); }
  UnaryModule& operator[](size_t i) const;
  const std::shared_ptr<UnaryModule>& at(size_t i) const;

 private:
  std::vector<std::shared_ptr<UnaryModule>> modules_;
};

}  // namespace attn::nn
