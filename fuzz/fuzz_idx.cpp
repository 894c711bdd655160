// IDX files (data/fashion_mnist.h: Fashion-MNIST's images and labels, optionally gzip-compressed): the magic
// number, the dimension sizes and the bytes they promise.
#include <string>
#include <vector>

#include "attn/data/fashion_mnist.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string path = fuzz::put_file("idx/file.idx", fuzz::view(data, size));
  for (int dims : {1, 3}) {
    fuzz::expect_clean([&] {
      std::vector<int64_t> shape;
      const std::vector<uint8_t> bytes = data::read_idx(path, dims, &shape);
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      if (n != static_cast<int64_t>(bytes.size())) __builtin_trap();  // what it returns is what the header says
    });
  }
  return 0;
}
