// The emoji data of the image+text models (attn/data/emoji.h): Noto Color Emoji's pictures through FreeType and
// HarfBuzz, CLDR's English names and keywords, variant groups and the split that keeps them together, the area
// resampling, and the errors for missing files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "attn/data/emoji.h"
#include "test_util.h"

namespace attn::data {
namespace {

const EmojiSet& all_emoji() {
  static const EmojiSet set = load_emoji();
  return set;
}

int64_t find(const EmojiSet& s, const std::string& text) {
  for (int64_t i = 0; i < s.size(); ++i)
    if (s.emoji[i].text == text) return i;
  return -1;
}

TEST(Emoji, EveryColourEmojiOfTheFontWithItsCldrNameAndKeywords) {
  const EmojiSet& s = all_emoji();
  EXPECT_GT(s.size(), 3000);  // Noto Color Emoji 2.042 with CLDR 41: 3,635
  EXPECT_EQ(s.images.channels, 3);
  EXPECT_EQ(s.images.height, 32);
  EXPECT_EQ(s.images.size(), s.size());
  EXPECT_EQ(static_cast<int64_t>(s.images.pixels.size()), s.size() * 3 * 32 * 32);
  const int64_t grin = find(s, "\xF0\x9F\x98\x80");  // 😀
  ASSERT_GE(grin, 0);
  EXPECT_EQ(s.emoji[grin].name, "grinning face");
  EXPECT_EQ(s.emoji[grin].keywords, (std::vector<std::string>{"face", "grin", "grinning face"}));
  EXPECT_EQ(s.images.classes[grin], "grinning face");
  // A ZWJ sequence with a skin tone, shaped by HarfBuzz to its one glyph: 🧑🏽‍🚒
  const int64_t fire = find(s, "\xF0\x9F\xA7\x91\xF0\x9F\x8F\xBD\xE2\x80\x8D\xF0\x9F\x9A\x92");
  ASSERT_GE(fire, 0);
  EXPECT_EQ(s.emoji[fire].name, "firefighter: medium skin tone");
  // CLDR names brackets and arrows too, which the font does not draw in colour: left out.
  EXPECT_EQ(find(s, "\xE3\x80\x8C"), -1);  // 「
  for (const Emoji& e : s.emoji) ASSERT_FALSE(e.name.empty()) << e.text;
}

TEST(Emoji, PicturesAreOnWhiteAndInColour) {
  const EmojiSet& s = all_emoji();
  const int64_t heart = find(s, "\xE2\x9D\xA4");  // ❤ red heart (CLDR writes it without U+FE0F)
  ASSERT_GE(heart, 0);
  const uint8_t* p = s.images.image(heart);
  const int S = 32;
  auto px = [&](int c, int y, int x) { return p[(c * S + y) * S + x]; };
  for (int c = 0; c < 3; ++c) EXPECT_EQ(px(c, 0, 0), 255) << "corner channel " << c;  // the white background
  EXPECT_GT(px(0, 16, 16), 180);  // the centre is red
  EXPECT_LT(px(1, 16, 16), 90);
  EXPECT_LT(px(2, 16, 16), 90);
}

TEST(Emoji, VariantsShareAGroup) {
  EXPECT_EQ(emoji_group("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBF"), "\xF0\x9F\x91\x8D");  // 👍🏿 -> 👍
  // 🧗🏻‍♀️ woman climbing: light skin tone -> 🧗
  EXPECT_EQ(emoji_group("\xF0\x9F\xA7\x97\xF0\x9F\x8F\xBB\xE2\x80\x8D\xE2\x99\x80\xEF\xB8\x8F"), "\xF0\x9F\xA7\x97");
  // 👨‍⚕️ man health worker and 👩‍⚕️ woman health worker -> 🧑‍⚕ health worker
  const std::string person_health = "\xF0\x9F\xA7\x91\xE2\x80\x8D\xE2\x9A\x95";
  EXPECT_EQ(emoji_group("\xF0\x9F\x91\xA8\xE2\x80\x8D\xE2\x9A\x95\xEF\xB8\x8F"), person_health);
  EXPECT_EQ(emoji_group("\xF0\x9F\x91\xA9\xE2\x80\x8D\xE2\x9A\x95\xEF\xB8\x8F"), person_health);
  EXPECT_EQ(emoji_group("\xF0\x9F\x91\xA7"), "\xF0\x9F\xA7\x92");                  // 👧 girl -> 🧒 child
  EXPECT_EQ(emoji_group("\xF0\x9F\x8F\xBB"), "\xF0\x9F\x8F\xBB");                  // a tone swatch alone: itself
  EXPECT_NE(emoji_group("\xF0\x9F\x98\x80"), emoji_group("\xF0\x9F\x98\x83"));  // 😀 and 😃: different emoji
}

TEST(Emoji, SplitKeepsEveryGroupInOneSplitAndHoldsOutAboutAFifth) {
  const EmojiSet& s = all_emoji();
  const EmojiSplits sp = split_emoji(s);
  EXPECT_EQ(static_cast<int64_t>(sp.train.size() + sp.val.size() + sp.test.size()), s.size());
  std::map<std::string, int> split_of;
  const std::vector<int64_t>* parts[3] = {&sp.train, &sp.val, &sp.test};
  for (int k = 0; k < 3; ++k)
    for (int64_t i : *parts[k]) {
      auto [it, fresh] = split_of.emplace(s.emoji[i].group, k);
      EXPECT_EQ(it->second, k) << s.emoji[i].name << " is split from its variants";
    }
  const double held = static_cast<double>(sp.val.size() + sp.test.size()) / s.size();
  EXPECT_GT(held, 0.12);
  EXPECT_LT(held, 0.30);
  EXPECT_GT(sp.test.size(), 150u);
  // Deterministic: the same split again.
  EXPECT_EQ(split_emoji(s).test, sp.test);
  EXPECT_NE(testing::error_of([&] { split_emoji(s, 0.6, 0.5); }).find("sum below 1"), std::string::npos);
}

TEST(Emoji, AreaAveragingWeighsPartlyCoveredPixels) {
  // 3 x 1 premultiplied BGRA: opaque red, transparent, opaque blue -> a 3 x 3 white canvas, the row in the middle.
  const uint8_t bgra[12] = {0, 0, 255, 255, 0, 0, 0, 0, 255, 0, 0, 255};
  std::vector<uint8_t> same = bgra_to_rgb_square(bgra, 3, 1, 12, 3);
  auto at = [&](const std::vector<uint8_t>& v, int64_t size, int c, int y, int x) { return v[(c * size + y) * size + x]; };
  EXPECT_EQ(at(same, 3, 0, 1, 0), 255);  // red: R 255, G 0
  EXPECT_EQ(at(same, 3, 1, 1, 0), 0);
  EXPECT_EQ(at(same, 3, 1, 1, 1), 255);  // transparent -> white
  EXPECT_EQ(at(same, 3, 2, 1, 2), 255);  // blue
  EXPECT_EQ(at(same, 3, 0, 0, 0), 255);  // padding rows: white
  EXPECT_EQ(at(same, 3, 1, 0, 0), 255);
  // Down to 1 x 1: the mean of all nine canvas pixels; green is 255 on the 7 white ones: 7·255/9 = 198.3.
  std::vector<uint8_t> one = bgra_to_rgb_square(bgra, 3, 1, 12, 1);
  EXPECT_EQ(one[1], 198);
  EXPECT_EQ(one[0], 227);  // red: 8 of 9 (white and red) = 226.7
  // Down to 2 x 2 from 3 x 3: each output pixel covers 1.5 x 1.5 source pixels; the top-left one covers (0,0)
  // fully, (0,1) and (1,0) by half and (1,1) by a quarter, of area 2.25; (1,0) is the red one (G 0):
  // G = (255 + 127.5 + 0 + 63.75) / 2.25 = 198.3
  std::vector<uint8_t> two = bgra_to_rgb_square(bgra, 3, 1, 12, 2);
  EXPECT_EQ(at(two, 2, 1, 0, 0), 198);
}

TEST(Emoji, MissingFilesNameThePackageToInstall) {
  EmojiOptions o;
  o.font = "/nonexistent/font.ttf";
  EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("fonts-noto-color-emoji"), std::string::npos);
  o = EmojiOptions();
  o.cldr_dir = "/nonexistent";
  EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("unicode-cldr-core"), std::string::npos);
  o = EmojiOptions();
  o.size = 4;
  EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("outside 8..128"), std::string::npos);
  // A font without colour bitmaps (a text font), and a file that is no font at all.
  const std::string dir = testing::fresh_dir("emoji_bad_font");
  {
    std::ofstream(dir + "/not_a_font.ttf") << "hello";
  }
  o = EmojiOptions();
  o.font = dir + "/not_a_font.ttf";
  EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("not a font"), std::string::npos);
  const std::string dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  if (std::filesystem::exists(dejavu)) {
    o.font = dejavu;
    EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("no colour bitmaps"), std::string::npos);
  }
  // Annotations that are not XML.
  std::filesystem::create_directories(dir + "/cldr/annotations");
  {
    std::ofstream(dir + "/cldr/annotations/en.xml") << "<ldml><annotations><annotation cp=";
  }
  o = EmojiOptions();
  o.cldr_dir = dir + "/cldr";
  EXPECT_NE(testing::error_of([&] { load_emoji(o); }).find("not readable XML"), std::string::npos);
}

}  // namespace
}  // namespace attn::data
