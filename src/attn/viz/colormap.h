// Colormaps: how a number becomes a colour.
//
// A heatmap first normalizes each value to t = (v - vmin) / (vmax - vmin), clamped to [0, 1], then looks
// t up in a colormap — a short table of colours at evenly spaced t, linearly interpolated (in sRGB, as
// matplotlib does). Three maps cover what attention figures need:
//
//   Viridis  dark purple (t = 0) -> teal -> yellow (t = 1). Matplotlib's default, perceptually uniform:
//            equal steps in t look like equal steps in colour, and lightness rises steadily, so "brighter
//            = larger" holds in greyscale and for colour-blind readers. For scores of any sign.
//   Blues    white (t = 0) -> dark blue (t = 1), ColorBrewer's sequential map. For weights in [0, 1]
//            where 0 should vanish into the page: alignment plots, where the eye should find the few
//            dark cells.
//   RdBu     blue (t = 0) -> white (t = 0.5) -> red (t = 1) (matplotlib's "RdBu_r"). Diverging: for
//            signed values (gradients, relevance) with a range symmetric about 0, so 0 is white.
//
// A NaN has no place on the scale and is drawn in a neutral grey (kNanColor) that no map contains.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn::viz {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
  std::string hex() const;  // "#rrggbb"
};

enum class Colormap { Viridis, Blues, RdBu };

inline constexpr Rgb kNanColor{150, 150, 150};

// The colour at t in [0, 1] (t outside is clamped; NaN gives kNanColor).
Rgb colormap_color(Colormap cmap, double t);
// The map's table: colours at t = 0, 1/(n-1), ..., 1. Drawing a colour bar as a gradient through these
// stops reproduces colormap_color exactly.
const std::vector<Rgb>& colormap_stops(Colormap cmap);
const char* colormap_name(Colormap cmap);  // "viridis", "blues", "rdbu"

}  // namespace attn::viz
