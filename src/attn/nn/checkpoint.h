// Checkpoints of modules and optimizers in the safetensors format (what Hugging Face uses).
//
//   nn::save_checkpoint(model, "run/model.safetensors", {{"config", config_json}});   // atomic
//   nn::load_checkpoint(model, "run/model.safetensors");  // strict: names and shapes must match
//
// Saving goes through a temporary file, fsync and rename, so a crash never leaves a half-written
// checkpoint in place of a good one. Loading reports every missing, unexpected and mis-shaped tensor in
// one error, and a truncated or corrupt file is an attn::Error, never a crash.
#pragma once
#include <map>
#include <string>

#include "attn/nn/module.h"
#include "attn/nn/optim.h"

namespace attn::nn {

using Metadata = std::map<std::string, std::string>;

void save_checkpoint(const Module& module, const std::string& path, const Metadata& metadata = {});
// Loads into `module` in place; returns the file's metadata.
Metadata load_checkpoint(Module& module, const std::string& path, bool strict = true);

void save_checkpoint(const Optimizer& optimizer, const std::string& path, const Metadata& metadata = {});
Metadata load_checkpoint(Optimizer& optimizer, const std::string& path);

}  // namespace attn::nn
