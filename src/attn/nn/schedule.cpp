#include "attn/nn/schedule.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "attn/core/error.h"
#include "attn/nn/optim.h"

namespace attn::nn {

float warmup_cosine(int64_t step, float base_lr, int64_t warmup_steps, int64_t total_steps, float min_lr) {
  ATTN_CHECK(step >= 0, "warmup_cosine", "step must be non-negative, got " << step);
  ATTN_CHECK(warmup_steps >= 0 && total_steps >= warmup_steps, "warmup_cosine",
             "need 0 <= warmup_steps <= total_steps, got warmup_steps = " << warmup_steps
                                                                          << ", total_steps = " << total_steps);
  if (step < warmup_steps) return base_lr * static_cast<float>(double(step) / double(warmup_steps));
  if (step >= total_steps) return min_lr;
  const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);  // [0, 1)
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));                             // 1 -> 0
  return static_cast<float>(min_lr + (double(base_lr) - min_lr) * cosine);
}

float noam(int64_t step, int64_t d_model, int64_t warmup_steps, float factor) {
  ATTN_CHECK(step >= 1, "noam", "step counts from 1, got " << step);
  ATTN_CHECK(d_model >= 1 && warmup_steps >= 1, "noam",
             "d_model and warmup_steps must be positive, got " << d_model << " and " << warmup_steps);
  const double s = double(step), w = double(warmup_steps);
  return static_cast<float>(factor * std::pow(double(d_model), -0.5) *
                            std::min(std::pow(s, -0.5), s * std::pow(w, -1.5)));
}

LRScheduler::LRScheduler(Optimizer& optimizer, Schedule schedule, int64_t first_step)
    : optimizer_(optimizer), schedule_(std::move(schedule)), step_(first_step) {
  ATTN_CHECK(schedule_ != nullptr, "LRScheduler", "schedule is empty");
  optimizer_.set_lr(schedule_(step_));
}

void LRScheduler::step() { set_step(step_ + 1); }

void LRScheduler::set_step(int64_t step) {
  step_ = step;
  optimizer_.set_lr(schedule_(step_));
}

float LRScheduler::get_last_lr() const { return optimizer_.lr(); }

}  // namespace attn::nn
