// Reading a PNG into pixels (through cairo), for tests and tools that check what a figure drew and for
// models that read pictures; and writing pixels as a PNG:
//
//   viz::Image img = viz::read_png("out/attention.png");
//   viz::Rgb c = img.at(x, y);   // the pixel at column x, row y (0, 0 = top left)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/viz/colormap.h"

namespace attn::viz {

struct Image {
  int width = 0, height = 0;
  std::vector<Rgb> pixels;  // (height, width), row-major; transparency is dropped
  Rgb at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

// Throws attn::Error naming the path when it cannot be opened, is not a PNG, is corrupt, or has more than
// kMaxPngPixels pixels (a "decompression bomb" is refused before its pixels are allocated).
Image read_png(const std::string& path);
inline constexpr int64_t kMaxPngPixels = int64_t{1} << 26;  // 67 million: 8192 x 8192
Image decode_png(const std::string& bytes);  // PNG bytes, e.g. from Heatmap::to_png()
// The width and height a PNG's header announces (its IHDR chunk), read without decoding it — to refuse a
// "decompression bomb" before allocating its pixels. False when `bytes` do not start like a PNG.
bool png_size(const std::string& bytes, int64_t* width, int64_t* height);
// A grey picture from one byte per pixel (row-major, 0 = black): R = G = B. Fashion-MNIST's images, say.
Image grey_image(const uint8_t* pixels, int width, int height);
// And back: an image as PNG bytes (24-bit RGB), or written to `path` atomically.
std::string encode_png(const Image& image);
void write_png(const std::string& path, const Image& image);

}  // namespace attn::viz
