// Emoji and their English words: real pictures paired with real words, for the image+text models (the CLIP-style
// dual encoder of attn/models/clip.h).
//
// Pictures: Google's Noto Color Emoji (Debian's fonts-noto-color-emoji), whose glyphs are colour bitmaps of
// 136×128 pixels (one strike at 109 pixels per em, the font's CBDT table). FreeType loads a glyph as premultiplied
// BGRA; HarfBuzz shapes a multi-code-point emoji (a skin tone, a ZWJ sequence such as 🧑‍🚒, a flag) to its one
// glyph, as a browser would. Each picture is laid on white and shrunk to size×size by area averaging.
//
// Words: Unicode's CLDR annotations (Debian's unicode-cldr-core), common/annotations/en.xml for single emoji and
// common/annotationsDerived/en.xml for their variants. Each emoji has a name ("tts": what a screen reader says)
// and keywords:
//
//   <annotation cp="😀">face | grin | grinning face</annotation>
//   <annotation cp="😀" type="tts">grinning face</annotation>
//
// Only what the font draws as one colour glyph is kept (CLDR also names brackets, arrows and other symbols);
// ~3,700 emoji in all.
//
// Splits. Variants of one emoji (five skin tones, man/woman/person, boy/girl/child, hair styles) are near
// duplicates of each other, so they share a group — the sequence without skin tones, variation selectors and
// gender signs, with man/woman written as person — and a whole group falls in one split. The split is decided by a
// hash of the group, so it does not move when the font or CLDR adds emoji. Held-out emoji are thus never seen
// under any variant, and their names are phrases the model never trained on: recall on them is zero-shot.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/data/fashion_mnist.h"

namespace attn::data {

inline constexpr const char* kNotoColorEmojiFont = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
inline constexpr const char* kCldrCommonDir = "/usr/share/unicode/cldr/common";

struct Emoji {
  std::string text;                   // the emoji, UTF-8 ("🧑🏽‍🚒")
  std::string name;                   // CLDR's tts name ("firefighter: medium skin tone")
  std::vector<std::string> keywords;  // CLDR's keywords ("firefighter", "firetruck", "medium skin tone")
  std::string group;                  // the variant group's key (above; UTF-8, like text)
};

struct EmojiOptions {
  std::string font = kNotoColorEmojiFont;
  std::string cldr_dir = kCldrCommonDir;
  int64_t size = 32;  // pictures are size × size RGB
  int64_t limit = 0;  // keep `limit` emoji evenly spaced over CLDR's order, every kind of them (0 = all): tests
};

struct EmojiSet {
  std::vector<Emoji> emoji;
  ImageDataset images;  // (N, 3, size, size) bytes, RGB over white; labels[i] = i, classes[i] = emoji[i].name
  int64_t size() const { return static_cast<int64_t>(emoji.size()); }
};

// Reads the annotations and draws every emoji the font has. Throws attn::Error naming the file (and the Debian
// package that installs it) when the font or an annotation file is missing or unreadable, when the font has no
// colour bitmaps, or when size is outside 8..128.
EmojiSet load_emoji(const EmojiOptions& options = EmojiOptions());

// The emoji's variant group (above) from its UTF-8 text: skin tones (U+1F3FB–1F3FF), variation selectors (U+FE0E,
// U+FE0F) and the gender signs ♂ ♀ of ZWJ sequences dropped; man, woman → person, boy, girl → child, old man, old
// woman → older person.
std::string emoji_group(const std::string& text);

// Indices of the emoji in each split, by a hash of the group (FNV-1a): about val_fraction and test_fraction of the
// groups held out. Deterministic.
struct EmojiSplits {
  std::vector<int64_t> train, val, test;
};
EmojiSplits split_emoji(const EmojiSet& set, double val_fraction = 0.1, double test_fraction = 0.1);
// The indices of split `name` ("train", "val", "test"), or of every emoji ("all"); attn::Error naming it otherwise.
std::vector<int64_t> emoji_split(const EmojiSet& set, const EmojiSplits& splits, const std::string& name);

// A premultiplied BGRA bitmap (FreeType's colour glyphs; `pitch` bytes a row) laid centred on a white square and
// shrunk (or grown) to size × size RGB by area averaging: each output pixel is the mean of the source area it
// covers, partial pixels weighted by the part covered. Returns (3, size, size) bytes, channel-major.
std::vector<uint8_t> bgra_to_rgb_square(const uint8_t* bgra, int64_t width, int64_t rows, int64_t pitch,
                                        int64_t size);

}  // namespace attn::data
