// Fashion-MNIST (attn/data/fashion_mnist.h) from Debian's dataset-fashion-mnist: the real files, the IDX
// reader's errors on broken files (missing, wrong magic, truncated, wrong dims), batches and augmentation.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "attn/core/error.h"
#include "attn/data/fashion_mnist.h"
#include "test_util.h"

namespace attn::testing {
namespace {

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

// An IDX header: 0 0 type dims, then each size as 4 big-endian bytes.
std::vector<unsigned char> idx_header(unsigned char type, std::vector<uint32_t> dims) {
  std::vector<unsigned char> b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  return b;
}

TEST(FashionMnist, TheRealTestSplitHasItsKnownShapeAndFirstLabels) {
  const data::ImageDataset test = data::load_fashion_mnist("test");
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.height, 28);
  EXPECT_EQ(test.width, 28);
  EXPECT_EQ(test.channels, 1);
  // The first five test labels of Fashion-MNIST: ankle boot, pullover, trouser, trouser, shirt.
  EXPECT_EQ(std::vector<int64_t>(test.labels.begin(), test.labels.begin() + 5), std::vector<int64_t>({9, 2, 1, 1, 6}));
  std::vector<int64_t> per_class(10, 0);
  for (int64_t l : test.labels) ++per_class[l];
  for (int64_t n : per_class) EXPECT_EQ(n, 1000);  // a balanced test set
  EXPECT_EQ(test.classes[9], "Ankle boot");
  const data::ImageDataset sub = test.subset(10, 13);
  EXPECT_EQ(sub.size(), 3);
  EXPECT_EQ(sub.labels[0], test.labels[10]);
  EXPECT_EQ(sub.image(2)[400], test.image(12)[400]);
}

TEST(FashionMnist, BrokenFilesGiveErrorsNamingTheFile) {
  const std::string dir = fresh_dir("fmnist_bad");
  const std::string path = dir + "/t.gz";
  EXPECT_NE(error_of([&] {
              std::vector<int64_t> d;
              data::read_idx(dir + "/none.gz", 1, &d);
            }).find("none.gz: no such file"),
            std::string::npos);
  write_gz(path, {0x1f, 0x8b, 0, 0});  // gzip inside gzip: not IDX
  std::vector<int64_t> dims;
  EXPECT_NE(error_of([&] { data::read_idx(path, 1, &dims); }).find("not an IDX file"), std::string::npos);
  auto b = idx_header(0x08, {5});
  b.insert(b.end(), {1, 2, 3});  // 3 of 5 labels
  write_gz(path, b);
  EXPECT_NE(error_of([&] { data::read_idx(path, 1, &dims); }).find("truncated"), std::string::npos);
  write_gz(path, idx_header(0x08, {2, 2}));
  EXPECT_NE(error_of([&] { data::read_idx(path, 1, &dims); }).find("2 dimensions, expected 1"), std::string::npos);
  write_gz(path, idx_header(0x08, {1u << 24, 1u << 24, 1u << 16}));  // 2^64 elements: overflow, caught before
  EXPECT_NE(error_of([&] { data::read_idx(path, 3, &dims); }).find("more than 2^32 elements"), std::string::npos);
  write_gz(path, idx_header(0x0D, {2}));
  EXPECT_NE(error_of([&] { data::read_idx(path, 1, &dims); }).find("element type 13"), std::string::npos);
  b = idx_header(0x08, {3});
  b.insert(b.end(), {7, 8, 9});
  write_gz(path, b);
  EXPECT_EQ(data::read_idx(path, 1, &dims), std::vector<uint8_t>({7, 8, 9}));
  EXPECT_EQ(dims, std::vector<int64_t>({3}));
  {
    std::ofstream(path, std::ios::binary) << std::string("\x1f\x8b\x08\x00garbage", 11);  // a corrupt gzip stream
  }
  EXPECT_NE(error_of([&] { data::read_idx(path, 1, &dims); }).find(path), std::string::npos);
  EXPECT_NE(error_of([&] { data::load_fashion_mnist("test", dir + "/nowhere"); }).find("dataset-fashion-mnist"),
            std::string::npos);
  EXPECT_NE(error_of([&] { data::load_fashion_mnist("valid"); }).find("split must be"), std::string::npos);
}

data::ImageDataset tiny() {  // two 3x3 images
  data::ImageDataset d;
  d.height = d.width = 3;
  d.pixels = {0,  51, 102, 153, 204, 255, 0,  0,  0,  //
              10, 20, 30,  40,  50,  60,  70, 80, 90};
  d.labels = {4, 7};
  d.classes.assign(10, "c");
  return d;
}

TEST(FashionMnist, BatchesNormalizeAsToTensorThenNormalize) {
  const data::ImageBatch b = data::make_image_batch(tiny(), {1, 0}, 0.5f, 0.25f);
  EXPECT_EQ(b.images.shape(), Shape({2, 1, 3, 3}));
  EXPECT_EQ(b.labels.data, std::vector<int64_t>({7, 4}));
  EXPECT_NEAR(b.images.data()[9 + 5], (255.f / 255 - 0.5f) / 0.25f, 1e-6);  // image 0 of the dataset, pixel 5
  EXPECT_NEAR(b.images.data()[0], (10.f / 255 - 0.5f) / 0.25f, 1e-6);
  EXPECT_NE(error_of([] { data::make_image_batch(tiny(), {2}, 0.f, 1.f); }).find("image index 2"), std::string::npos);
  EXPECT_NE(error_of([] {
              data::make_image_batch(tiny(), {0}, 0.f, 1.f, {1, false});
            }).find("needs a Generator"),
            std::string::npos);
}

TEST(FashionMnist, AugmentationShiftsAndMirrorsWithBackgroundFill) {
  // Over many draws with pad 1, every output is the image shifted by (dy, dx) in [-1, 1]², perhaps mirrored,
  // with background (pixel 0) where the shift leaves the image; each of the 18 variants shows up.
  const data::ImageDataset d = tiny();
  Generator gen(5);
  std::set<std::vector<float>> seen;
  for (int i = 0; i < 400; ++i) {
    const data::ImageBatch b = data::make_image_batch(d, {1}, 0.f, 1.f / 255, {1, true}, &gen);
    std::vector<float> v = b.images.to_vector();
    bool matched = false;
    for (int dy = -1; dy <= 1 && !matched; ++dy)
      for (int dx = -1; dx <= 1 && !matched; ++dx)
        for (int flip = 0; flip < 2 && !matched; ++flip) {
          bool ok = true;
          for (int y = 0; y < 3; ++y)
            for (int x = 0; x < 3; ++x) {
              const int sy = y + dy, sx = (flip ? 2 - x : x) + dx;
              const float want = (sy >= 0 && sy < 3 && sx >= 0 && sx < 3) ? d.image(1)[sy * 3 + sx] : 0.f;
              ok = ok && std::abs(v[y * 3 + x] - want) < 1e-3f;
            }
          matched = ok;
        }
    EXPECT_TRUE(matched) << "draw " << i;
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 18u);
}

}  // namespace
}  // namespace attn::testing
