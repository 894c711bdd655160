// A picture and what explanation methods make of it, side by side: the picture alone, then one panel per
// map — a score per patch of a g×g grid (a ViT's patches), min-max scaled to [0, 1] within its panel and
// laid over the picture in a colormap (the brighter the colour, the higher the score):
//
//   ImageMapsFigure fig(picture, /*grid=*/7, "Sneaker (predicted Sneaker, 98%)");
//   fig.add("raw attention", scores_49).add("rollout", other_49);
//   fig.save("out/explain.png");   // .png or .svg, chosen by the extension
//
// The same drawing routine makes the SVG and the PNG (attn/viz/canvas.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/viz/colormap.h"
#include "attn/viz/image.h"

namespace attn::viz {

namespace detail {
class Canvas;
}

class ImageMapsFigure {
 public:
  // `grid` patches per side; the picture's sides must be multiples of it.
  ImageMapsFigure(Image picture, int64_t grid, std::string title = {});
  // One panel: grid·grid scores, row by row (patch i·grid + j is row i, column j). NaN draws as kNanColor.
  ImageMapsFigure& add(const std::string& title, const std::vector<float>& scores);
  ImageMapsFigure& pixel_size(double px);  // screen px per picture pixel (default: panels ~140 px wide)
  ImageMapsFigure& colormap(Colormap c);

  std::string to_svg() const;
  std::string to_png(double scale = 1.0) const;
  void save(const std::string& path) const;  // by extension: .png or .svg (attn::Error otherwise)

 private:
  void draw(detail::Canvas& c) const;
  double width() const;
  double height() const;
  struct Panel {
    std::string title;
    std::vector<float> scores;
  };
  Image picture_;
  int64_t grid_;
  std::string title_;
  std::vector<Panel> panels_;
  double pixel_ = 0;
  Colormap cmap_ = Colormap::Viridis;
};

}  // namespace attn::viz
