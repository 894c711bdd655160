// What a training loop tells its caller after every step: the Python module's `on_step` callbacks (live plots
// in a notebook) and any C++ program that wants to watch, or stop, a run of attn/trainers.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>

namespace attn::trainers {

struct StepInfo {
  int64_t step = 0;                    // optimizer steps of this run so far (1, 2, ...)
  int64_t total_steps = 0;             // the run's planned steps (0: not known ahead, e.g. a time limit ends it)
  int64_t epoch = 0;                   // 1-based
  double loss = 0;                     // this step's training loss
  double lr = 0;                       // the learning rate this step used
  double seconds = 0;                  // since the run started
  std::optional<double> val_loss;      // set on the step that ends an evaluation (every epoch)
  std::optional<double> val_accuracy;  // classifiers: set with val_loss
};

// Called after every step; returning false ends the run early, as a time limit does: the best checkpoint so
// far is kept, written and (where the trainer does) evaluated.
using StepCallback = std::function<bool(const StepInfo&)>;

// A stream that writes nothing (a quiet run: `log` or `progress` set to nullptr).
std::ostream& null_stream();

}  // namespace attn::trainers
