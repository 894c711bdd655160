// Drawing surfaces for the figures (internal to attn::viz).
//
// A figure is drawn once, by one routine, onto an abstract Canvas; two back ends turn the same calls
// into SVG text (written by hand) or into pixels (a cairo image surface, encoded as PNG). So a figure's
// SVG and PNG share their layout, colours and fonts ("sans-serif", sized in px), and text is measured
// with cairo for both.
//
// Coordinates are SVG px: x to the right, y down, (0, 0) at the top left. A PNG rendered at scale s is
// s times larger in each direction.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "attn/viz/colormap.h"

namespace attn::viz::detail {

enum class Anchor { Start, Middle, End };  // which point of the text sits at (x, y), as SVG's text-anchor

struct TextStyle {
  double size = 12;  // px
  Anchor anchor = Anchor::Start;
  Rgb color{34, 34, 34};
  bool bold = false;
  double rotate = 0;  // degrees about (x, y), clockwise as in SVG: -90 reads bottom to top
};

class Canvas {
 public:
  virtual ~Canvas() = default;
  // A filled rectangle; `tooltip` becomes an SVG <title> (shown on hover in a browser; ignored in PNG).
  virtual void rect(double x, double y, double w, double h, Rgb fill, const std::string& tooltip = {}) = 0;
  // A rectangle's outline, centred on its edges. `cls` names it in the SVG (class="...").
  virtual void frame(double x, double y, double w, double h, Rgb stroke, double width, const char* cls = nullptr) = 0;
  virtual void line(double x1, double y1, double x2, double y2, Rgb stroke, double width) = 0;
  virtual void dot(double cx, double cy, double r, Rgb fill, Rgb stroke, double width, const char* cls = nullptr) = 0;
  // Text whose baseline passes through (x, y). `s` must be valid UTF-8 (see display_label).
  virtual void text(double x, double y, const std::string& s, const TextStyle& style) = 0;
  // A vertical colour bar: the colormap's t = 0 at the bottom, t = 1 at the top.
  virtual void colorbar(double x, double y, double w, double h, Colormap cmap) = 0;
  // Groups (SVG <g class="...">). `crisp` turns anti-aliasing off inside, so abutting cells leave no seams.
  virtual void begin_group(const char* cls, bool crisp = false) = 0;
  virtual void end_group() = 0;
};

// Renders `draw` into a standalone SVG document of width x height px.
std::string render_svg(int width, int height, const std::function<void(Canvas&)>& draw);
// Renders `draw` into PNG bytes, width*scale x height*scale pixels on white. Errors name `op`.
std::string render_png(int width, int height, double scale, const std::function<void(Canvas&)>& draw, const char* op);

// Writes `content` to `path` atomically (write_file_atomic); errors are rethrown naming `op` and the path.
void save_file(const std::string& path, const std::string& content, const char* op);

// Advance width of `s` in px when drawn in sans-serif at `size` px (measured with cairo's toy text API).
double text_width(const std::string& s, double size, bool bold = false);

// A token made fit to print: invalid UTF-8 bytes become U+FFFD, control characters are written as escapes
// ("\n", "\t", "\x01"), leading and trailing spaces become "␣" (so " the" shows its space), and labels
// longer than max_chars code points are cut with "…".
std::string display_label(const std::string& raw, size_t max_chars = 16);
std::string xml_escape(const std::string& s);  // & < > " (attributes are double-quoted)

// "Nice" tick values in [lo, hi]: multiples of 1, 2 or 5 times a power of ten, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
std::string format_tick(double v);                 // shortest readable form: 0.2, 1.5e-05, 1000
std::string format_value(double v, int decimals);  // cell annotations: fixed decimals; nan, inf, -inf

}  // namespace attn::viz::detail
