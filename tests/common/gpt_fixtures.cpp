#include "gpt_fixtures.h"

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/data/char_tokenizer.h"
#include "attn/models/gpt_config_json.h"
#include "attn/nn/checkpoint.h"
#include "test_util.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace attn::testing {

std::unique_ptr<models::GPT> random_gpt(const models::GPTConfig& c, uint64_t seed) {
  Generator gen(seed);
  auto m = std::make_unique<models::GPT>(c, gen);
  NoGradGuard ng;
  for (auto& [name, p] : m->named_parameters()) {
    const bool ln = name.find("ln_") != std::string::npos;
    const Tensor noise = Tensor::randn(p.shape(), gen);
    const float center = ln && name.find("weight") != std::string::npos ? 1.f : 0.f;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (ln ? 0.1f : 0.4f) * noise.data()[i];
  }
  m->eval();
  return m;
}

std::vector<int64_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = g.randint(static_cast<uint32_t>(V));
  return v;
}

std::string tiny_char_gpt_folder(const std::string& name) {
  const std::string dir = fresh_dir(name);
  data::CharTokenizer tok = data::CharTokenizer::from_text("abc def");
  models::GPTConfig c;
  c.vocab_size = tok.vocab_size();
  c.n_layer = 1;
  c.n_head = 1;
  c.n_embd = 8;
  c.block_size = 8;
  Generator g(7);
  models::GPT m(c, g);
  nn::save_checkpoint(m, dir + "/model.safetensors");
  tok.save(dir + "/tokenizer.json");
  std::ofstream(dir + "/config.json") << nlohmann::json{{"model", models::model_config_json(c)}}.dump();
  return dir;
}

}  // namespace attn::testing
