// safetensors files (io/safetensors.h): the 8-byte header length, the JSON header (dtypes, shapes, offsets,
// __metadata__) and the payload — every checkpoint the project or a user brings goes through this parser.
#include "attn/io/safetensors.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attn::fuzz::expect_clean([&] {
    const attn::io::SafeTensors st = attn::io::from_safetensors_bytes(attn::fuzz::view(data, size), "fuzz");
    volatile float sink = 0;
    for (const auto& [name, t] : st.tensors)  // every value readable, every shape consistent with its bytes
      for (int64_t i = 0; i < t.numel(); ++i) sink = sink + t.data()[i];
  });
  return 0;
}
