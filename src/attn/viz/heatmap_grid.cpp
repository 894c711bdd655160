#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/canvas.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/matrix_draw.h"

namespace attn::viz {

using detail::Anchor;
using detail::AxisLabels;
using detail::Canvas;
using detail::ColorScale;

namespace {
constexpr double kPad = 12;
constexpr double kTitleFont = 15;
constexpr double kPanelTitleFont = 11;
constexpr double kPanelTitleBand = 16;   // above each panel
constexpr double kGapX = 12, kGapY = 8;  // between panels
constexpr double kColorbarGap = 16;
}  // namespace

HeatmapGrid::HeatmapGrid(const Tensor& weights) {
  ATTN_CHECK(
      weights.defined() && (weights.dim() == 3 || weights.dim() == 4), "HeatmapGrid",
      "weights has " << (weights.defined() ? weights.dim() : 0) << " dims, expected 3 (H, T, S) or 4 (L, H, T, S)");
  const bool layered = weights.dim() == 4;
  const int64_t L = layered ? weights.size(0) : 1, H = weights.size(-3), T = weights.size(-2), S = weights.size(-1);
  ATTN_CHECK(
      L > 0 && H > 0 && T > 0 && S > 0, "HeatmapGrid",
      "weights is empty (" << (layered ? std::to_string(L) + " x " : "") << H << " x " << T << " x " << S << ")");
  const std::vector<float> all = weights.to_vector();  // (L, H, T, S)
  rows_ = T;
  cols_ = S;
  columns_ = H;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t h = 0; h < H; ++h) {
      const auto begin = all.begin() + static_cast<std::ptrdiff_t>((l * H + h) * T * S);
      std::string name;  // "L0 H3" (built with append: GCC 12 warns falsely on "L" + std::to_string(l))
      if (layered) name.append("L").append(std::to_string(l)).append(" ");
      name.append("H").append(std::to_string(h));
      panels_.push_back({std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(T * S)), std::move(name)});
    }
}

void HeatmapGrid::check_shape(int64_t rows, int64_t cols, const char* op) const {
  ATTN_CHECK(rows > 0 && cols > 0, op, "matrix is empty (" << rows << " x " << cols << ")");
  ATTN_CHECK(panels_.empty() || (rows == rows_ && cols == cols_), op,
             "matrix is " << rows << " x " << cols << " but the grid's panels are " << rows_ << " x " << cols_);
  ATTN_CHECK(row_labels_.empty() || static_cast<int64_t>(row_labels_.size()) == rows, op,
             "matrix has " << rows << " rows but " << row_labels_.size() << " row labels were given");
  ATTN_CHECK(col_labels_.empty() || static_cast<int64_t>(col_labels_.size()) == cols, op,
             "matrix has " << cols << " columns but " << col_labels_.size() << " column labels were given");
}

HeatmapGrid& HeatmapGrid::add(const Tensor& matrix, std::string panel_title) {
  ATTN_CHECK(matrix.defined() && matrix.dim() == 2, "HeatmapGrid::add",
             "matrix has " << (matrix.defined() ? matrix.dim() : 0) << " dims, expected 2 (T, S)");
  check_shape(matrix.size(0), matrix.size(1), "HeatmapGrid::add");
  rows_ = matrix.size(0);
  cols_ = matrix.size(1);
  panels_.push_back({matrix.to_vector(), std::move(panel_title)});
  return *this;
}

HeatmapGrid& HeatmapGrid::add(std::vector<float> values, int64_t rows, int64_t cols, std::string panel_title) {
  check_shape(rows, cols, "HeatmapGrid::add");
  ATTN_CHECK(static_cast<int64_t>(values.size()) / rows == cols && static_cast<int64_t>(values.size()) % rows == 0,
             "HeatmapGrid::add", values.size() << " values for a " << rows << " x " << cols << " matrix");
  rows_ = rows;
  cols_ = cols;
  panels_.push_back({std::move(values), std::move(panel_title)});
  return *this;
}

HeatmapGrid& HeatmapGrid::columns(int64_t n) {
  ATTN_CHECK(n >= 1, "HeatmapGrid::columns", "needs at least 1 column, got " << n);
  columns_ = n;
  return *this;
}

HeatmapGrid& HeatmapGrid::title(std::string text) {
  title_ = std::move(text);
  return *this;
}

HeatmapGrid& HeatmapGrid::row_labels(std::vector<std::string> labels) {
  ATTN_CHECK(labels.empty() || panels_.empty() || static_cast<int64_t>(labels.size()) == rows_,
             "HeatmapGrid::row_labels", labels.size() << " labels for " << rows_ << " rows");
  row_labels_ = std::move(labels);
  return *this;
}

HeatmapGrid& HeatmapGrid::col_labels(std::vector<std::string> labels) {
  ATTN_CHECK(labels.empty() || panels_.empty() || static_cast<int64_t>(labels.size()) == cols_,
             "HeatmapGrid::col_labels", labels.size() << " labels for " << cols_ << " columns");
  col_labels_ = std::move(labels);
  return *this;
}

HeatmapGrid& HeatmapGrid::labels(std::vector<std::string> tokens) {
  ATTN_CHECK(tokens.empty() || panels_.empty() || (static_cast<int64_t>(tokens.size()) == rows_ && rows_ == cols_),
             "HeatmapGrid::labels",
             tokens.size() << " tokens for " << rows_ << " x " << cols_
                           << " panels (use row_labels and col_labels when the axes differ)");
  row_labels_ = tokens;
  col_labels_ = std::move(tokens);
  return *this;
}

HeatmapGrid& HeatmapGrid::max_label_chars(int n) {
  ATTN_CHECK(n >= 2, "HeatmapGrid::max_label_chars", "needs at least 2, got " << n);
  max_label_chars_ = n;
  return *this;
}

HeatmapGrid& HeatmapGrid::colormap(Colormap cmap) {
  cmap_ = cmap;
  return *this;
}

HeatmapGrid& HeatmapGrid::range(double vmin, double vmax) {
  ATTN_CHECK(std::isfinite(vmin) && std::isfinite(vmax) && vmin < vmax, "HeatmapGrid::range",
             "needs finite vmin < vmax, got " << vmin << " and " << vmax);
  fixed_range_ = true;
  vmin_ = vmin;
  vmax_ = vmax;
  return *this;
}

HeatmapGrid& HeatmapGrid::unit_range() { return range(0, 1); }

HeatmapGrid& HeatmapGrid::colorbar(bool on) {
  colorbar_ = on;
  return *this;
}

HeatmapGrid& HeatmapGrid::colorbar_label(std::string text) {
  colorbar_label_ = std::move(text);
  return *this;
}

HeatmapGrid& HeatmapGrid::panel_size(int px) {
  ATTN_CHECK(px == 0 || (px >= 8 && px <= 2000), "HeatmapGrid::panel_size",
             "needs 0 (automatic) or 8 to 2000 px, got " << px);
  panel_size_ = px;
  return *this;
}

int64_t HeatmapGrid::grid_cols() const {
  const int64_t n = panels();
  if (n == 0) return 0;
  const int64_t c = columns_ > 0 ? columns_ : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  return std::min(c, n);
}

int64_t HeatmapGrid::grid_rows() const {
  const int64_t c = grid_cols();
  return c == 0 ? 0 : (panels() + c - 1) / c;
}

std::pair<double, double> HeatmapGrid::value_range() const {
  if (fixed_range_) return {vmin_, vmax_};
  std::vector<const std::vector<float>*> all;
  for (const auto& p : panels_) all.push_back(&p.values);
  return detail::finite_range(all);
}

// ---- layout ----------------------------------------------------------------------------------------------------

struct HeatmapGrid::Layout {
  HeatmapGridGeometry g;
  ColorScale scale;
  AxisLabels rows, cols;
  double title_x = 0;
};

HeatmapGrid::Layout HeatmapGrid::layout() const {
  ATTN_CHECK(!panels_.empty(), "HeatmapGrid", "the grid has no panels (construct it from a tensor or add() some)");
  // Labels given before the first add() are checked here.
  check_shape(rows_, cols_, "HeatmapGrid");
  Layout L;
  HeatmapGridGeometry& g = L.g;
  const auto [vmin, vmax] = value_range();
  L.scale = {cmap_, vmin, vmax};
  const int64_t gr = grid_rows(), gc = grid_cols();

  // Panels of about 150 px; with many columns smaller (down to 60 px), so 12 heads fit about 1300 px.
  const double target =
      panel_size_ > 0 ? panel_size_ : std::clamp(std::floor(1300.0 / static_cast<double>(gc)), 60.0, 150.0);
  const double cell = std::clamp(std::floor(target / static_cast<double>(std::max(rows_, cols_))), 1.0, 24.0);
  const double pw = static_cast<double>(cols_) * cell, ph = static_cast<double>(rows_) * cell;
  const double label_font = std::clamp(cell * 0.8, 7.0, 10.0);
  L.rows = detail::plan_row_labels(row_labels_, cell, label_font, static_cast<size_t>(max_label_chars_));
  L.cols = detail::plan_col_labels(col_labels_, cell, label_font, static_cast<size_t>(max_label_chars_));

  const double title_h = title_.empty() ? 0 : std::ceil(kTitleFont * 1.2) + 6;
  double left = kPad + L.rows.extent;
  const double top = std::ceil(kPad + title_h + kPanelTitleBand);
  const double grid_w = static_cast<double>(gc) * pw + static_cast<double>(gc - 1) * kGapX;
  const double grid_h = static_cast<double>(gr) * ph + static_cast<double>(gr - 1) * (kPanelTitleBand + kGapY);
  const double cb_h = std::min(grid_h, std::max(ph, 320.0));
  const double cb_w = colorbar_ ? kColorbarGap + detail::colorbar_width(L.scale, colorbar_label_) : 0;
  double width = left + grid_w + cb_w + kPad;
  const double title_w = title_.empty() ? 0 : detail::text_width(title_, kTitleFont, true);
  if (title_w + 2 * kPad > width) {  // a wide title widens the figure; the grid is centred under it
    const double shift = std::ceil((title_w + 2 * kPad - width) / 2);
    left += shift;
    width = std::ceil(title_w + 2 * kPad);
  }
  left = std::ceil(left);
  g.width = static_cast<int>(std::ceil(std::max(width, left + grid_w + cb_w + kPad)));
  g.height = static_cast<int>(std::ceil(top + std::max(grid_h + L.cols.extent, colorbar_ ? cb_h + 6 : 0) + kPad));
  g.cell = cell;
  for (int64_t i = 0; i < panels(); ++i) {
    const double r = static_cast<double>(i / gc), k = static_cast<double>(i % gc);
    g.panels.push_back({left + k * (pw + kGapX), top + r * (ph + kPanelTitleBand + kGapY), pw, ph});
  }
  if (colorbar_) g.colorbar = {left + grid_w + kColorbarGap, top, detail::kColorbarBarWidth, cb_h};
  L.title_x = std::clamp(left + grid_w / 2, kPad + title_w / 2, g.width - kPad - title_w / 2);
  return L;
}

HeatmapGridGeometry HeatmapGrid::geometry() const { return layout().g; }

// ---- drawing ----------------------------------------------------------------------------------------------------

void HeatmapGrid::draw(Canvas& c, const Layout& L) const {
  const HeatmapGridGeometry& g = L.g;
  const int64_t gc = grid_cols(), n = panels();
  if (!title_.empty())
    c.text(L.title_x, kPad + kTitleFont, title_, {kTitleFont, Anchor::Middle, detail::kTextColor, true});
  for (int64_t i = 0; i < n; ++i) {
    const Box& b = g.panels[static_cast<size_t>(i)];
    c.begin_group("panel");
    c.text(b.x + b.w / 2, b.y - 5, panels_[static_cast<size_t>(i)].title,
           {kPanelTitleFont, Anchor::Middle, detail::kTextColor});
    detail::draw_cells(c, panels_[static_cast<size_t>(i)].values, rows_, cols_, L.scale, b.x, b.y, g.cell, {});
    c.frame(b.x - 0.5, b.y - 0.5, b.w + 1, b.h + 1, detail::kFrameColor, 1);
    // Shared labels on the outer edges only: rows left of the first column, columns under the lowest
    // panel of each column.
    if (i % gc == 0) detail::draw_row_labels(c, L.rows, b.x, b.y, g.cell);
    if (i + gc >= n) detail::draw_col_labels(c, L.cols, b.x, b.y + b.h, g.cell, Side::Bottom);
    c.end_group();
  }
  if (colorbar_) detail::draw_colorbar(c, L.scale, g.colorbar, colorbar_label_);
}

std::string HeatmapGrid::to_svg() const {
  const Layout L = layout();
  return detail::render_svg(L.g.width, L.g.height, [&](Canvas& c) { draw(c, L); });
}

std::string HeatmapGrid::to_png(double scale) const {
  const Layout L = layout();
  return detail::render_png(
      L.g.width, L.g.height, scale, [&](Canvas& c) { draw(c, L); }, "HeatmapGrid::to_png");
}

void HeatmapGrid::save_svg(const std::string& path) const {
  detail::save_file(path, to_svg(), "HeatmapGrid::save_svg");
}

void HeatmapGrid::save_png(const std::string& path, double scale) const {
  detail::save_file(path, to_png(scale), "HeatmapGrid::save_png");
}

}  // namespace attn::viz
