// The explorer's Multimodal tab: a CLIP-style dual encoder (attn/models/clip.h) over the emoji it was trained on
// (attn/data/emoji.h), searched by words, and the explain layer's reading of why a picture matches them
// (attn/explain/clip_explain.h). Explorer routes these paths here (docs/explorer_api.md):
//
//   GET  /api/multimodal/search?q=a+happy+cat&k=12[&split=test]   the k emoji nearest the words
//   POST /api/multimodal/explain?index=N&q=red+heart              why emoji N matches the words
//
// The emoji are drawn and every picture embedded once, on the tab's first request (a second or two; not at the
// server's start); a search embeds the words and ranks the pictures by cosine similarity.
#pragma once
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "attn/data/emoji.h"
#include "attn/models/clip.h"

namespace attn::explore {

class MultimodalExplorer {
 public:
  // `load_emoji` gives the emoji drawn at the model's image size (the model's config says which), called on the first
  // request; their split is split_emoji's. An attn::Error from it becomes a 404 with its message.
  MultimodalExplorer(models::LoadedClip clip, std::string name, std::string path,
                     std::function<data::EmojiSet()> load_emoji);

  // {name, path, image_size, patch_size, grid, n_params, temperature_inverse, emoji, splits: {train, val, test}}
  // (emoji and splits null until the first search has drawn them)
  nlohmann::json info() const;
  // The k best of `split` ("all", "train", "val", "test") for the words: {query, split, total, size (pixels a
  // side), results: [{index, emoji, name, split, similarity}], pixels (base64 bytes (k, 3, S, S))}. HttpError 400
  // for an empty or too long query, k outside 1..64, an unknown split.
  nlohmann::json search(const std::string& query, int64_t k, const std::string& split);
  // Emoji `index` and the words: the picture, its name, the similarity, relevance and raw attention over the
  // patches, each word's own relevance, the tokens' relevance and attention (float32 base64 lists).
  nlohmann::json explain(int64_t index, const std::string& query);

 private:
  void check_query(const std::string& query) const;
  void ensure_emoji();
  models::LoadedClip clip_;
  std::function<data::EmojiSet()> load_emoji_;
  std::string name_, path_;
  data::EmojiSet emoji_;
  data::EmojiSplits splits_;
  std::vector<std::string> split_of_;  // per emoji: "train", "val" or "test"
  Tensor image_embeds_;                // (N, E)
};

inline constexpr size_t kMaxMultimodalQueryBytes = 300;

}  // namespace attn::explore
