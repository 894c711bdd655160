#include "attn/models/model_folder.h"

#include <filesystem>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"
#include "attn/nn/checkpoint.h"

namespace attn::models {

namespace fs = std::filesystem;

nlohmann::json read_folder_config(const std::string& dir, const char* op, const char* kind, const std::string& hint) {
  const fs::path cfg_path = fs::path(dir) / "config.json";
  ATTN_CHECK(fs::is_directory(dir) && fs::exists(cfg_path), op,
             "no " << kind << " model in " << dir << " (config.json missing; " << hint << ")");
  return io::read_json_object(cfg_path.string(), op, "the model's configuration");
}

void load_folder_weights(nn::Module& model, const std::string& dir, const char* op) {
  const fs::path weights = fs::path(dir) / "model.safetensors";
  ATTN_CHECK(fs::exists(weights), op, "no weights in " << dir << " (model.safetensors missing)");
  nn::load_checkpoint(model, weights.string());  // strict: every name and shape must match
  model.eval();
}

void save_folder(const std::string& dir, const nn::Module& model, nlohmann::json cfg, const std::string& extra_config,
                 io::StoreDtype dtype, const std::map<std::string, std::string>& weights_metadata, const char* op) {
  fs::create_directories(dir);
  io::merge_json_object(cfg, extra_config, op);
  const nn::StateDict sd = model.state_dict();
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), io::NamedTensors(sd.begin(), sd.end()),
                       weights_metadata, dtype);
  io::write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
}

}  // namespace attn::models
