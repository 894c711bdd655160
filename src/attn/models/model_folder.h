// The folder the project's own small models are saved in (the KWT's, LAS's): config.json + model.safetensors,
// read and written the same way for each. Internal to src/attn/models (nlohmann-json in the interface).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "attn/core/error.h"
#include "attn/io/safetensors.h"
#include "attn/nn/module.h"

namespace attn::models {

// dir/config.json as a JSON object; attn::Error tagged `op` when the folder or the file is missing ("no `kind` model in
// DIR"), followed by `hint` (how to make one: "train one with: attn train audio --out DIR").
nlohmann::json read_folder_config(const std::string& dir, const char* op, const char* kind, const std::string& hint);

// A configuration read from a folder's JSON: `parse(c)` fills `c` (json::at and get), then c.validate(); either
// failure is an attn::Error tagged `op` that names `path` ("…/config.json: [json.exception…] key 'n_mels' not found";
// a JSON error inside a part of the file names the part too: `part` = "features: ").
template <typename Config, typename Parse>
Config parse_folder_config(const char* op, const std::string& path, Parse&& parse, const char* part = "") {
  Config c;
  try {
    parse(c);
  } catch (const nlohmann::json::exception& e) {
    ATTN_FAIL(op, path << ": " << part << e.what());
  }
  try {
    c.validate();
  } catch (const Error& e) {
    ATTN_FAIL(op, path << ": " << e.what());
  }
  return c;
}

// dir/model.safetensors loaded strictly into `model` (every name and shape must match), then model.eval().
void load_folder_weights(nn::Module& model, const std::string& dir, const char* op);

// Writes dir/model.safetensors (weights stored as `dtype`, with `weights_metadata`) and then dir/config.json (`cfg`
// with `extra_config` — a JSON object's text, or "" — merged in), each atomically; config.json last, so a folder that
// has one is whole.
void save_folder(const std::string& dir, const nn::Module& model, nlohmann::json cfg, const std::string& extra_config,
                 io::StoreDtype dtype, const std::map<std::string, std::string>& weights_metadata, const char* op);

}  // namespace attn::models
