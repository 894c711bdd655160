// The front end (web/), embedded into the binary at build time by cmake/embed_web.cmake.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace attn::cli {

struct WebAsset {
  const char* name;          // file name under web/, e.g. "index.html"; "app.js" is web/js/*.js joined
  const char* content_type;  // e.g. "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
  std::string_view text() const { return {reinterpret_cast<const char*>(data), size}; }
};

const std::vector<WebAsset>& web_assets();

inline const WebAsset* find_web_asset(std::string_view name) {
  for (const WebAsset& a : web_assets())
    if (name == a.name) return &a;
  return nullptr;
}

}  // namespace attn::cli
