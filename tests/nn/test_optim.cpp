// Optimizers against hand-computed and PyTorch updates, exact resume from a state dict, gradient clipping,
// learning-rate schedules, and an MLP that learns XOR.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/nn/layers.h"
#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/ops/ops.h"

namespace attn::nn {
namespace {

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

// Minimizes loss = Σ c ⊙ θ² (gradient 2 c θ) for `steps` steps; returns θ after every step, flattened.
template <class MakeOpt>
std::vector<float> run_quadratic(MakeOpt make, std::vector<float> theta0, std::vector<float> c, int steps) {
  const int64_t n = static_cast<int64_t>(theta0.size());
  Tensor theta = Tensor::from_vector(theta0, {n}).requires_grad_();
  Tensor coef = Tensor::from_vector(c, {n});
  auto opt = make(std::vector<Tensor>{theta});
  std::vector<float> trace;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    sum(coef * theta * theta).backward();
    opt.step();
    for (float v : theta.to_vector()) trace.push_back(v);
  }
  return trace;
}

// ---- hand-computed ------------------------------------------------------------------------------------

TEST(NnOptim, SGDMomentumByHand) {
  // loss = θ², g = 2θ, η = 0.1, μ = 0.9, θ₀ = 1:
  //   step 1: g = 2,    b = 2,                   θ = 1 - 0.2     = 0.8
  //   step 2: g = 1.6,  b = 0.9·2 + 1.6 = 3.4,    θ = 0.8 - 0.34  = 0.46
  //   step 3: g = 0.92, b = 0.9·3.4 + 0.92 = 3.98, θ = 0.46 - 0.398 = 0.062
  auto trace = run_quadratic([](std::vector<Tensor> p) { return SGD(p, 0.1f, 0.9f); }, {1.f}, {1.f}, 3);
  expect_near(trace, {0.8f, 0.46f, 0.062f}, 1e-6f);
  // Nesterov: g' = g + μ b.  step 1: θ = 1 - 0.1·(2 + 1.8) = 0.62
  //   step 2: g = 1.24, b = 1.8 + 1.24 = 3.04, g' = 1.24 + 2.736 = 3.976, θ = 0.62 - 0.3976 = 0.2224
  trace = run_quadratic([](std::vector<Tensor> p) { return SGD(p, SGDOptions(0.1f).momentum(0.9f).nesterov(true)); },
                        {1.f}, {1.f}, 2);
  expect_near(trace, {0.62f, 0.2224f}, 1e-6f);
  EXPECT_THROW(SGD({Tensor::ones({1}).requires_grad_()}, SGDOptions(0.1f).nesterov(true)), Error);
}

TEST(NnOptim, AdamByHand) {
  // loss = θ², η = 0.1, β = (0.9, 0.999), θ₀ = 1:
  //   step 1: g = 2, m = 0.2, v = 0.004, m̂ = 2, v̂ = 4, θ = 1 - 0.1 · 2 / (2 + 1e-8) = 0.9
  //   step 2: g = 1.8, m = 0.36, v = 0.007236, m̂ = 0.36 / 0.19, v̂ = 0.007236 / 0.001999,
  //           θ = 0.9 - 0.1 · 1.8947368 / 1.9025798 = 0.8004122
  //   step 3: θ = 0.7015863
  auto trace = run_quadratic([](std::vector<Tensor> p) { return Adam(p, 0.1f); }, {1.f}, {1.f}, 3);
  expect_near(trace, {0.9f, 0.8004122f, 0.7015863f}, 1e-6f);
}

// ---- against torch.optim ------------------------------------------------------------------------------
// θ₀ = (1, -2, 0.5), loss = Σ (1, 0.5, 2) ⊙ θ², three steps; θ after each step from PyTorch 1.13:
//   p = torch.tensor([1., -2., .5], requires_grad=True); opt = torch.optim.X(p, ...)
//   for _ in range(3): opt.zero_grad(); (c * p * p).sum().backward(); opt.step(); print(p)

TEST(NnOptim, SGDMatchesTorch) {
  auto nesterov = run_quadratic(
      [](std::vector<Tensor> p) { return SGD(p, SGDOptions(0.1f).momentum(0.9f).nesterov(true).weight_decay(0.01f)); },
      {1.f, -2.f, 0.5f}, {1.f, 0.5f, 2.f}, 3);
  expect_near(nesterov,
              {0.61809999f, -1.6162f, 0.11904997f, 0.21923763f, -1.1424313f, -0.13405921f, -0.11165108f, -0.64371943f,
               -0.21675262f},
              1e-6f);
  auto dampening = run_quadratic(
      [](std::vector<Tensor> p) { return SGD(p, 0.05f, /*momentum=*/0.5f, /*dampening=*/0.3f, /*wd=*/0.1f); },
      {1.f, -2.f, 0.5f}, {1.f, 0.5f, 2.f}, 3);
  expect_near(
      dampening,
      {0.89499998f, -1.89f, 0.39750001f, 0.77671748f, -1.7622349f, 0.28920877f, 0.66048747f, -1.6305064f, 0.19356169f},
      1e-6f);
}

TEST(NnOptim, AdamWithL2MatchesTorch) {
  auto trace = run_quadratic(
      [](std::vector<Tensor> p) { return Adam(p, AdamOptions(0.1f).betas(0.8f, 0.99f).eps(1e-6f).weight_decay(0.1f)); },
      {1.f, -2.f, 0.5f}, {1.f, 0.5f, 2.f}, 3);
  expect_near(trace,
              {0.90000004f, -1.9000001f, 0.40000004f, 0.80069607f, -1.800305f, 0.30178455f, 0.70265633f, -1.7011367f,
               0.20719038f},
              1e-6f);
}

TEST(NnOptim, AdamWDecoupledDecayMatchesTorch) {
  auto trace = run_quadratic(
      [](std::vector<Tensor> p) { return AdamW(p, AdamWOptions(0.1f).betas(0.9f, 0.95f).weight_decay(0.1f)); },
      {1.f, -2.f, 0.5f}, {1.f, 0.5f, 2.f}, 3);
  expect_near(
      trace,
      {0.88999999f, -1.88f, 0.39500001f, 0.78142637f, -1.7613313f, 0.29205024f, 0.67455441f, -1.6440805f, 0.19232139f},
      1e-6f);
  EXPECT_FLOAT_EQ(AdamWOptions().weight_decay(), 0.01f);  // torch's AdamW default
  EXPECT_FLOAT_EQ(AdamOptions().weight_decay(), 0.f);
}

// ---- bookkeeping ------------------------------------------------------------------------------------

TEST(NnOptim, SkipsParametersWithoutGradient) {
  Tensor used = Tensor::ones({2}).requires_grad_();
  Tensor unused = Tensor::ones({2}).requires_grad_();
  Adam opt({used, unused}, 0.1f);
  sum(used * used).backward();
  opt.step();
  EXPECT_EQ(unused.to_vector(), (std::vector<float>{1.f, 1.f}));
  EXPECT_NE(used.to_vector(), (std::vector<float>{1.f, 1.f}));
  EXPECT_EQ(opt.state_dict().keys(), (std::vector<std::string>{"lr", "step.0", "exp_avg.0", "exp_avg_sq.0"}));
  opt.zero_grad();
  EXPECT_FALSE(used.grad().defined());
  EXPECT_THROW(Adam({used * 2.f}, 0.1f), Error);  // not a leaf
}

// Two identical runs: one straight through, one that stops, saves model and optimizer, and resumes in
// fresh objects. The final parameters must be bit-identical.
TEST(NnOptim, StateDictResumesTrainingExactly) {
  auto make_model = [] {
    Generator gen(3);
    return std::make_shared<Sequential>(std::make_shared<Linear>(3, 5, gen), std::make_shared<Tanh>(),
                                        std::make_shared<Linear>(5, 1, gen));
  };
  Generator data(9);
  Tensor x = Tensor::randn({8, 3}, data), y = Tensor::randn({8, 1}, data);
  auto train = [&](Sequential& model, Optimizer& opt, int steps) {
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      mse_loss(model.forward(x), y).backward();
      opt.step();
    }
  };

  auto straight = make_model();
  AdamW opt_straight(straight->parameters(), AdamWOptions(0.05f));
  train(*straight, opt_straight, 6);

  auto first = make_model();
  AdamW opt_first(first->parameters(), AdamWOptions(0.05f));
  train(*first, opt_first, 3);
  const StateDict model_ckpt = first->state_dict().clone();
  const StateDict opt_ckpt = opt_first.state_dict().clone();

  auto resumed = make_model();
  AdamW opt_resumed(resumed->parameters(), AdamWOptions(0.9f));  // lr is restored from the checkpoint
  resumed->load_state_dict(model_ckpt);
  opt_resumed.load_state_dict(opt_ckpt);
  EXPECT_FLOAT_EQ(opt_resumed.lr(), 0.05f);
  train(*resumed, opt_resumed, 3);

  for (size_t i = 0; i < straight->parameters().size(); ++i)
    EXPECT_EQ(straight->parameters()[i].to_vector(), resumed->parameters()[i].to_vector()) << "param " << i;

  // SGD's momentum buffers resume the same way.
  Tensor p = Tensor::ones({2}).requires_grad_();
  SGD sgd({p}, 0.1f, 0.9f);
  sum(p * p).backward();
  sgd.step();
  EXPECT_EQ(sgd.state_dict().keys(), (std::vector<std::string>{"lr", "momentum_buffer.0"}));
}

TEST(NnOptim, LoadStateDictNamesBadKeys) {
  Tensor p = Tensor::ones({2, 3}).requires_grad_();
  Adam opt({p}, 0.1f);
  StateDict bad{{"exp_avg.0", Tensor::zeros({3, 2})},
                {"exp_avg_sq.0", Tensor::zeros({2, 3})},
                {"step.0", Tensor::scalar(1.f)},
                {"exp_avg.1", Tensor::zeros({2, 3})},
                {"momentum_buffer.0", Tensor::zeros({2, 3})}};
  try {
    opt.load_state_dict(bad);
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\"exp_avg.1\""), std::string::npos) << msg;          // index out of range
    EXPECT_NE(msg.find("\"momentum_buffer.0\""), std::string::npos) << msg;  // not an Adam state
    EXPECT_NE(msg.find("\"exp_avg.0\" (checkpoint (3, 2) vs (2, 3))"), std::string::npos) << msg;
  }
  EXPECT_THROW(opt.load_state_dict({{"step.0", Tensor::scalar(1.f)}}), Error);  // incomplete state
}

// ---- clip_grad_norm_ ----------------------------------------------------------------------------------

TEST(NnOptim, ClipGradNormScalesAllGradientsTogether) {
  Tensor a = Tensor::zeros({2}).requires_grad_(), b = Tensor::zeros({1}).requires_grad_();
  Tensor no_grad = Tensor::zeros({3}).requires_grad_();
  auto set_grads = [&] {
    a.zero_grad();
    b.zero_grad();
    (sum(a * Tensor::from_vector({3.f, 4.f}, {2})) + sum(b * 12.f)).backward();  // grads (3, 4) and (12)
  };
  set_grads();
  // total = √(9 + 16 + 144) = 13; scale = 6.5 / (13 + 1e-6)
  EXPECT_FLOAT_EQ(clip_grad_norm_({a, b, no_grad}, 6.5f), 13.f);
  const float scale = 6.5f / (13.f + 1e-6f);
  expect_near(a.grad().to_vector(), {3 * scale, 4 * scale}, 1e-6f);
  expect_near(b.grad().to_vector(), {12 * scale}, 1e-6f);
  // Below the threshold nothing changes.
  set_grads();
  EXPECT_FLOAT_EQ(clip_grad_norm_({a, b}, 100.f), 13.f);
  expect_near(a.grad().to_vector(), {3, 4}, 0.f);
  // The infinity norm is the largest |g|.
  set_grads();
  EXPECT_FLOAT_EQ(clip_grad_norm_({a, b}, 6.f, INFINITY), 12.f);
  expect_near(b.grad().to_vector(), {6.f}, 1e-5f);
}

// ---- schedules ----------------------------------------------------------------------------------------

TEST(NnOptim, WarmupCosineAtKeySteps) {
  // base 1e-3, warmup 100, total 1100, min 1e-4
  auto lr = [](int64_t s) { return warmup_cosine(s, 1e-3f, 100, 1100, 1e-4f); };
  EXPECT_FLOAT_EQ(lr(0), 0.f);
  EXPECT_FLOAT_EQ(lr(50), 5e-4f);
  EXPECT_FLOAT_EQ(lr(100), 1e-3f);                           // peak at the end of warmup
  EXPECT_FLOAT_EQ(lr(600), 1e-4f + 0.5f * (1e-3f - 1e-4f));  // half way: cos(π/2) = 0
  EXPECT_NEAR(lr(350), 1e-4f + 0.5f * 9e-4f * (1 + std::cos(M_PI * 0.25)), 1e-9);
  EXPECT_FLOAT_EQ(lr(1100), 1e-4f);
  EXPECT_FLOAT_EQ(lr(5000), 1e-4f);
  EXPECT_FLOAT_EQ(warmup_cosine(0, 0.1f, 0, 10), 0.1f);  // no warmup: starts at the peak
  EXPECT_THROW(warmup_cosine(-1, 0.1f, 10, 100), Error);
  EXPECT_THROW(warmup_cosine(5, 0.1f, 10, 5), Error);
}

TEST(NnOptim, NoamAtKeySteps) {
  // d_model 512, warmup 4000: rises as s · 4000^-1.5, peaks at s = 4000 with (512 · 4000)^-½.
  EXPECT_NEAR(noam(1, 512, 4000), std::pow(512.0, -0.5) * std::pow(4000.0, -1.5), 1e-12);
  EXPECT_NEAR(noam(4000, 512, 4000), std::pow(512.0 * 4000.0, -0.5), 1e-9);
  EXPECT_NEAR(noam(16000, 512, 4000), std::pow(512.0, -0.5) / std::sqrt(16000.0), 1e-9);
  EXPECT_NEAR(noam(4000, 512, 4000, 2.f), 2 * std::pow(512.0 * 4000.0, -0.5), 1e-9);
  EXPECT_LT(noam(3999, 512, 4000), noam(4000, 512, 4000));
  EXPECT_LT(noam(4001, 512, 4000), noam(4000, 512, 4000));
  EXPECT_THROW(noam(0, 512, 4000), Error);
}

TEST(NnOptim, LRSchedulerSetsTheOptimizersRate) {
  Tensor p = Tensor::ones({1}).requires_grad_();
  SGD opt({p}, 1.f);
  LRScheduler sched(opt, [](int64_t s) { return warmup_cosine(s, 0.5f, 2, 4); });
  EXPECT_FLOAT_EQ(opt.lr(), 0.f);
  sched.step();
  EXPECT_FLOAT_EQ(opt.lr(), 0.25f);
  sched.step();
  EXPECT_FLOAT_EQ(sched.get_last_lr(), 0.5f);
  EXPECT_EQ(sched.last_step(), 2);
  sched.set_step(4);
  EXPECT_FLOAT_EQ(opt.lr(), 0.f);
  LRScheduler noam_sched(
      opt, [](int64_t s) { return noam(s, 16, 10); }, /*first_step=*/1);
  EXPECT_FLOAT_EQ(opt.lr(), noam(1, 16, 10));
}

// ---- learning -----------------------------------------------------------------------------------------

// XOR-like data: points around the four corners (±1, ±1), class 1 when the signs differ. No linear
// model separates them; Linear-Tanh-Linear does.
float train_xor(uint64_t seed) {
  Generator gen(seed), data(seed, 1);
  const int64_t N = 64;
  Tensor x = Tensor::empty({N, 2});  // (N, 2)
  std::vector<int64_t> label(N);
  for (int64_t i = 0; i < N; ++i) {
    const float sx = (i & 1) ? 1.f : -1.f, sy = (i & 2) ? 1.f : -1.f;
    x.at({i, 0}) = sx + 0.2f * data.normal();
    x.at({i, 1}) = sy + 0.2f * data.normal();
    label[i] = sx * sy < 0 ? 1 : 0;
  }
  const IndexTensor target(label);
  Sequential mlp{std::make_shared<Linear>(2, 16, gen), std::make_shared<Tanh>(), std::make_shared<Linear>(16, 2, gen)};
  Adam opt(mlp.parameters(), AdamOptions(0.05f));
  float loss_value = 0.f;
  for (int step = 0; step < 200; ++step) {
    Tensor loss = cross_entropy(mlp(x), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  return loss_value;
}

TEST(NnOptim, MlpLearnsXorWithAdam) {
  const auto t0 = std::chrono::steady_clock::now();
  const float loss = train_xor(1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(loss, 0.05f);
  EXPECT_EQ(train_xor(1), loss);  // deterministic for a fixed seed
  RecordProperty("train_seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace attn::nn
