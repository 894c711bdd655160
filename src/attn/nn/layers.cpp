#include "attn/nn/layers.h"

#include <cmath>
#include <sstream>

#include "attn/core/error.h"
#include "attn/nn/init.h"

namespace attn::nn {

namespace {
const char* py_bool(bool b) { return b ? "True" : "False"; }

std::string shape_tuple(const Shape& s) {  // (8,) as Python prints a 1-tuple
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}
}  // namespace

// ---- Linear ---------------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool bias_) : in_features(in), out_features(out) {
  ATTN_CHECK(in >= 0 && out >= 0, "Linear", "feature sizes must be non-negative, got (" << in << ", " << out << ")");
  // torch: kaiming_uniform_(weight, a=√5) -> U(-1/√in, 1/√in); the bias uses the same bound.
  weight = Tensor::empty({out, in});  // (out, in)
  init::kaiming_uniform_(weight, std::sqrt(5.f), gen);
  register_parameter("weight", weight);
  if (bias_) {
    const float bound = in > 0 ? 1.f / std::sqrt(static_cast<float>(in)) : 0.f;
    bias = Tensor::empty({out});  // (out)
    init::uniform_(bias, -bound, bound, gen);
    register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& input) { return linear(input, weight, bias); }

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << py_bool(bias.defined());
  return os.str();
}

// ---- Embedding ------------------------------------------------------------------------------------

Embedding::Embedding(int64_t num, int64_t dim, Generator& gen, int64_t padding)
    : num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
  ATTN_CHECK(num >= 0 && dim >= 0, "Embedding", "sizes must be non-negative, got (" << num << ", " << dim << ")");
  ATTN_CHECK(padding >= -1 && padding < num, "Embedding",
             "padding_idx " << padding << " is out of range for " << num << " embeddings (-1 means none)");
  weight = Tensor::empty({num, dim});  // (V, E) ~ N(0, 1)
  init::normal_(weight, 0.f, 1.f, gen);
  if (padding >= 0)
    for (int64_t j = 0; j < dim; ++j) weight.data()[padding * dim + j] = 0.f;
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const IndexTensor& ids) { return embedding(ids, weight, padding_idx); }

std::string Embedding::extra_repr() const {
  std::ostringstream os;
  os << num_embeddings << ", " << embedding_dim;
  if (padding_idx >= 0) os << ", padding_idx=" << padding_idx;
  return os.str();
}

// ---- LayerNorm / RMSNorm --------------------------------------------------------------------------

LayerNorm::LayerNorm(Shape shape, float eps_, bool affine, bool bias_)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
  ATTN_CHECK(!normalized_shape.empty(), "LayerNorm", "normalized_shape must have at least one dim");
  if (affine) {
    weight = register_parameter("weight", Tensor::ones(normalized_shape));          // γ (*norm)
    if (bias_) bias = register_parameter("bias", Tensor::zeros(normalized_shape));  // β (*norm)
  }
}

Tensor LayerNorm::forward(const Tensor& input) { return layer_norm(input, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << shape_tuple(normalized_shape) << ", eps=" << eps << ", elementwise_affine=" << py_bool(elementwise_affine);
  return os.str();
}

RMSNorm::RMSNorm(Shape shape, float eps_, bool affine) : normalized_shape(std::move(shape)), eps(eps_) {
  ATTN_CHECK(!normalized_shape.empty(), "RMSNorm", "normalized_shape must have at least one dim");
  if (affine) weight = register_parameter("weight", Tensor::ones(normalized_shape));  // γ (*norm)
}

Tensor RMSNorm::forward(const Tensor& input) { return rms_norm(input, normalized_shape, weight, eps); }

std::string RMSNorm::extra_repr() const {
  std::ostringstream os;
  os << shape_tuple(normalized_shape) << ", eps=" << eps << ", elementwise_affine=" << py_bool(weight.defined());
  return os.str();
}

// ---- Dropout / GELU -------------------------------------------------------------------------------

Dropout::Dropout(float p_, uint64_t seed) : p(p_), gen_(seed) {
  ATTN_CHECK(p_ >= 0.f && p_ <= 1.f, "Dropout", "probability must be in [0, 1], got " << p_);
}

Tensor Dropout::forward(const Tensor& input) { return dropout(input, p, is_training(), &gen_); }

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p;
  return os.str();
}

GELU::GELU(std::string approx) : approximate(std::move(approx)) {
  ATTN_CHECK(approximate == "none" || approximate == "tanh", "GELU",
             "approximate must be \"none\" or \"tanh\", got \"" << approximate << "\"");
}

// ---- Sequential -----------------------------------------------------------------------------------

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<UnaryModule> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& m : modules_) x = m->forward(x);
  return x;
}

UnaryModule& Sequential::operator[](size_t i) const { return *at(i); }

const std::shared_ptr<UnaryModule>& Sequential::at(size_t i) const {
  ATTN_CHECK(i < modules_.size(), "Sequential",
             "index " << i << " is out of range for " << modules_.size() << " modules");
  return modules_[i];
}

}  // namespace attn::nn
