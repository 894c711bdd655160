// The character tokenizer's file (data/char_tokenizer.h, tokenizer.json of an `attn train gpt` folder):
// a vocabulary of code points. One that loads must encode and decode text of its own characters.
#include <string>

#include "attn/data/char_tokenizer.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string text(fuzz::view(data, size));
  fuzz::expect_clean([&] {
    const data::CharTokenizer tok = data::CharTokenizer::from_json(text);
    std::vector<int64_t> all;
    for (int64_t id = 0; id < tok.vocab_size(); ++id) all.push_back(id);
    const std::string decoded = tok.decode(all);
    if (tok.encode(decoded) != all) __builtin_trap();  // a vocabulary round-trips its own characters
    tok.encode(text);                                  // and refuses the others with attn::Error
  });
  return 0;
}
