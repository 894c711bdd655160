// Pieces shared by Heatmap and HeatmapGrid (internal to attn::viz): the colour scale, cells, token
// labels along an axis (thinned when crowded), and the colour bar.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "attn/viz/canvas.h"
#include "attn/viz/heatmap.h"

namespace attn::viz::detail {

inline constexpr Rgb kTextColor{34, 34, 34};
inline constexpr Rgb kTickColor{102, 102, 102};
inline constexpr Rgb kFrameColor{102, 102, 102};

// value -> colour: t = (v - vmin) / (vmax - vmin), clamped; -inf -> 0, +inf -> 1, NaN -> grey.
struct ColorScale {
  Colormap cmap = Colormap::Viridis;
  double vmin = 0, vmax = 1;
  double t(float v) const;
  Rgb color(float v) const { return colormap_color(cmap, t(v)); }
};

// The smallest and largest finite values (0..1 when there are none); a constant matrix gets v ± 0.5,
// so its one colour sits mid-scale.
std::pair<double, double> finite_range(const std::vector<const std::vector<float>*>& matrices);

// Tick labels along one axis of a matrix.
struct AxisLabels {
  std::vector<std::string> text;  // display forms (display_label); empty: no labels
  int64_t stride = 1;             // label every stride-th row/column
  double font = 12;
  bool rotated = false;  // column labels only: drawn bottom-to-top
  double extent = 0;     // px they occupy away from the matrix edge (0 without labels)
};
AxisLabels plan_row_labels(const std::vector<std::string>& raw, double cell, double font, size_t max_chars);
AxisLabels plan_col_labels(const std::vector<std::string>& raw, double cell, double font, size_t max_chars);
// Row labels right-aligned against the matrix's left edge x_edge; rows start at y0.
void draw_row_labels(Canvas& c, const AxisLabels& a, double x_edge, double y0, double cell);
// Column labels against the matrix's top (Side::Top) or bottom edge y_edge; columns start at x0.
void draw_col_labels(Canvas& c, const AxisLabels& a, double x0, double y_edge, double cell, Side side);

// One filled rect per cell, in a <g class="cells">; `tooltip(r, c)` may be empty.
void draw_cells(Canvas& c, const std::vector<float>& v, int64_t rows, int64_t cols, const ColorScale& s, double x0,
                double y0, double cell, const std::function<std::string(int64_t, int64_t)>& tooltip);

// The colour bar: the bar itself (bar_w wide), tick marks and values to its right, an optional label
// running bottom-to-top beyond them. colorbar_width is the total width all of that takes.
inline constexpr double kColorbarBarWidth = 14;
double colorbar_width(const ColorScale& s, const std::string& label);
void draw_colorbar(Canvas& c, const ColorScale& s, const Box& bar, const std::string& label);

}  // namespace attn::viz::detail
