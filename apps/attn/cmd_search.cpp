// attn search — find emoji by words, or words for a picture, with a CLIP-style dual encoder (attn train clip).
//
//   attn search "a happy cat"                                   the emoji whose pictures are nearest the words
//   attn search --model models/clip-emoji "red heart" --save-png hearts.png   ... and the top ones as a grid
//   attn search --image face.png                                the emoji names nearest a picture (any size)
//   attn search ... --split test --top 5 --json
//   attn search "red heart" --explain why.png                  why the best emoji matched: the patches the words'
//                                                               gradient-weighted relevance picks, each word's own,
//                                                               the raw attention, and each token's relevance
//
// Both sides are embedded by the model's two towers into one space; the ranking is by cosine similarity (the
// InfoNCE logits before the temperature). The emoji are drawn from the font again at the model's size. Bad input
// — an empty or over-long query, a missing or corrupt PNG — is an error naming it, with exit status 2.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/emoji.h"
#include "attn/explain/clip_explain.h"
#include "attn/models/clip.h"
#include "attn/ops/ops.h"
#include "attn/viz/image.h"
#include "attn/viz/image_maps.h"
#include "commands.h"
#include "data_root.h"
#include "vit_command.h"

using namespace attn;
using nlohmann::json;

namespace {

constexpr const char* kOp = "attn search";
constexpr size_t kMaxQueryBytes = 300;

// The top pictures side by side, each scaled up `zoom` times (nearest neighbour), a white gap between them.
viz::Image grid_of(const data::ImageDataset& images, const std::vector<int64_t>& ids, int zoom) {
  const int S = static_cast<int>(images.height), cell = S * zoom + 4, cols = std::min<int>(5, ids.size());
  const int rows = (static_cast<int>(ids.size()) + cols - 1) / cols;
  viz::Image g;
  g.width = cols * cell, g.height = rows * cell;
  g.pixels.assign(static_cast<size_t>(g.width) * g.height, viz::Rgb{255, 255, 255});
  for (size_t k = 0; k < ids.size(); ++k) {
    const uint8_t* p = images.image(ids[k]);
    const int x0 = static_cast<int>(k) % cols * cell + 2, y0 = static_cast<int>(k) / cols * cell + 2;
    for (int y = 0; y < S * zoom; ++y)
      for (int x = 0; x < S * zoom; ++x) {
        const int sy = y / zoom, sx = x / zoom;
        g.pixels[static_cast<size_t>(y0 + y) * g.width + x0 + x] = {p[(0 * S + sy) * S + sx], p[(1 * S + sy) * S + sx],
                                                                   p[(2 * S + sy) * S + sx]};
      }
  }
  return g;
}

}  // namespace

ATTN_COMMAND(search, "Find emoji by words, or names for a picture, with an image+text dual encoder (attn train clip)") {
  struct Opts {
    std::string model = cli::data_root() + "/models/clip-emoji", query, image, save_png, explain, split = "all";
    std::string font = data::kNotoColorEmojiFont, cldr = data::kCldrCommonDir;
    int64_t top = 10;
    bool json_out = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "CLIP folder (attn train clip)")->capture_default_str();
  auto* query = sub.add_option("query", o->query, "Words to find emoji for (\"a happy cat\")");
  sub.add_option("--image", o->image, "A PNG picture to find names for instead (resized to the model's size)");
  sub.add_option("--split", o->split, "Search all emoji, or one split of the training run's: train, val, test")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "train", "val", "test"}));
  sub.add_option("--top", o->top, "How many to list")->capture_default_str()->check(CLI::Range(1, 100));
  sub.add_option("--save-png", o->save_png, "Write the top emoji as a picture grid (text queries)");
  sub.add_option("--explain", o->explain,
                 "Write why the best emoji matched the words as a figure (.png or .svg): relevance per patch, per word");
  sub.add_option("--font", o->font, "The colour emoji font")->capture_default_str();
  sub.add_option("--cldr", o->cldr, "CLDR's common/ folder")->capture_default_str();
  sub.add_flag("--json", o->json_out, "Print JSON instead of a table");
  return [o, query]() -> int {
    return cli::run_with_clip(o->model, [&](models::LoadedClip& clip) -> int {
      const bool words = query->count() > 0;
      ATTN_CHECK(words != !o->image.empty(), kOp, "give words to search for or --image PNG (one of them)");
      if (words) {
        ATTN_CHECK(o->query.find_first_not_of(" \t\r\n") != std::string::npos, kOp, "the query is empty");
        ATTN_CHECK(o->query.size() <= kMaxQueryBytes, kOp,
                   "the query is " << o->query.size() << " bytes; at most " << kMaxQueryBytes);
      }
      models::ClipModel& model = *clip.model;
      const models::ClipConfig& c = model.config();
      viz::Image picture;  // read before the emoji are drawn: a bad file is said at once
      if (!words) picture = viz::read_png(o->image);
      data::EmojiOptions eo;
      eo.font = o->font, eo.cldr_dir = o->cldr, eo.size = c.image_size;
      const data::EmojiSet set = data::load_emoji(eo);
      const std::vector<int64_t> pool = data::emoji_split(set, data::split_emoji(set), o->split);
      ATTN_CHECK(!pool.empty(), kOp, "no emoji in the " << o->split << " split");
      std::vector<std::string> names;
      for (int64_t i : pool) names.push_back(set.emoji[i].name);

      // The pool's embeddings on one side, the query's on the other; ranked by cosine similarity.
      Tensor rows, query;
      std::string source;
      if (words) {
        rows = models::clip_image_embeddings(model, set.images, pool);                   // (N, E)
        query = models::clip_text_embeddings(model, clip.tokenizer, {o->query});         // (1, E)
        source = "\"" + o->query + "\"";
      } else {
        NoGradGuard no_grad;
        model.eval();
        rows = models::clip_text_embeddings(model, clip.tokenizer, names);                // (N, E)
        query = model.get_image_features(
            models::image_to_tensor(picture, models::clip_preprocess(c), c.num_channels, o->image));  // (1, E)
        source = o->image;
      }
      std::vector<int64_t> all(pool.size());
      std::iota(all.begin(), all.end(), int64_t{0});
      const std::vector<std::pair<int64_t, float>> best = models::clip_nearest(rows, query, all, o->top);
      std::vector<size_t> order;
      std::vector<float> score(pool.size());
      for (const auto& [k, similarity] : best) order.push_back(static_cast<size_t>(k)), score[k] = similarity;
      std::vector<int64_t> top_ids;
      for (size_t k : order) top_ids.push_back(pool[k]);
      if (!o->save_png.empty()) viz::write_png(o->save_png, grid_of(set.images, top_ids, 3));
      std::optional<explain::ClipExplanation> why;
      if (!o->explain.empty()) {
        ATTN_CHECK(words, kOp, "--explain explains a search by words");
        why = explain::explain_clip(model, clip.tokenizer, models::clip_images(set.images, {top_ids[0]}, c), o->query);
        const uint8_t* p = set.images.image(top_ids[0]);
        const int S = static_cast<int>(c.image_size);
        viz::Image shown;
        shown.width = shown.height = S;
        for (int i = 0; i < S * S; ++i) shown.pixels.push_back({p[i], p[S * S + i], p[2 * S * S + i]});
        std::ostringstream title;
        title << "\"" << o->query << "\" -> " << set.emoji[top_ids[0]].name << " (cosine " << std::fixed
              << std::setprecision(2) << why->similarity << ")";
        viz::ImageMapsFigure fig(shown, why->grid, title.str());
        fig.add("relevance", why->image_relevance).add("attention (last)", why->image_attention);
        for (size_t w = 0; w < why->words.size(); ++w) {
          std::ostringstream t;
          t << "\"" << why->words[w] << "\" " << std::fixed << std::setprecision(2) << why->word_similarity[w];
          fig.add(t.str(), why->word_relevance[w]);
        }
        fig.save(o->explain);
      }
      if (o->json_out) {
        json hits = json::array();
        for (size_t k : order)
          hits.push_back({{"emoji", set.emoji[pool[k]].text}, {"name", names[k]}, {"similarity", score[k]}});
        json out{{"query", source}, {"model", o->model}, {"split", o->split}, {"results", hits}};
        if (why)
          out["explain"] = {{"figure", o->explain},         {"similarity", why->similarity},
                            {"tokens", why->tokens},        {"text_relevance", why->text_relevance},
                            {"text_attention", why->text_attention}, {"words", why->words},
                            {"word_similarity", why->word_similarity}};
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << source << " among " << pool.size() << " emoji (" << o->split << "):\n";
        for (size_t k : order)
          std::cout << "  " << std::fixed << std::setprecision(3) << std::setw(6) << score[k] << "  "
                    << set.emoji[pool[k]].text << "  " << names[k] << "\n";
        if (!o->save_png.empty()) std::cout << "grid: " << o->save_png << "\n";
        if (why) {
          // The pieces' shares of the </s> row's relevance (without <s> and </s>, whose own rows dominate).
          const size_t n = why->tokens.size();
          double total = 0;
          for (size_t k = 1; k + 1 < n; ++k) total += why->text_relevance[k];
          std::cout << "why " << set.emoji[top_ids[0]].text << " (" << o->explain << "): each piece's share of the words'"
                    << " relevance:";
          for (size_t k = 1; k + 1 < n; ++k)
            std::cout << "  " << why->tokens[k] << " " << std::setprecision(0)
                      << (total > 0 ? 100 * why->text_relevance[k] / total : 0.0) << "%";
          std::cout << "\n";
        }
      }
      return 0;
    });
  };
}
