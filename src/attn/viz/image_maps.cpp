#include "attn/viz/image_maps.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/canvas.h"

namespace attn::viz {

namespace {

constexpr const char* kOp = "ImageMapsFigure";
constexpr double kPad = 12, kTitle = 22, kCaption = 18;

Rgb blend(Rgb under, Rgb over, double alpha) {
  auto mix = [alpha](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround((1 - alpha) * a + alpha * b)); };
  return {mix(under.r, over.r), mix(under.g, over.g), mix(under.b, over.b)};
}

}  // namespace

ImageMapsFigure::ImageMapsFigure(Image picture, int64_t grid, std::string title)
    : picture_(std::move(picture)), grid_(grid), title_(std::move(title)) {
  ATTN_CHECK(picture_.width > 0 && picture_.height > 0, kOp, "the picture is empty");
  ATTN_CHECK(grid_ > 0 && picture_.width % grid_ == 0 && picture_.height % grid_ == 0, kOp,
             "a " << picture_.width << "x" << picture_.height << " picture cannot be cut into a " << grid_ << "x"
                  << grid_ << " grid");
  pixel_ = std::max(1.0, std::round(140.0 / picture_.width));
}

ImageMapsFigure& ImageMapsFigure::add(const std::string& title, const std::vector<float>& scores) {
  ATTN_CHECK(static_cast<int64_t>(scores.size()) == grid_ * grid_, kOp,
             "panel \"" << title << "\" has " << scores.size() << " scores for a " << grid_ << "x" << grid_ << " grid");
  panels_.push_back({title, scores});
  return *this;
}

ImageMapsFigure& ImageMapsFigure::pixel_size(double px) {
  ATTN_CHECK(px > 0, kOp, "pixel size must be positive");
  pixel_ = px;
  return *this;
}

ImageMapsFigure& ImageMapsFigure::colormap(Colormap c) {
  cmap_ = c;
  return *this;
}

double ImageMapsFigure::width() const { return kPad + (panels_.size() + 1) * (picture_.width * pixel_ + kPad); }
double ImageMapsFigure::height() const {
  return (title_.empty() ? 0 : kTitle) + kPad + picture_.height * pixel_ + kCaption + kPad;
}

void ImageMapsFigure::draw(detail::Canvas& c) const {
  const double panel_w = picture_.width * pixel_, panel_h = picture_.height * pixel_;
  const double top = (title_.empty() ? 0 : kTitle) + kPad;
  if (!title_.empty()) c.text(kPad, kTitle - 4, title_, {14, detail::Anchor::Start, {34, 34, 34}, true});
  const int64_t cell_w = picture_.width / grid_, cell_h = picture_.height / grid_;
  for (size_t k = 0; k <= panels_.size(); ++k) {
    const double x0 = kPad + k * (panel_w + kPad);
    std::vector<float> scaled;
    if (k > 0) {  // min-max over the panel's finite scores
      const std::vector<float>& s = panels_[k - 1].scores;
      float lo = INFINITY, hi = -INFINITY;
      for (float v : s)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      for (float v : s) scaled.push_back(!std::isfinite(v) ? NAN : hi > lo ? (v - lo) / (hi - lo) : 0.5f);
    }
    c.begin_group(k == 0 ? "picture" : "map", /*crisp=*/true);
    for (int y = 0; y < picture_.height; ++y)
      for (int x = 0; x < picture_.width; ++x) {
        Rgb px = picture_.at(x, y);
        if (k > 0) {
          const float t = scaled[(y / cell_h) * grid_ + x / cell_w];
          px = blend(px, std::isnan(t) ? kNanColor : colormap_color(cmap_, t), 0.65);
        }
        c.rect(x0 + x * pixel_, top + y * pixel_, pixel_, pixel_, px);
      }
    c.end_group();
    c.text(x0 + panel_w / 2, top + panel_h + 14, k == 0 ? "picture" : panels_[k - 1].title,
           {12, detail::Anchor::Middle});
  }
}

std::string ImageMapsFigure::to_svg() const {
  return detail::render_svg(static_cast<int>(std::ceil(width())), static_cast<int>(std::ceil(height())),
                            [&](detail::Canvas& c) { draw(c); });
}

std::string ImageMapsFigure::to_png(double scale) const {
  ATTN_CHECK(scale > 0, kOp, "scale must be positive");
  return detail::render_png(
      static_cast<int>(std::ceil(width())), static_cast<int>(std::ceil(height())), scale,
      [&](detail::Canvas& c) { draw(c); }, "ImageMapsFigure::to_png");
}

void ImageMapsFigure::save(const std::string& path) const {
  const auto ends = [&](const char* ext) {
    const std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".png")) detail::save_file(path, to_png(2.0), "ImageMapsFigure::save");
  else if (ends(".svg")) detail::save_file(path, to_svg(), "ImageMapsFigure::save");
  else ATTN_FAIL(kOp, path << ": the file name must end in .png or .svg");
}

}  // namespace attn::viz
