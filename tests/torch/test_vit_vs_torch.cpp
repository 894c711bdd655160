// Live cross-checks of the Vision Transformer against a PyTorch ViT written from the architecture
// (tests/torch/vit_ref.py, float64, Hugging Face's layout), on random weights:
//   - our models: logits, the label-smoothed loss and every parameter's gradient, and the explanation
//     scores of attn/explain (raw attention, rollout, gradient x input, Grad-CAM, Chefer et al.'s relevance
//     with ∂y/∂A from torch autograd) for one image and class;
//   - Hugging Face ViT folders written by the reference ("vit." prefix, an unused pooler, 3 channels):
//     load_vit's logits within 1e-4 of the reference's.
#include <gtest/gtest.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/explain/vit_explain.h"
#include "attn/io/safetensors.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "test_util.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct VitCase {
  std::string name;
  models::ViTConfig config;
  int64_t target;
};

std::vector<VitCase> vit_cases() {
  auto base = [] {
    models::ViTConfig c;
    c.image_size = 8;
    c.patch_size = 4;
    c.num_channels = 1;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 24;
    c.num_labels = 5;
    return c;
  };
  std::vector<VitCase> cases;
  cases.push_back({"vit_gray", base(), 3});
  models::ViTConfig c = base();
  c.image_size = 12;
  c.patch_size = 3;
  c.num_channels = 3;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 2;
  c.hidden_act = "gelu_pytorch_tanh";
  c.layer_norm_eps = 1e-6f;
  cases.push_back({"vit_rgb_tanh", c, 0});
  return cases;
}

json config_json(const models::ViTConfig& c) {
  return {{"patch_size", c.patch_size},
          {"hidden_size", c.hidden_size},
          {"num_attention_heads", c.num_attention_heads},
          {"num_hidden_layers", c.num_hidden_layers},
          {"hidden_act", c.hidden_act},
          {"layer_norm_eps", c.layer_norm_eps}};
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    uint64_t seed = 40;
    for (const VitCase& vc : vit_cases()) {
      Generator gen(++seed);
      models::ViTForImageClassification m(vc.config, gen);
      for (auto& [name, p] : m.named_parameters()) {  // larger weights and random norms: every term matters
        NoGradGuard ng;
        Tensor noise = Tensor::randn(p.shape(), gen);
        const bool is_ln = name.find("layernorm") != std::string::npos;
        const float center = is_ln && name.find("weight") != std::string::npos ? 1.f : 0.f;
        for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (is_ln ? 0.1f : 0.3f) * noise.data()[i];
      }
      const models::ViTConfig& c = vc.config;
      const int64_t B = 3;
      Tensor images = Tensor::randn({B, c.num_channels, c.image_size, c.image_size}, gen);
      std::vector<int64_t> labels;
      std::vector<float> labels_f;
      for (int64_t b = 0; b < B; ++b) {
        labels.push_back(gen.randint(static_cast<uint32_t>(c.num_labels)));
        labels_f.push_back(static_cast<float>(labels.back()));
      }
      Tensor logits = m.forward(images);
      Tensor loss = m.loss(images, IndexTensor(labels), 0.1f);
      loss.backward();
      const std::string pre = vc.name + "/";
      x.put(pre + "images", images);
      x.put(pre + "labels", Tensor::from_vector(labels_f, {B}));
      x.put(pre + "logits", logits);
      x.put(pre + "loss", loss);
      for (auto& [name, p] : m.named_parameters()) {
        x.put(pre + "param/" + name, p);
        x.put(pre + "grad/" + name, p.grad());
      }
      const explain::ViTTrace t = explain::trace_vit(m, slice(images, 0, 0, 1), vc.target);
      for (const char* method : {"raw_attention", "rollout", "grad_x_input", "grad_cam", "relevance"})
        x.put(pre + "explain/" + method, explain::scores(method, t.trace));
      x.cases.push_back(
          {{"name", vc.name}, {"config", config_json(c)}, {"label_smoothing", 0.1}, {"target", vc.target}});
    }
    return run_reference("vit_vs_torch", "vit_ref.py", x);
  }();
  return r;
}

class VitVsTorch : public ::testing::TestWithParam<VitCase> {};

TEST_P(VitVsTorch, LogitsLossGradientsAndExplanationsMatch) {
  const TorchResults& r = crosscheck();
  const VitCase& c = GetParam();
  Generator g(0);
  const size_t n_params = models::ViTForImageClassification(c.config, g).named_parameters().size();
  // The key bias's true gradient is exactly 0 (q·(k + b) shifts a whole softmax row by q·b, which softmax
  // ignores): a relative error against torch's ~1e-17 measures float noise, so it is checked apart, below.
  std::vector<std::string> skip;
  for (int64_t l = 0; l < c.config.num_hidden_layers; ++l)
    skip.push_back("grad/vit.encoder.layer." + std::to_string(l) + ".attention.attention.key.bias");
  expect_case_within(r, c.name, 1e-4, 2 + n_params + 5, skip);  // logits, loss, gradients, explanations
}

TEST(VitGradients, KeyBiasGetsNoGradientBecauseSoftmaxIgnoresARowShift) {
  models::ViTConfig c = vit_cases().front().config;
  Generator gen(3);
  models::ViTForImageClassification m(c, gen);
  Tensor images = Tensor::randn({2, c.num_channels, c.image_size, c.image_size}, gen);
  m.loss(images, IndexTensor({1, 4})).backward();
  const auto& attn = m.vit->layer[0]->attention->attention;
  const double query_bias = max_abs_diff(attn->query->bias.grad(), Tensor::zeros({c.hidden_size}));
  const double key_bias = max_abs_diff(attn->key->bias.grad(), Tensor::zeros({c.hidden_size}));
  EXPECT_GT(query_bias, 1e-6);
  EXPECT_LT(key_bias, 1e-3 * query_bias);
}

INSTANTIATE_TEST_SUITE_P(Vit, VitVsTorch, ::testing::ValuesIn(vit_cases()),
                         [](const ::testing::TestParamInfo<VitCase>& info) { return info.param.name; });

TEST(VitVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& r = crosscheck();
  ASSERT_TRUE(r.error.empty()) << r.error;
  std::cout << "torch " << r.results["torch_version"].get<std::string>() << ": ViT cases, largest relative deviation\n";
  for (auto& [name, errs] : r.cases().items()) {
    double logit = 0, grad = 0, expl = 0;
    for (auto& [k, v] : errs.items()) {
      if (!v.is_number()) continue;
      if (k == "logits") logit = v.get<double>();
      if (k.rfind("grad/", 0) == 0 && k.find("key.bias") == std::string::npos) grad = std::max(grad, v.get<double>());
      if (k.rfind("explain/", 0) == 0) expl = std::max(expl, v.get<double>());
    }
    std::cout << "  " << std::left << std::setw(14) << name << " logits " << std::scientific << std::setprecision(2)
              << logit << "  gradients (but the key bias) " << grad << "  explanations " << expl << "\n";
  }
}

TEST(HfViTFolder, LogitsMatchTheTorchReference) {
  const std::string dir = fresh_dir("hf_vit");
  std::string log;
  ASSERT_EQ(run_torch_script("vit_ref.py", "make-hf '" + dir + "' 5", &log), 0) << log;
  models::LoadedViT v = models::load_vit(dir);
  const models::ViTConfig& c = v.model->config();
  EXPECT_EQ(c.image_size, 16);
  EXPECT_EQ(c.num_channels, 3);
  EXPECT_EQ(c.num_labels, 3);
  EXPECT_EQ(c.label(1), "dog");
  EXPECT_EQ(v.preprocess.image_mean, std::vector<float>({0.5f, 0.5f, 0.5f}));
  io::SafeTensors ref = io::load_safetensors(dir + "/reference.safetensors");
  NoGradGuard ng;
  Tensor logits = v.model->forward(ref.tensors.at("images"));
  ASSERT_EQ(logits.shape(), ref.tensors.at("logits").shape());
  const double err = max_abs_diff(logits, ref.tensors.at("logits"));
  std::cout << "Hugging Face ViT folder: max |logit - torch reference| = " << err << "\n";
  EXPECT_LE(err, 1e-4);
  // Saved again as F16 and reloaded: the same model up to half precision.
  models::save_vit(dir + "/f16", *v.model, v.preprocess, "F16");
  models::LoadedViT h = models::load_vit(dir + "/f16");
  EXPECT_LE(max_abs_diff(h.model->forward(ref.tensors.at("images")), logits), 2e-2);
}

}  // namespace
}  // namespace attn::testing
