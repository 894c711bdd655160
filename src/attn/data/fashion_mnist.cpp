#include "attn/data/fashion_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "attn/core/error.h"

namespace attn::data {

namespace {

constexpr const char* kOp = "fashion_mnist";

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

// Reads exactly n bytes or says what went wrong: a truncated file, or a gzip stream that is corrupt.
void read_exact(gzFile f, const std::string& path, void* out, size_t n, const char* what) {
  auto* p = static_cast<unsigned char*>(out);
  size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
    const int r = gzread(f, p + got, chunk);
    if (r < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      ATTN_FAIL(kOp, path << ": corrupt gzip data while reading the " << what << " (" << msg << ")");
    }
    if (r == 0) ATTN_FAIL(kOp, path << ": truncated: the " << what << " end after " << got << " of " << n << " bytes");
    got += static_cast<size_t>(r);
  }
}

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

std::vector<uint8_t> read_idx(const std::string& path, int expected_dims, std::vector<int64_t>* dims) {
  ATTN_CHECK(std::filesystem::is_regular_file(path), kOp, path << ": no such file");
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  ATTN_CHECK(f, kOp, path << ": cannot open");
  unsigned char magic[4];
  read_exact(f.get(), path, magic, 4, "header");
  ATTN_CHECK(magic[0] == 0 && magic[1] == 0, kOp,
             path << ": not an IDX file (magic number " << int(magic[0]) << " " << int(magic[1]) << " " << int(magic[2])
                  << " " << int(magic[3]) << "; IDX files start with 0 0)");
  ATTN_CHECK(magic[2] == 0x08, kOp, path << ": IDX element type " << int(magic[2]) << ", expected 8 (unsigned byte)");
  ATTN_CHECK(magic[3] == expected_dims, kOp,
             path << ": IDX file of " << int(magic[3]) << " dimensions, expected " << expected_dims);
  dims->assign(static_cast<size_t>(expected_dims), 0);
  int64_t total = 1;
  for (int d = 0; d < expected_dims; ++d) {
    unsigned char b[4];
    read_exact(f.get(), path, b, 4, "header");
    (*dims)[d] = big_endian_u32(b);
    ATTN_CHECK((*dims)[d] > 0 && (*dims)[d] <= (int64_t{1} << 24), kOp,
               path << ": implausible size " << (*dims)[d] << " in dimension " << d);
    ATTN_CHECK(total <= (int64_t{1} << 32) / (*dims)[d], kOp,  // checked before multiplying: no overflow
               path << ": the sizes in its header make more than 2^32 elements, more than an IDX file here may hold");
    total *= (*dims)[d];
  }
  // Read as the bytes arrive, a MiB at a time, not allocated at once: a 16-byte header may promise 4 GiB that
  // the file does not hold (memory grows with the data actually read; the short read is reported).
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(std::min<int64_t>(total, int64_t{1} << 26)));
  constexpr int64_t kChunk = 1 << 20;
  while (static_cast<int64_t>(bytes.size()) < total) {
    const size_t at = bytes.size(),
                 n = static_cast<size_t>(std::min<int64_t>(kChunk, total - static_cast<int64_t>(at)));
    bytes.resize(at + n);
    read_exact(f.get(), path, bytes.data() + at, n, "data");
  }
  unsigned char extra;
  const int tail = gzread(f.get(), &extra, 1);
  ATTN_CHECK(tail >= 0, kOp, path << ": corrupt gzip data after the last element (a bad checksum?)");
  ATTN_CHECK(tail == 0, kOp, path << ": more bytes than its header announces");
  return bytes;
}

ImageDataset ImageDataset::subset(int64_t begin, int64_t end) const {
  ATTN_CHECK(0 <= begin && begin <= end && end <= size(), "ImageDataset::subset",
             "range [" << begin << ", " << end << ") outside 0.." << size());
  ImageDataset out;
  out.channels = channels;
  out.height = height;
  out.width = width;
  out.classes = classes;
  out.pixels.assign(pixels.begin() + begin * image_numel(), pixels.begin() + end * image_numel());
  out.labels.assign(labels.begin() + begin, labels.begin() + end);
  return out;
}

ImageDataset load_fashion_mnist(const std::string& split, const std::string& dir) {
  ATTN_CHECK(split == "train" || split == "test", kOp, "split must be \"train\" or \"test\", got \"" << split << "\"");
  ATTN_CHECK(std::filesystem::is_directory(dir), kOp,
             dir << ": no such folder; Fashion-MNIST comes from Debian's dataset-fashion-mnist package "
                    "(apt-get install dataset-fashion-mnist, or bash scripts/setup.sh)");
  const std::string stem = split == "train" ? "train" : "t10k";
  const std::string images_path = (std::filesystem::path(dir) / (stem + "-images-idx3-ubyte.gz")).string();
  const std::string labels_path = (std::filesystem::path(dir) / (stem + "-labels-idx1-ubyte.gz")).string();
  std::vector<int64_t> idims, ldims;
  ImageDataset data;
  data.pixels = read_idx(images_path, 3, &idims);
  std::vector<uint8_t> labels = read_idx(labels_path, 1, &ldims);
  ATTN_CHECK(idims[0] == ldims[0], kOp,
             images_path << " holds " << idims[0] << " images but " << labels_path << " " << ldims[0] << " labels");
  data.channels = 1;
  data.height = idims[1];
  data.width = idims[2];
  data.classes.assign(kFashionMnistClasses.begin(), kFashionMnistClasses.end());
  data.labels.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    ATTN_CHECK(labels[i] < data.classes.size(), kOp,
               labels_path << ": label " << int(labels[i]) << " of item " << i << " is not one of the 10 classes");
    data.labels[i] = labels[i];
  }
  return data;
}

ImageBatch make_image_batch(const ImageDataset& data, const std::vector<int64_t>& indices, float mean, float std,
                            const Augment& augment, Generator* gen) {
  const char* op = "make_image_batch";
  ATTN_CHECK(!indices.empty(), op, "no images asked for");
  ATTN_CHECK(std > 0.f, op, "std must be positive, got " << std);
  ATTN_CHECK(augment.pad >= 0 && augment.pad < std::min(data.height, data.width), op,
             "crop padding " << augment.pad << " must be in [0, " << std::min(data.height, data.width) << ")");
  const bool augmenting = augment.pad > 0 || augment.hflip;
  ATTN_CHECK(!augmenting || gen != nullptr, op, "augmentation needs a Generator");
  const int64_t B = static_cast<int64_t>(indices.size()), C = data.channels, H = data.height, W = data.width;
  ImageBatch batch{Tensor::empty({B, C, H, W}), IndexTensor(std::vector<int64_t>(static_cast<size_t>(B)))};
  const float scale = 1.f / (255.f * std), shift = -mean / std;  // (p / 255 - mean) / std = p·scale + shift
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = indices[b];
    ATTN_CHECK(0 <= i && i < data.size(), op, "image index " << i << " outside 0.." << data.size() - 1);
    batch.labels.data[b] = data.labels[i];
    int64_t dy = 0, dx = 0;
    bool flip = false;
    if (augment.pad > 0) {
      dy = static_cast<int64_t>(gen->randint(static_cast<uint32_t>(2 * augment.pad + 1))) - augment.pad;
      dx = static_cast<int64_t>(gen->randint(static_cast<uint32_t>(2 * augment.pad + 1))) - augment.pad;
    }
    if (augment.hflip) flip = gen->uniform() < 0.5f;
    const uint8_t* src = data.image(i);
    float* dst = batch.images.data() + b * C * H * W;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          // output pixel (y, x) shows padded-image pixel (y + pad + dy', ...) = source (y + dy, x' + dx)
          const int64_t sy = y + dy, sx = (flip ? W - 1 - x : x) + dx;
          const uint8_t p = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? src[(c * H + sy) * W + sx] : 0;
          dst[(c * H + y) * W + x] = static_cast<float>(p) * scale + shift;
        }
  }
  return batch;
}

ImageBatch image_batch_rows(const ImageBatch& batch, int64_t first, int64_t count) {
  const int64_t B = batch.images.shape().empty() ? 0 : batch.images.shape()[0];
  ATTN_CHECK(first >= 0 && count >= 0 && first + count <= B, "image_batch_rows",
             "rows [" << first << ", " << first + count << ") outside a batch of " << B);
  const int64_t per = B > 0 ? batch.images.numel() / B : 0;
  Shape shape = batch.images.shape();
  shape[0] = count;
  ImageBatch out;
  out.images = Tensor::empty(shape);
  std::copy_n(batch.images.data() + first * per, count * per, out.images.data());
  out.labels =
      IndexTensor(std::vector<int64_t>(batch.labels.data.begin() + first, batch.labels.data.begin() + first + count));
  return out;
}

}  // namespace attn::data
