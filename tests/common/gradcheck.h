// The finite-difference gradient harness: one checker for every op's backward pass.
//
// For an op f with float32 inputs x_k, draw a fixed random projection W of the output and take the
// scalar L = Σ W ⊙ f(x), accumulated in double. The analytic gradient comes from our backward pass
// (out.backward(W)); the numerical one from the fourth-order central difference, in double:
//
//   ∂L/∂x_i ≈ (-L(x + 2h e_i) + 8 L(x + h e_i) - 8 L(x - h e_i) + L(x - 2h e_i)) / (12 h)
//
// h is a power of two so that x ± h is exact in float32 for |x| < 2^16; the stencil's truncation error
// is O(h⁴), leaving float32 rounding in L as the main error. Per-op settings loosen or tighten the check
// (in the spirit of ggml's test-backend-ops grad_eps / grad_precise).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::testing {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradCheckOptions {
  double h = 1.0 / 128;  // finite-difference step (power of two)
  double atol = 2e-3;    // per element: |num - ana| <= atol + rtol * |num|
  double rtol = 1e-2;
};

struct GradCheckResult {
  bool ok = true;
  double max_abs_err = 0.0;  // over all checked elements
  double max_rel_err = 0.0;  // |num - ana| / max(|num|, 1e-3)
  std::string report;        // the worst offending elements, when !ok
};

// `differentiable[k]` says whether input k is checked (masks, targets are not).
GradCheckResult gradcheck(const OpFn& fn, const std::vector<Tensor>& inputs, const std::vector<bool>& differentiable,
                          const GradCheckOptions& options = GradCheckOptions(), uint64_t seed = 1234);

// In scope: the autograd engine fills the gradient buffers it hands out uninitialized with NaN (see
// set_poison_uninitialized_gradients), so a backward pass that adds into one without first_write() fails.
class PoisonUninitializedGradients {
 public:
  PoisonUninitializedGradients();
  ~PoisonUninitializedGradients();
  PoisonUninitializedGradients(const PoisonUninitializedGradients&) = delete;
  PoisonUninitializedGradients& operator=(const PoisonUninitializedGradients&) = delete;

 private:
  bool previous_;
};

// Max |a - b| / max(max |b|, floor): the norm-wise relative error used by the PyTorch cross-checks.
double max_rel_error(const std::vector<float>& a, const std::vector<double>& b, double floor = 1e-6);

}  // namespace attn::testing
