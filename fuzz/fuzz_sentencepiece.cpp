// A SentencePiece model file (spm.model of a translation model folder, data/subword_tokenizer.h): a
// protobuf that SentencePiece parses; a model that loads must encode and decode.
#include <string>

#include "attn/data/subword_tokenizer.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string path = fuzz::put_file("spm/spm.model", fuzz::view(data, size));
  fuzz::expect_clean([&] {
    const data::SubwordTokenizer tok = data::SubwordTokenizer::load(path);
    const std::vector<int64_t> ids = tok.encode("Das Haus ist sehr alt. The house is very old.");
    tok.decode(ids);
  });
  return 0;
}
