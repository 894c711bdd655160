#include "attn/viz/svg_plot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/viz/canvas.h"

namespace attn::viz {

namespace {

// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi, int target = 5) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  const double first = std::ceil(lo / step);
  for (int i = 0; i < 4 * target && (first + i) * step <= hi + 1e-9 * span; ++i) t.push_back((first + i) * step);
  return t;
}

std::string fmt(double v) {
  if (std::fabs(v) < 1e-12) v = 0;  // no "-0" from accumulated tick steps
  std::ostringstream os;
  os << std::setprecision(4) << v;
  return os.str();
}

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
}  // namespace

LinePlot::LinePlot(std::string title, std::string x_label, std::string y_label)
    : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

LinePlot& LinePlot::add_series(std::string name, std::vector<double> x, std::vector<double> y) {
  ATTN_CHECK(x.size() == y.size(), "LinePlot",
             "series '" << name << "' has " << x.size() << " x values but " << y.size() << " y values");
  series_.push_back({std::move(name), std::move(x), std::move(y)});
  return *this;
}

LinePlot& LinePlot::log_y(bool on) {
  log_y_ = on;
  return *this;
}

std::string LinePlot::to_svg(int width, int height) const {
  const double ml = 70, mr = 130, mt = 40, mb = 50;  // margins: room for labels and the legend
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto ty = [&](double y) { return log_y_ ? std::log10(std::max(y, 1e-30)) : y; };
  for (const auto& s : series_)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  const double pw = width - ml - mr, ph = height - mt - mb;
  auto px = [&](double x) { return ml + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return mt + (1 - (ty(y) - y0) / (y1 - y0)) * ph; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << ml + pw / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
    << detail::xml_escape(title_) << "</text>\n";
  for (double t : ticks(x0, x1)) {
    o << "<line x1=\"" << px(t) << "\" x2=\"" << px(t) << "\" y1=\"" << mt << "\" y2=\"" << mt + ph
      << "\" stroke=\"#eee\"/>\n<text x=\"" << px(t) << "\" y=\"" << mt + ph + 16 << "\" text-anchor=\"middle\">"
      << fmt(t) << "</text>\n";
  }
  // On a log axis, ticks at whole decades when the range spans at least two of them.
  std::vector<double> yt = ticks(y0, y1);
  if (log_y_ && std::floor(y1) - std::ceil(y0) >= 1) {
    yt.clear();
    for (double d = std::ceil(y0); d <= y1 && yt.size() < 40; d += 1) yt.push_back(d);
  }
  for (double t : yt) {
    const double yy = mt + (1 - (t - y0) / (y1 - y0)) * ph;
    o << "<line x1=\"" << ml << "\" x2=\"" << ml + pw << "\" y1=\"" << yy << "\" y2=\"" << yy
      << "\" stroke=\"#eee\"/>\n<text x=\"" << ml - 6 << "\" y=\"" << yy + 4 << "\" text-anchor=\"end\">"
      << fmt(log_y_ ? std::pow(10.0, t) : t) << "</text>\n";
  }
  o << "<rect x=\"" << ml << "\" y=\"" << mt << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n"
    << "<text x=\"" << ml + pw / 2 << "\" y=\"" << height - 12 << "\" text-anchor=\"middle\">"
    << detail::xml_escape(x_label_) << "</text>\n"
    << "<text transform=\"translate(18," << mt + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << detail::xml_escape(y_label_) << "</text>\n";
  for (size_t k = 0; k < series_.size(); ++k) {
    const auto& s = series_[k];
    const char* color = kPalette[k % 6];
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) o << px(s.x[i]) << "," << py(s.y[i]) << " ";
    o << "\"/>\n";
    const double ly = mt + 10 + 18 * k;
    o << "<line x1=\"" << ml + pw + 10 << "\" x2=\"" << ml + pw + 30 << "\" y1=\"" << ly << "\" y2=\"" << ly
      << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n<text x=\"" << ml + pw + 34 << "\" y=\"" << ly + 4
      << "\">" << detail::xml_escape(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void LinePlot::save(const std::string& path, int width, int height) const {
  io::write_file_atomic(path, to_svg(width, height));
}

}  // namespace attn::viz
