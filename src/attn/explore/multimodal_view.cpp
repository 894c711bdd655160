#include "attn/explore/multimodal_view.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/clip_explain.h"
#include "attn/explore/explorer.h"
#include "attn/explore/http_error.h"
#include "attn/ops/ops.h"

namespace attn::explore {

using nlohmann::json;

namespace {

constexpr int64_t kMaxResults = 64;

std::string b64_floats(const std::vector<float>& v) { return base64_encode(v.data(), v.size() * sizeof(float)); }

}  // namespace

MultimodalExplorer::MultimodalExplorer(models::LoadedClip clip, std::string name, std::string path,
                                       std::function<data::EmojiSet()> load_emoji)
    : clip_(std::move(clip)), name_(std::move(name)), path_(std::move(path)), load_emoji_(std::move(load_emoji)) {}

void MultimodalExplorer::ensure_emoji() {
  if (image_embeds_.defined()) return;
  try {
    emoji_ = load_emoji_();
  } catch (const Error& e) {
    fail(404, std::string("the emoji to search cannot be drawn: ") + e.what());
  }
  if (emoji_.size() == 0) fail(404, "there are no emoji to search");
  splits_ = data::split_emoji(emoji_);
  split_of_.assign(static_cast<size_t>(emoji_.size()), "train");
  for (int64_t i : splits_.val) split_of_[i] = "val";
  for (int64_t i : splits_.test) split_of_[i] = "test";
  image_embeds_ = models::clip_image_embeddings(*clip_.model, emoji_.images, data::emoji_split(emoji_, splits_, "all"));
}

json MultimodalExplorer::info() const {
  const models::ClipConfig& c = clip_.model->config();
  return {{"name", name_},
          {"path", path_},
          {"image_size", c.image_size},
          {"patch_size", c.patch_size},
          {"grid", c.image_size / c.patch_size},
          {"n_params", clip_.model->num_parameters()},
          {"temperature_inverse", clip_.model->temperature_inverse()},
          {"emoji", image_embeds_.defined() ? json(emoji_.size()) : json(nullptr)},
          {"splits", image_embeds_.defined() ? json{{"train", splits_.train.size()},
                                                    {"val", splits_.val.size()},
                                                    {"test", splits_.test.size()}}
                                             : json(nullptr)}};
}

void MultimodalExplorer::check_query(const std::string& query) const {
  if (query.find_first_not_of(" \t\r\n") == std::string::npos) fail(400, "'q' (the words to search for) is empty");
  if (query.size() > kMaxMultimodalQueryBytes)
    fail(413, "'q' is " + std::to_string(query.size()) + " bytes; the limit is " +
                  std::to_string(kMaxMultimodalQueryBytes));
}

json MultimodalExplorer::search(const std::string& query, int64_t k, const std::string& split) {
  check_query(query);
  if (k < 1 || k > kMaxResults) fail(400, "'k' = " + std::to_string(k) + " is out of range [1, 64]");
  if (split != "all" && split != "train" && split != "val" && split != "test")
    fail(400, "'split' = '" + split + "' is not one of all, train, val, test");
  ensure_emoji();
  const models::ClipConfig& c = clip_.model->config();
  const Tensor q = models::clip_text_embeddings(*clip_.model, clip_.tokenizer, {query});  // (1, E)
  json results = json::array();
  std::string pixels;
  for (const auto& [i, similarity] : models::clip_nearest(image_embeds_, q, data::emoji_split(emoji_, splits_, split), k)) {
    results.push_back({{"index", i},
                       {"emoji", emoji_.emoji[i].text},
                       {"name", emoji_.emoji[i].name},
                       {"split", split_of_[i]},
                       {"similarity", similarity}});
    pixels.append(reinterpret_cast<const char*>(emoji_.images.image(i)), emoji_.images.image_numel());
  }
  return {{"query", query},
          {"split", split},
          {"total", emoji_.size()},
          {"splits", {{"train", splits_.train.size()}, {"val", splits_.val.size()}, {"test", splits_.test.size()}}},
          {"size", c.image_size},
          {"results", results},
          {"pixels", base64_encode(pixels.data(), pixels.size())},
          {"encoding", "u8-base64"}};
}

json MultimodalExplorer::explain(int64_t index, const std::string& query) {
  check_query(query);
  ensure_emoji();
  if (index < 0 || index >= emoji_.size())
    fail(400, "'index' = " + std::to_string(index) + " is out of range [0, " + std::to_string(emoji_.size()) + ")");
  const models::ClipConfig& c = clip_.model->config();
  const explain::ClipExplanation e =
      explain::explain_clip(*clip_.model, clip_.tokenizer, models::clip_images(emoji_.images, {index}, c), query);
  json words = json::array();
  for (size_t w = 0; w < e.words.size(); ++w)
    words.push_back({{"word", e.words[w]}, {"similarity", e.word_similarity[w]}, {"relevance", b64_floats(e.word_relevance[w])}});
  return {{"index", index},
          {"emoji", emoji_.emoji[index].text},
          {"name", emoji_.emoji[index].name},
          {"split", split_of_[index]},
          {"query", query},
          {"size", c.image_size},
          {"grid", e.grid},
          {"pixels", base64_encode(emoji_.images.image(index), emoji_.images.image_numel())},
          {"similarity", e.similarity},
          {"image_relevance", b64_floats(e.image_relevance)},
          {"image_attention", b64_floats(e.image_attention)},
          {"tokens", e.tokens},
          {"text_relevance", e.text_relevance},
          {"text_attention", e.text_attention},
          {"words", words},
          {"encoding", "f32-base64"}};
}

}  // namespace attn::explore
