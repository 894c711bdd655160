#include "vit_command.h"

#include <iostream>

#include "attn/core/error.h"

namespace attn::cli {

int run_with_vit(const std::string& dir, const std::function<int(models::LoadedViT&)>& body) {
  models::LoadedViT vit;
  try {
    vit = models::load_vit(dir);
  } catch (const Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 1;
  }
  try {
    return body(vit);
  } catch (const Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace attn::cli
