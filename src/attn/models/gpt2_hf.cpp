#include "attn/models/gpt2_hf.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/safetensors.h"
#include "attn/ops/ops.h"

namespace attn::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kOp = "load_hf_gpt2";

// The file parsed as JSON; a discarded value (is_discarded()) when it cannot be read or is not JSON.
json parse_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return json(json::value_t::discarded);
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

json read_json(const fs::path& path) {
  ATTN_CHECK(std::ifstream(path).good(), kOp, "cannot open " << path.string());
  json j = parse_json_file(path);
  ATTN_CHECK(!j.is_discarded() && j.is_object(), kOp, path.string() << " is not a JSON object");
  return j;
}

// HF's Conv1D layers: the weights stored (in, out) that our Linear keeps as (out, in).
bool is_conv1d_weight(const std::string& name) {
  static const std::regex re(R"(h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight)");
  return std::regex_match(name, re);
}

// The attention mask buffers of older/fine-tuned checkpoints: not parameters, dropped.
bool is_mask_buffer(const std::string& name) {
  static const std::regex re(R"(h\.\d+\.attn\.(bias|masked_bias))");
  return std::regex_match(name, re);
}

}  // namespace

bool is_hf_gpt2_folder(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(path)) return false;
  const json j = parse_json_file(path);
  if (j.is_discarded() || !j.is_object()) return false;
  if (j.contains("model_type")) return j["model_type"] == "gpt2";
  return j.contains("n_embd") && j.contains("n_layer");
}

GPTConfig read_hf_gpt2_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  ATTN_CHECK(fs::is_directory(dir), kOp, "no such folder: " << dir);
  ATTN_CHECK(fs::is_regular_file(path), kOp, "no config.json in " << dir);
  const json j = read_json(path);
  const std::string where = path.string();
  auto integer = [&](const char* key, const char* alt = nullptr) -> int64_t {
    const char* k = j.contains(key) || alt == nullptr ? key : alt;
    ATTN_CHECK(j.contains(k), kOp, where << ": missing field \"" << key << "\"");
    ATTN_CHECK(j[k].is_number_integer() && j[k].get<int64_t>() > 0, kOp,
               where << ": \"" << k << "\" must be a positive integer, got " << j[k].dump());
    return j[k].get<int64_t>();
  };
  if (j.contains("model_type")) {
    ATTN_CHECK(j["model_type"] == "gpt2", kOp,
               where << ": model_type is " << j["model_type"].dump() << ", not \"gpt2\"");
  }
  GPTConfig c;
  c.vocab_size = integer("vocab_size");
  c.block_size = integer("n_positions", "n_ctx");
  c.n_embd = integer("n_embd");
  c.n_layer = integer("n_layer");
  c.n_head = integer("n_head");
  c.n_inner = 0;
  if (j.contains("n_inner") && !j["n_inner"].is_null()) c.n_inner = integer("n_inner");
  if (j.contains("layer_norm_epsilon")) {
    ATTN_CHECK(j["layer_norm_epsilon"].is_number(), kOp, where << ": layer_norm_epsilon must be a number");
    c.layer_norm_epsilon = j["layer_norm_epsilon"].get<float>();
  }
  c.dropout = 0.f;
  c.bias = true;
  const std::string act = j.value("activation_function", std::string("gelu_new"));
  ATTN_CHECK(act == "gelu_new" || act == "gelu_pytorch_tanh", kOp,
             where << ": activation_function \"" << act << "\" is not supported (GPT-2 uses gelu_new, the tanh GELU)");
  ATTN_CHECK(j.value("scale_attn_weights", true), kOp, where << ": scale_attn_weights = false is not supported");
  ATTN_CHECK(!j.value("scale_attn_by_inverse_layer_idx", false), kOp,
             where << ": scale_attn_by_inverse_layer_idx = true is not supported");
  ATTN_CHECK(j.value("tie_word_embeddings", true), kOp,
             where << ": tie_word_embeddings = false is not supported (this GPT ties lm_head to wte)");
  try {
    c.validate();
  } catch (const Error& e) {
    ATTN_FAIL(kOp, where << ": " << e.what());
  }
  return c;
}

std::unique_ptr<GPT> load_hf_gpt2(const std::string& dir) {
  const GPTConfig config = read_hf_gpt2_config(dir);
  const fs::path weights = fs::path(dir) / "model.safetensors";
  ATTN_CHECK(fs::is_regular_file(weights), kOp,
             "no model.safetensors in " << dir << " (pytorch_model.bin is a pickle; convert it to safetensors first)");
  io::SafeTensors file = io::load_safetensors(weights.string());

  // Normalise the names to the official layout, transposing Conv1D weights as we go.
  std::map<std::string, Tensor> tensors;
  Tensor lm_head;
  for (auto& [raw_name, t] : file.tensors) {
    std::string name = raw_name;
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    if (name == "lm_head.weight") {
      lm_head = t;
      continue;
    }
    if (is_mask_buffer(name)) continue;
    if (is_conv1d_weight(name)) {
      ATTN_CHECK(t.dim() == 2, kOp,
                 weights.string() << ": " << raw_name << " must be 2-d, got " << shape_str(t.shape()));
      t = t.transpose(0, 1);  // HF (in, out) -> ours (out, in)
    }
    ATTN_CHECK(tensors.emplace(name, t).second, kOp,
               weights.string() << ": " << name << " appears twice (with and without the \"transformer.\" prefix)");
  }
  file.tensors.clear();

  Generator init(0);  // overwritten by the checkpoint
  auto model = std::make_unique<GPT>(config, init);
  io::NamedTensors params = model->named_parameters();
  try {
    io::load_into(io::SafeTensors{std::move(tensors), {}}, params, /*strict=*/true);
  } catch (const Error& e) {
    ATTN_FAIL(kOp, weights.string() << " does not match config.json: " << e.what());
  }
  if (lm_head.defined()) {
    ATTN_CHECK(lm_head.shape() == model->wte->weight.shape() && max_abs_diff(lm_head, model->wte->weight) == 0.0, kOp,
               weights.string()
                   << ": lm_head.weight differs from wte.weight; GPT-2 ties them and an untied head is not supported");
  }
  model->eval();
  return model;
}

void save_hf_gpt2(const GPT& model, const std::string& dir) {
  const GPTConfig& c = model.config();
  ATTN_CHECK(!c.rope && c.kv_heads() == c.n_head && c.bias, "save_hf_gpt2",
             "only plain GPT-2 models (learned positions, multi-head attention, biases) have a GPT-2 layout");
  fs::create_directories(dir);
  io::NamedTensors out;
  for (auto& [name, t] : model.named_parameters())
    out.push_back({name, is_conv1d_weight(name) ? t.transpose(0, 1) : t});
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
  json config = {{"model_type", "gpt2"},
                 {"architectures", {"GPT2LMHeadModel"}},
                 {"vocab_size", c.vocab_size},
                 {"n_positions", c.block_size},
                 {"n_ctx", c.block_size},
                 {"n_embd", c.n_embd},
                 {"n_layer", c.n_layer},
                 {"n_head", c.n_head},
                 {"n_inner", c.n_inner > 0 ? json(c.n_inner) : json(nullptr)},
                 {"layer_norm_epsilon", c.layer_norm_epsilon},
                 {"activation_function", "gelu_new"},
                 {"resid_pdrop", 0.0},
                 {"embd_pdrop", 0.0},
                 {"attn_pdrop", 0.0},
                 {"initializer_range", 0.02},
                 {"tie_word_embeddings", true}};
  io::write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace attn::models
