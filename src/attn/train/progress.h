// ProgressBar: what a training loop shows while it runs.
//
// On a terminal it redraws one line in place (a carriage return, no newline):
//
//   train  42% [##########..............] 420/1000 | loss 2.31 | acc 0.61 | 1.23k items/s | 0:35<0:48
//
// Anywhere else (a CI log, a file, a pipe) \r would pile up into one unreadable line, so it prints plain
// lines instead: one for the first update, then one whenever `print_every_seconds` or
// `print_every_steps` have passed since the last line, and always one for the final step:
//
//   train step 420/1000 (42%) | loss 2.31 | acc 0.61 | 1.23k items/s | elapsed 0:35 | eta 0:48
//
// Speeds are smoothed, as tqdm does: exponential moving averages of the time between updates (dt) and of
// the steps and items they covered, with weight alpha = 0.3 on the newest. rate = avg(items) / avg(dt),
// and ETA = (total - step) / (avg(steps) / avg(dt)). With a steady pace this is exact; after a slow first
// step (allocation, warm caches) it forgets the outlier within a few updates.
#pragma once
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace attn::train {

class ProgressBar {
 public:
  // Seconds on a monotonic clock. Tests pass a fake one to control time.
  using Clock = std::function<double()>;

  // Draws on `out`; whether it is a terminal is asked of the OS (std::cerr/std::clog -> stderr's fd,
  // std::cout -> stdout's fd; any other stream counts as not a terminal). total_steps <= 0 means unknown
  // (no bar, no percentage, no ETA).
  ProgressBar(int64_t total_steps, std::string label, std::ostream& out = std::cerr);
  // For tests and special cases: say whether `out` is a terminal, and where time comes from.
  ProgressBar(int64_t total_steps, std::string label, std::ostream& out, bool is_tty, Clock clock);
  ~ProgressBar();  // calls finish()

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // ---- options (fluent) ------------------------------------------------------------------------
  ProgressBar& print_every_seconds(double seconds);   // plain output: default 10 s (0 = no time trigger)
  ProgressBar& print_every_steps(int64_t steps);      // plain output: default total/10 (0 = no step trigger)
  ProgressBar& redraw_every_seconds(double seconds);  // terminal: default 0.1 s
  ProgressBar& unit(std::string name);                // what items are: "items" (default), "tok", "img"
  ProgressBar& resume_from(int64_t step);             // the run restarts after `step` steps (checkpoint)

  // Reports that `step` steps are done (1..total; a loop counting from 0 passes step + 1), with named
  // values to show and the number of items (tokens, images) processed since the previous update.
  // Updating the same step again (with a validation loss, say) replaces the values shown.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& values = {},
              int64_t items_this_step = 0);
  // Draws the last state if it has not been drawn yet, and ends the terminal line. Idempotent.
  void finish();

  // ---- what it displays, for callers and tests ------------------------------------------------
  double elapsed_seconds() const;   // since construction
  double steps_per_second() const;  // smoothed; 0 until known
  double items_per_second() const;  // smoothed; 0 until known
  double eta_seconds() const;       // smoothed; negative when unknown
  int64_t step() const { return step_; }

  // "0:07", "12:05", "1:02:03"; "?" for a negative or non-finite duration.
  static std::string format_duration(double seconds);

 private:
  std::string render_tty() const;
  std::string render_plain() const;
  std::string values_and_rate() const;  // " | loss 2.31 | 1.23k items/s"
  void draw(double now);

  int64_t total_;
  std::string label_;
  std::ostream& out_;
  bool is_tty_;
  Clock clock_;

  double every_seconds_ = 10.0;
  int64_t every_steps_;
  double redraw_seconds_ = 0.1;
  std::string unit_ = "items";

  double start_time_;
  double last_update_time_;
  int64_t step_ = 0;  // last step reported
  int64_t last_drawn_step_ = 0;
  double last_draw_time_ = 0;
  bool drawn_latest_ = true;  // false while an update has not been drawn
  int64_t draws_ = 0;
  std::vector<std::pair<std::string, double>> values_;

  // Exponential moving averages (alpha = 0.3) of what each update covered.
  double avg_dt_ = 0, avg_steps_ = 0, avg_items_ = 0;
  int64_t updates_ = 0;
  size_t drawn_width_ = 0;  // terminal: length of the line on screen, to blank leftovers
  bool finished_ = false;
};

}  // namespace attn::train
