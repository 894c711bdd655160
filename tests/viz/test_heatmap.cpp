// Attention figures: heatmaps, grids and alignment plots, as PNG (read back through cairo and checked
// pixel by pixel) and as SVG (checked as text).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/tensor.h"
#include "attn/viz/canvas.h"
#include "attn/viz/colormap.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/image.h"
#include "test_util.h"

namespace attn::viz {
namespace {

int count(const std::string& s, const std::string& sub) {
  int n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}

// The text between the first `open` and the `</g>` that closes it (groups of cells do not nest).
std::string group(const std::string& svg, const std::string& open) {
  const size_t b = svg.find(open);
  if (b == std::string::npos) return {};
  return svg.substr(b, svg.find("</g>", b) - b);
}

// Opening and closing tags balance for the element kinds the figures use.
void expect_balanced(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(svg, "<svg"), 1);
  EXPECT_EQ(count(svg, "</svg>"), 1);
  EXPECT_EQ(count(svg, "<g "), count(svg, "</g>"));
  EXPECT_EQ(count(svg, "<text "), count(svg, "</text>"));
  EXPECT_EQ(count(svg, "<title>"), count(svg, "</title>"));
  EXPECT_EQ(count(svg, "<linearGradient "), count(svg, "</linearGradient>"));
  EXPECT_EQ(svg.find("nan\""), std::string::npos);  // no NaN coordinates
}

// The PNG signature, then the IHDR chunk: width and height as big-endian 32-bit numbers.
void expect_png(const std::string& png, int width, int height) {
  ASSERT_GE(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(png[at + 3]));
  };
  EXPECT_EQ(be32(16), static_cast<uint32_t>(width));
  EXPECT_EQ(be32(20), static_cast<uint32_t>(height));
}

void expect_near(Rgb got, Rgb want, int tol, const std::string& what) {
  EXPECT_LE(std::abs(got.r - want.r), tol) << what << ": got " << got.hex() << ", want " << want.hex();
  EXPECT_LE(std::abs(got.g - want.g), tol) << what << ": got " << got.hex() << ", want " << want.hex();
  EXPECT_LE(std::abs(got.b - want.b), tol) << what << ": got " << got.hex() << ", want " << want.hex();
}

// The pixel at the centre of cell (r, c).
Rgb cell_pixel(const Image& img, const HeatmapGeometry& g, int r, int c) {
  return img.at(static_cast<int>(g.matrix.x + (c + 0.5) * g.cell), static_cast<int>(g.matrix.y + (r + 0.5) * g.cell));
}

// Runs `f`, expecting an attn::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing " << parts[0];
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---- colormaps --------------------------------------------------------------------------------------------

TEST(VizColormap, EndpointsMidpointAndNaN) {
  EXPECT_EQ(colormap_color(Colormap::Viridis, 0), (Rgb{68, 1, 84}));     // matplotlib's viridis(0)
  EXPECT_EQ(colormap_color(Colormap::Viridis, 1), (Rgb{253, 231, 37}));  // viridis(1) = #fde725
  expect_near(colormap_color(Colormap::Viridis, 0.5), {33, 145, 140}, 2, "viridis(0.5)");
  EXPECT_EQ(colormap_color(Colormap::Blues, 0), (Rgb{247, 251, 255}));
  EXPECT_EQ(colormap_color(Colormap::Blues, 1), (Rgb{8, 48, 107}));
  EXPECT_EQ(colormap_color(Colormap::RdBu, 0.5), (Rgb{247, 247, 247}));  // 0 of a symmetric range is white
  EXPECT_EQ(colormap_color(Colormap::Viridis, -3), colormap_color(Colormap::Viridis, 0));  // clamped
  EXPECT_EQ(colormap_color(Colormap::Viridis, 7), colormap_color(Colormap::Viridis, 1));
  EXPECT_EQ(colormap_color(Colormap::Blues, NAN), kNanColor);
  // Viridis gets lighter (luma rises) all the way: "brighter = larger" holds in greyscale.
  double prev = -1;
  for (int i = 0; i <= 64; ++i) {
    const Rgb c = colormap_color(Colormap::Viridis, i / 64.0);
    const double luma = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
    EXPECT_GT(luma, prev) << "t = " << i / 64.0;
    prev = luma;
  }
}

TEST(VizLabels, DisplayLabelEscapesControlsShowsEdgeSpacesAndCutsLongOnes) {
  using detail::display_label;
  EXPECT_EQ(display_label("cat"), "cat");
  EXPECT_EQ(display_label("\n"), "\\n");
  EXPECT_EQ(display_label("a\tb\x01"), "a\\tb\\x01");
  EXPECT_EQ(display_label(" the"), "\u2423the");  // the space that belongs to a GPT-2 token shows
  EXPECT_EQ(display_label(" "), "\u2423");
  EXPECT_EQ(display_label("New York"), "New York");
  EXPECT_EQ(display_label("\xff"
                          "a"),
            "\uFFFD"
            "a");                                                        // invalid UTF-8
  EXPECT_EQ(display_label("\xe2\x96"), "\uFFFD\uFFFD");                  // truncated sequence
  EXPECT_EQ(display_label("\xc0\xaf"), "\uFFFD\uFFFD");                  // overlong "/"
  EXPECT_EQ(display_label("\u2581\u00e9\u0120"), "\u2581\u00e9\u0120");  // ▁ é Ġ kept
  EXPECT_EQ(display_label("abcdefghijklmnopqrstuvwxyz", 8), "abcdefg\u2026");
  EXPECT_EQ(display_label("\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");  // counts code points, not bytes
}

// ---- Heatmap: PNG ----------------------------------------------------------------------------------------

TEST(VizHeatmap, PngIsValidAndItsPixelsShowTheColormap) {
  const std::vector<float> v = {0.0f, 0.1f, 0.2f, 0.3f,  0.4f,  0.5f,  0.6f,  0.7f,
                                0.8f, 0.9f, 1.0f, 0.05f, 0.15f, 0.25f, 0.35f, 0.45f};
  Heatmap h(Tensor::from_vector(v, {4, 4}));
  h.title("Weights")
      .labels({"a", "b", "c", "d"})
      .row_title("query")
      .col_title("key")
      .unit_range()
      .annotate(Annotate::Off);
  const HeatmapGeometry g = h.geometry();
  const std::string path = attn::testing::fresh_dir("viz_heatmap_png") + "/w.png";
  h.save_png(path);
  const std::string bytes = read_file(path);
  expect_png(bytes, g.width, g.height);
  EXPECT_EQ(bytes, h.to_png());

  const Image img = read_png(path);
  ASSERT_EQ(img.width, g.width);
  ASSERT_EQ(img.height, g.height);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      expect_near(cell_pixel(img, g, r, c), colormap_color(Colormap::Viridis, v[static_cast<size_t>(r * 4 + c)]), 2,
                  "cell (" + std::to_string(r) + ", " + std::to_string(c) + ")");

  // The colour bar: a gradient from vmin's colour at the bottom to vmax's at the top. The pixel row at
  // y samples t = 1 - (y + 0.5 - top) / height.
  ASSERT_GT(g.colorbar.w, 0);
  const int cx = static_cast<int>(g.colorbar.x + g.colorbar.w / 2);
  for (double frac : {0.01, 0.25, 0.5, 0.75, 0.99}) {
    const int y = static_cast<int>(g.colorbar.y + frac * g.colorbar.h);
    const double t = 1 - (y + 0.5 - g.colorbar.y) / g.colorbar.h;
    expect_near(img.at(cx, y), colormap_color(Colormap::Viridis, t), 3, "colour bar at t = " + std::to_string(t));
  }
  expect_near(img.at(cx, static_cast<int>(g.colorbar.y + 1)), colormap_color(Colormap::Viridis, 1), 12, "bar top");
  expect_near(img.at(cx, static_cast<int>(g.colorbar.y + g.colorbar.h - 2)), colormap_color(Colormap::Viridis, 0), 12,
              "bar bottom");

  // Not blank: many colours, and ink (labels, title) outside the matrix and the bar.
  std::set<uint32_t> colours;
  int dark_outside = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const Rgb p = img.at(x, y);
      colours.insert((p.r << 16) | (p.g << 8) | p.b);
      const bool in_matrix =
          x >= g.matrix.x - 1 && x <= g.matrix.x + g.matrix.w && y >= g.matrix.y - 1 && y <= g.matrix.y + g.matrix.h;
      if (!in_matrix && x < g.colorbar.x && p.r < 100 && p.g < 100 && p.b < 100) ++dark_outside;
    }
  EXPECT_GT(colours.size(), 30u);
  EXPECT_GT(dark_outside, 200);  // the title and the labels are drawn
}

TEST(VizHeatmap, PngScaleMultipliesTheSize) {
  Heatmap h({1, 2, 3, 4, 5, 6}, 2, 3);
  const HeatmapGeometry g = h.geometry();
  expect_png(h.to_png(2.0), 2 * g.width, 2 * g.height);
  const Image img = decode_png(h.to_png(2.0));
  // Auto range: 1 is the lowest colour, 6 the highest, wherever the cell lands at scale 2.
  expect_near(img.at(static_cast<int>(2 * (g.matrix.x + 3)), static_cast<int>(2 * (g.matrix.y + 3))),
              colormap_color(Colormap::Viridis, 0), 2, "cell (0, 0) at scale 2");
  EXPECT_THROW(h.to_png(0), Error);
}

TEST(VizHeatmap, NanIsGreyInfinitiesTakeTheEndsAndTheRangeIgnoresThem) {
  // A causal score matrix: -inf above the diagonal (masked), one NaN, finite values 1..3 below.
  const float inf = INFINITY;
  Heatmap h({1, -inf, -inf, 2, NAN, -inf, 3, 2, inf}, 3, 3);
  EXPECT_EQ(h.value_range(), (std::pair<double, double>{1.0, 3.0}));
  h.annotate(Annotate::Off);
  const HeatmapGeometry g = h.geometry();
  const Image img = decode_png(h.to_png());
  expect_near(cell_pixel(img, g, 0, 1), colormap_color(Colormap::Viridis, 0), 2, "-inf, masked: still drawn");
  expect_near(cell_pixel(img, g, 1, 1), kNanColor, 2, "NaN");
  expect_near(cell_pixel(img, g, 2, 2), colormap_color(Colormap::Viridis, 1), 2, "+inf");
  expect_near(cell_pixel(img, g, 2, 0), colormap_color(Colormap::Viridis, 1), 2, "3 = vmax");
  expect_near(cell_pixel(img, g, 1, 0), colormap_color(Colormap::Viridis, 0.5), 2, "2 = mid");
  // Annotated, the same cells read "nan" and "-inf".
  const std::string svg = h.annotate(Annotate::On).to_svg();
  EXPECT_NE(svg.find(">-inf<"), std::string::npos);
  EXPECT_NE(svg.find(">nan<"), std::string::npos);
}

TEST(VizHeatmap, DegenerateValuesDoNotCrash) {
  const std::vector<std::vector<float>> cases = {
      {NAN, NAN, NAN, NAN}, {INFINITY, -INFINITY, NAN, 0}, {5, 5, 5, 5}, {-1e30f, 1e30f, 0, 1e-30f}};
  for (const auto& v : cases) {
    Heatmap h(v, 2, 2);
    h.labels({"\xff\xfe bad", "\n"}).title("t\x01").mark_row_argmax().annotate(Annotate::On);
    const auto [lo, hi] = h.value_range();
    EXPECT_TRUE(std::isfinite(lo) && std::isfinite(hi) && lo < hi);
    const std::string svg = h.to_svg();
    expect_balanced(svg);
    EXPECT_EQ(svg.find('\x01'), std::string::npos);
    EXPECT_EQ(svg.find('\xff'), std::string::npos);
    const HeatmapGeometry g = h.geometry();
    expect_png(h.to_png(), g.width, g.height);
  }
}

// ---- Heatmap: SVG ----------------------------------------------------------------------------------------

TEST(VizHeatmap, SvgHasOneRectPerCellEscapedLabelsAndBalancedTags) {
  const std::vector<std::string> tokens = {"<s>", "a&b", "\"q\"", "\u00e9t\u00e9", "\u2581x", "\u0120the"};
  std::vector<float> v(36);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 7) / 7.0f;
  const std::string svg = Heatmap(Tensor::from_vector(v, {6, 6}))
                              .title("x < y & z")
                              .labels(tokens)
                              .row_title("query")
                              .col_title("key")
                              .colorbar_label("weight")
                              .to_svg();
  expect_balanced(svg);
  EXPECT_EQ(count(group(svg, "<g class=\"cells\""), "<rect "), 36);
  EXPECT_NE(svg.find(">x &lt; y &amp; z<"), std::string::npos);
  for (const char* escaped :
       {">&lt;s&gt;<", ">a&amp;b<", ">&quot;q&quot;<", ">\u00e9t\u00e9<", ">\u2581x<", ">\u0120the<"}) {
    EXPECT_EQ(count(svg, escaped), 2) << escaped;  // once on each axis
  }
  EXPECT_EQ(svg.find("<s>"), std::string::npos);
  EXPECT_NE(svg.find(">query<"), std::string::npos);
  EXPECT_NE(svg.find(">key<"), std::string::npos);
  EXPECT_NE(svg.find(">weight<"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"colorbar\""), 1);
  // Tooltips name the query and key of each cell.
  EXPECT_EQ(count(svg, "<title>"), 36);
  EXPECT_NE(svg.find("<title>query 3 '\u00e9t\u00e9' \u2192 key 0 '&lt;s&gt;': "), std::string::npos);
}

TEST(VizHeatmap, SvgAndPngShareTheirLayout) {
  Heatmap h({0.2f, 0.8f, 0.5f, 0.1f}, 2, 2);
  h.labels({"x", "y"}).title("t");
  const HeatmapGeometry g = h.geometry();
  const std::string svg = h.to_svg();
  EXPECT_NE(svg.find("width=\"" + std::to_string(g.width) + "\" height=\"" + std::to_string(g.height) + "\""),
            std::string::npos);
  const std::string first_cell = "<rect x=\"" + std::to_string(static_cast<int>(g.matrix.x)) + "\" y=\"" +
                                 std::to_string(static_cast<int>(g.matrix.y)) + "\" width=\"" +
                                 std::to_string(static_cast<int>(g.cell)) + "\"";
  EXPECT_NE(svg.find(first_cell), std::string::npos) << first_cell;
  const double t = (double{0.2f} - double{0.1f}) / (double{0.8f} - double{0.1f});  // as float data normalizes
  EXPECT_NE(svg.find(colormap_color(Colormap::Viridis, t).hex()), std::string::npos);
}

// ---- Heatmap: size, labels, annotations -------------------------------------------------------------------

TEST(VizHeatmap, CellsAndLabelsAdaptFromFourToOneHundredTwentyEightTokens) {
  auto tokens = [](int n) {
    std::vector<std::string> t;
    for (int i = 0; i < n; ++i) t.push_back("token_" + std::to_string(i));
    return t;
  };
  Heatmap small(std::vector<float>(16, 0.25f), 4, 4);
  small.labels(tokens(4));
  const HeatmapGeometry gs = small.geometry();
  EXPECT_GE(gs.cell, 30);
  EXPECT_EQ(gs.row_label_stride, 1);
  EXPECT_EQ(gs.col_label_stride, 1);
  EXPECT_TRUE(gs.col_labels_rotated);  // "token_0" is wider than its column
  EXPECT_TRUE(gs.annotated);

  Heatmap big(std::vector<float>(128 * 128, 0.5f), 128, 128);
  big.labels(tokens(128));
  const HeatmapGeometry gb = big.geometry();
  EXPECT_LE(gb.cell, 5);
  EXPECT_GT(gb.row_label_stride, 1);  // thinned: labels would overlap otherwise
  EXPECT_GT(gb.col_label_stride, 1);
  EXPECT_FALSE(gb.annotated);
  EXPECT_GE(gb.width, 400);
  EXPECT_LE(gb.width, 900);
  EXPECT_LE(gb.height, 900);
  const std::string svg = big.to_svg();
  expect_balanced(svg);
  EXPECT_EQ(count(group(svg, "<g class=\"cells\""), "<rect "), 128 * 128);
  const int shown = count(group(svg, "<g class=\"row-labels\""), "<text ");
  EXPECT_EQ(shown, static_cast<int>((128 + gb.row_label_stride - 1) / gb.row_label_stride));
  EXPECT_EQ(count(svg, "<title>"), 0);  // no per-cell tooltips beyond 4096 cells

  // Short labels in wide cells stay horizontal.
  Heatmap h(std::vector<float>(9, 0.f), 3, 3);
  h.labels({"a", "b", "c"});
  EXPECT_FALSE(h.geometry().col_labels_rotated);
}

TEST(VizHeatmap, AnnotationsFollowTheMode) {
  Heatmap h(std::vector<float>(64 * 64, 0.5f), 64, 64);
  EXPECT_FALSE(h.geometry().annotated);  // Auto: cells too small
  EXPECT_TRUE(h.annotate(Annotate::On).geometry().annotated);
  Heatmap s({0.123f, 0.456f, 0.789f, 1.0f}, 2, 2);
  EXPECT_TRUE(s.geometry().annotated);
  EXPECT_NE(s.to_svg().find(">0.12<"), std::string::npos);
  EXPECT_NE(s.decimals(1).to_svg().find(">0.5<"), std::string::npos);  // 0.456 (0.5 is no colour bar tick)
  EXPECT_FALSE(s.annotate(Annotate::Off).geometry().annotated);
  EXPECT_EQ(s.to_svg().find(">0.5<"), std::string::npos);
}

// ---- alignment plots and markers --------------------------------------------------------------------------

TEST(VizAlignment, ArgmaxDotsGoldOutlinesBluesAndUnitRange) {
  // (T_target = 3, T_source = 4); the last row is a tie broken to the first maximum.
  const std::vector<float> w = {0.1f, 0.7f, 0.1f, 0.1f,  //
                                0.0f, 0.1f, 0.2f, 0.7f,  //
                                0.4f, 0.1f, 0.4f, 0.1f};
  Heatmap a = alignment_plot(Tensor::from_vector(w, {3, 4}), {"le", "chat", "noir", "."}, {"the", "black", "cat"});
  a.gold({{0, 1}, {1, 3}, {2, 2}}).title("Alignment").annotate(Annotate::Off);
  EXPECT_EQ(a.value_range(), (std::pair<double, double>{0.0, 1.0}));
  const std::string svg = a.to_svg();
  expect_balanced(svg);
  EXPECT_EQ(count(svg, "class=\"argmax\""), 3);
  EXPECT_EQ(count(svg, "class=\"gold\""), 3);
  EXPECT_NE(svg.find(">source<"), std::string::npos);
  EXPECT_NE(svg.find(">target<"), std::string::npos);
  EXPECT_NE(svg.find(">argmax of each row<"), std::string::npos);  // the legend says what the marks mean

  const HeatmapGeometry g = a.geometry();
  const Image img = decode_png(a.to_png());
  // Blues: weight 0 is near-white, 0.7 dark blue; the argmax dot is white with a dark rim at the centre.
  expect_near(cell_pixel(img, g, 1, 0), colormap_color(Colormap::Blues, 0.0), 2, "weight 0");
  const Rgb dot = cell_pixel(img, g, 0, 1);
  EXPECT_EQ(dot, (Rgb{255, 255, 255})) << dot.hex();
  // A gold cell without the argmax: red outline near its edge, the cell colour inside.
  const int x = static_cast<int>(g.matrix.x + 2 * g.cell), y = static_cast<int>(g.matrix.y + 2 * g.cell);
  const Rgb edge = img.at(x + 1, y + static_cast<int>(g.cell / 2));
  EXPECT_GT(edge.r, 150);
  EXPECT_LT(edge.g, 80);
  expect_near(img.at(x + static_cast<int>(g.cell / 2), y + static_cast<int>(g.cell / 2)),
              colormap_color(Colormap::Blues, 0.4), 2, "inside a gold cell");
  // The argmax of row 2 (a tie of 0.4 at columns 0 and 2) is the first.
  expect_near(cell_pixel(img, g, 2, 0), {255, 255, 255}, 0, "tie: dot on the first maximum");
}

TEST(VizAlignment, FullyMaskedRowsGetNoArgmax) {
  Heatmap h({-INFINITY, -INFINITY, 0.2f, 0.8f, NAN, NAN}, 3, 2);
  const std::string svg = h.mark_row_argmax().to_svg();
  EXPECT_EQ(count(svg, "class=\"argmax\""), 1);
}

// ---- errors ----------------------------------------------------------------------------------------------

TEST(VizHeatmap, BadInputsRaiseErrorsNamingTheFunction) {
  expect_error([] { Heatmap h(Tensor::zeros({2, 3, 4})); }, {"[Heatmap]", "3 dims", "expected 2"});
  expect_error([] { Heatmap h(Tensor::zeros({0, 3})); }, {"[Heatmap]", "empty"});
  expect_error([] { Heatmap h{Tensor()}; }, {"[Heatmap]", "undefined"});
  expect_error([] { Heatmap h({}, 0, 0); }, {"[Heatmap]", "empty"});
  expect_error([] { Heatmap h({1, 2, 3}, 2, 2); }, {"[Heatmap]", "3 values", "2 x 2"});
  Heatmap h(std::vector<float>(6, 0.f), 2, 3);
  expect_error([&] { h.row_labels({"a", "b", "c"}); }, {"[Heatmap::row_labels]", "3 labels", "2 rows"});
  expect_error([&] { h.col_labels({"a"}); }, {"[Heatmap::col_labels]", "1 labels", "3 columns"});
  expect_error([&] { h.labels({"a", "b"}); }, {"[Heatmap::labels]", "2 x 3"});
  expect_error([&] { h.range(1, 0); }, {"[Heatmap::range]"});
  expect_error([&] { h.range(0, NAN); }, {"[Heatmap::range]"});
  expect_error([&] { h.gold({{2, 0}}); }, {"[Heatmap::gold]", "(2, 0)"});
  expect_error([&] { h.decimals(9); }, {"[Heatmap::decimals]"});
  expect_error([] { alignment_plot(Tensor::zeros({4}), {}, {}); }, {"[alignment_plot]", "1 dims"});
  expect_error([] { alignment_plot(Tensor::zeros({2, 3}), {"a", "b"}, {}); }, {"[alignment_plot]", "2 source tokens"});
  expect_error([] { alignment_plot(Tensor::zeros({2, 3}), {}, {"x"}); }, {"[alignment_plot]", "1 target tokens"});
  expect_error([] { HeatmapGrid g(Tensor::zeros({3, 3})); }, {"[HeatmapGrid]", "2 dims"});
  expect_error([] { HeatmapGrid g(Tensor::zeros({2, 0, 3, 3})); }, {"[HeatmapGrid]", "empty"});
  HeatmapGrid grid;
  expect_error([&] { grid.to_svg(); }, {"[HeatmapGrid]", "no panels"});
  grid.add(Tensor::zeros({3, 3}), "a");
  expect_error([&] { grid.add(Tensor::zeros({3, 4}), "b"); }, {"[HeatmapGrid::add]", "3 x 4", "3 x 3"});
  expect_error([&] { grid.add(Tensor::zeros({3}), "b"); }, {"[HeatmapGrid::add]", "1 dims"});
  expect_error([&] { grid.row_labels({"a"}); }, {"[HeatmapGrid::row_labels]"});
}

TEST(VizHeatmap, SavesAtomicallyIntoNewDirectoriesAndNamesThePathOnFailure) {
  const std::string dir = attn::testing::fresh_dir("viz_heatmap_save") + "/a/b";
  Heatmap h({0, 1, 1, 0}, 2, 2);
  h.save_png(dir + "/m.png");
  h.save_svg(dir + "/m.svg");
  EXPECT_EQ(read_file(dir + "/m.svg"), h.to_svg());
  EXPECT_EQ(read_png(dir + "/m.png").width, h.geometry().width);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 2);  // no temporary files left behind
  expect_error([&] { h.save_png("/proc/no/such/dir/m.png"); }, {"[Heatmap::save_png]", "/proc/no/such/dir/m.png"});
  expect_error([&] { h.save_svg("/proc/no/such/dir/m.svg"); }, {"[Heatmap::save_svg]", "/proc/no/such/dir/m.svg"});
  expect_error([&] { read_png(dir + "/missing.png"); }, {"[read_png]", "missing.png"});
}

// ---- HeatmapGrid -----------------------------------------------------------------------------------------

TEST(VizHeatmapGrid, LayersTimesHeadsWithSharedLabelsOnTheOuterEdges) {
  const int64_t L = 2, H = 3, T = 5;
  std::vector<float> w(static_cast<size_t>(L * H * T * T));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 11) / 10.0f;
  HeatmapGrid grid(Tensor::from_vector(w, {L, H, T, T}));
  grid.title("Heads").labels({"t0", "t1", "t2", "t3", "t4"}).unit_range();
  EXPECT_EQ(grid.panels(), 6);
  EXPECT_EQ(grid.grid_rows(), 2);
  EXPECT_EQ(grid.grid_cols(), 3);
  const HeatmapGridGeometry g = grid.geometry();
  ASSERT_EQ(g.panels.size(), 6u);
  // Row-major: panel (l, h) sits right of (l, h - 1) and below (l - 1, h), without overlapping.
  for (int64_t l = 0; l < L; ++l)
    for (int64_t h = 0; h < H; ++h) {
      const Box& b = g.panels[static_cast<size_t>(l * H + h)];
      EXPECT_EQ(b.w, T * g.cell);
      if (h > 0) {
        EXPECT_GT(b.x, g.panels[static_cast<size_t>(l * H + h - 1)].x + b.w);
      }
      if (l > 0) {
        EXPECT_GT(b.y, g.panels[static_cast<size_t>((l - 1) * H + h)].y + b.h);
      }
    }
  const std::string svg = grid.to_svg();
  expect_balanced(svg);
  EXPECT_EQ(count(svg, "<g class=\"panel\""), 6);
  EXPECT_EQ(count(svg, "<g class=\"cells\""), 6);
  EXPECT_NE(svg.find(">L0 H0<"), std::string::npos);
  EXPECT_NE(svg.find(">L1 H2<"), std::string::npos);
  EXPECT_EQ(count(svg, ">t3<"), 2 + 3);  // row labels beside 2 grid rows, column labels under 3 columns
  EXPECT_EQ(count(svg, "class=\"colorbar\""), 1);
  expect_png(grid.to_png(), g.width, g.height);

  // (H, T, S): one row of heads.
  HeatmapGrid heads(Tensor::zeros({4, 2, 3}));
  EXPECT_EQ(heads.grid_rows(), 1);
  EXPECT_EQ(heads.grid_cols(), 4);
  EXPECT_NE(heads.to_svg().find(">H3<"), std::string::npos);
}

TEST(VizHeatmapGrid, PanelsShareOneColourScale) {
  HeatmapGrid grid;
  grid.add({0, 1, 1, 0}, 2, 2, "low").add({2, 2, 2, 2}, 2, 2, "high").add({0, 0, 0, 0}, 2, 2, "zero").columns(2);
  EXPECT_EQ(grid.value_range(), (std::pair<double, double>{0.0, 2.0}));
  EXPECT_EQ(grid.grid_rows(), 2);
  EXPECT_EQ(grid.grid_cols(), 2);
  const HeatmapGridGeometry g = grid.geometry();
  const Image img = decode_png(grid.to_png());
  auto centre = [&](int panel, int r, int c) {
    const Box& b = g.panels[static_cast<size_t>(panel)];
    return img.at(static_cast<int>(b.x + (c + 0.5) * g.cell), static_cast<int>(b.y + (r + 0.5) * g.cell));
  };
  expect_near(centre(0, 0, 1), colormap_color(Colormap::Viridis, 0.5), 2, "1 on a 0..2 scale");
  expect_near(centre(1, 0, 0), colormap_color(Colormap::Viridis, 1.0), 2, "2 = the shared maximum");
  expect_near(centre(2, 1, 1), colormap_color(Colormap::Viridis, 0.0), 2, "0 = the shared minimum");
  EXPECT_NE(grid.to_svg().find(">high<"), std::string::npos);
}

}  // namespace
}  // namespace attn::viz
