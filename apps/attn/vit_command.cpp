#include "vit_command.h"

#include <iostream>
#include <memory>

#include "attn/core/error.h"
#include "data_root.h"

namespace attn::cli {

namespace {

// load() failing -> 1, body() failing -> 2, each with the reason on stderr.
template <class Loaded>
int run_loaded(const std::function<Loaded()>& load, const std::function<int(Loaded&)>& body) {
  Loaded model;
  try {
    model = load();
  } catch (const Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 1;
  }
  try {
    return body(model);
  } catch (const Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int run_with_vit(const std::string& dir, const std::function<int(models::LoadedViT&)>& body) {
  return run_loaded<models::LoadedViT>([&] { return models::load_vit(dir); }, body);
}

int run_with_kwt(const std::string& dir, const std::function<int(models::LoadedKWT&)>& body) {
  return run_loaded<models::LoadedKWT>([&] { return models::load_kwt(dir); }, body);
}

int run_with_clip(const std::string& dir, const std::function<int(models::LoadedClip&)>& body) {
  return run_loaded<models::LoadedClip>([&] { return models::load_clip(dir); }, body);
}

int run_with_gpt(const std::string& dir, const std::function<int(models::LoadedGPT&)>& body) {
  return run_loaded<models::LoadedGPT>([&] { return models::load_gpt(dir, cli::data_root()); }, body);
}

int run_with_translation(const std::string& dir, const std::function<int(models::TranslationModel&)>& body) {
  using Loaded = std::unique_ptr<models::TranslationModel>;  // no default constructor: held by pointer
  return run_loaded<Loaded>(
      [&] { return std::make_unique<models::TranslationModel>(models::TranslationModel::load(dir)); },
      [&](Loaded& m) { return body(*m); });
}

}  // namespace attn::cli
