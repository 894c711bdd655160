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
#include <functional>
#include <iostream>
#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt_loader.h"
#include "commands.h"
#include "data_root.h"

using namespace attn;

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
  const models::LoadedGPT loaded = models::load_gpt(s.model, cli::data_root());
  models::GPT& model = *loaded.model;
  const models::TextTokenizer& codec = loaded.tokenizer;

  ATTN_CHECK(!s.prompt.empty(), kOp, "--prompt is empty (give at least one character)");
  std::vector<int64_t> ids = codec.encode(s.prompt);
  const int64_t V = model.config().vocab_size;
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
    pending += codec.bytes(id);
    const size_t n = complete_utf8_prefix(pending);
    std::cout << pending.substr(0, n) << std::flush;  // stream as soon as a character is whole
    pending.erase(0, n);
    return true;
  };
  std::cout << s.prompt << std::flush;
  model.generate(ids, s.max_new_tokens, o);
  std::cout << pending << "\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(generate, "Generate text from a GPT (attn train gpt checkpoint or Hugging Face GPT-2 folder)") {
  auto s = std::make_shared<GenerateSettings>();
  sub.add_option("--model", s->model, "Checkpoint directory (attn train gpt) or Hugging Face GPT-2 folder")->required();
  sub.add_option("--prompt", s->prompt, "Text to continue")->required();
  sub.add_option("--max-new-tokens", s->max_new_tokens, "Tokens (characters for a character-level model) to generate")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--temperature", s->temperature, "Softmax temperature (0 = greedy)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--top-k", s->top_k, "Keep the k most likely tokens (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--top-p", s->top_p, "Nucleus sampling: smallest set reaching probability p")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub.add_option("--seed", s->seed, "Seed of the sampling Generator")->capture_default_str();
  sub.add_flag("--no-cache", s->no_cache, "Recompute the whole prefix every step instead of using the KV cache");
  return [s]() -> int { return generate(*s); };
}
