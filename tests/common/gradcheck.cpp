#include "gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"

namespace attn::testing {

namespace {
double projected(const Tensor& out, const std::vector<double>& w) {
  double s = 0.0;
  const float* p = out.data();
  for (int64_t i = 0; i < out.numel(); ++i) s += w[i] * static_cast<double>(p[i]);
  return s;
}
}  // namespace

PoisonUninitializedGradients::PoisonUninitializedGradients() : previous_(set_poison_uninitialized_gradients(true)) {}
PoisonUninitializedGradients::~PoisonUninitializedGradients() { set_poison_uninitialized_gradients(previous_); }

GradCheckResult gradcheck(const OpFn& fn, const std::vector<Tensor>& inputs, const std::vector<bool>& differentiable,
                          const GradCheckOptions& opt, uint64_t seed) {
  const PoisonUninitializedGradients poison;
  ATTN_CHECK(inputs.size() == differentiable.size(), "gradcheck", "one differentiable flag per input");
  // Fresh leaves so that the check owns their .grad.
  std::vector<Tensor> xs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k].clone();
    if (differentiable[k]) x.requires_grad_(true);
    xs.push_back(x);
  }
  Tensor out = fn(xs);
  Generator gen(seed, 99);
  std::vector<double> w(out.numel());
  Tensor wt = Tensor::empty(out.shape());
  for (int64_t i = 0; i < out.numel(); ++i) {
    wt.data()[i] = gen.uniform(-1.f, 1.f);
    w[i] = wt.data()[i];
  }
  out.backward(wt);

  GradCheckResult res;
  std::ostringstream bad;
  int n_bad = 0;
  NoGradGuard no_grad;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (!differentiable[k]) continue;
    Tensor g = xs[k].grad();
    Tensor x = xs[k];
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float orig = x.data()[i];
      auto L = [&](double step) {
        x.data()[i] = static_cast<float>(orig + step);
        return projected(fn(xs), w);
      };
      const double num = (-L(2 * opt.h) + 8 * L(opt.h) - 8 * L(-opt.h) + L(-2 * opt.h)) / (12 * opt.h);
      x.data()[i] = orig;
      const double ana = g.defined() ? g.data()[i] : 0.0;
      const double err = std::fabs(num - ana);
      res.max_abs_err = std::max(res.max_abs_err, err);
      res.max_rel_err = std::max(res.max_rel_err, err / std::max(std::fabs(num), 1e-3));
      if (!(err <= opt.atol + opt.rtol * std::fabs(num))) {  // also catches NaN
        res.ok = false;
        if (n_bad++ < 5)
          bad << "  input " << k << " element " << i << ": numerical " << num << ", analytic " << ana << "\n";
      }
    }
  }
  if (!res.ok) res.report = std::to_string(n_bad) + " elements differ:\n" + bad.str();
  return res;
}

double max_rel_error(const std::vector<float>& a, const std::vector<double>& b, double floor) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  if (a.size() != b.size()) return INFINITY;
  return diff / std::max(scale, floor);
}

}  // namespace attn::testing
