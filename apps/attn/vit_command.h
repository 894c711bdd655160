// What `attn classify` and `attn explain` share: open a ViT folder, then do the command's work, with the
// project's exit codes — a folder that cannot be loaded is not the user's input (status 1), while an error in
// the work itself is (a corrupt picture, an index out of range: status 2). Both print the reason.
#pragma once
#include <functional>
#include <string>

#include "attn/models/vit.h"

namespace attn::cli {

int run_with_vit(const std::string& dir, const std::function<int(models::LoadedViT&)>& body);

}  // namespace attn::cli
