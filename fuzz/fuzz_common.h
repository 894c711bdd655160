// What the fuzz targets share. Each fuzz_<name>.cpp defines LLVMFuzzerTestOneInput for one parser of bytes
// that come from outside the program (a checkpoint, a tokenizer, a config, an image, a request): it must
// answer any input with a value or an attn::Error — never a crash, a hang, another exception or a leak.
// attn::Error is caught here; anything else escapes and the fuzzer (or the replay test) reports it.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "attn/core/error.h"

namespace attn::fuzz {

inline std::string_view view(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// A folder of this process for the files a loader must read from disk, removed when the process exits
// (the replay test and every fuzzer run would otherwise leave one attn-fuzz-PID folder behind in /tmp).
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() : path(std::filesystem::temp_directory_path() / ("attn-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

inline const std::string& scratch_dir() {
  static const ScratchDir dir;
  static const std::string name = dir.path.string();
  return name;
}

// Writes `content` to scratch_dir()/name (folders made as needed) and returns its path.
inline std::string put_file(const std::string& name, std::string_view content) {
  const std::filesystem::path p = std::filesystem::path(scratch_dir()) / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(content.data(), static_cast<std::streamsize>(content.size()));
  return p.string();
}

// The input split at the first `sep`: (before, after); without one, (all, "").
inline std::pair<std::string_view, std::string_view> split_once(std::string_view s, std::string_view sep) {
  const size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + sep.size())};
}

// Runs f(); bad bytes may throw attn::Error (the documented answer), nothing else.
template <class F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const attn::Error&) {
  }
}

}  // namespace attn::fuzz
