// attn generate --model DIR --prompt TEXT — sample text from a GPT checkpointed by `attn train gpt`.
//
// Autoregressive decoding, one character at a time, printed (and flushed) as soon as it is drawn:
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
// text with and without the cache. The context does not slide yet: prompt + new tokens ≤ block_size.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"
#include "attn/models/gpt.h"
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

int generate(const GenerateSettings& s) {
  const fs::path dir = s.model;
  const models::GPTConfig cfg = read_config(dir);
  const data::CharTokenizer tok = data::CharTokenizer::load((dir / "tokenizer.json").string());
  ATTN_CHECK(tok.vocab_size() == cfg.vocab_size, kOp,
             "tokenizer.json has " << tok.vocab_size() << " characters but config.json says vocab_size " << cfg.vocab_size);
  Generator init(0);  // the weights are overwritten by the checkpoint
  models::GPT model(cfg, init);
  nn::load_checkpoint(model, (dir / "model.safetensors").string());  // strict: every name and shape
  model.eval();

  ATTN_CHECK(!s.prompt.empty(), kOp, "--prompt is empty (give at least one character)");
  std::vector<int64_t> ids;
  try {
    ids = tok.encode(s.prompt);
  } catch (const Error& e) {
    ATTN_FAIL(kOp, "the prompt has a character the model never saw in training: " << e.what());
  }
  const auto P = static_cast<int64_t>(ids.size());
  ATTN_CHECK(P + s.max_new_tokens <= cfg.block_size, kOp,
             "prompt (" << P << " characters) + --max-new-tokens " << s.max_new_tokens << " exceeds the model's context of "
                        << cfg.block_size << " (a sliding context is not implemented yet)");

  models::GenerateOptions o;
  o.temperature = s.temperature;
  o.top_k = s.top_k;
  o.top_p = s.top_p;
  o.seed = s.seed;
  o.use_cache = !s.no_cache;

  NoGradGuard no_grad;
  Generator gen(s.seed);
  const int64_t V = cfg.vocab_size;
  std::cout << s.prompt << std::flush;
  std::vector<KVCache> caches;
  Tensor logits;
  if (o.use_cache) {
    caches = model.make_caches(1, P + s.max_new_tokens);
    logits = model.forward_cached(IndexTensor(ids, {1, P}), caches).logits;  // prefill: (1, P, V)
  } else {
    logits = model.forward(IndexTensor(ids, {1, P}));
  }
  for (int64_t i = 0; i < s.max_new_tokens; ++i) {
    const int64_t T = logits.shape()[1];
    const int64_t next = models::GPT::sample_next(logits.data() + (T - 1) * V, V, o, gen);  // last position
    ids.push_back(next);
    std::cout << tok.token(next) << std::flush;  // stream: one character as soon as it exists
    if (i + 1 == s.max_new_tokens) break;
    if (o.use_cache)
      logits = model.forward_cached(IndexTensor({next}, {1, 1}), caches).logits;  // (1, 1, V)
    else
      logits = model.forward(IndexTensor(ids, {1, static_cast<int64_t>(ids.size())}));  // (1, P+i+1, V)
  }
  std::cout << "\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(generate, "Generate text from a GPT checkpoint (attn train gpt)") {
  auto s = std::make_shared<GenerateSettings>();
  sub.add_option("--model", s->model, "Checkpoint directory written by attn train gpt")->required();
  sub.add_option("--prompt", s->prompt, "Text to continue")->required();
  sub.add_option("--max-new-tokens", s->max_new_tokens, "Characters to generate")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--temperature", s->temperature, "Softmax temperature (0 = greedy)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--top-k", s->top_k, "Keep the k most likely characters (0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--top-p", s->top_p, "Nucleus sampling: smallest set reaching probability p")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  sub.add_option("--seed", s->seed, "Seed of the sampling Generator")->capture_default_str();
  sub.add_flag("--no-cache", s->no_cache, "Recompute the whole prefix every step instead of using the KV cache");
  return [s]() -> int { return generate(*s); };
}
