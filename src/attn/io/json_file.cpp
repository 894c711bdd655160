#include "attn/io/json_file.h"

#include <fstream>
#include <sstream>

#include "attn/core/error.h"

namespace attn::io {

nlohmann::json read_json_object(const std::string& path, const char* op, const char* what) {
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in, op, "cannot read " << path << " (" << what << ")");
  std::stringstream s;
  s << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(s.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.is_object(), op, path << " is not a JSON object (" << what << ")");
  return j;
}

nlohmann::json read_json_or_null(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
}

void merge_json_object(nlohmann::json& into, const std::string& extra, const char* op) {
  if (extra.empty()) return;
  const nlohmann::json j = nlohmann::json::parse(extra, nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.is_object(), op, "extra_config must be a JSON object");
  into.update(j);
}

}  // namespace attn::io
