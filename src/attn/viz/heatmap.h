// Attention figures: heatmaps of a matrix with token labels, per-head grids, and alignment plots.
// Written as PNG (through cairo) or as SVG text; both look the same.
//
// Shape legend: R rows (queries, or target tokens), C columns (keys, or source tokens),
// L layers, H heads, T query positions, S key positions.
//
// How to read an attention heatmap. Row i is query i; the colours across that row are the weights
// softmax(q_i · k_j / sqrt(d)) it gives to each key j, so every row of attention weights sums to 1.
// A bright diagonal means "each token looks at itself"; a bright column means "every token looks at
// this key" (often the first token or a separator, a place to park attention); a causal (decoder)
// model leaves the upper triangle empty, because a token may not look ahead. The colour bar on the
// right maps colours back to numbers.
//
//   Tensor w = ...;                                   // (T, S) weights of one head
//   viz::Heatmap(w)
//       .title("Layer 0, head 3")
//       .row_labels(query_tokens).col_labels(key_tokens)
//       .row_title("query").col_title("key")
//       .unit_range()                                 // attention weights: fix the scale to 0..1
//       .save_png("out/attention.png");               // or save_svg(...), to_svg(), to_png()
//
//   viz::HeatmapGrid(weights)                         // (L, H, T, S): one panel per layer and head
//       .title("All heads").labels(tokens).unit_range()
//       .save_png("out/heads.png");
//
//   viz::alignment_plot(weights, source_tokens, target_tokens)    // (T_target, T_source)
//       .gold({{0, 0}, {1, 2}, {2, 1}})               // (target i, source j) pairs from a reference
//       .save_png("out/alignment.png");
//
// Colours: see colormap.h. Values are normalized to [vmin, vmax] — by default the smallest and largest
// finite values, or a fixed range via range()/unit_range(). NaN is drawn grey, -inf (a masked score)
// in the lowest colour and +inf in the highest; every cell is drawn, masked or not.
//
// Size: cells are square and shrink as the matrix grows (40 px for up to 13 tokens, 4 px at 128), so the
// matrix stays within about 520 px; when labels would overlap, only every k-th is shown, and column labels
// wider than their column run bottom-to-top.
// Values are written in the cells when they fit (annotate()). A PNG at scale 2 is sharp on high-DPI
// screens. SVGs carry a hover tooltip per cell (query -> key: value) when there are at most 4096 cells.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/viz/colormap.h"

namespace attn::viz {

namespace detail {
class Canvas;
}

enum class Annotate { Auto, On, Off };  // numbers in the cells: when they fit / always / never
enum class Side { Top, Bottom };

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// Where things landed, in SVG px (= PNG px at scale 1): for tests, and for tools that map a pointer
// position back to a cell. Cell (r, c) is the box at (matrix.x + c * cell, matrix.y + r * cell).
struct HeatmapGeometry {
  int width = 0, height = 0;                           // the whole figure
  Box matrix;                                          // the cells
  double cell = 0;                                     // side of one (square) cell
  Box colorbar;                                        // w == 0 when there is none
  bool annotated = false;                              // values written in the cells
  int64_t row_label_stride = 1, col_label_stride = 1;  // every k-th label is shown
  bool col_labels_rotated = false;                     // column labels run bottom-to-top
};

class Heatmap {
 public:
  explicit Heatmap(const Tensor& matrix);                          // (R, C)
  Heatmap(std::vector<float> values, int64_t rows, int64_t cols);  // (R, C), row-major

  Heatmap& title(std::string text);
  Heatmap& row_labels(std::vector<std::string> labels);  // R labels, left edge, top to bottom (queries)
  Heatmap& col_labels(std::vector<std::string> labels);  // C labels, left to right (keys)
  Heatmap& labels(std::vector<std::string> tokens);      // both axes (self-attention, R == C)
  Heatmap& row_title(std::string text);                  // axis title, e.g. "query"
  Heatmap& col_title(std::string text);                  // axis title, e.g. "key"
  Heatmap& col_labels_at(Side side);                     // Top (default) or Bottom
  Heatmap& max_label_chars(int n);                       // longer labels are cut with "…" (default 16)

  Heatmap& colormap(Colormap cmap);           // default Viridis
  Heatmap& range(double vmin, double vmax);   // fixed colour scale
  Heatmap& unit_range();                      // range(0, 1): for attention weights
  Heatmap& colorbar(bool on = true);          // default on
  Heatmap& colorbar_label(std::string text);  // e.g. "attention weight"

  Heatmap& annotate(Annotate mode);  // default Auto
  Heatmap& decimals(int n);          // in annotations (default 2)
  Heatmap& cell_size(int px);        // 0 = automatic (default)
  Heatmap& tooltips(bool on);        // SVG hover text (default: when <= 4096 cells)

  Heatmap& mark_row_argmax(bool on = true);                       // a dot on each row's largest value
  Heatmap& gold(std::vector<std::pair<int64_t, int64_t>> cells);  // (row, col) outlined in red

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  std::pair<double, double> value_range() const;  // the (vmin, vmax) colours are drawn against
  HeatmapGeometry geometry() const;

  std::string to_svg() const;
  std::string to_png(double scale = 1.0) const;  // PNG bytes
  void save_svg(const std::string& path) const;  // atomic; creates parent directories
  void save_png(const std::string& path, double scale = 1.0) const;

 private:
  struct Layout;
  Layout layout() const;
  void draw(detail::Canvas& c, const Layout& layout) const;

  std::vector<float> values_;  // (R, C)
  int64_t rows_ = 0, cols_ = 0;
  std::string title_, row_title_, col_title_, colorbar_label_;
  std::vector<std::string> row_labels_, col_labels_;
  Side col_side_ = Side::Top;
  int max_label_chars_ = 16;
  Colormap cmap_ = Colormap::Viridis;
  bool fixed_range_ = false;
  double vmin_ = 0, vmax_ = 1;
  bool colorbar_ = true;
  Annotate annotate_ = Annotate::Auto;
  int decimals_ = 2;
  int cell_size_ = 0;
  int tooltips_ = -1;  // -1 automatic
  bool argmax_ = false;
  std::vector<std::pair<int64_t, int64_t>> gold_;
};

// An alignment plot (Bahdanau et al. 2015, figure 3): which source token each target token attended to
// while it was produced. Source tokens run along the top, target tokens down the left; white = no
// attention, dark blue = all of it (Blues, fixed 0..1). A dot marks each row's argmax — the source
// token the model "aligned" that output with; gold() outlines the reference alignment, so agreement
// shows as dots inside red boxes. For translation, and for the dates task (which input characters the
// model read to write each output digit).
//
// weights: (T_target, T_source), each row a distribution over source tokens.
Heatmap alignment_plot(const Tensor& weights, std::vector<std::string> source_tokens,
                       std::vector<std::string> target_tokens);

// Small multiples: one heatmap per (layer, head), all on one colour scale so panels can be compared,
// with a small title on each ("L0 H3"), the token labels once on the outer edges, and one colour bar.
// Reading it: heads in a row are the same layer; a row of similar panels means redundant heads, a
// diagonal panel is a "self" head, a shifted diagonal a "previous token" head, a bright first column
// a head parked on the first token.
struct HeatmapGridGeometry {
  int width = 0, height = 0;
  std::vector<Box> panels;  // in add() order
  double cell = 0;
  Box colorbar;
};

class HeatmapGrid {
 public:
  HeatmapGrid() = default;
  // (H, T, S): one row of H panels "H0".."H{H-1}"; (L, H, T, S): L rows of H panels "L0 H0"...
  // (For a batch (B, H, T, S) of one layer, pick one example first.)
  explicit HeatmapGrid(const Tensor& weights);

  HeatmapGrid& add(const Tensor& matrix, std::string panel_title);  // (T, S), same shape as the others
  HeatmapGrid& add(std::vector<float> values, int64_t rows, int64_t cols, std::string panel_title);
  HeatmapGrid& columns(int64_t n);  // panels per grid row (default: H, or about sqrt(panels))

  HeatmapGrid& title(std::string text);
  HeatmapGrid& row_labels(std::vector<std::string> labels);  // T labels, left of the first column
  HeatmapGrid& col_labels(std::vector<std::string> labels);  // S labels, under the last row
  HeatmapGrid& labels(std::vector<std::string> tokens);
  HeatmapGrid& max_label_chars(int n);
  HeatmapGrid& colormap(Colormap cmap);
  HeatmapGrid& range(double vmin, double vmax);
  HeatmapGrid& unit_range();
  HeatmapGrid& colorbar(bool on = true);
  HeatmapGrid& colorbar_label(std::string text);
  HeatmapGrid& panel_size(int px);  // target side of one panel; 0 (default): 150 px, less beyond 8 columns

  int64_t panels() const { return static_cast<int64_t>(panels_.size()); }
  int64_t grid_rows() const;
  int64_t grid_cols() const;
  std::pair<double, double> value_range() const;
  HeatmapGridGeometry geometry() const;

  std::string to_svg() const;
  std::string to_png(double scale = 1.0) const;
  void save_svg(const std::string& path) const;
  void save_png(const std::string& path, double scale = 1.0) const;

 private:
  struct Panel {
    std::vector<float> values;
    std::string title;
  };
  struct Layout;
  Layout layout() const;
  void draw(detail::Canvas& c, const Layout& layout) const;
  void check_shape(int64_t rows, int64_t cols, const char* op) const;

  std::vector<Panel> panels_;
  int64_t rows_ = 0, cols_ = 0;  // every panel is (rows_, cols_)
  int64_t columns_ = 0;          // 0: automatic
  std::string title_, colorbar_label_;
  std::vector<std::string> row_labels_, col_labels_;
  int max_label_chars_ = 12;
  Colormap cmap_ = Colormap::Viridis;
  bool fixed_range_ = false;
  double vmin_ = 0, vmax_ = 1;
  bool colorbar_ = true;
  int panel_size_ = 0;  // 0: automatic
};

}  // namespace attn::viz
