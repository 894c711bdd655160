// What `attn classify` and `attn explain` share: open a model folder (a ViT; for `attn explain --gpt`, a GPT;
// for `attn explain --translation`, a translation model),
// then do the command's work, with the project's exit codes — a folder that cannot be loaded is not the
// user's input (status 1), while an error in the work itself is (a corrupt picture, an index out of range,
// an empty text: status 2). Both print the reason.
#pragma once
#include <functional>
#include <string>

#include "attn/models/clip.h"
#include "attn/models/gpt_loader.h"
#include "attn/models/kwt.h"
#include "attn/models/translation_model.h"
#include "attn/models/vit.h"

namespace attn::cli {

int run_with_vit(const std::string& dir, const std::function<int(models::LoadedViT&)>& body);
// models::load_kwt(dir): an `attn train audio --arch kwt` folder.
int run_with_kwt(const std::string& dir, const std::function<int(models::LoadedKWT&)>& body);
// models::load_gpt(dir, repo root): an `attn train gpt` checkpoint or a Hugging Face GPT-2 folder.
int run_with_gpt(const std::string& dir, const std::function<int(models::LoadedGPT&)>& body);
// models::load_clip(dir): an `attn train clip` folder.
int run_with_clip(const std::string& dir, const std::function<int(models::LoadedClip&)>& body);
// models::TranslationModel::load(dir): an `attn train translate` folder.
int run_with_translation(const std::string& dir, const std::function<int(models::TranslationModel&)>& body);

}  // namespace attn::cli
