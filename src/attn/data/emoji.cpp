#include "attn/data/emoji.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb-ft.h>
#include <hb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <pugixml.hpp>

#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"

namespace attn::data {
namespace {

constexpr const char* kOp = "load_emoji";

// name and keywords of each annotated sequence, in file order (annotations first, then the derived ones).
struct Annotation {
  std::string text, name;
  std::vector<std::string> keywords;
};

std::vector<std::string> split_keywords(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t bar = s.find('|', start);
    if (bar == std::string::npos) bar = s.size();
    std::string k = s.substr(start, bar - start);
    const size_t a = k.find_first_not_of(' '), b = k.find_last_not_of(' ');
    if (a != std::string::npos) out.push_back(k.substr(a, b - a + 1));
    start = bar + 1;
  }
  return out;
}

void read_annotations(const std::string& path, std::vector<Annotation>& out, std::map<std::string, size_t>& where) {
  ATTN_CHECK(std::filesystem::exists(path), kOp,
             path << " is missing: install Debian's unicode-cldr-core (bash scripts/setup.sh run)");
  pugi::xml_document doc;
  const pugi::xml_parse_result ok = doc.load_file(path.c_str());
  ATTN_CHECK(ok, kOp, path << " is not readable XML: " << ok.description() << " at byte " << ok.offset);
  for (pugi::xml_node a : doc.child("ldml").child("annotations").children("annotation")) {
    const std::string cp = a.attribute("cp").value();
    if (cp.empty()) continue;
    auto [it, fresh] = where.emplace(cp, out.size());
    if (fresh) out.push_back({cp, "", {}});
    Annotation& e = out[it->second];
    if (std::string(a.attribute("type").value()) == "tts")
      e.name = a.child_value();
    else
      e.keywords = split_keywords(a.child_value());
  }
}

struct FtLibrary {
  FT_Library lib = nullptr;
  FT_Face face = nullptr;
  hb_font_t* font = nullptr;
  hb_buffer_t* buf = nullptr;
  ~FtLibrary() {
    if (buf) hb_buffer_destroy(buf);
    if (font) hb_font_destroy(font);
    if (face) FT_Done_Face(face);
    if (lib) FT_Done_FreeType(lib);
  }
};

}  // namespace

std::vector<uint8_t> bgra_to_rgb_square(const uint8_t* bgra, int64_t width, int64_t rows, int64_t pitch,
                                        int64_t size) {
  ATTN_CHECK(width > 0 && rows > 0 && size > 0, "bgra_to_rgb_square",
             "empty bitmap or size: " << width << "x" << rows << " -> " << size);
  // The white square canvas of side m, the bitmap centred on it; composited "over" white: c + (255 − α).
  const int64_t m = std::max(width, rows), x0 = (m - width) / 2, y0 = (m - rows) / 2;
  std::vector<float> canvas(3 * m * m, 255.f);
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < width; ++x) {
      const uint8_t* p = bgra + y * pitch + 4 * x;  // B, G, R, A, premultiplied
      const float white = 255.f - p[3];
      for (int c = 0; c < 3; ++c) canvas[(c * m + y + y0) * m + x + x0] = p[2 - c] + white;
    }
  // Area weights along one axis: output pixel o covers source [o·s, (o+1)·s), s = m / size.
  struct Tap {
    int64_t src;
    float w;
  };
  std::vector<std::vector<Tap>> taps(size);
  const double s = static_cast<double>(m) / static_cast<double>(size);
  for (int64_t o = 0; o < size; ++o) {
    const double a = o * s, b = (o + 1) * s;
    for (auto i = static_cast<int64_t>(std::floor(a)); i < std::min<int64_t>(m, static_cast<int64_t>(std::ceil(b)));
         ++i) {
      const double w = std::min<double>(b, i + 1) - std::max<double>(a, i);
      if (w > 0) taps[o].push_back({i, static_cast<float>(w / s)});
    }
  }
  std::vector<uint8_t> out(3 * size * size);
  for (int c = 0; c < 3; ++c)
    for (int64_t oy = 0; oy < size; ++oy)
      for (int64_t ox = 0; ox < size; ++ox) {
        float v = 0;
        for (const Tap& ty : taps[oy])
          for (const Tap& tx : taps[ox]) v += ty.w * tx.w * canvas[(c * m + ty.src) * m + tx.src];
        out[(c * size + oy) * size + ox] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
  return out;
}

std::string emoji_group(const std::string& text) {
  std::vector<char32_t> cps = utf8_decode(text, "emoji_group");
  std::vector<char32_t> out;
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    if ((c >= 0x1F3FB && c <= 0x1F3FF) || c == 0xFE0E || c == 0xFE0F) continue;  // skin tones, selectors
    // "‍♂" / "‍♀" (ZWJ + gender sign) ends the man/woman variants of an activity: drop both.
    if (c == 0x200D && i + 1 < cps.size() && (cps[i + 1] == 0x2642 || cps[i + 1] == 0x2640)) {
      ++i;
      continue;
    }
    if (c == 0x1F468 || c == 0x1F469) c = 0x1F9D1;  // man, woman → person
    if (c == 0x1F466 || c == 0x1F467) c = 0x1F9D2;  // boy, girl → child
    if (c == 0x1F474 || c == 0x1F475) c = 0x1F9D3;  // old man, old woman → older person
    out.push_back(c);
  }
  return out.empty() ? text : utf8_encode(out);  // a skin-tone swatch alone is its own group
}

EmojiSet load_emoji(const EmojiOptions& options) {
  ATTN_CHECK(options.size >= 8 && options.size <= 128, kOp, "image size " << options.size << " is outside 8..128");
  ATTN_CHECK(options.limit >= 0, kOp, "limit must be >= 0, got " << options.limit);
  std::vector<Annotation> notes;
  std::map<std::string, size_t> where;
  read_annotations(options.cldr_dir + "/annotations/en.xml", notes, where);
  read_annotations(options.cldr_dir + "/annotationsDerived/en.xml", notes, where);

  ATTN_CHECK(std::filesystem::exists(options.font), kOp,
             options.font << " is missing: install Debian's fonts-noto-color-emoji (bash scripts/setup.sh run)");
  FtLibrary ft;
  ATTN_CHECK(FT_Init_FreeType(&ft.lib) == 0, kOp, "FreeType did not start");
  ATTN_CHECK(FT_New_Face(ft.lib, options.font.c_str(), 0, &ft.face) == 0, kOp,
             options.font << " is not a font FreeType can read");
  ATTN_CHECK(FT_HAS_COLOR(ft.face) && ft.face->num_fixed_sizes > 0, kOp,
             options.font << " has no colour bitmaps (a CBDT table): not a colour emoji font");
  ATTN_CHECK(FT_Select_Size(ft.face, 0) == 0, kOp, options.font << ": its bitmap strike cannot be selected");
  ft.font = hb_ft_font_create_referenced(ft.face);
  ft.buf = hb_buffer_create();

  // Which annotations the font draws: shaped to exactly one glyph that it has (not a text symbol, not a fallback)
  // and that glyph a colour bitmap.
  std::vector<std::pair<const Annotation*, unsigned>> drawn;
  for (const Annotation& a : notes) {
    if (a.name.empty()) continue;
    hb_buffer_clear_contents(ft.buf);
    hb_buffer_add_utf8(ft.buf, a.text.c_str(), static_cast<int>(a.text.size()), 0, -1);
    hb_buffer_guess_segment_properties(ft.buf);
    hb_shape(ft.font, ft.buf, nullptr, 0);
    unsigned n = 0;
    const hb_glyph_info_t* g = hb_buffer_get_glyph_infos(ft.buf, &n);
    if (n == 1 && g[0].codepoint != 0) drawn.push_back({&a, g[0].codepoint});
  }
  // limit: evenly spaced over CLDR's order (faces, people, animals, food, places, objects, symbols, flags).
  std::vector<size_t> keep(drawn.size());
  std::iota(keep.begin(), keep.end(), size_t{0});
  if (options.limit > 0 && static_cast<size_t>(options.limit) < drawn.size())
    for (size_t i = 0; i < static_cast<size_t>(options.limit); ++i)
      keep[i] = i * drawn.size() / static_cast<size_t>(options.limit);
  if (options.limit > 0) keep.resize(std::min(keep.size(), static_cast<size_t>(options.limit)));

  EmojiSet set;
  set.images.channels = 3;
  set.images.height = set.images.width = options.size;
  for (size_t k : keep) {
    const auto& [a, glyph] = drawn[k];
    if (FT_Load_Glyph(ft.face, glyph, FT_LOAD_COLOR) != 0) continue;
    const FT_Bitmap& bm = ft.face->glyph->bitmap;
    if (bm.pixel_mode != FT_PIXEL_MODE_BGRA || bm.width == 0 || bm.rows == 0) continue;
    const std::vector<uint8_t> rgb = bgra_to_rgb_square(bm.buffer, bm.width, bm.rows, bm.pitch, options.size);
    set.images.pixels.insert(set.images.pixels.end(), rgb.begin(), rgb.end());
    set.images.labels.push_back(set.size());
    set.images.classes.push_back(a->name);
    set.emoji.push_back({a->text, a->name, a->keywords, emoji_group(a->text)});
  }
  ATTN_CHECK(!set.emoji.empty(), kOp,
             "no emoji of " << options.cldr_dir << "'s annotations is drawn by " << options.font);
  return set;
}

EmojiSplits split_emoji(const EmojiSet& set, double val_fraction, double test_fraction) {
  ATTN_CHECK(val_fraction >= 0 && test_fraction >= 0 && val_fraction + test_fraction < 1, "split_emoji",
             "fractions " << val_fraction << " + " << test_fraction << " must be >= 0 and sum below 1");
  EmojiSplits s;
  for (int64_t i = 0; i < set.size(); ++i) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
    for (unsigned char c : set.emoji[i].group) h = (h ^ c) * 1099511628211ull;
    const double u = static_cast<double>(h % 1000003) / 1000003.0;
    (u < test_fraction ? s.test : u < test_fraction + val_fraction ? s.val : s.train).push_back(i);
  }
  return s;
}

}  // namespace attn::data

namespace attn::data {

std::vector<int64_t> emoji_split(const EmojiSet& set, const EmojiSplits& splits, const std::string& name) {
  if (name == "train") return splits.train;
  if (name == "val") return splits.val;
  if (name == "test") return splits.test;
  ATTN_CHECK(name == "all", "emoji_split", "split '" << name << "' is not one of all, train, val, test");
  std::vector<int64_t> all(static_cast<size_t>(set.size()));
  std::iota(all.begin(), all.end(), int64_t{0});
  return all;
}

}  // namespace attn::data
