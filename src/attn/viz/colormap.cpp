#include "attn/viz/colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attn::viz {

namespace {
// matplotlib's viridis (256 entries) sampled at 33 evenly spaced points; interpolating linearly between
// them stays within 2/255 of the full table.
const std::vector<Rgb> kViridis = {
    {68, 1, 84},    {71, 13, 96},   {72, 24, 106},  {72, 35, 116},  {71, 45, 123},  {69, 54, 129},  {66, 64, 134},
    {63, 73, 137},  {59, 82, 139},  {55, 90, 141},  {51, 99, 141},  {47, 106, 142}, {44, 114, 142}, {41, 122, 142},
    {38, 129, 142}, {35, 137, 142}, {33, 144, 140}, {31, 152, 139}, {31, 159, 136}, {33, 166, 133}, {40, 174, 128},
    {49, 181, 123}, {62, 188, 116}, {76, 194, 108}, {93, 201, 99},  {110, 206, 88}, {130, 211, 76}, {150, 216, 63},
    {171, 220, 50}, {192, 223, 36}, {213, 226, 26}, {234, 229, 26}, {253, 231, 37}};
// ColorBrewer "Blues", 9 classes (matplotlib's Blues interpolates the same nine).
const std::vector<Rgb> kBlues = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239}, {158, 202, 225}, {107, 174, 214},
                                 {66, 146, 198},  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
// ColorBrewer "RdBu", 11 classes, reversed so that low is blue and high is red.
const std::vector<Rgb> kRdBu = {{5, 48, 97},     {33, 102, 172},  {67, 147, 195},  {146, 197, 222},
                                {209, 229, 240}, {247, 247, 247}, {253, 219, 199}, {244, 165, 130},
                                {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};
}  // namespace

std::string Rgb::hex() const {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

const std::vector<Rgb>& colormap_stops(Colormap cmap) {
  switch (cmap) {
    case Colormap::Blues:
      return kBlues;
    case Colormap::RdBu:
      return kRdBu;
    case Colormap::Viridis:
      break;
  }
  return kViridis;
}

const char* colormap_name(Colormap cmap) {
  switch (cmap) {
    case Colormap::Blues:
      return "blues";
    case Colormap::RdBu:
      return "rdbu";
    case Colormap::Viridis:
      break;
  }
  return "viridis";
}

Rgb colormap_color(Colormap cmap, double t) {
  if (std::isnan(t)) return kNanColor;
  const auto& stops = colormap_stops(cmap);
  // t in [0, 1] falls between stops i and i + 1, a fraction f of the way.
  const double pos = std::clamp(t, 0.0, 1.0) * static_cast<double>(stops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(pos), stops.size() - 2);
  const double f = pos - static_cast<double>(i);
  auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + f * (b - a))); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

}  // namespace attn::viz
