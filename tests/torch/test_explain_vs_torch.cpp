// Live cross-check of attention rollout (attn/explain/rollout.h) against PyTorch (Debian's python3-torch):
// the paper's formula written in torch, float64, values and gradients. Random softmax attentions, causal
// (a GPT's) and full (a ViT's over CLS + patches), with and without the batch dim, one with a query row
// masked out entirely (zero weights), and the recorded attentions of a small random GPT.
//
// Same protocol as the other torch checks (tests/common/torch_check.h): every case's layers, our rollout,
// our head mean of layer 0, a random upstream gradient and our gradients go into one safetensors file;
// tests/torch/explain_ref.py recomputes them and returns the norm-wise relative errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/attention/masks.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/explain/rollout.h"
#include "attn/models/gpt.h"
#include "attn/ops/ops.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

struct RolloutCase {
  std::string name;
  std::vector<Tensor> layers;  // (L) × (…, H, T, T)
};

std::vector<RolloutCase> rollout_cases() {
  Generator gen(2020, 7);
  std::vector<RolloutCase> cases;
  auto random_attention = [&](const Shape& shape, bool causal) {  // softmax rows, like a model's weights
    const int64_t T = shape.back();
    Tensor scores = Tensor::randn(shape, gen) * 2.f;
    return softmax(causal ? scores + to_additive_mask(causal_mask(T, T)) : scores, -1);
  };
  struct Spec { Shape shape; int64_t L; bool causal; };
  for (const Spec& s : std::vector<Spec>{{{1, 3, 3}, 1, true},
                                         {{2, 3, 3}, 2, true},
                                         {{4, 7, 7}, 3, true},
                                         {{2, 3, 5, 5}, 4, true},
                                         {{3, 10, 10}, 6, false},   // a ViT: CLS + 9 patches, full attention
                                         {{1, 2, 17, 17}, 2, false}}) {
    RolloutCase c;
    const int64_t n = static_cast<int64_t>(s.shape.size());  // "rollout/causal/L4_B2_H3_T5"
    c.name = std::string("rollout/") + (s.causal ? "causal/" : "full/") + "L" + std::to_string(s.L) +
             (n == 4 ? "_B" + std::to_string(s.shape[0]) : "") + "_H" + std::to_string(s.shape[n - 3]) + "_T" +
             std::to_string(s.shape[n - 1]);
    for (int64_t l = 0; l < s.L; ++l) c.layers.push_back(random_attention(s.shape, s.causal));
    cases.push_back(std::move(c));
  }
  {  // a query row masked out entirely in one layer: its weights are zeros (renormalised to the identity row)
    RolloutCase c{"rollout/masked_row", {}};
    for (int64_t l = 0; l < 3; ++l) {
      Tensor a = random_attention({2, 6, 6}, false);
      if (l == 1)
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t j = 0; j < 6; ++j) a.at({h, 4, j}) = 0.f;
      c.layers.push_back(a);
    }
    cases.push_back(std::move(c));
  }
  {  // what a model records: a small random GPT's attentions, (1, H, T, T) per layer
    models::GPTConfig cfg;
    cfg.vocab_size = 50, cfg.n_layer = 3, cfg.n_head = 4, cfg.n_embd = 32, cfg.block_size = 16;
    Generator init(11);
    models::GPT gpt(cfg, init);
    std::vector<int64_t> ids;
    for (int i = 0; i < 12; ++i) ids.push_back(gen.randint(50));
    NoGradGuard ng;
    RolloutCase c{"rollout/gpt", gpt.forward(IndexTensor(ids, {1, 12}), true).attentions};
    cases.push_back(std::move(c));
  }
  return cases;
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    Generator gen(77, 1);
    for (RolloutCase& c : rollout_cases()) {
      std::vector<Tensor> leaves;
      for (size_t l = 0; l < c.layers.size(); ++l) {
        leaves.push_back(c.layers[l].detach().clone().requires_grad_(true));
        x.put(c.name + "/in" + std::to_string(l), c.layers[l]);
      }
      Tensor R = explain::attention_rollout(leaves);
      Tensor gout = Tensor::uniform(R.shape(), -1.f, 1.f, gen);
      R.backward(gout);
      x.put(c.name + "/out", R);
      x.put(c.name + "/gout", gout);
      x.put(c.name + "/mean", explain::mean_heads(c.layers[0]));
      for (size_t l = 0; l < leaves.size(); ++l) x.put(c.name + "/grad" + std::to_string(l), leaves[l].grad());
      x.cases.push_back({{"name", c.name}, {"n_layers", c.layers.size()}});
    }
    return run_reference("explain_vs_torch", "explain_ref.py", x);
  }();
  return r;
}

class ExplainVsTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(ExplainVsTorch, RolloutMatchesThePapersFormula) {
  const TorchResults& r = crosscheck();
  const std::string& name = GetParam();
  expect_case_within(r, name, 1e-5, 3);
  if (r.error.empty() && r.cases().contains(name)) {
    EXPECT_TRUE(r.cases()[name].contains("out")) << name;
    EXPECT_TRUE(r.cases()[name].contains("grad0")) << name;
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const RolloutCase& c : rollout_cases()) names.push_back(c.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Explain, ExplainVsTorch, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return gtest_name(info.param); });

TEST(ExplainVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  double out = 0, grad = 0;
  for (auto& [name, res] : cc.cases().items())
    for (auto& [key, v] : res.items()) {
      if (!v.is_number()) continue;
      double& worst = key.rfind("grad", 0) == 0 ? grad : out;
      worst = std::max(worst, v.get<double>());
    }
  std::cout << "torch " << cc.results["torch_version"].get<std::string>() << ": " << cc.cases().size()
            << " rollout cases; largest relative deviation: value " << out << ", gradient " << grad << "\n";
  EXPECT_FALSE(cc.cases().empty());
}

}  // namespace
}  // namespace attn::testing
