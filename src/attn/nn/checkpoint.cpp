#include "attn/nn/checkpoint.h"

#include "attn/io/safetensors.h"

namespace attn::nn {

namespace {
io::NamedTensors to_named(const StateDict& sd) { return io::NamedTensors(sd.begin(), sd.end()); }

StateDict from_file(const io::SafeTensors& file) {
  StateDict sd;
  for (const auto& [name, t] : file.tensors) sd.insert(name, t);
  return sd;
}
}  // namespace

void save_checkpoint(const Module& module, const std::string& path, const Metadata& metadata) {
  io::save_safetensors(path, to_named(module.state_dict()), metadata);
}

Metadata load_checkpoint(Module& module, const std::string& path, bool strict) {
  io::SafeTensors file = io::load_safetensors(path);
  module.load_state_dict(from_file(file), strict);
  return file.metadata;
}

void save_checkpoint(const Optimizer& optimizer, const std::string& path, const Metadata& metadata) {
  io::save_safetensors(path, to_named(optimizer.state_dict()), metadata);
}

Metadata load_checkpoint(Optimizer& optimizer, const std::string& path) {
  io::SafeTensors file = io::load_safetensors(path);
  optimizer.load_state_dict(from_file(file));
  return file.metadata;
}

}  // namespace attn::nn
