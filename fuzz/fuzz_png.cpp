// PNG images (viz/image.h): what `attn classify`, `attn explain` and the explorer's Image tab read from a
// user's file or an upload.
#include <string>

#include "attn/viz/image.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string bytes(fuzz::view(data, size));
  int64_t w = 0, h = 0;
  const bool sized = viz::png_size(bytes, &w, &h);
  fuzz::expect_clean([&] {
    const viz::Image img = viz::decode_png(bytes);
    if (sized && (img.width != w || img.height != h)) __builtin_trap();  // the header's size is the image's
  });
  return 0;
}
