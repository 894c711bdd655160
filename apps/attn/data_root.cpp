#include "data_root.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace attn::cli {

namespace fs = std::filesystem;

const std::string& data_root() {
  static const std::string root = [] {
    if (const char* env = std::getenv("ATTN_DATA_DIR"); env != nullptr && *env != '\0') return std::string(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const fs::path share = exe.parent_path().parent_path() / "share" / "explore-attention";
      if (fs::is_directory(share / "models", ec)) return share.string();
    }
    return std::string(ATTN_SOURCE_DIR);
  }();
  return root;
}

}  // namespace attn::cli
