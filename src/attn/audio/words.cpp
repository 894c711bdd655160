// The KTuberling vocabulary and its recordings (attn/audio/words.h).
#include "attn/audio/words.h"

#include <algorithm>
#include <filesystem>

#include "attn/core/error.h"

namespace attn::audio {

const std::vector<Word>& ktuberling_words() {
  static const std::vector<Word> words = [] {
    // stem -> what is said, where it is not the stem's last part as it stands.
    const std::vector<std::pair<std::string, std::string>> stems = {{"ball", ""},
                                                                    {"bow", ""},
                                                                    {"coat", ""},
                                                                    {"ear", ""},
                                                                    {"earring", ""},
                                                                    {"egypt_arch", ""},
                                                                    {"egypt_birds", ""},
                                                                    {"egypt_boy", ""},
                                                                    {"egypt_bridge", ""},
                                                                    {"egypt_camel", ""},
                                                                    {"egypt_cart", ""},
                                                                    {"egypt_column", ""},
                                                                    {"egypt_donkey", ""},
                                                                    {"egypt_girl", ""},
                                                                    {"egypt_grass", ""},
                                                                    {"egypt_man", ""},
                                                                    {"egypt_oasis", ""},
                                                                    {"egypt_palmtree", "palm tree"},
                                                                    {"egypt_pyramid", ""},
                                                                    {"egypt_road", ""},
                                                                    {"egypt_sphynx", "sphinx"},
                                                                    {"egypt_well", ""},
                                                                    {"egypt_woman", ""},
                                                                    {"eye", ""},
                                                                    {"eyebrow", ""},
                                                                    {"flower", ""},
                                                                    {"hair", ""},
                                                                    {"hat", ""},
                                                                    {"moon_alien", ""},
                                                                    {"moon_astronaut", ""},
                                                                    {"moon_earth", ""},
                                                                    {"moon_fallingstar", "falling star"},
                                                                    {"moon_hotel", ""},
                                                                    {"moon_monster", ""},
                                                                    {"moon_moonwalker", "moonwalker"},
                                                                    {"moon_planet", ""},
                                                                    {"moon_radar", ""},
                                                                    {"moon_rocket", ""},
                                                                    {"moon_satellite", ""},
                                                                    {"moon_sign", ""},
                                                                    {"moon_star", ""},
                                                                    {"moon_ufo", "UFO"},
                                                                    {"moustache", ""},
                                                                    {"mouth", ""},
                                                                    {"nose", ""},
                                                                    {"pizzeria_anchovy", ""},
                                                                    {"pizzeria_bacon", ""},
                                                                    {"pizzeria_broccolli", "broccoli"},
                                                                    {"pizzeria_cheese", ""},
                                                                    {"pizzeria_cucumber", ""},
                                                                    {"pizzeria_mushroom", ""},
                                                                    {"pizzeria_olive", ""},
                                                                    {"pizzeria_onion", ""},
                                                                    {"pizzeria_oregano", ""},
                                                                    {"pizzeria_pepper", ""},
                                                                    {"pizzeria_pepperoni", ""},
                                                                    {"pizzeria_pineapple", ""},
                                                                    {"pizzeria_salami", ""},
                                                                    {"pizzeria_tomato", ""},
                                                                    {"shoe", ""},
                                                                    {"shorts", ""},
                                                                    {"skirt", ""},
                                                                    {"spectacles", ""},
                                                                    {"stick", ""},
                                                                    {"sunglasses", ""},
                                                                    {"tie", ""},
                                                                    {"tv_bicycle", ""},
                                                                    {"tv_car", ""},
                                                                    {"tv_cyclist", ""},
                                                                    {"tv_train", ""},
                                                                    {"tv_tree", ""},
                                                                    {"umbrella", ""}};
    std::vector<Word> w;
    for (const auto& [stem, said] : stems) {
      const size_t us = stem.find('_');
      const std::string label = us == std::string::npos ? stem : stem.substr(us + 1);
      w.push_back({label, stem, said.empty() ? label : said});
    }
    std::sort(w.begin(), w.end(), [](const Word& a, const Word& b) { return a.label < b.label; });
    return w;
  }();
  return words;
}

int64_t word_id(const std::string& label) {
  const auto& w = ktuberling_words();
  for (size_t i = 0; i < w.size(); ++i)
    if (w[i].label == label) return static_cast<int64_t>(i);
  return -1;
}

std::vector<Recording> load_ktuberling_recordings(int64_t sample_rate, const std::string& dir) {
  const std::filesystem::path en = std::filesystem::path(dir) / "en";
  ATTN_CHECK(
      std::filesystem::is_directory(en), "ktuberling",
      en.string() << " not found: the real recordings come with Debian's ktuberling-data (bash scripts/setup.sh)");
  std::vector<Recording> out;
  const auto& words = ktuberling_words();
  for (size_t i = 0; i < words.size(); ++i) {
    Recording r;
    r.path = (en / (words[i].stem + ".ogg")).string();
    r.label = static_cast<int64_t>(i);
    r.wave = resample(load_audio(r.path), sample_rate);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace attn::audio
