// The spectrogram-and-attention figure (attn/viz/audio_figure.h), drawn once on a Canvas for SVG and PNG.
#include "attn/viz/audio_figure.h"

#include <algorithm>
#include <cmath>

#include "attn/core/error.h"
#include "attn/viz/canvas.h"

namespace attn::viz {

namespace {

constexpr const char* kOp = "audio_attention_figure";
constexpr double kLeft = 70, kRight = 20, kTop = 40, kSpecH = 160, kStripH = 22, kGap = 6, kBottom = 40;

double plot_width(const AudioAttentionFigure& f) {
  return std::clamp(static_cast<double>(f.frames) * 5.0, 300.0, 900.0);
}
int width(const AudioAttentionFigure& f) { return static_cast<int>(kLeft + plot_width(f) + kRight); }
int height(const AudioAttentionFigure& f) {
  return static_cast<int>(kTop + kSpecH + static_cast<double>(f.rows.size()) * (kStripH + kGap) + kGap + kBottom);
}

void check(const AudioAttentionFigure& f) {
  ATTN_CHECK(f.n_mels > 0 && f.frames > 0 && static_cast<int64_t>(f.spectrogram.size()) == f.n_mels * f.frames, kOp,
             "spectrogram has " << f.spectrogram.size() << " values for " << f.n_mels << " x " << f.frames);
  ATTN_CHECK(f.frames_per_column > 0 && f.seconds_per_frame > 0, kOp,
             "frames_per_column and seconds_per_frame must be positive");
  ATTN_CHECK(f.row_labels.empty() || f.row_labels.size() == f.rows.size(), kOp,
             f.row_labels.size() << " row labels for " << f.rows.size() << " rows");
}

void draw(const AudioAttentionFigure& f, detail::Canvas& c) {
  using detail::TextStyle;
  const double W = plot_width(f), dx = W / static_cast<double>(f.frames), dy = kSpecH / static_cast<double>(f.n_mels);
  TextStyle title;
  title.size = 14;
  title.bold = true;
  c.text(kLeft, 24, f.title, title);
  const auto [lo_it, hi_it] = std::minmax_element(f.spectrogram.begin(), f.spectrogram.end());
  const double lo = *lo_it, span = std::max(1e-9, static_cast<double>(*hi_it) - lo);
  c.begin_group("spectrogram", true);
  for (int64_t m = 0; m < f.n_mels; ++m)
    for (int64_t t = 0; t < f.frames; ++t) {
      const double v = (f.spectrogram[static_cast<size_t>(m * f.frames + t)] - lo) / span;
      c.rect(kLeft + static_cast<double>(t) * dx, kTop + kSpecH - static_cast<double>(m + 1) * dy, dx + 0.3, dy + 0.3,
             colormap_color(Colormap::Viridis, v));
    }
  c.end_group();
  TextStyle side;
  side.size = 11;
  side.anchor = detail::Anchor::End;
  c.text(kLeft - 6, kTop + 12, "high", side);
  c.text(kLeft - 6, kTop + kSpecH, "low", side);
  c.text(kLeft - 6, kTop + kSpecH / 2 + 4, "mel", side);
  double y = kTop + kSpecH + kGap;
  for (size_t l = 0; l < f.rows.size(); ++l) {
    const std::vector<float>& a = f.rows[l];
    const std::string name = f.row_labels.empty() ? "row " + std::to_string(l + 1) : f.row_labels[l];
    const float mx = a.empty() ? 1.f : std::max(1e-9f, *std::max_element(a.begin(), a.end()));
    c.begin_group("attention", true);
    for (size_t k = 0; k < a.size(); ++k) {
      const double x0 = kLeft + static_cast<double>(k) * static_cast<double>(f.frames_per_column) * dx;
      const double w = std::min(static_cast<double>(f.frames_per_column) * dx, kLeft + W - x0);
      if (w > 0)
        c.rect(x0, y, w + 0.3, kStripH, colormap_color(Colormap::Blues, a[k] / mx),
               name + ", t = " +
                   detail::format_value(static_cast<double>(k) * f.frames_per_column * f.seconds_per_frame, 2) +
                   " s: " + detail::format_value(a[k], 3));
    }
    c.end_group();
    c.frame(kLeft, y, W, kStripH, {120, 120, 120}, 0.5);
    c.text(kLeft - 6, y + kStripH / 2 + 4, detail::display_label(name, 12), side);
    y += kStripH + kGap;
  }
  // time axis
  const double seconds = static_cast<double>(f.frames) * f.seconds_per_frame;
  TextStyle tick;
  tick.size = 11;
  tick.anchor = detail::Anchor::Middle;
  for (double s : detail::nice_ticks(0, seconds, 6)) {
    if (s < 0 || s > seconds) continue;
    const double x = kLeft + s / seconds * W;
    c.line(x, y, x, y + 4, {60, 60, 60}, 1);
    c.text(x, y + 16, detail::format_tick(s), tick);
  }
  c.text(kLeft + W / 2, y + 32, f.caption, tick);
}

}  // namespace

AudioAttentionFigure spectrogram_figure(const float* features, int64_t frames, int64_t n_mels, double seconds_per_frame,
                                        std::string title) {
  AudioAttentionFigure f;
  f.title = std::move(title);
  f.n_mels = n_mels;
  f.frames = frames;
  f.seconds_per_frame = seconds_per_frame;
  f.spectrogram.resize(static_cast<size_t>(n_mels * frames));
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t m = 0; m < n_mels; ++m) f.spectrogram[static_cast<size_t>(m * frames + t)] = features[t * n_mels + m];
  return f;
}

std::string audio_attention_svg(const AudioAttentionFigure& f) {
  check(f);
  return detail::render_svg(width(f), height(f), [&](detail::Canvas& c) { draw(f, c); });
}

std::string audio_attention_png(const AudioAttentionFigure& f, double scale) {
  check(f);
  return detail::render_png(
      width(f), height(f), scale, [&](detail::Canvas& c) { draw(f, c); }, kOp);
}

void save_audio_attention(const AudioAttentionFigure& f, const std::string& path) {
  auto ends = [&](const char* e) {
    const std::string s(e);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  ATTN_CHECK(ends(".svg") || ends(".png"), kOp, path << ": the figure is written as .svg or .png");
  detail::save_file(path, ends(".svg") ? audio_attention_svg(f) : audio_attention_png(f), kOp);
}

}  // namespace attn::viz
