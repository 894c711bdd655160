// The explanation methods (relevance.h, flow.h) and the perturbation tests (faithfulness.h) on a Vision
// Transformer (attn/models/vit.h): one image, one class.
//
//   Trace t = explain::trace_vit(model, image, /*target=*/-1);   // -1: the predicted class
//   Tensor map = explain::patch_scores(explain::scores("relevance", t));   // (N) one score per patch
//   Tensor grid = reshape(map, {g, g});                                     // the image's patch grid
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/data/fashion_mnist.h"
#include "attn/explain/faithfulness.h"
#include "attn/explain/relevance.h"
#include "attn/models/vit.h"

namespace attn::explain {

struct ViTTrace {
  Trace trace;    // query = 0 (CLS)
  Tensor logits;  // (K) on the whole image
  int64_t predicted = 0, target = 0;
};

// One forward through the composed attention path with every attention and hidden state kept, and one
// backward from logits[target] (target < 0: the predicted class) that captures ∂y/∂A per layer, ∂y/∂x₀ and
// ∂y/∂h_L without touching the parameters' .grad. image: (1, C, H, W) or (C, H, W), normalized. Eval mode.
ViTTrace trace_vit(models::ViTForImageClassification& model, const Tensor& image, int64_t target = -1);

// The model on one image (1, C, H, W) with tokens removed, as the perturbation tests call it: removed (R, T)
// -> logits (R, K), the image repeated R times, no gradients. Holds `model` by reference.
RemovalForward vit_removal_forward(models::ViTForImageClassification& model, const Tensor& image);

// Per-patch scores (N) of `method` (kMethods, or "random" with `gen`) for a trace.
std::vector<float> vit_patch_scores(const std::string& method, const ViTTrace& t, Generator* gen = nullptr);

// The perturbation tests of faithfulness.h on `count` images of `data` (the first ones), for every method in
// `methods` ("random" allowed). The model explains its own prediction on each whole image.
std::vector<FaithfulnessSummary> vit_faithfulness(models::ViTForImageClassification& model,
                                                  const data::ImageDataset& data, const models::ImagePreprocess& pp,
                                                  const std::vector<std::string>& methods, int64_t count,
                                                  uint64_t seed = 1);

}  // namespace attn::explain
