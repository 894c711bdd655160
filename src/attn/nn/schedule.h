// Learning-rate schedules: pure functions of the step, and an LRScheduler that applies one to an
// Optimizer (torch.optim.lr_scheduler.LambdaLR, with the schedule returning the rate itself).
//
// warmup_cosine (GPT-style): linear warmup from 0, then a half cosine down to min_lr.
//   lr(s) = base_lr · s / W                                              s < W
//   lr(s) = min_lr + ½ (base_lr - min_lr) (1 + cos(π (s - W) / (S - W)))  W ≤ s < S
//   lr(s) = min_lr                                                       s ≥ S
//   with W = warmup_steps, S = total_steps; lr(W) = base_lr, lr(S) = min_lr.
//
// noam ("Attention Is All You Need", §5.3), steps counted from 1:
//   lr(s) = factor · d_model^-½ · min(s^-½, s · W^-³ᐟ²)
//   rising linearly for W steps, peaking at s = W with factor · (d_model · W)^-½, then decaying as s^-½.
#pragma once
#include <cstdint>
#include <functional>

namespace attn::nn {

class Optimizer;

float warmup_cosine(int64_t step, float base_lr, int64_t warmup_steps, int64_t total_steps, float min_lr = 0.f);
float noam(int64_t step, int64_t d_model, int64_t warmup_steps, float factor = 1.f);  // step ≥ 1

// Sets optimizer.lr() = schedule(step) at construction (step = first_step) and after every step():
//
//   LRScheduler sched(opt, [](int64_t s) { return warmup_cosine(s, 3e-4f, 100, 2000); });
//   for (...) { loss.backward(); opt.step(); opt.zero_grad(); sched.step(); }
//
// noam counts from 1, so give it first_step = 1.
class LRScheduler {
 public:
  using Schedule = std::function<float(int64_t step)>;
  LRScheduler(Optimizer& optimizer, Schedule schedule, int64_t first_step = 0);

  void step();                                 // advance one step and set the new rate
  int64_t last_step() const { return step_; }  // the step whose rate is in effect
  void set_step(int64_t step);                 // jump (to resume training) and set that step's rate
  float get_last_lr() const;                   // the rate in effect

 private:
  Optimizer& optimizer_;
  Schedule schedule_;
  int64_t step_;
};

}  // namespace attn::nn
