#include "attn/viz/image.h"

#include <cairo.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/viz/svg_plot.h"

namespace attn::viz {

namespace {

struct Reader {
  const std::string* bytes;
  size_t pos = 0;
};

cairo_status_t read_bytes(void* closure, unsigned char* data, unsigned int length) {
  auto* r = static_cast<Reader*>(closure);
  if (r->pos + length > r->bytes->size()) return CAIRO_STATUS_READ_ERROR;
  std::memcpy(data, r->bytes->data() + r->pos, length);
  r->pos += length;
  return CAIRO_STATUS_SUCCESS;
}

// Copies a cairo image surface's pixels out. Cairo stores native-endian 32-bit words: 0xAARRGGBB with
// colour premultiplied by alpha; we undo the premultiplication and drop alpha.
Image to_image(cairo_surface_t* s, const char* op, const std::string& what) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> guard(s, &cairo_surface_destroy);
  ATTN_CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, op,
             "cannot read " << what << ": " << cairo_status_to_string(cairo_surface_status(s)));
  cairo_surface_flush(s);
  const cairo_format_t format = cairo_image_surface_get_format(s);
  ATTN_CHECK(format == CAIRO_FORMAT_ARGB32 || format == CAIRO_FORMAT_RGB24, op,
             "cannot read " << what << ": unexpected pixel format " << static_cast<int>(format));
  Image img;
  img.width = cairo_image_surface_get_width(s);
  img.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  img.pixels.resize(static_cast<size_t>(img.width) * img.height);
  for (int y = 0; y < img.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < img.width; ++x) {
      const uint32_t p = row[x];
      const uint32_t a = format == CAIRO_FORMAT_RGB24 ? 255 : p >> 24;
      auto un = [a](uint32_t c) { return static_cast<uint8_t>(a == 0 ? 0 : a == 255 ? c : (c * 255 + a / 2) / a); };
      img.pixels[static_cast<size_t>(y) * img.width + x] = {un((p >> 16) & 0xFF), un((p >> 8) & 0xFF), un(p & 0xFF)};
    }
  }
  return img;
}

}  // namespace

Image read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in, "read_png", "cannot open " << path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int64_t width = 0, height = 0;
  ATTN_CHECK(png_size(bytes, &width, &height), "read_png", path << " is not a PNG picture (no PNG signature and header)");
  ATTN_CHECK(width > 0 && height > 0 && width * height <= kMaxPngPixels, "read_png",
             path << " is " << width << "x" << height << " pixels; at most " << kMaxPngPixels << " are read");
  Reader r{&bytes};
  return to_image(cairo_image_surface_create_from_png_stream(read_bytes, &r), "read_png", path);
}

Image grey_image(const uint8_t* pixels, int width, int height) {
  ATTN_CHECK(width > 0 && height > 0, "grey_image", "size " << width << "x" << height);
  Image img;
  img.width = width;
  img.height = height;
  img.pixels.reserve(static_cast<size_t>(width) * height);
  for (int i = 0; i < width * height; ++i) img.pixels.push_back({pixels[i], pixels[i], pixels[i]});
  return img;
}

std::string encode_png(const Image& img) {
  ATTN_CHECK(img.width > 0 && img.height > 0 && img.pixels.size() == static_cast<size_t>(img.width) * img.height,
             "encode_png", "image of " << img.width << "x" << img.height << " with " << img.pixels.size() << " pixels");
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> s(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, img.width, img.height), &cairo_surface_destroy);
  ATTN_CHECK(cairo_surface_status(s.get()) == CAIRO_STATUS_SUCCESS, "encode_png", "cannot allocate the image");
  cairo_surface_flush(s.get());
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const int stride = cairo_image_surface_get_stride(s.get());
  for (int y = 0; y < img.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < img.width; ++x) {
      const Rgb c = img.at(x, y);
      row[x] = 0xFF000000u | (uint32_t{c.r} << 16) | (uint32_t{c.g} << 8) | c.b;
    }
  }
  cairo_surface_mark_dirty(s.get());
  std::string out;
  auto write = [](void* closure, const unsigned char* bytes, unsigned int n) -> cairo_status_t {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(bytes), n);
    return CAIRO_STATUS_SUCCESS;
  };
  ATTN_CHECK(cairo_surface_write_to_png_stream(s.get(), write, &out) == CAIRO_STATUS_SUCCESS, "encode_png",
             "cairo could not encode the image");
  return out;
}

void write_png(const std::string& path, const Image& image) { io::write_file_atomic(path, encode_png(image)); }

bool png_size(const std::string& bytes, int64_t* width, int64_t* height) {
  // 8-byte signature, then the IHDR chunk: length (4), "IHDR", width (4, big-endian), height (4).
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 24 || bytes.compare(0, 8, kSignature, 8) != 0 || bytes.compare(12, 4, "IHDR") != 0) return false;
  auto be32 = [&](size_t at) {
    int64_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  *width = be32(16);
  *height = be32(20);
  return true;
}

Image decode_png(const std::string& bytes) {
  Reader r{&bytes};
  return to_image(cairo_image_surface_create_from_png_stream(read_bytes, &r), "decode_png", "PNG bytes");
}

}  // namespace attn::viz
