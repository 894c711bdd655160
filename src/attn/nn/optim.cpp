#include "attn/nn/optim.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/parallel.h"

namespace attn::nn {

// ---- Optimizer ------------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<Tensor> params, float lr, const char* name)
    : params_(std::move(params)), state_(params_.size()), lr_(lr), name_(name) {
  ATTN_CHECK(lr >= 0.f, name, "learning rate must be non-negative, got " << lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    ATTN_CHECK(params_[i].defined(), name, "parameter " << i << " is undefined");
    ATTN_CHECK(params_[i].is_leaf() && params_[i].requires_grad(), name,
               "parameter " << i << " " << shape_str(params_[i].shape())
                            << " must be a leaf that requires grad (can't optimize a computed tensor)");
    for (size_t j = 0; j < i; ++j)
      ATTN_CHECK(!params_[i].same(params_[j]), name, "parameter " << i << " is the same tensor as parameter " << j);
  }
}

void Optimizer::set_lr(float lr) {
  ATTN_CHECK(lr >= 0.f, name_, "learning rate must be non-negative, got " << lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  out.insert("lr", Tensor::scalar(lr_));
  for (size_t i = 0; i < state_.size(); ++i)
    for (const auto& [name, t] : state_[i]) out.insert(name + "." + std::to_string(i), t);
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  const std::vector<std::string> names = state_names();
  std::vector<StateDict> loaded(params_.size());
  std::vector<std::string> unknown, mismatched;
  float lr = lr_;
  for (const auto& [key, t] : state) {
    if (key == "lr") {
      if (t.defined() && t.numel() == 1) lr = t.item();
      else mismatched.push_back("\"lr\" (expected one element)");
      continue;
    }
    // "<name>.<i>": split at the last dot.
    const size_t dot = key.rfind('.');
    size_t index = 0;
    bool ok = dot != std::string::npos && dot + 1 < key.size() &&
              std::all_of(key.begin() + dot + 1, key.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (ok) {
      // from_chars reports overflow instead of throwing (stoul would, on "exp_avg.99999999999999999999").
      ok = std::from_chars(key.data() + dot + 1, key.data() + key.size(), index).ec == std::errc();
      ok = ok && index < params_.size() && std::find(names.begin(), names.end(), key.substr(0, dot)) != names.end();
    }
    if (!ok) {
      unknown.push_back("\"" + key + "\"");
      continue;
    }
    const std::string name = key.substr(0, dot);
    const Shape want = name == "step" ? Shape{} : params_[index].shape();
    if (!t.defined() || t.shape() != want) {
      std::ostringstream os;
      os << "\"" << key << "\" (checkpoint " << (t.defined() ? shape_str(t.shape()) : "undefined") << " vs "
         << shape_str(want) << ")";
      mismatched.push_back(os.str());
      continue;
    }
    loaded[index].insert(name, t.clone());  // our own copy: later steps must not write into `state`
  }
  // A parameter's state is all or nothing: Adam cannot step with an exp_avg but no exp_avg_sq.
  std::vector<std::string> missing;
  for (size_t i = 0; i < loaded.size(); ++i)
    if (!loaded[i].empty())
      for (const auto& n : names)
        if (!loaded[i].contains(n)) missing.push_back("\"" + n + "." + std::to_string(i) + "\"");
  if (!unknown.empty() || !mismatched.empty() || !missing.empty()) {
    std::ostringstream os;
    os << "error(s) loading " << name_ << " state (" << params_.size() << " parameters, state names";
    for (const auto& n : names) os << " " << n;
    os << "):";
    if (!unknown.empty()) {
      os << " unexpected keys " << unknown.size() << ":";
      for (size_t i = 0; i < unknown.size(); ++i) os << (i ? ", " : " ") << unknown[i];
      os << ";";
    }
    if (!missing.empty()) {
      os << " missing keys " << missing.size() << ":";
      for (size_t i = 0; i < missing.size(); ++i) os << (i ? ", " : " ") << missing[i];
      os << ";";
    }
    if (!mismatched.empty()) {
      os << " size mismatch for";
      for (size_t i = 0; i < mismatched.size(); ++i) os << (i ? ", " : " ") << mismatched[i];
      os << ";";
    }
    ATTN_FAIL("load_state_dict", os.str());
  }
  state_ = std::move(loaded);
  lr_ = lr;
}

// ---- SGD ------------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o) : Optimizer(std::move(params), o.lr(), "SGD"), options_(o) {
  ATTN_CHECK(o.momentum() >= 0.f, "SGD", "momentum must be non-negative, got " << o.momentum());
  ATTN_CHECK(o.weight_decay() >= 0.f, "SGD", "weight_decay must be non-negative, got " << o.weight_decay());
  ATTN_CHECK(!o.nesterov() || (o.momentum() > 0.f && o.dampening() == 0.f), "SGD",
             "nesterov momentum requires a momentum and zero dampening");
}

SGD::SGD(std::vector<Tensor> params, float lr, float momentum, float dampening, float weight_decay, bool nesterov)
    : SGD(std::move(params),
          SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(weight_decay).nesterov(nesterov)) {}

void SGD::step() {
  NoGradGuard no_grad;
  const float lr = lr_, mu = options_.momentum(), damp = options_.dampening(), wd = options_.weight_decay();
  const bool nesterov = options_.nesterov();
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    // torch keeps no step count for SGD; the only state is the momentum buffer, made on the first step.
    StateDict& st = state_[i];
    const bool first = !st.contains("momentum_buffer");
    if (mu != 0.f && first) st.insert("momentum_buffer", Tensor::empty(p.shape()));  // b, θ's shape
    float* theta = p.data();
    const float* g_in = grad.data();
    float* buf = mu != 0.f ? st.at("momentum_buffer").data() : nullptr;
    for (int64_t k = 0, n = p.numel(); k < n; ++k) {
      float g = g_in[k];
      if (wd != 0.f) g += wd * theta[k];  // g ← g + λ θ
      if (buf) {
        buf[k] = first ? g : mu * buf[k] + (1.f - damp) * g;  // b ← g, then b ← μ b + (1 - τ) g
        g = nesterov ? g + mu * buf[k] : buf[k];
      }
      theta[k] -= lr * g;  // θ ← θ - η g
    }
  }
}

// ---- Adam / AdamW ---------------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o, bool decoupled, const char* name)
    : Optimizer(std::move(params), o.lr(), name), options_(o), decoupled_(decoupled) {
  const auto [b1, b2] = o.betas();
  ATTN_CHECK(b1 >= 0.f && b1 < 1.f && b2 >= 0.f && b2 < 1.f, name,
             "betas must be in [0, 1), got (" << b1 << ", " << b2 << ")");
  ATTN_CHECK(o.eps() >= 0.f, name, "eps must be non-negative, got " << o.eps());
  ATTN_CHECK(o.weight_decay() >= 0.f, name, "weight_decay must be non-negative, got " << o.weight_decay());
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam(std::move(params), options, true, "AdamW") {}

void Adam::step() {
  NoGradGuard no_grad;
  const float beta1 = options_.betas().first, beta2 = options_.betas().second;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    StateDict& st = state_[i];
    if (st.empty()) {  // lazy state, as in torch: created on the parameter's first update
      st.insert("step", Tensor::scalar(0.f));
      st.insert("exp_avg", Tensor::zeros(p.shape()));     // m, θ's shape
      st.insert("exp_avg_sq", Tensor::zeros(p.shape()));  // v, θ's shape
    }
    float& step = st.at("step").data()[0];
    step += 1.f;
    adam_update(p.data(), grad.data(), st.at("exp_avg").data(), st.at("exp_avg_sq").data(), p.numel(), lr_, beta1,
                beta2, options_.eps(), options_.weight_decay(), decoupled_, step);
  }
}

void adam_update(float* theta, const float* g_in, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float wd, bool decoupled, double t) {
  // Bias corrections in double, as torch computes them (Python floats), then used as float scalars.
  const double bias_correction1 = 1.0 - std::pow(double(beta1), t);
  const double bias_correction2 = 1.0 - std::pow(double(beta2), t);
  const float step_size = static_cast<float>(lr / bias_correction1);                    // η / (1 - β₁ᵗ)
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));  // √(1 - β₂ᵗ)
  const float decay = decoupled ? 1.f - lr * wd : 1.f;                                  // AdamW: θ ← θ (1 - η λ)
  // Every element on its own: split over threads, vectorized (no data-dependent branch in the loop).
  kernels::parallel_for(n, [=](int64_t k) {
    float g = g_in[k];
    if (!decoupled) g += wd * theta[k];                                 // Adam: g ← g + λ θ  (λ may be 0)
    m[k] = beta1 * m[k] + (1.f - beta1) * g;                            // m ← β₁ m + (1 - β₁) g
    v[k] = beta2 * v[k] + (1.f - beta2) * g * g;                        // v ← β₂ v + (1 - β₂) g²
    const float denom = std::sqrt(v[k]) / bias_correction2_sqrt + eps;  // √v̂ + ε
    theta[k] = theta[k] * decay - step_size * m[k] / denom;  // AdamW θ (1 - η λ); then θ - η m̂ / (√v̂ + ε)
  });
}

// ---- clip_grad_norm_ ------------------------------------------------------------------------------

float clip_grad_norm_(const std::vector<Tensor>& params, float max_norm, float norm_type) {
  ATTN_CHECK(norm_type > 0.f, "clip_grad_norm_", "norm_type must be positive (or INFINITY), got " << norm_type);
  NoGradGuard no_grad;
  // Accumulate in double: a model's gradients have millions of elements. Each tensor is summed in fixed
  // chunks (in parallel) whose partial sums are then added in order, so the result does not depend on the
  // number of threads.
  double total = 0.0;
  const bool inf_norm = std::isinf(norm_type);
  constexpr int64_t kChunk = 1 << 16;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const float* gp = g.data();
    const int64_t n = g.numel(), chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
    auto chunk_norm = [&](int64_t c) {
      double acc = 0.0;
      const int64_t begin = c * kChunk, end = std::min(n, (c + 1) * kChunk);
      if (norm_type == 2.f) {  // the common case, as one vectorized sum of squares (no branch, no pow)
#pragma omp simd reduction(+ : acc)
        for (int64_t k = begin; k < end; ++k) acc += static_cast<double>(gp[k]) * gp[k];
        partial[static_cast<size_t>(c)] = acc;
        return;
      }
      for (int64_t k = begin; k < end; ++k) {
        const double a = std::fabs(static_cast<double>(gp[k]));
        if (inf_norm) acc = std::max(acc, a);
        else acc += norm_type == 2.f ? a * a : std::pow(a, double(norm_type));
      }
      partial[static_cast<size_t>(c)] = acc;
    };
    if (chunks > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t c = 0; c < chunks; ++c) chunk_norm(c);
    } else if (chunks == 1) {
      chunk_norm(0);
    }
    for (double x : partial) total = inf_norm ? std::max(total, x) : total + x;
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  const float total_norm = static_cast<float>(total);
  // scale = min(1, max_norm / (total + 1e-6)); a scale of 1 changes nothing, so skip the pass.
  const float scale = clip_coefficient(total_norm, max_norm);
  if (scale < 1.f) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      kernels::scale_inplace(g.data(), scale, g.numel());
    }
  }
  return total_norm;
}

float clip_coefficient(float total_norm, float max_norm) { return std::min(1.f, max_norm / (total_norm + 1e-6f)); }

}  // namespace attn::nn
