#include "attn/train/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "attn/core/error.h"

namespace attn::train {

MetricsLogger::MetricsLogger(const std::string& path) : path_(path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    ATTN_CHECK(!ec, "MetricsLogger",
               "cannot create directory '" << parent.string() << "' for '" << path << "': " << ec.message());
  }
  // O_APPEND: every write lands at the current end of the file, even with other writers.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ATTN_CHECK(fd_ >= 0, "MetricsLogger", "cannot open '" << path << "' for appending: " << std::strerror(errno));
}

MetricsLogger::~MetricsLogger() {
  if (fd_ >= 0) ::close(fd_);
}

MetricsLogger::MetricsLogger(MetricsLogger&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

MetricsLogger& MetricsLogger::operator=(MetricsLogger&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void MetricsLogger::log(const Metrics& record) {
  ATTN_CHECK(fd_ >= 0, "MetricsLogger", "log() on a logger that was moved from");
  nlohmann::ordered_json line = nlohmann::ordered_json::object();  // keeps the caller's key order
  std::set<std::string> keys;
  for (const auto& [key, value] : record) {
    ATTN_CHECK(keys.insert(key).second, "MetricsLogger",
               "'" << path_ << "': key '" << key << "' appears twice in one record");
    std::visit([&, &key = key](const auto& v) { line[key] = v; }, value.value());
  }
  // Invalid UTF-8 in a string becomes U+FFFD rather than an exception: a log line is not worth a crash.
  std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";

  // One write(2) per line; loop only in the rare case the kernel takes part of it.
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0 && errno == EINTR) continue;
    ATTN_CHECK(w >= 0, "MetricsLogger", "cannot write to '" << path_ << "': " << std::strerror(errno));
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace attn::train
