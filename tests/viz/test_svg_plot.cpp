// SVG line plots: well-formed output, escaping, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/viz/svg_plot.h"
#include "test_util.h"

namespace attn::viz {
namespace {

int count(const std::string& s, const std::string& sub) {
  int n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}

TEST(VizLinePlot, DrawsOnePolylinePerSeriesWithLegendAndLabels) {
  LinePlot p("Loss <train & val>", "step", "loss");
  p.add_series("train", {0, 1, 2}, {3, 2, 1}).add_series("val", {0, 2}, {3.5, 1.5});
  const std::string svg = p.to_svg();
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2);
  EXPECT_NE(svg.find("Loss &lt;train &amp; val&gt;"), std::string::npos);  // escaped title
  EXPECT_NE(svg.find(">train<"), std::string::npos);
  EXPECT_NE(svg.find(">step<"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(VizLinePlot, LogAxisTicksAtDecades) {
  LinePlot p("t", "x", "y");
  p.add_series("s", {0, 1, 2}, {100, 1, 0.01}).log_y();
  const std::string svg = p.to_svg();
  EXPECT_NE(svg.find(">0.01<"), std::string::npos);
  EXPECT_NE(svg.find(">100<"), std::string::npos);
}

TEST(VizLinePlot, SkipsNonFiniteValuesAndRejectsMismatchedSeries) {
  LinePlot p("t", "x", "y");
  p.add_series("s", {0, 1, 2}, {1, NAN, 2});
  EXPECT_EQ(p.to_svg().find("nan"), std::string::npos);
  EXPECT_THROW(p.add_series("bad", {0, 1}, {1}), Error);
}

TEST(VizLinePlot, SaveCreatesDirectoriesAndLeavesNoTemporaryFile) {
  const std::string dir = attn::testing::scratch_dir("viz") + "/nested/deeper";
  std::filesystem::remove_all(dir);
  LinePlot p("t", "x", "y");
  p.add_series("s", {0, 1}, {0, 1});
  p.save(dir + "/plot.svg");
  std::ifstream f(dir + "/plot.svg");
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), p.to_svg());
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_THROW(p.save("/proc/definitely/not/writable.svg"), Error);
}

}  // namespace
}  // namespace attn::viz
