// Lesson 00.01 — Tensors and autograd: the engine every later lesson is written in.
//
// Attention is a few matrix products and a softmax. Before we build it, we need the two tools that
// express it: tensors (blocks of numbers with a shape) and automatic differentiation (gradients for
// free, so that a model can learn). This lesson builds intuition for both, and ends with a preview of
// the softmax — the "soft choice" at the heart of every attention mechanism.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Tensors and autograd");
  std::cout << std::fixed << std::setprecision(4);

  L.step("A tensor is a block of numbers with a shape");
  L.say("A sequence of T = 3 tokens, each a vector of D = 4 numbers, is a (T, D) tensor.");
  Generator gen(0);                       // seeded: every run prints the same numbers
  Tensor x = Tensor::randn({3, 4}, gen);  // (T, D)
  std::cout << "x = " << x << "\n";

  L.step("Broadcasting: shapes align on the right");
  L.say("Adding a (D,) bias to a (T, D) matrix adds it to every row: (3, 4) + (4,) -> (3, 4).");
  Tensor bias = Tensor::from_vector({1.f, 0.f, -1.f, 10.f}, {4});  // (D,)
  std::cout << "x + bias = " << x + bias << "\n";

  L.step("Matrix products compare vectors");
  L.say(
      "x @ xᵀ holds every pair's dot product: entry (i, j) is how similar token i is to token j.\n"
      "Attention starts exactly here.");
  Tensor scores = matmul(x, x, false, /*transpose_b=*/true);  // (T, T)
  std::cout << "x @ xᵀ = " << scores << "\n";

  L.step("Autograd: the gradient of y = Σ x² is 2x");
  L.say(
      "Mark a tensor requires_grad_, compute, call backward(): every op recorded itself on a tape,\n"
      "and the tape is walked backwards applying the chain rule.");
  Tensor w = Tensor::from_vector({1.f, -2.f, 3.f}, {3}).requires_grad_();
  Tensor y = sum(w * w);
  y.backward();
  std::cout << "w = " << w << "\ny = " << y.item() << "\ndy/dw = " << w.grad() << "   (2w)\n";

  L.step("Check it with finite differences");
  L.say("(f(w + h) - f(w - h)) / 2h approximates the derivative; the test suite does this for every op.");
  {
    NoGradGuard no_grad;
    const float h = 1e-2f;
    for (int64_t i = 0; i < 3; ++i) {
      Tensor wp = w.clone(), wm = w.clone();
      wp.data()[i] += h;
      wm.data()[i] -= h;
      const float num = (sum(wp * wp).item() - sum(wm * wm).item()) / (2 * h);
      std::cout << "  dy/dw[" << i << "]: autograd " << w.grad().data()[i] << ", finite difference " << num << "\n";
    }
  }

  L.step("Learning: fit a line by gradient descent");
  L.say(
      "Data y = 3x - 1 plus noise. Parameters a, b start at 0; each step moves them against the\n"
      "gradient of the mean squared error.");
  Tensor xs = Tensor::uniform({64, 1}, -1.f, 1.f, gen);  // (N, 1)
  Tensor noise = Tensor::randn({64, 1}, gen) * 0.1f;
  Tensor ys = xs * 3.f - 1.f + noise;  // (N, 1)
  Tensor a = Tensor::zeros({1}).requires_grad_(), b = Tensor::zeros({1}).requires_grad_();
  std::vector<double> steps, losses;
  for (int step = 0; step < 60; ++step) {
    Tensor loss = mse_loss(xs * a + b, ys);
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of the model
      a.data()[0] -= 0.3f * a.grad().data()[0];
      b.data()[0] -= 0.3f * b.grad().data()[0];
    }
    a.zero_grad();
    b.zero_grad();
    steps.push_back(step);
    losses.push_back(loss.item());
    if (step % 15 == 0 || step == 59)
      std::cout << "  step " << std::setw(2) << step << "  loss " << loss.item() << "  a " << a.item() << "  b "
                << b.item() << "\n";
  }
  viz::LinePlot("Fitting y = 3x - 1 by gradient descent", "step", "mean squared error")
      .add_series("loss", steps, losses)
      .log_y()
      .save(L.figure("loss_curve.svg"));

  L.step("Preview: softmax, the soft choice inside attention");
  L.say(
      "softmax turns scores into weights that are positive and sum to 1. Dividing the scores by a\n"
      "temperature τ sharpens (τ < 1) or flattens (τ > 1) the choice; attention divides by √d.");
  Tensor s = Tensor::from_vector({2.f, 1.f, 0.1f, -1.f}, {4});
  viz::LinePlot plot("softmax(scores / τ) for scores (2, 1, 0.1, -1)", "position", "weight");
  for (float tau : {0.25f, 1.f, 4.f}) {
    Tensor p = softmax(s / tau, 0);
    std::cout << "  τ = " << tau << ": " << p << "\n";
    std::vector<double> pos, val;
    for (int64_t i = 0; i < 4; ++i) {
      pos.push_back(i);
      val.push_back(p.data()[i]);
    }
    std::ostringstream name;
    name << "τ = " << tau;
    plot.add_series(name.str(), pos, val);
  }
  plot.save(L.figure("softmax_temperature.svg"));
  L.say("\nNext: 01_foundations/01_basic_attention — attention as a soft lookup.");
  return 0;
}
