// Optimizers (torch.optim): SGD, Adam, AdamW — torch's exact update formulas — and clip_grad_norm_.
//
// Notation: θ a parameter, g its gradient (θ.grad()), t the parameter's step count (1 on the first
// update), η the learning rate, λ weight_decay. Each step updates θ in place, under NoGradGuard, and
// skips parameters whose .grad is undefined (they did not take part in the loss), as torch does.
//
// SGD (momentum μ, dampening τ):
//   g ← g + λ θ                                      (L2 penalty folded into the gradient)
//   b ← g                          on the first step  (momentum buffer, when μ ≠ 0)
//   b ← μ b + (1 - τ) g            afterwards
//   g ← g + μ b  (nesterov)   or   g ← b
//   θ ← θ - η g
//
// Adam (Kingma & Ba 2015) with β₁, β₂, ε:
//   g ← g + λ θ                                      (Adam's weight decay is L2, added to the gradient)
//   m ← β₁ m + (1 - β₁) g                            exp_avg
//   v ← β₂ v + (1 - β₂) g²                           exp_avg_sq
//   m̂ = m / (1 - β₁ᵗ),   v̂ = v / (1 - β₂ᵗ)            bias correction (m and v start at 0)
//   θ ← θ - η m̂ / (√v̂ + ε)
// computed as torch does: θ ← θ - (η / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε).
//
// AdamW (Loshchilov & Hutter 2019): Adam without the L2 term, with decoupled weight decay first:
//   θ ← θ - η λ θ,   then the Adam update above with λ = 0.
//
// Optimizer state is per parameter i, named like torch's optimizer.state[p]: "momentum_buffer.i" (SGD),
// "step.i", "exp_avg.i", "exp_avg_sq.i" (Adam, AdamW); plus "lr". The step count is a 0-d float tensor
// (exact up to 2²⁴ steps). state_dict() and
// load_state_dict() carry it, so training resumes exactly where it stopped.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/nn/state_dict.h"

namespace attn::nn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;  // one update of every parameter that has a gradient
  void zero_grad();         // drops every parameter's .grad (torch's set_to_none = True)

  float lr() const { return lr_; }
  void set_lr(float lr);
  const std::vector<Tensor>& parameters() const { return params_; }

  // Per-parameter state tensors ("exp_avg.0", "step.0", ...) and "lr". Like torch, the tensors are the
  // optimizer's own (shared, not copied): clone() the dict for a snapshot.
  StateDict state_dict() const;
  // Replaces the state with copies of `state`'s tensors. Throws attn::Error naming every key that this
  // optimizer does not know (or whose index is out of range) and every mis-shaped tensor.
  void load_state_dict(const StateDict& state);

 protected:
  Optimizer(std::vector<Tensor> params, float lr, const char* name);
  // The per-parameter state names this optimizer keeps, e.g. {"step", "exp_avg", "exp_avg_sq"}.
  virtual std::vector<std::string> state_names() const = 0;

  std::vector<Tensor> params_;
  std::vector<StateDict> state_;  // state_[i]: name -> tensor for params_[i]; empty until its first step
  float lr_;
  const char* name_;
};

// ---- SGD ------------------------------------------------------------------------------------------

struct SGDOptions {
  explicit SGDOptions(float lr = 1e-3f) : lr_(lr) {}
  SGDOptions& lr(float v) {
    lr_ = v;
    return *this;
  }
  SGDOptions& momentum(float v) {
    momentum_ = v;
    return *this;
  }
  SGDOptions& dampening(float v) {
    dampening_ = v;
    return *this;
  }
  SGDOptions& weight_decay(float v) {
    weight_decay_ = v;
    return *this;
  }
  SGDOptions& nesterov(bool v) {
    nesterov_ = v;
    return *this;
  }
  float lr() const { return lr_; }
  float momentum() const { return momentum_; }
  float dampening() const { return dampening_; }
  float weight_decay() const { return weight_decay_; }
  bool nesterov() const { return nesterov_; }

 private:
  float lr_, momentum_ = 0.f, dampening_ = 0.f, weight_decay_ = 0.f;
  bool nesterov_ = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<Tensor> params, float lr, float momentum = 0.f, float dampening = 0.f, float weight_decay = 0.f,
      bool nesterov = false);
  void step() override;
  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }

 private:
  SGDOptions options_;
};

// ---- Adam / AdamW ---------------------------------------------------------------------------------

struct AdamOptions {
  explicit AdamOptions(float lr = 1e-3f) : lr_(lr) {}
  AdamOptions& lr(float v) {
    lr_ = v;
    return *this;
  }
  AdamOptions& betas(float beta1, float beta2) {
    betas_ = {beta1, beta2};
    return *this;
  }
  AdamOptions& eps(float v) {
    eps_ = v;
    return *this;
  }
  AdamOptions& weight_decay(float v) {
    weight_decay_ = v;
    return *this;
  }
  float lr() const { return lr_; }
  std::pair<float, float> betas() const { return betas_; }
  float eps() const { return eps_; }
  float weight_decay() const { return weight_decay_; }

 private:
  float lr_;
  std::pair<float, float> betas_{0.9f, 0.999f};
  float eps_ = 1e-8f;
  float weight_decay_ = 0.f;
};

// AdamW's options are Adam's with torch's AdamW default weight_decay = 0.01.
struct AdamWOptions : AdamOptions {
  explicit AdamWOptions(float lr = 1e-3f) : AdamOptions(lr) { AdamOptions::weight_decay(1e-2f); }
  AdamWOptions& lr(float v) {
    AdamOptions::lr(v);
    return *this;
  }
  AdamWOptions& betas(float b1, float b2) {
    AdamOptions::betas(b1, b2);
    return *this;
  }
  AdamWOptions& eps(float v) {
    AdamOptions::eps(v);
    return *this;
  }
  AdamWOptions& weight_decay(float v) {
    AdamOptions::weight_decay(v);
    return *this;
  }
  using AdamOptions::betas;
  using AdamOptions::eps;
  using AdamOptions::lr;
  using AdamOptions::weight_decay;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, const AdamOptions& options = AdamOptions());
  Adam(std::vector<Tensor> params, float lr) : Adam(std::move(params), AdamOptions(lr)) {}
  void step() override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, const char* name);
  std::vector<std::string> state_names() const override { return {"step", "exp_avg", "exp_avg_sq"}; }

 private:
  AdamOptions options_;
  bool decoupled_;  // AdamW: θ ← θ - η λ θ instead of g ← g + λ θ
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = AdamWOptions());
  AdamW(std::vector<Tensor> params, float lr) : AdamW(std::move(params), AdamWOptions(lr)) {}
};

// ---- gradient clipping ----------------------------------------------------------------------------

// torch.nn.utils.clip_grad_norm_: total = ‖(g₁, g₂, …)‖ over all defined gradients (norm_type 2 = the L2
// norm of every gradient element together; INFINITY = the largest |element|). Then every gradient is
// scaled by min(1, max_norm / (total + 1e-6)). Returns total, the norm before clipping.
float clip_grad_norm_(const std::vector<Tensor>& params, float max_norm, float norm_type = 2.f);
// The factor clip_grad_norm_ scales the gradients by: min(1, max_norm / (total_norm + 1e-6)).
float clip_coefficient(float total_norm, float max_norm);

// One Adam (or, `decoupled`, AdamW) update of n elements in place — the loop of Adam::step, for optimizers that keep
// their state elsewhere (attn/dist's data-parallel AdamW, which updates a shard of a flat vector). `t` is the update's
// step count (1 on the first).
void adam_update(float* theta, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, float lr, float beta1,
                 float beta2, float eps, float weight_decay, bool decoupled, double t);

}  // namespace attn::nn
