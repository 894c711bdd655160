// The explorer's API (explore/explorer.h, what `attn explore` serves to any page on the machine): the request
// line and body. Input: "METHOD /path?key=value&...\n" then the body. Every answer must be 200 or a 4xx with
// a message; a 500 (an exception other than attn::Error got through) is a bug. The model is a tiny GPT with
// random weights and a 96-character vocabulary, built once; small limits keep each request quick.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "attn/core/rng.h"
#include "attn/data/char_tokenizer.h"
#include "attn/explore/explorer.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt_loader.h"
#include "fuzz_common.h"

namespace {

attn::explore::Explorer& explorer() {
  static attn::explore::Explorer* ex = [] {
    using namespace attn;
    std::vector<char32_t> chars;
    for (char32_t c = 32; c < 127; ++c) chars.push_back(c);
    chars.insert(chars.begin(), U'\n');
    auto tok = std::make_shared<const data::CharTokenizer>(chars);
    models::GPTConfig cfg;
    cfg.vocab_size = tok->vocab_size();
    cfg.n_layer = 2;
    cfg.n_head = 2;
    cfg.n_embd = 16;
    cfg.block_size = 32;
    Generator gen(1);
    models::LoadedGPT g{std::make_unique<models::GPT>(cfg, gen), models::char_text_tokenizer(tok), "fuzz-gpt", "attn"};
    g.model->eval();
    explore::Limits limits;
    limits.max_text_bytes = 256;
    limits.max_new_tokens = 8;
    limits.max_intervention_flops = 1e8;
    limits.max_image_bytes = 1 << 16;
    limits.max_image_pixels = 64 * 64;
    return new explore::Explorer(std::move(g), "fuzz-gpt", limits);
  }();
  return *ex;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const auto [line, body] = fuzz::split_once(fuzz::view(data, size), "\n");
  const auto [method, target] = fuzz::split_once(line, " ");
  const auto [path, query_text] = fuzz::split_once(target, "?");
  std::map<std::string, std::string> query;
  std::string_view rest = query_text;
  while (!rest.empty()) {
    const auto [pair, tail] = fuzz::split_once(rest, "&");
    const auto [key, value] = fuzz::split_once(pair, "=");
    query[std::string(key)] = std::string(value);
    rest = tail;
  }
  const explore::ApiResponse r = explorer().handle(std::string(method), std::string(path), query, std::string(body));
  if (r.status >= 500) {  // an internal error: print what escaped, then fail
    std::fprintf(stderr, "explorer answered %d: %s\n", r.status, r.body.c_str());
    __builtin_trap();
  }
  return 0;
}
