// Live cross-check of the CLIP-style dual encoder (attn/models/clip.h) against a PyTorch one written from the
// architecture (tests/torch/clip_ref.py, float64): on random weights, a batch of pictures and texts of different
// lengths (padding masked, the </s> token pooled) — both embeddings, the logits, the symmetric InfoNCE loss and
// every parameter's gradient.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/models/clip.h"
#include "attn/ops/ops.h"
#include "test_util.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

models::ClipConfig tiny_clip() {
  models::ClipConfig c;
  c.image_size = 8, c.patch_size = 4;
  c.vision_hidden_size = 16, c.vision_layers = 2, c.vision_heads = 4, c.vision_intermediate_size = 24;
  c.vocab_size = 20, c.max_position_embeddings = 7;
  c.text_hidden_size = 12, c.text_layers = 2, c.text_heads = 2, c.text_intermediate_size = 20;
  c.projection_dim = 10;
  c.logit_scale_init_value = 1.3f;
  return c;
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    const models::ClipConfig c = tiny_clip();
    Generator gen(71);
    models::ClipModel m(c, gen);
    for (auto& [name, p] : m.named_parameters()) {  // larger weights and random norms: every term matters
      if (name == "logit_scale") continue;
      NoGradGuard ng;
      Tensor noise = Tensor::randn(p.shape(), gen);
      const bool is_ln = name.find("norm") != std::string::npos;
      const float center = is_ln && name.find("weight") != std::string::npos ? 1.f : 0.f;
      for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (is_ln ? 0.1f : 0.3f) * noise.data()[i];
    }
    {  // the <pad> row stays zero (an Embedding's padding row)
      float* row = m.text_model->embeddings->token_embedding->weight.data();
      std::fill(row, row + c.text_hidden_size, 0.f);
    }
    const int64_t B = 3;
    Tensor images = Tensor::randn({B, c.num_channels, c.image_size, c.image_size}, gen);
    // <s> pieces </s> <pad>…: lengths 6, 3 and 5 (ids 4.. are pieces)
    const IndexTensor ids({2, 5, 9, 4, 17, 3, 2, 11, 3, 0, 0, 0, 2, 6, 6, 19, 3, 0}, {B, 6});
    const models::ClipOutput out = m.forward(images, ids);
    Tensor loss = m.loss(images, ids);
    loss.backward();
    std::vector<float> ids_f(ids.data.begin(), ids.data.end());
    x.put("clip/images", images);
    x.put("clip/ids", Tensor::from_vector(ids_f, {B, 6}));
    x.put("clip/image_embeds", out.image_embeds);
    x.put("clip/text_embeds", out.text_embeds);
    x.put("clip/logits_per_image", out.logits_per_image);
    x.put("clip/loss", loss);
    for (auto& [name, p] : m.named_parameters()) {
      x.put("clip/param/" + name, p);
      x.put("clip/grad/" + name, p.grad());
    }
    const json cfg = {{"patch_size", c.patch_size},         {"vision_hidden_size", c.vision_hidden_size},
                      {"vision_layers", c.vision_layers},   {"vision_heads", c.vision_heads},
                      {"text_hidden_size", c.text_hidden_size}, {"text_layers", c.text_layers},
                      {"text_heads", c.text_heads},         {"layer_norm_eps", c.layer_norm_eps}};
    x.cases.push_back({{"name", "clip"}, {"config", cfg}});
    return run_reference("clip_vs_torch", "clip_ref.py", x);
  }();
  return r;
}

TEST(ClipVsTorch, EmbeddingsLogitsLossAndEveryGradientMatch) {
  const TorchResults& r = crosscheck();
  ASSERT_TRUE(r.error.empty()) << r.error;
  Generator g(0);
  const models::ClipConfig c = tiny_clip();
  const size_t n_params = models::ClipModel(c, g).named_parameters().size();
  // The key biases' true gradients are exactly 0 (softmax ignores a row shift): float noise, left out.
  std::vector<std::string> skip;
  for (const char* tower : {"vision_model", "text_model"})
    for (int64_t l = 0; l < 2; ++l)
      skip.push_back(std::string("grad/") + tower + ".encoder.layer." + std::to_string(l) +
                     ".attention.attention.key.bias");
  expect_case_within(r, "clip", 1e-4, 4 + n_params, skip);
  const json& e = r.cases()["clip"];
  std::cout << "torch " << r.results["torch_version"].get<std::string>() << ": CLIP loss rel. error "
            << e["loss"].get<double>() << ", logits " << e["logits_per_image"].get<double>() << "\n";
}

}  // namespace
}  // namespace attn::testing
