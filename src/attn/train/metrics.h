// MetricsLogger: a training run's numbers as JSON lines, one object per line, appended.
//
//   logger.log({{"step", 10}, {"loss", 1.23}, {"split", "val"}});
// appends
//   {"step":10,"loss":1.23,"split":"val"}
//
// JSON lines (https://jsonlines.org) is easy to append to, to tail while training runs, and to read back
// line by line (pandas.read_json(path, lines=True), or `attn` itself for plots). Keys keep the order
// given. Each line goes to the file in a single write(2) on a descriptor opened with O_APPEND, so a
// crash loses nothing already logged and two loggers on one file never split each other's lines.
// JSON has no NaN or infinity: such values are written as null.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace attn::train {

// One logged value: a number (integers stay integers) or a string.
class MetricValue {
 public:
  using Variant = std::variant<bool, int64_t, uint64_t, double, std::string>;

  MetricValue(bool v) : value_(std::in_place_type<bool>, v) {}
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) MetricValue(T v) {
    if constexpr (std::is_signed_v<T>) value_.emplace<int64_t>(v);
    else value_.emplace<uint64_t>(v);
  }
  template <typename T>
  requires std::is_floating_point_v<T> MetricValue(T v) : value_(std::in_place_type<double>, v) {}
  MetricValue(const char* v) : value_(std::string(v)) {}
  MetricValue(std::string v) : value_(std::move(v)) {}
  MetricValue(std::string_view v) : value_(std::string(v)) {}

  const Variant& value() const { return value_; }

 private:
  Variant value_;
};

// One record: named values in the order they will appear on the line.
using Metrics = std::vector<std::pair<std::string, MetricValue>>;

class MetricsLogger {
 public:
  // Opens `path` for appending, creating it and its parent directories as needed.
  explicit MetricsLogger(const std::string& path);
  ~MetricsLogger();
  MetricsLogger(MetricsLogger&& other) noexcept;
  MetricsLogger& operator=(MetricsLogger&& other) noexcept;
  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;

  // Appends one line. Keys must be distinct. Errors name the path.
  void log(const Metrics& record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace attn::train
