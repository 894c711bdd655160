// GPTConfig <-> the "model" object of a checkpoint's config.json (written by `attn train gpt`, read by it
// on --resume and by load_gpt). Only the .cpp files that read or write config.json include this (it pulls
// in nlohmann/json).
#pragma once
#include <nlohmann/json.hpp>

#include "attn/models/gpt.h"

namespace attn::models {

inline nlohmann::json model_config_json(const models::GPTConfig& c) {
  return {{"vocab_size", c.vocab_size},
          {"n_layer", c.n_layer},
          {"n_head", c.n_head},
          {"n_embd", c.n_embd},
          {"block_size", c.block_size},
          {"n_inner", c.n_inner},
          {"layer_norm_epsilon", c.layer_norm_epsilon},
          {"dropout", c.dropout},
          {"bias", c.bias},
          {"n_kv_head", c.n_kv_head},
          {"rope", c.rope},
          {"rope_theta", c.rope_theta}};
}

// Throws nlohmann::json::exception for a missing or mistyped field.
inline models::GPTConfig model_config_from(const nlohmann::json& j) {
  models::GPTConfig c;
  c.vocab_size = j.at("vocab_size").get<int64_t>();
  c.n_layer = j.at("n_layer").get<int64_t>();
  c.n_head = j.at("n_head").get<int64_t>();
  c.n_embd = j.at("n_embd").get<int64_t>();
  c.block_size = j.at("block_size").get<int64_t>();
  c.n_inner = j.value("n_inner", int64_t{0});
  c.layer_norm_epsilon = j.value("layer_norm_epsilon", 1e-5f);
  c.dropout = j.value("dropout", 0.f);
  c.bias = j.value("bias", true);
  c.n_kv_head = j.value("n_kv_head", int64_t{0});
  c.rope = j.value("rope", false);
  c.rope_theta = j.value("rope_theta", 10000.f);
  return c;
}

}  // namespace attn::models
