#include "attn/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace attn::train {

namespace {

constexpr double kSmoothing = 0.3;  // weight of the newest update in the moving averages (tqdm's default)
constexpr int kBarWidth = 24;

bool stream_is_terminal(const std::ostream& out) {
  if (&out == &std::cerr || &out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
  if (&out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  return false;
}

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// A value as a person reads it: integers whole, others with 4 significant digits ("2.31", "0.0001234").
std::string format_value(double v) {
  char buf[32];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e9) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// A rate with a k/M/G suffix: "850.0", "1.23k", "45.60M".
std::string format_rate(double per_second) {
  const char* suffix = "";
  for (const char* s : {"k", "M", "G"}) {
    if (per_second < 1000) break;
    per_second /= 1000;
    suffix = s;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, *suffix ? "%.2f%s" : "%.1f%s", per_second, suffix);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(int64_t total_steps, std::string label, std::ostream& out)
    : ProgressBar(total_steps, std::move(label), out, stream_is_terminal(out), steady_seconds) {}

ProgressBar::ProgressBar(int64_t total_steps, std::string label, std::ostream& out, bool is_tty, Clock clock)
    : total_(total_steps),
      label_(std::move(label)),
      out_(out),
      is_tty_(is_tty),
      clock_(std::move(clock)),
      every_steps_(total_steps >= 10 ? total_steps / 10 : 1) {
  start_time_ = last_update_time_ = last_draw_time_ = clock_();
}

ProgressBar::~ProgressBar() {
  try {
    finish();
  } catch (...) {  // a destructor must not throw; a failed final draw is not worth a terminate()
  }
}

ProgressBar& ProgressBar::print_every_seconds(double seconds) {
  every_seconds_ = seconds;
  return *this;
}
ProgressBar& ProgressBar::print_every_steps(int64_t steps) {
  every_steps_ = steps;
  return *this;
}
ProgressBar& ProgressBar::redraw_every_seconds(double seconds) {
  redraw_seconds_ = seconds;
  return *this;
}
ProgressBar& ProgressBar::unit(std::string name) {
  unit_ = std::move(name);
  return *this;
}
ProgressBar& ProgressBar::resume_from(int64_t step) {
  step_ = last_drawn_step_ = step;
  return *this;
}

void ProgressBar::update(int64_t step, const std::vector<std::pair<std::string, double>>& values,
                         int64_t items_this_step) {
  const double now = clock_();
  const double dt = now - last_update_time_;
  const int64_t steps = step - step_;
  if (steps > 0 && dt >= 0) {
    // Moving averages of one update's duration, steps and items; the first update seeds them.
    // A repeated update of the same step (say, adding a validation loss) leaves them alone, and the
    // time it took counts towards the next step, so the ETA includes evaluation time.
    const double a = updates_ == 0 ? 1.0 : kSmoothing;
    avg_dt_ = a * dt + (1 - a) * avg_dt_;
    avg_steps_ = a * static_cast<double>(steps) + (1 - a) * avg_steps_;
    avg_items_ = a * static_cast<double>(items_this_step) + (1 - a) * avg_items_;
    ++updates_;
    last_update_time_ = now;
  }
  step_ = step;
  values_ = values;
  drawn_latest_ = false;
  finished_ = false;

  const bool first = draws_ == 0;
  const bool last = total_ > 0 && step >= total_;
  const double since_draw = now - last_draw_time_;
  bool due;
  if (is_tty_) due = first || last || since_draw >= redraw_seconds_;
  else
    due = first || last || (every_steps_ > 0 && step - last_drawn_step_ >= every_steps_) ||
          (every_seconds_ > 0 && since_draw >= every_seconds_);
  if (due) draw(now);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!drawn_latest_) draw(clock_());
  if (is_tty_ && drawn_width_ > 0) {
    out_ << '\n';
    out_.flush();
    drawn_width_ = 0;
  }
}

void ProgressBar::draw(double now) {
  if (is_tty_) {
    std::string line = render_tty();
    const size_t width = line.size();
    // Overwrite what is on screen: back to column 0, the new line, blanks over any longer old line.
    if (width < drawn_width_) line.append(drawn_width_ - width, ' ');
    out_ << '\r' << line;
    drawn_width_ = width;
  } else {
    out_ << render_plain() << '\n';
  }
  out_.flush();
  last_draw_time_ = now;
  last_drawn_step_ = step_;
  drawn_latest_ = true;
  ++draws_;
}

double ProgressBar::elapsed_seconds() const { return clock_() - start_time_; }

double ProgressBar::steps_per_second() const { return avg_dt_ > 0 ? avg_steps_ / avg_dt_ : 0.0; }

double ProgressBar::items_per_second() const { return avg_dt_ > 0 ? avg_items_ / avg_dt_ : 0.0; }

double ProgressBar::eta_seconds() const {
  const double rate = steps_per_second();
  if (total_ <= 0 || rate <= 0) return -1.0;
  return static_cast<double>(std::max<int64_t>(total_ - step_, 0)) / rate;
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

std::string ProgressBar::values_and_rate() const {
  std::ostringstream s;
  for (const auto& [name, value] : values_) s << " | " << name << ' ' << format_value(value);
  if (items_per_second() > 0) s << " | " << format_rate(items_per_second()) << ' ' << unit_ << "/s";
  return s.str();
}

std::string ProgressBar::render_tty() const {
  std::ostringstream s;
  s << label_;
  if (total_ > 0) {
    const int64_t done = std::clamp<int64_t>(step_, 0, total_);
    const int filled = static_cast<int>(done * kBarWidth / total_);
    s << ' ' << std::setw(3) << done * 100 / total_ << "% [" << std::string(filled, '#')
      << std::string(kBarWidth - filled, '.') << "] " << step_ << '/' << total_;
  } else {
    s << ' ' << step_;
  }
  s << values_and_rate() << " | " << format_duration(elapsed_seconds());
  if (total_ > 0) s << '<' << format_duration(eta_seconds());
  return s.str();
}

std::string ProgressBar::render_plain() const {
  std::ostringstream s;
  s << label_ << " step " << step_;
  if (total_ > 0) s << '/' << total_ << " (" << std::clamp<int64_t>(step_, 0, total_) * 100 / total_ << "%)";
  s << values_and_rate() << " | elapsed " << format_duration(elapsed_seconds());
  if (total_ > 0) s << " | eta " << format_duration(eta_seconds());
  return s.str();
}

}  // namespace attn::train
