#include "attn/viz/heatmap.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/canvas.h"
#include "attn/viz/matrix_draw.h"

namespace attn::viz {

using detail::Anchor;
using detail::AxisLabels;
using detail::Canvas;
using detail::ColorScale;
using detail::TextStyle;

namespace {
constexpr double kPad = 12;  // white margin around the figure
constexpr double kTitleFont = 15;
constexpr double kAxisTitleFont = 12;
constexpr double kLegendFont = 10;
constexpr double kColorbarGap = 16;  // between the matrix and the colour bar
constexpr Rgb kGoldColor{214, 39, 40};
constexpr Rgb kDotFill{255, 255, 255};
constexpr Rgb kDotStroke{34, 34, 34};

// Black numbers on light cells, white on dark ones (by the cell colour's luma).
Rgb annotation_color(Rgb cell) {
  const double luma = (0.299 * cell.r + 0.587 * cell.g + 0.114 * cell.b) / 255.0;
  return luma < 0.45 ? Rgb{255, 255, 255} : Rgb{17, 17, 17};
}

double dot_radius(double cell) { return std::clamp(cell * 0.16, 1.5, 4.5); }
double gold_width(double cell) { return std::clamp(cell * 0.08, 1.0, 2.5); }

// Each row's largest value (NaN ignored); -1 when the row has nothing larger than -inf (fully masked).
std::vector<int64_t> row_argmax(const std::vector<float>& v, int64_t rows, int64_t cols) {
  std::vector<int64_t> best(static_cast<size_t>(rows), -1);
  for (int64_t r = 0; r < rows; ++r) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) {
      const float x = v[static_cast<size_t>(r * cols + c)];
      if (x > m) m = x, best[static_cast<size_t>(r)] = c;
    }
  }
  return best;
}
}  // namespace

// ---- construction and options -------------------------------------------------------------------------------

Heatmap::Heatmap(const Tensor& matrix) {
  ATTN_CHECK(matrix.defined(), "Heatmap", "matrix is an undefined tensor");
  ATTN_CHECK(matrix.dim() == 2, "Heatmap", "matrix has " << matrix.dim() << " dims, expected 2 (R, C)");
  rows_ = matrix.size(0);
  cols_ = matrix.size(1);
  ATTN_CHECK(rows_ > 0 && cols_ > 0, "Heatmap", "matrix is empty (" << rows_ << " x " << cols_ << ")");
  values_ = matrix.to_vector();
}

Heatmap::Heatmap(std::vector<float> values, int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {
  ATTN_CHECK(rows > 0 && cols > 0, "Heatmap", "matrix is empty (" << rows << " x " << cols << ")");
  ATTN_CHECK(static_cast<int64_t>(values.size()) / rows == cols && static_cast<int64_t>(values.size()) % rows == 0,
             "Heatmap", values.size() << " values for a " << rows << " x " << cols << " matrix");
  values_ = std::move(values);
}

Heatmap& Heatmap::title(std::string text) {
  title_ = std::move(text);
  return *this;
}

Heatmap& Heatmap::row_labels(std::vector<std::string> labels) {
  ATTN_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == rows_, "Heatmap::row_labels",
             labels.size() << " labels for " << rows_ << " rows");
  row_labels_ = std::move(labels);
  return *this;
}

Heatmap& Heatmap::col_labels(std::vector<std::string> labels) {
  ATTN_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == cols_, "Heatmap::col_labels",
             labels.size() << " labels for " << cols_ << " columns");
  col_labels_ = std::move(labels);
  return *this;
}

Heatmap& Heatmap::labels(std::vector<std::string> tokens) {
  ATTN_CHECK(tokens.empty() || (static_cast<int64_t>(tokens.size()) == rows_ && rows_ == cols_), "Heatmap::labels",
             tokens.size() << " tokens for a " << rows_ << " x " << cols_
                           << " matrix (use row_labels and col_labels when the axes differ)");
  row_labels_ = tokens;
  col_labels_ = std::move(tokens);
  return *this;
}

Heatmap& Heatmap::row_title(std::string text) {
  row_title_ = std::move(text);
  return *this;
}

Heatmap& Heatmap::col_title(std::string text) {
  col_title_ = std::move(text);
  return *this;
}

Heatmap& Heatmap::col_labels_at(Side side) {
  col_side_ = side;
  return *this;
}

Heatmap& Heatmap::max_label_chars(int n) {
  ATTN_CHECK(n >= 2, "Heatmap::max_label_chars", "needs at least 2, got " << n);
  max_label_chars_ = n;
  return *this;
}

Heatmap& Heatmap::colormap(Colormap cmap) {
  cmap_ = cmap;
  return *this;
}

Heatmap& Heatmap::range(double vmin, double vmax) {
  ATTN_CHECK(std::isfinite(vmin) && std::isfinite(vmax) && vmin < vmax, "Heatmap::range",
             "needs finite vmin < vmax, got " << vmin << " and " << vmax);
  fixed_range_ = true;
  vmin_ = vmin;
  vmax_ = vmax;
  return *this;
}

Heatmap& Heatmap::unit_range() { return range(0, 1); }

Heatmap& Heatmap::colorbar(bool on) {
  colorbar_ = on;
  return *this;
}

Heatmap& Heatmap::colorbar_label(std::string text) {
  colorbar_label_ = std::move(text);
  return *this;
}

Heatmap& Heatmap::annotate(Annotate mode) {
  annotate_ = mode;
  return *this;
}

Heatmap& Heatmap::decimals(int n) {
  ATTN_CHECK(n >= 0 && n <= 6, "Heatmap::decimals", "needs 0..6, got " << n);
  decimals_ = n;
  return *this;
}

Heatmap& Heatmap::cell_size(int px) {
  ATTN_CHECK(px >= 0 && px <= 400, "Heatmap::cell_size", "needs 0 (automatic) to 400 px, got " << px);
  cell_size_ = px;
  return *this;
}

Heatmap& Heatmap::tooltips(bool on) {
  tooltips_ = on ? 1 : 0;
  return *this;
}

Heatmap& Heatmap::mark_row_argmax(bool on) {
  argmax_ = on;
  return *this;
}

Heatmap& Heatmap::gold(std::vector<std::pair<int64_t, int64_t>> cells) {
  for (const auto& [r, c] : cells)
    ATTN_CHECK(r >= 0 && r < rows_ && c >= 0 && c < cols_, "Heatmap::gold",
               "cell (" << r << ", " << c << ") is outside the " << rows_ << " x " << cols_ << " matrix");
  gold_ = std::move(cells);
  return *this;
}

std::pair<double, double> Heatmap::value_range() const {
  if (fixed_range_) return {vmin_, vmax_};
  return detail::finite_range({&values_});
}

// ---- layout ----------------------------------------------------------------------------------------------------

struct Heatmap::Layout {
  HeatmapGeometry g;
  ColorScale scale;
  AxisLabels rows, cols;
  double annotation_font = 0;
  bool tooltips = false;
  double title_x = 0, title_y = 0;
  double row_title_x = 0, col_title_y = 0;
  double legend_x = 0, legend_y = 0;  // baseline of the marker legend (0: none)
};

namespace {
double legend_width(bool argmax, bool gold) {
  double w = 0;
  if (argmax) w += 16 + detail::text_width("argmax of each row", kLegendFont);
  if (argmax && gold) w += 16;
  if (gold) w += 16 + detail::text_width("reference alignment", kLegendFont);
  return w;
}
}  // namespace

Heatmap::Layout Heatmap::layout() const {
  Layout L;
  HeatmapGeometry& g = L.g;
  const auto [vmin, vmax] = value_range();
  L.scale = {cmap_, vmin, vmax};

  // Square cells: large for a few tokens, shrinking so the matrix stays about 520 px on its long side.
  const double n = static_cast<double>(std::max(rows_, cols_));
  const double cell = cell_size_ > 0 ? cell_size_ : std::clamp(std::floor(520 / n), 3.0, 40.0);
  const double mw = static_cast<double>(cols_) * cell, mh = static_cast<double>(rows_) * cell;
  const double label_font = std::clamp(cell * 0.75, 9.0, 12.0);
  L.rows = detail::plan_row_labels(row_labels_, cell, label_font, static_cast<size_t>(max_label_chars_));
  L.cols = detail::plan_col_labels(col_labels_, cell, label_font, static_cast<size_t>(max_label_chars_));

  // Numbers in the cells: in Auto mode only when the widest one fits with a margin.
  if (annotate_ != Annotate::Off && (annotate_ == Annotate::On || cell >= 26)) {
    double font = std::clamp(cell * 0.3, 7.0, 11.0), widest = 0;
    for (float v : values_) widest = std::max(widest, detail::text_width(detail::format_value(v, decimals_), font));
    if (annotate_ == Annotate::On) {
      if (widest + 3 > cell) font = std::max(4.0, font * (cell - 3) / widest);
      L.annotation_font = font;
    } else if (widest + 4 <= cell) {
      L.annotation_font = font;
    }
  }
  L.tooltips = tooltips_ < 0 ? rows_ * cols_ <= 4096 : tooltips_ == 1;

  const double title_h = title_.empty() ? 0 : std::ceil(kTitleFont * 1.2) + 8;
  const double axis_title = std::ceil(kAxisTitleFont * 1.2) + 4;
  const double row_title_w = row_title_.empty() ? 0 : axis_title;
  const double col_band = L.cols.extent + (col_title_.empty() ? 0 : axis_title);
  const double cb_w = colorbar_ ? kColorbarGap + detail::colorbar_width(L.scale, colorbar_label_) : 0;
  const double cb_h = std::max(mh, 120.0);
  const bool legend = argmax_ || !gold_.empty();

  // Left to right: pad, row title, row labels, matrix, colour bar, pad. Top to bottom: pad, title,
  // (column title and labels on top), matrix, (column labels and title below), legend, pad.
  double left = kPad + row_title_w + L.rows.extent;
  const double top = std::ceil(kPad + title_h + (col_side_ == Side::Top ? col_band : 0));
  double width = left + mw + cb_w + kPad;
  double bottom = top + mh + (col_side_ == Side::Bottom ? col_band : 0);
  if (colorbar_) bottom = std::max(bottom, top + cb_h + 6);  // room for the last tick's value
  const double title_w = title_.empty() ? 0 : detail::text_width(title_, kTitleFont, true);
  const double legend_w = legend ? legend_width(argmax_, !gold_.empty()) : 0;
  // A title or legend wider than the rest widens the figure; the rest is centred under it.
  const double needed = std::max(title_w, legend_w) + 2 * kPad;
  double shift = 0;
  if (needed > width) {
    shift = std::ceil((needed - width) / 2);
    width = std::ceil(needed);
  }
  left = std::ceil(left + shift);
  g.width = static_cast<int>(std::ceil(std::max(width, left + mw + cb_w + kPad)));
  g.height = static_cast<int>(std::ceil(bottom + (legend ? 24 : 0) + kPad));
  g.matrix = {left, top, mw, mh};
  g.cell = cell;
  if (colorbar_) g.colorbar = {left + mw + kColorbarGap, top, detail::kColorbarBarWidth, cb_h};
  g.annotated = L.annotation_font > 0;
  g.row_label_stride = L.rows.stride;
  g.col_label_stride = L.cols.stride;
  g.col_labels_rotated = L.cols.rotated;

  L.title_x = std::clamp(left + mw / 2, kPad + title_w / 2, g.width - kPad - title_w / 2);
  L.title_y = kPad + kTitleFont;
  L.row_title_x = left - L.rows.extent - 4;
  L.col_title_y =
      col_side_ == Side::Top ? top - L.cols.extent - 5 : top + mh + L.cols.extent + 4 + 0.8 * kAxisTitleFont;
  if (legend) {
    L.legend_x = std::clamp(left, kPad, g.width - kPad - legend_w);
    L.legend_y = bottom + 18;
  }
  return L;
}

HeatmapGeometry Heatmap::geometry() const { return layout().g; }

// ---- drawing ----------------------------------------------------------------------------------------------------

void Heatmap::draw(Canvas& c, const Layout& L) const {
  const HeatmapGeometry& g = L.g;
  const double x0 = g.matrix.x, y0 = g.matrix.y, cell = g.cell;
  const ColorScale& s = L.scale;

  if (!title_.empty()) c.text(L.title_x, L.title_y, title_, {kTitleFont, Anchor::Middle, detail::kTextColor, true});

  // Cells, each with a hover tooltip in the SVG: row title, index and token -> column title, index and token.
  std::function<std::string(int64_t, int64_t)> tooltip;
  if (L.tooltips) {
    tooltip = [&](int64_t r, int64_t k) {
      auto side = [&](const std::string& name, const char* fallback, int64_t i, const std::vector<std::string>& lab) {
        std::string t = (name.empty() ? fallback : name) + " " + std::to_string(i);
        if (!lab.empty()) t += " '" + detail::display_label(lab[static_cast<size_t>(i)], 40) + "'";
        return t;
      };
      return side(row_title_, "row", r, row_labels_) + " \u2192 " + side(col_title_, "col", k, col_labels_) + ": " +
             detail::format_value(values_[static_cast<size_t>(r * cols_ + k)], 4);
    };
  }
  detail::draw_cells(c, values_, rows_, cols_, s, x0, y0, cell, tooltip);

  if (L.annotation_font > 0) {
    c.begin_group("annotations");
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t k = 0; k < cols_; ++k) {
        const float v = values_[static_cast<size_t>(r * cols_ + k)];
        c.text(x0 + (static_cast<double>(k) + 0.5) * cell,
               y0 + (static_cast<double>(r) + 0.5) * cell + 0.36 * L.annotation_font,
               detail::format_value(v, decimals_), {L.annotation_font, Anchor::Middle, annotation_color(s.color(v))});
      }
    c.end_group();
  }

  // Gold cells: a red outline inside the cell. Argmax: a white dot with a dark rim (centred, or in the
  // top-right corner when the cell holds a number).
  if (!gold_.empty()) {
    const double w = gold_width(cell);
    for (const auto& [r, k] : gold_)
      c.frame(x0 + static_cast<double>(k) * cell + w / 2, y0 + static_cast<double>(r) * cell + w / 2, cell - w,
              cell - w, kGoldColor, w, "gold");
  }
  if (argmax_) {
    const double rad = L.annotation_font > 0 ? std::min(dot_radius(cell), 3.5) : dot_radius(cell);
    const std::vector<int64_t> best = row_argmax(values_, rows_, cols_);
    for (int64_t r = 0; r < rows_; ++r) {
      const int64_t k = best[static_cast<size_t>(r)];
      if (k < 0) continue;
      double cx = x0 + (static_cast<double>(k) + 0.5) * cell, cy = y0 + (static_cast<double>(r) + 0.5) * cell;
      const double inset = rad + gold_width(cell) + 2;  // clear of a gold outline
      if (L.annotation_font > 0) cx += cell / 2 - inset, cy -= cell / 2 - inset;
      c.dot(cx, cy, rad, kDotFill, kDotStroke, std::clamp(rad * 0.3, 0.6, 1.2), "argmax");
    }
  }
  c.frame(x0 - 0.5, y0 - 0.5, g.matrix.w + 1, g.matrix.h + 1, detail::kFrameColor, 1, "matrix-frame");

  detail::draw_row_labels(c, L.rows, x0, y0, cell);
  detail::draw_col_labels(c, L.cols, x0, col_side_ == Side::Top ? y0 : y0 + g.matrix.h, cell, col_side_);
  if (!row_title_.empty())
    c.text(L.row_title_x, y0 + g.matrix.h / 2, row_title_,
           {kAxisTitleFont, Anchor::Middle, detail::kTextColor, false, -90});
  if (!col_title_.empty())
    c.text(x0 + g.matrix.w / 2, L.col_title_y, col_title_, {kAxisTitleFont, Anchor::Middle, detail::kTextColor});

  if (colorbar_) detail::draw_colorbar(c, s, g.colorbar, colorbar_label_);

  if (L.legend_y > 0) {  // what the markers mean
    double x = L.legend_x;
    const double y = L.legend_y;
    const TextStyle st{kLegendFont, Anchor::Start, detail::kTextColor};
    c.begin_group("legend");
    if (argmax_) {
      c.rect(x, y - 10, 12, 12, s.color(static_cast<float>(s.vmax)));
      c.dot(x + 6, y - 4, 3.5, kDotFill, kDotStroke, 1);
      c.text(x + 16, y, "argmax of each row", st);
      x += 16 + detail::text_width("argmax of each row", kLegendFont) + 16;
    }
    if (!gold_.empty()) {
      c.frame(x + 1, y - 9, 10, 10, kGoldColor, 2);
      c.text(x + 16, y, "reference alignment", st);
    }
    c.end_group();
  }
}

std::string Heatmap::to_svg() const {
  const Layout L = layout();
  return detail::render_svg(L.g.width, L.g.height, [&](Canvas& c) { draw(c, L); });
}

std::string Heatmap::to_png(double scale) const {
  const Layout L = layout();
  return detail::render_png(
      L.g.width, L.g.height, scale, [&](Canvas& c) { draw(c, L); }, "Heatmap::to_png");
}

void Heatmap::save_svg(const std::string& path) const { detail::save_file(path, to_svg(), "Heatmap::save_svg"); }

void Heatmap::save_png(const std::string& path, double scale) const {
  detail::save_file(path, to_png(scale), "Heatmap::save_png");
}

// ---- alignment plot -------------------------------------------------------------------------------------------

Heatmap alignment_plot(const Tensor& weights, std::vector<std::string> source_tokens,
                       std::vector<std::string> target_tokens) {
  ATTN_CHECK(weights.defined() && weights.dim() == 2, "alignment_plot",
             "weights has " << (weights.defined() ? weights.dim() : 0) << " dims, expected 2 (T_target, T_source)");
  const int64_t T = weights.size(0), S = weights.size(1);
  ATTN_CHECK(T > 0 && S > 0, "alignment_plot", "weights is empty (" << T << " x " << S << ")");
  ATTN_CHECK(source_tokens.empty() || static_cast<int64_t>(source_tokens.size()) == S, "alignment_plot",
             source_tokens.size() << " source tokens for " << S << " columns (weights is T_target x T_source)");
  ATTN_CHECK(target_tokens.empty() || static_cast<int64_t>(target_tokens.size()) == T, "alignment_plot",
             target_tokens.size() << " target tokens for " << T << " rows (weights is T_target x T_source)");
  Heatmap h(weights);
  h.colormap(Colormap::Blues)
      .unit_range()
      .col_labels(std::move(source_tokens))
      .row_labels(std::move(target_tokens))
      .col_title("source")
      .row_title("target")
      .colorbar_label("attention weight")
      .mark_row_argmax();
  return h;
}

}  // namespace attn::viz
