// The explorer's Image tab: a Vision Transformer, the test pictures it can show, and the explain layer
// (attn/explain) on one picture at a time. Explorer routes these paths here (docs/explorer_api.md):
//
//   GET  /api/image/gallery?offset=0&count=32     test pictures as bytes, with their labels
//   POST /api/image/explain?index=N[&class=K]     explain test picture N, for class K (default: the predicted one)
//   POST /api/image/explain[?class=K]  + PNG body  explain an uploaded picture (of any size: resized)
//
// One explanation holds, for one picture and one class:
//   - the picture as the model read it (bytes), the top 5 classes with their probabilities;
//   - attention (L, H, N): each layer's and head's CLS-token row over the N patches — the maps people draw;
//   - maps: one score per patch for every method of explain/relevance.h (raw attention, rollout, flow,
//     gradient × input, Grad-CAM, Chefer et al.'s relevance), from one traced forward and one backward;
//   - curves: the four perturbation curves of explain/faithfulness.h for every method and a random ranking,
//     on this picture alone (positive/negative: is the label still predicted, 0 or 1; deletion/insertion:
//     p(class) as patches go or come back). An uploaded picture has no label: its prediction stands in.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "attn/data/fashion_mnist.h"
#include "attn/models/vit.h"

namespace attn::explore {

class ImageExplorer {
 public:
  // `test` may be empty (no data set installed): then only uploaded pictures can be explained. Its pictures
  // must have the model's channel count.
  ImageExplorer(models::LoadedViT vit, std::string name, std::string path, data::ImageDataset test,
                std::string test_name);

  // {name, path, image_size, patch_size, grid, channels, n_layer, n_head, classes, methods, test: {name, size}}
  nlohmann::json info() const;
  // count pictures from offset: {offset, count, total, channels, height, width, labels, pixels (base64 bytes,
  // (count, C, H, W))}. HttpError 400 for a range outside the set, 404 without a test set.
  nlohmann::json gallery(int64_t offset, int64_t count) const;
  // Test picture `index` / PNG bytes; target < 0: the predicted class. HttpError 400/404/413 for bad input.
  nlohmann::json explain_test(int64_t index, int64_t target);
  nlohmann::json explain_png(const std::string& png, int64_t target, int64_t max_pixels);

  const models::ViTConfig& config() const { return vit_.model->config(); }

 private:
  nlohmann::json explain(const Tensor& x, int64_t label, int64_t target, const std::string& source);

  models::LoadedViT vit_;
  std::string name_, path_;
  data::ImageDataset test_;
  std::string test_name_;
};

}  // namespace attn::explore
