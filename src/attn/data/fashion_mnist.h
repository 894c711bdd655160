// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28×28 photos of clothing in 10 classes, 60,000 for
// training and 10,000 for testing — MNIST's format, a harder task. Debian's dataset-fashion-mnist installs
// the four original files under /usr/share/datasets/fashion-mnist:
//
//   train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
//
// The IDX format (LeCun's MNIST page), gzip-compressed, every integer big-endian:
//
//   bytes 0-1   0x0000
//   byte  2     element type: 0x08 = unsigned byte
//   byte  3     number of dimensions d (3 for images, 1 for labels)
//   then        d sizes, 4 bytes each: (N, 28, 28) or (N)
//   then        N·28·28 (or N) bytes, row-major: image n, row r, column c at n·784 + r·28 + c;
//               0 = the black background, 255 = the brightest cloth
//
// A batch turns bytes into the tensor a model reads, as torchvision's ToTensor + Normalize do:
//
//   x = (pixel / 255 - mean) / std          images (B, 1, 28, 28), float
//
// with the training set's mean 0.2860 and std 0.3530 (by default; a model stores the values it was trained
// with). Optional augmentation for training, drawn from a caller's Generator so that a run is repeatable:
// a random crop of the image padded by `pad` zero pixels (background) on each side, and a horizontal flip
// with probability ½ (clothes are left-right symmetric; digits would not be).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Label ids 0..9, as the dataset's README names them.
inline constexpr std::array<const char*, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

// Reads one IDX file (gzip-compressed or plain: zlib reads both). Returns the sizes in `dims` and the
// unsigned bytes. Throws attn::Error naming the file when it is missing, truncated, not gzip/IDX (wrong
// magic), of another element type than unsigned byte, or not of `expected_dims` dimensions.
std::vector<uint8_t> read_idx(const std::string& path, int expected_dims, std::vector<int64_t>* dims);

// A set of equally sized images with class labels, kept as bytes (47 MB for Fashion-MNIST's training set
// as bytes, four times that as floats).
struct ImageDataset {
  int64_t channels = 1, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // (N, channels, height, width), row-major
  std::vector<int64_t> labels;  // (N)
  std::vector<std::string> classes;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_numel() const { return channels * height * width; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_numel(); }
  // Images [begin, end) as a new dataset (a validation split held out of the training images).
  ImageDataset subset(int64_t begin, int64_t end) const;
};

// split = "train" (60,000 images) or "test" (10,000), from `dir`. Checks that images and labels agree in
// number and that every label is a class. Throws attn::Error naming the file and saying how to install
// the package when the folder is missing.
ImageDataset load_fashion_mnist(const std::string& split, const std::string& dir = kFashionMnistDir);

struct Augment {
  int64_t pad = 0;     // random crop of the image padded by `pad` background pixels on each side (0 = off)
  bool hflip = false;  // mirror left-right with probability ½
};

// images (B, C, H, W) normalized as above, labels (B).
struct ImageBatch {
  Tensor images;
  IndexTensor labels;
};

// Images `indices` of `data` as a batch: x = (pixel / 255 - mean) / std. With augmentation, each image
// draws (in this order) its crop offsets dy, dx ∈ [0, 2·pad] and then its flip from `gen`.
ImageBatch make_image_batch(const ImageDataset& data, const std::vector<int64_t>& indices, float mean, float std,
                            const Augment& augment = Augment(), Generator* gen = nullptr);

// Images [first, first + count) of a batch (one rank's share in data-parallel training).
ImageBatch image_batch_rows(const ImageBatch& batch, int64_t first, int64_t count);

}  // namespace attn::data
