// Lesson 04.02 — Vision Transformers: an image is a sequence of patches.
//
// Dosovitskiy et al. (2021) took the Transformer encoder of machine translation unchanged and fed it
// pictures: cut the image into P×P patches, flatten each patch, project it to D numbers — now it is a
// token — add a learned position, put a CLS token in front, and classify from the CLS token's output.
// No convolution anywhere but the patch projection. This lesson:
//   1. cuts a real Fashion-MNIST image into patches and shows the shapes;
//   2. trains a small ViT for ~20 seconds and measures it on held-out images;
//   3. draws what the shipped model's CLS token attends to, layer by layer, and the rollout;
//   4. measures each layer's mean attention distance: how far, in patches, attention reaches.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/data/fashion_mnist.h"
#include "attn/explain/rollout.h"
#include "attn/models/vit.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "attn/viz/image_maps.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Vision Transformers: patches as tokens, a ViT trained here, what its heads look at");
  const data::ImageDataset train = data::load_fashion_mnist("train");
  const data::ImageDataset test = data::load_fashion_mnist("test");
  const float mean = data::kFashionMnistMean, std_ = data::kFashionMnistStd;

  // ------------------------------------------------------------------------------------------------
  L.step("An image is a sequence of patches");
  L.say(
      "Fashion-MNIST: 60,000 training and 10,000 test photos of clothes, 28x28 grey pixels, 10 classes\n"
      "(Debian's dataset-fashion-mnist). With patches of 7x7 pixels the image becomes a 4x4 grid: 16 tokens\n"
      "of 49 numbers each. patchify() is only a reshape and a permute — no pixel is changed:");
  const data::ImageBatch one = data::make_image_batch(test, {0}, mean, std_);
  const Tensor patches = models::patchify(one.images, 7);
  std::cout << "  test image 0: " << test.classes[test.labels[0]] << ", tensor " << shape_str(one.images.shape())
            << " -> patches " << shape_str(patches.shape()) << "\n"
            << "  the patches' mean brightness, as the 4x4 grid they came from:\n";
  for (int64_t r = 0; r < 4; ++r) {
    std::cout << "   ";
    for (int64_t c = 0; c < 4; ++c) {
      double s = 0;
      for (int64_t k = 0; k < 49; ++k) s += patches.data()[(r * 4 + c) * 49 + k] * std_ + mean;
      std::cout << " " << std::fixed << std::setprecision(2) << s / 49;
    }
    std::cout << "\n";
  }
  L.say(
      "\nA linear map (the patch projection, a Conv2d with stride = kernel = 7) turns each 49-vector into a\n"
      "D-vector; a learned CLS token goes in front and learned positions are added: (1, 17, D) tokens, which\n"
      "the Transformer encoder of lesson 05.01 reads exactly as it reads words.");

  // ------------------------------------------------------------------------------------------------
  L.step("A small ViT, trained for about twenty seconds");
  models::ViTConfig cfg;
  cfg.patch_size = 7;
  cfg.hidden_size = 64;
  cfg.num_hidden_layers = 2;
  cfg.num_attention_heads = 4;
  cfg.intermediate_size = 128;
  cfg.id2label = train.classes;
  Generator gen(7);
  models::ViTForImageClassification vit(cfg, gen);
  std::cout << "  " << cfg.num_hidden_layers << " layers, " << cfg.num_attention_heads << " heads, " << cfg.hidden_size
            << " wide, " << cfg.seq_len() << " tokens: " << vit.num_parameters() << " parameters\n";
  std::vector<Tensor> params = vit.parameters();
  nn::AdamW opt(params, nn::AdamWOptions(2e-3f).weight_decay(0.01f));
  const int64_t steps = 300, batch = 64, warmup = 30;
  std::vector<int64_t> order(static_cast<size_t>(train.size()));
  std::iota(order.begin(), order.end(), 0);
  gen.shuffle(order);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    opt.set_lr(nn::warmup_cosine(s + 1, 2e-3f, warmup, steps, 1e-4f));
    const std::vector<int64_t> idx(order.begin() + s * batch, order.begin() + (s + 1) * batch);
    const data::ImageBatch b = data::make_image_batch(train, idx, mean, std_);
    Tensor loss = vit.loss(b.images, b.labels);
    loss.backward();
    opt.step();
    opt.zero_grad();
    if ((s + 1) % 75 == 0) std::cout << "  step " << s + 1 << "  loss " << std::setprecision(3) << loss.item() << "\n";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double acc = models::evaluate_vit(vit, test, models::ImagePreprocess(), 2000).accuracy;
  std::cout << "  " << steps * batch << " training images in " << std::setprecision(1) << secs
            << " s; accuracy on 2000 test images: " << std::setprecision(1) << 100 * acc << "%\n";
  L.say(
      "Well above chance (10%) after seeing each training image less than once. A ViT has no built-in\n"
      "notion that neighbouring pixels belong together — a CNN's locality — and must learn it from data, which\n"
      "is why ViTs want more data or more epochs than CNNs of the same size (Dosovitskiy et al., section 4).");

  // ------------------------------------------------------------------------------------------------
  L.step("What the shipped model's CLS token looks at");
  const fs::path shipped = fs::path(ATTN_SOURCE_DIR) / "models/vit-fashion-mnist";
  models::LoadedViT m = models::load_vit(shipped.string());
  const models::ViTConfig& mc = m.model->config();
  {
    std::ifstream in(shipped / "eval.json");
    const nlohmann::json e = nlohmann::json::parse(in, nullptr, false);
    if (!e.is_discarded())
      std::cout << "  models/vit-fashion-mnist: " << mc.num_hidden_layers << " layers, " << mc.num_attention_heads
                << " heads, " << mc.hidden_size << " wide, patches " << mc.patch_size << "x" << mc.patch_size
                << "; test accuracy " << std::setprecision(2) << 100 * e.value("accuracy", 0.0) << "% on "
                << e.value("images", 0) << " images (its eval.json)\n";
  }
  L.say(
      "Row 0 of each layer's attention, averaged over heads, is where CLS gathers its information from.\n"
      "Rollout multiplies the layers (with the residual as ½I) to follow the information down to the pixels.");
  const int64_t idx = 0;
  const data::ImageBatch x = data::make_image_batch(test, {idx}, m.preprocess.image_mean[0], m.preprocess.image_std[0]);
  models::ViTForwardOptions opts;
  opts.output_attentions = true;
  models::ImageClassifierOutput out;
  {
    NoGradGuard ng;
    out = m.model->forward(x.images, opts);
  }
  const float* lg = out.logits.data();
  const int64_t pred = std::max_element(lg, lg + mc.num_labels) - lg;
  std::cout << "  test image " << idx << ": " << test.classes[test.labels[idx]] << ", predicted " << mc.label(pred)
            << "\n";
  viz::ImageMapsFigure fig(
      viz::grey_image(test.image(idx), static_cast<int>(test.width), static_cast<int>(test.height)), mc.grid(),
      "CLS attention of test image 0, layer by layer");
  auto cls_row = [&](const Tensor& m2) {  // (T, T) -> the CLS row over the patches
    std::vector<float> r(m2.data() + 1, m2.data() + m2.size(1));
    return r;
  };
  for (int64_t l = 0; l < mc.num_hidden_layers; ++l)
    fig.add(
        "layer " + std::to_string(l + 1),
        cls_row(explain::mean_heads(reshape(out.attentions[l], {mc.num_attention_heads, mc.seq_len(), mc.seq_len()}))));
  std::vector<Tensor> layers;
  for (const Tensor& a : out.attentions)
    layers.push_back(reshape(a, {mc.num_attention_heads, mc.seq_len(), mc.seq_len()}));
  fig.add("rollout", cls_row(explain::attention_rollout(layers)));
  fig.save(L.figure("cls_attention.png"));
  fig.save(L.figure("cls_attention.svg"));

  // ------------------------------------------------------------------------------------------------
  L.step("How far does each layer look?");
  L.say(
      "Mean attention distance (Dosovitskiy et al., Figure 7): for every patch query, the attention-weighted\n"
      "distance to the patches it reads, in patch widths, averaged over 200 test images. A small value is a\n"
      "local, convolution-like head; a large one mixes the whole image.");
  const int64_t n_img = 200, G = mc.grid(), T = mc.seq_len(), H = mc.num_attention_heads;
  std::vector<std::vector<double>> dist(static_cast<size_t>(mc.num_hidden_layers),
                                        std::vector<double>(static_cast<size_t>(H), 0.0));
  for (int64_t s = 0; s < n_img; s += 100) {
    std::vector<int64_t> ids(100);
    std::iota(ids.begin(), ids.end(), s);
    const data::ImageBatch b = data::make_image_batch(test, ids, m.preprocess.image_mean[0], m.preprocess.image_std[0]);
    NoGradGuard ng;
    const models::ImageClassifierOutput o = m.model->forward(b.images, opts);
    for (int64_t l = 0; l < mc.num_hidden_layers; ++l) {
      const float* a = o.attentions[l].data();  // (100, H, T, T)
      for (int64_t bi = 0; bi < 100; ++bi)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 1; i < T; ++i) {
            const float* row = a + ((bi * H + h) * T + i) * T;
            double mass = 0, d = 0;
            for (int64_t j = 1; j < T; ++j) {
              const double dy = (i - 1) / G - (j - 1) / G, dx = (i - 1) % G - (j - 1) % G;
              d += row[j] * std::sqrt(dy * dy + dx * dx);
              mass += row[j];
            }
            dist[l][h] += mass > 0 ? d / mass / ((T - 1) * n_img) : 0.0;
          }
    }
  }
  std::cout << "  layer   mean distance per head (patches)          mean\n";
  for (int64_t l = 0; l < mc.num_hidden_layers; ++l) {
    std::cout << "  " << std::setw(5) << l + 1 << "  ";
    double sum = 0;
    for (int64_t h = 0; h < H; ++h) {
      std::cout << " " << std::setprecision(2) << std::setw(5) << dist[l][h];
      sum += dist[l][h];
    }
    std::cout << "    " << std::setprecision(2) << sum / H << "\n";
  }
  L.say("\nNext: which of these pictures can be trusted as an explanation? Lesson 05.03 measures it.");
  return 0;
}
