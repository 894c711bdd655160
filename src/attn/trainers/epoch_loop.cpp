#include "attn/trainers/epoch_loop.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/train/progress.h"

namespace attn::trainers {

EpochLoopResult run_epoch_loop(const EpochSchedule& s, const EpochHooks& hooks, Update& update, Ranks& ranks,
                               train::MetricsLogger* metrics, std::ostream& progress, LossCurves& curves) {
  train::ProgressBar bar(s.total, "train", progress);
  bar.unit(s.unit).resume_from(s.start);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  EpochLoopResult r;
  r.step = s.start;
  double last_val_acc = -1;
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  while (r.step < s.total) {
    const int64_t epoch = r.step / s.steps_per_epoch, i = r.step % s.steps_per_epoch;
    if (epoch != order_epoch) {
      order = epoch_order(s.n_train, s.seed, epoch);
      order_epoch = epoch;
    }
    const float lr = nn::warmup_cosine(r.step + 1, s.lr, s.warmup, s.total, s.min_lr);
    const int64_t b0 = i * s.batch, b1 = std::min(b0 + s.batch, s.n_train);
    const std::vector<int64_t> batch(order.begin() + b0, order.begin() + b1);
    const int64_t n = b1 - b0;
    // This rank's share (the whole batch on one process), weighted so that the averaged gradient is the whole
    // batch's (parallel.h); an empty share backpropagates one item's loss times 0.
    const auto [first, count] = shard_of(n, ranks.rank(), ranks.size());
    const int64_t all = hooks.units ? hooks.units(batch) : n;
    const int64_t mine = count == n    ? all
                         : count == 0  ? 0
                         : hooks.units ? hooks.units({batch.begin() + first, batch.begin() + first + count})
                                       : count;
    const Tensor loss = hooks.loss(r.step, batch, count > 0 ? first : 0, count > 0 ? count : 1);
    const double l = backward_share(update, ranks, loss, mine, all);
    const float grad_norm = s.clip > 0 ? update.clip_grad_norm(s.clip) : 0.f;
    update.step(lr);
    const int64_t step = ++r.step;

    if (metrics)
      metrics->log({{"step", step},
                    {"split", "train"},
                    {"loss", l},
                    {"lr", lr},
                    {"grad_norm", grad_norm},
                    {s.rate_name, bar.items_per_second()},
                    {"elapsed_s", elapsed()}});
    curves.train_x.push_back(static_cast<double>(step));
    curves.train_y.push_back(l);
    std::vector<std::pair<std::string, double>> shown = {{"loss", l}};
    StepInfo info{step - s.start, s.total - s.start, epoch + 1, l, lr, elapsed(), std::nullopt, std::nullopt};
    if (hooks.validate && (step % s.steps_per_epoch == 0 || step == s.total)) {
      const Validation v = hooks.validate();
      last_val_acc = v.accuracy;
      info.val_loss = v.loss;
      info.val_accuracy = v.accuracy;
      train::Metrics line = {{"step", step},
                             {"split", "val"},
                             {"loss", v.loss},
                             {"accuracy", v.accuracy},
                             {"epoch", step / s.steps_per_epoch},
                             {"elapsed_s", elapsed()}};
      line.insert(line.end(), v.extra.begin(), v.extra.end());
      if (metrics) metrics->log(line);
      curves.val_x.push_back(static_cast<double>(step));
      curves.val_y.push_back(v.loss);
    }
    if (last_val_acc >= 0) shown.emplace_back("val_acc", last_val_acc);
    bar.update(step, shown, b1 - b0);

    const bool go_on = !hooks.on_step || hooks.on_step(info);
    r.stopped_early = step < s.total &&
                      ((s.time_limit_min > 0 && elapsed() / 60.0 >= s.time_limit_min) || step == s.stop_at || !go_on);
    if (ranks.size() > 1) r.stopped_early = ranks.rank0_says(r.stopped_early, "time limit");
    if (step % s.checkpoint_every == 0 || step == s.total || r.stopped_early) hooks.save(step);
    if (r.stopped_early) break;
  }
  bar.finish();
  r.seconds = elapsed();
  return r;
}

}  // namespace attn::trainers
