// The loop that the epoch-based trainers share (attn train vit, attn train audio), one step at a time:
//
//   order ← this epoch's permutation of the training items          (epoch_order: the same after a resume)
//   lr    ← warmup_cosine(step + 1)
//   loss  ← the trainer's loss on items order[i·B … (i+1)·B)         (the last batch of an epoch may be smaller)
//   backward; clip_grad_norm_(clip); AdamW step; clear                (attn/trainers/parallel.h: on N ranks each
//                                                                      takes its share of the batch, the gradient
//                                                                      averaged over them, the loss weighted so
//                                                                      that it is the whole batch's mean)
//   log {step, "train", loss, lr, grad_norm, <rate_name>}; after each epoch: validate and log {"val", loss, accuracy,
//   …}
//   report to on_step (false stops the run); stop at --time-limit-min / --stop-at; checkpoint every
//   checkpoint_every steps, at the end and when stopped (rank 0's clock and on_step decide for every rank).
// On N ranks only rank 0 logs (`metrics` null elsewhere) and draws the progress bar; every rank validates.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/tensor.h"
#include "attn/train/metrics.h"
#include "attn/trainers/common.h"
#include "attn/trainers/parallel.h"
#include "attn/trainers/progress.h"

namespace attn::trainers {

struct EpochSchedule {
  int64_t n_train = 0, batch = 0;
  int64_t steps_per_epoch = 0, total = 0, warmup = 0;  // steps
  int64_t start = 0;                                   // the step to begin at (a resumed run's)
  uint64_t seed = 0;                                   // of the epoch orders
  float lr = 0, min_lr = 0, clip = 0;
  int64_t checkpoint_every = 1, stop_at = 0;  // stop_at 0: none
  double time_limit_min = 0;                  // 0: none
  const char* unit = "item";                  // the progress bar's ("img", "utt")
  const char* rate_name = "items_per_s";      // the metrics log's throughput field
};

// A validation pass's numbers; `extra` goes at the end of its log line (e.g. top5, cer).
struct Validation {
  double loss = 0, accuracy = 0;
  train::Metrics extra;
};

struct EpochHooks {
  // The mean training loss over items batch[first … first + count) of this step's batch (this rank's share; the
  // whole batch on one process). `first` keeps per-item random streams (augmentation) those of one process.
  std::function<Tensor(int64_t step, const std::vector<int64_t>& batch, int64_t first, int64_t count)> loss;
  // What the loss is a mean over among `items` (e.g. characters of their words, for a speller); empty: one unit per
  // item. On N ranks each rank's loss is weighted by its share of the batch's units (parallel.h).
  std::function<int64_t(const std::vector<int64_t>& items)> units;
  std::function<Validation()> validate;    // empty: no validation
  std::function<void(int64_t step)> save;  // a checkpoint of this step
  StepCallback on_step;                    // may be empty
};

// The loss curves for loss.svg: what a resumed run read back from its log, then this run's steps.
struct LossCurves {
  std::vector<double> train_x, train_y, val_x, val_y;
};

struct EpochLoopResult {
  int64_t step = 0;            // the last step taken
  bool stopped_early = false;  // a time limit, --stop-at or on_step ended it before `total`
  double seconds = 0;          // this run's training time
};

// `metrics`: null on the ranks that do not log. `progress`: the bar (a null stream on those ranks).
EpochLoopResult run_epoch_loop(const EpochSchedule& s, const EpochHooks& hooks, Update& update, Ranks& ranks,
                               train::MetricsLogger* metrics, std::ostream& progress, LossCurves& curves);

// The settings both trainers' option structs (ViTTrainOptions, AudioTrainOptions) have, as config.json's
// "settings" keep them: batch, epochs, lr, min_lr, weight_decay, clip, label_smoothing, warmup_epochs, seed,
// checkpoint_every.
template <typename Options>
nlohmann::json epoch_settings_json(const Options& s) {
  return {{"batch", s.batch},
          {"epochs", s.epochs},
          {"lr", s.lr},
          {"min_lr", s.min_lr},
          {"weight_decay", s.weight_decay},
          {"clip", s.clip},
          {"label_smoothing", s.label_smoothing},
          {"warmup_epochs", s.warmup_epochs},
          {"seed", s.seed},
          {"checkpoint_every", s.checkpoint_every}};
}
// Back on --resume (json::exception for a missing key); --epochs and --checkpoint-every given on the command line win.
template <typename Options>
void epoch_settings_from(const nlohmann::json& t, Options* s) {
  s->batch = t.at("batch");
  if (!s->epochs_given) s->epochs = t.at("epochs");
  s->lr = t.at("lr");
  s->min_lr = t.at("min_lr");
  s->weight_decay = t.at("weight_decay");
  s->clip = t.at("clip");
  s->label_smoothing = t.at("label_smoothing");
  s->warmup_epochs = t.at("warmup_epochs");
  s->seed = t.at("seed");
  if (!s->checkpoint_every_given) s->checkpoint_every = t.at("checkpoint_every");
}
// The rates, regularization and stopping options in their ranges, named as the command's flags; attn::Error tagged
// `op`.
template <typename Options>
void check_epoch_options(const Options& s, const char* op) {
  ATTN_CHECK(s.lr > 0 && std::isfinite(s.lr), op, "--lr must be positive, got " << s.lr);
  for (const auto& [name, v] : {std::pair<const char*, float>{"--min-lr", s.min_lr},
                                {"--warmup-epochs", s.warmup_epochs},
                                {"--weight-decay", s.weight_decay},
                                {"--clip", s.clip}})
    ATTN_CHECK(v >= 0 && std::isfinite(v), op, name << " must be >= 0, got " << v);
  ATTN_CHECK(s.label_smoothing >= 0 && s.label_smoothing <= 0.9f, op,
             "--label-smoothing " << s.label_smoothing << " outside 0..0.9");
  ATTN_CHECK(s.dropout >= 0 && s.dropout <= 0.9f, op, "--dropout " << s.dropout << " outside 0..0.9");
  ATTN_CHECK(s.time_limit_min >= 0 && std::isfinite(s.time_limit_min), op,
             "--time-limit-min must be >= 0, got " << s.time_limit_min);
  ATTN_CHECK(!s.out.empty(), op, "--out (the checkpoint folder) is required");
}

}  // namespace attn::trainers
