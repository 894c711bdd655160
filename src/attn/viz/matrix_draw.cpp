#include "attn/viz/matrix_draw.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn::viz::detail {

namespace {
constexpr double kTick = 3;  // tick mark length
constexpr double kGap = 2;   // between a tick and its label
constexpr double kBarTickFont = 10;
constexpr double kBarLabelFont = 11;
}  // namespace

double ColorScale::t(float v) const {
  if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(v)) return v > 0 ? 1.0 : 0.0;
  return std::clamp((static_cast<double>(v) - vmin) / (vmax - vmin), 0.0, 1.0);
}

std::pair<double, double> finite_range(const std::vector<const std::vector<float>*>& matrices) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* m : matrices)
    for (float v : *m)
      if (std::isfinite(v)) lo = std::min(lo, static_cast<double>(v)), hi = std::max(hi, static_cast<double>(v));
  if (!std::isfinite(lo)) return {0.0, 1.0};
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  return {lo, hi};
}

// ---- axis labels ----------------------------------------------------------------------------------------

namespace {
AxisLabels plan_common(const std::vector<std::string>& raw, double cell, double font, size_t max_chars) {
  AxisLabels a;
  a.font = font;
  if (raw.empty()) return a;
  a.text.reserve(raw.size());
  for (const auto& s : raw) a.text.push_back(display_label(s, max_chars));
  // Labels are font px tall; give each ~1.2 lines of room, showing every stride-th when cells are smaller.
  a.stride = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.2 * font / cell - 1e-9)));
  return a;
}

double widest(const AxisLabels& a) {
  double w = 0;
  for (size_t i = 0; i < a.text.size(); i += static_cast<size_t>(a.stride))
    w = std::max(w, text_width(a.text[i], a.font));
  return w;
}
}  // namespace

AxisLabels plan_row_labels(const std::vector<std::string>& raw, double cell, double font, size_t max_chars) {
  AxisLabels a = plan_common(raw, cell, font, max_chars);
  if (!a.text.empty()) a.extent = kTick + kGap + std::ceil(widest(a));
  return a;
}

AxisLabels plan_col_labels(const std::vector<std::string>& raw, double cell, double font, size_t max_chars) {
  AxisLabels a = plan_common(raw, cell, font, max_chars);
  if (a.text.empty()) return a;
  a.stride = 1;
  const double w = widest(a);
  if (w + 4 <= cell) {  // every label fits across its column: keep them horizontal
    a.extent = kTick + kGap + std::ceil(font * 1.05);
    return a;
  }
  a.rotated = true;
  a.stride = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.2 * font / cell - 1e-9)));
  a.extent = kTick + kGap + std::ceil(widest(a));
  return a;
}

void draw_row_labels(Canvas& c, const AxisLabels& a, double x_edge, double y0, double cell) {
  if (a.text.empty()) return;
  c.begin_group("row-labels");
  TextStyle st{a.font, Anchor::End, kTextColor};
  for (size_t i = 0; i < a.text.size(); i += static_cast<size_t>(a.stride)) {
    const double cy = y0 + (static_cast<double>(i) + 0.5) * cell;
    c.line(x_edge - kTick, cy, x_edge, cy, kTickColor, 1);
    c.text(x_edge - kTick - kGap, cy + 0.36 * a.font, a.text[i], st);  // 0.36 em: centres x-height on cy
  }
  c.end_group();
}

void draw_col_labels(Canvas& c, const AxisLabels& a, double x0, double y_edge, double cell, Side side) {
  if (a.text.empty()) return;
  c.begin_group("col-labels");
  const double dir = side == Side::Top ? -1 : 1;  // away from the matrix
  for (size_t j = 0; j < a.text.size(); j += static_cast<size_t>(a.stride)) {
    const double cx = x0 + (static_cast<double>(j) + 0.5) * cell;
    c.line(cx, y_edge, cx, y_edge + dir * kTick, kTickColor, 1);
    // Rotated text is placed by its baseline, which its glyphs overhang: leave a little more room so that
    // the tick never runs into the first character.
    const double y = y_edge + dir * (kTick + kGap + (a.rotated ? 0.35 * a.font : 0.0));
    if (a.rotated) {
      // Rotated by -90 degrees the glyphs stand left of their baseline; shift it right to centre them.
      TextStyle st{a.font, side == Side::Top ? Anchor::Start : Anchor::End, kTextColor, false, -90};
      c.text(cx + 0.36 * a.font, y, a.text[j], st);
    } else {
      TextStyle st{a.font, Anchor::Middle, kTextColor};
      c.text(cx, side == Side::Top ? y - 0.25 * a.font : y + 0.8 * a.font, a.text[j], st);
    }
  }
  c.end_group();
}

// ---- cells ------------------------------------------------------------------------------------------------

void draw_cells(Canvas& c, const std::vector<float>& v, int64_t rows, int64_t cols, const ColorScale& s, double x0,
                double y0, double cell, const std::function<std::string(int64_t, int64_t)>& tooltip) {
  c.begin_group("cells", /*crisp=*/true);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      c.rect(x0 + static_cast<double>(k) * cell, y0 + static_cast<double>(r) * cell, cell, cell,
             s.color(v[static_cast<size_t>(r * cols + k)]), tooltip ? tooltip(r, k) : std::string());
  c.end_group();
}

// ---- colour bar ---------------------------------------------------------------------------------------------

double colorbar_width(const ColorScale& s, const std::string& label) {
  double w = 0;
  for (double t : nice_ticks(s.vmin, s.vmax)) w = std::max(w, text_width(format_tick(t), kBarTickFont));
  return kColorbarBarWidth + kTick + kGap + std::ceil(w) + (label.empty() ? 0 : 6 + std::ceil(kBarLabelFont * 1.1));
}

void draw_colorbar(Canvas& c, const ColorScale& s, const Box& bar, const std::string& label) {
  c.begin_group("colorbar-group");
  c.colorbar(bar.x, bar.y, bar.w, bar.h, s.cmap);
  c.frame(bar.x, bar.y, bar.w, bar.h, kFrameColor, 0.8);
  double widest = 0;
  const double right = bar.x + bar.w;
  for (double t : nice_ticks(s.vmin, s.vmax)) {
    const double y = bar.y + (1 - (t - s.vmin) / (s.vmax - s.vmin)) * bar.h;
    const std::string txt = format_tick(t);
    widest = std::max(widest, text_width(txt, kBarTickFont));
    c.line(right, y, right + kTick, y, kTickColor, 1);
    c.text(right + kTick + kGap, y + 0.36 * kBarTickFont, txt, {kBarTickFont, Anchor::Start, kTextColor});
  }
  if (!label.empty()) {
    const double x = right + kTick + kGap + std::ceil(widest) + 6 + 0.85 * kBarLabelFont;
    c.text(x, bar.y + bar.h / 2, label, {kBarLabelFont, Anchor::Middle, kTextColor, false, -90});
  }
  c.end_group();
}

}  // namespace attn::viz::detail
