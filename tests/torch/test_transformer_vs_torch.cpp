// Live cross-check of attn::models::Transformer against torch.nn.Transformer (tests/torch/transformer_ref.py,
// float64), on random weights: our state dict loads into torch's module by name (strictly: every name of
// torch.nn.Transformer, no more, no less, plus src_embed / tgt_embed / generator around it); then logits,
// the label-smoothed loss, every parameter's gradient and every attention's per-head weights (encoder self,
// decoder self, cross) must agree. Variants: post-LN and pre-LN, separate and shared vocabularies (tied
// embeddings), relu and gelu, padding in source and target.
#include <gtest/gtest.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/transformer.h"
#include "attn/ops/ops.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct TransformerCase {
  std::string name;
  models::TransformerConfig config;
  float label_smoothing = 0.1f;
};

std::vector<TransformerCase> transformer_cases() {
  auto base = [] {
    models::TransformerConfig c;
    c.src_vocab = 17;
    c.tgt_vocab = 13;
    c.d_model = 16;
    c.nhead = 4;
    c.num_encoder_layers = 2;
    c.num_decoder_layers = 2;
    c.dim_feedforward = 24;
    c.dropout = 0.f;
    c.max_len = 12;
    return c;
  };
  std::vector<TransformerCase> cases;
  cases.push_back({"post_ln", base()});
  models::TransformerConfig c = base();
  c.norm_first = true;
  cases.push_back({"pre_ln", c});
  c = base();
  c.src_vocab = c.tgt_vocab = 19;
  c.share_embeddings = true;
  c.num_decoder_layers = 3;
  c.nhead = 2;
  cases.push_back({"post_ln_shared", c, 0.f});
  c.norm_first = true;
  c.activation = "gelu";
  c.layer_norm_eps = 1e-6f;
  c.num_encoder_layers = 1;
  cases.push_back({"pre_ln_shared_gelu", c, 0.2f});
  return cases;
}

json config_json(const TransformerCase& tc) {
  const models::TransformerConfig& c = tc.config;
  return {{"src_vocab", c.src_vocab},
          {"tgt_vocab", c.tgt_vocab},
          {"share_embeddings", c.share_embeddings},
          {"d_model", c.d_model},
          {"nhead", c.nhead},
          {"num_encoder_layers", c.num_encoder_layers},
          {"num_decoder_layers", c.num_decoder_layers},
          {"dim_feedforward", c.dim_feedforward},
          {"activation", c.activation},
          {"norm_first", c.norm_first},
          {"layer_norm_eps", c.layer_norm_eps},
          {"pad_id", c.pad_id},
          {"label_smoothing", tc.label_smoothing}};
}

Tensor as_float(const IndexTensor& ids) {
  std::vector<float> v(ids.data.begin(), ids.data.end());
  return Tensor::from_vector(v, ids.shape);
}

// Random ids in [1, V) (0 = pad), row b padded from lengths[b] on.
IndexTensor ids_with_padding(int64_t V, const std::vector<int64_t>& lengths, int64_t L, Generator& gen) {
  std::vector<int64_t> v;
  for (int64_t len : lengths)
    for (int64_t t = 0; t < L; ++t) v.push_back(t < len ? 1 + gen.randint(static_cast<uint32_t>(V - 1)) : 0);
  return IndexTensor(v, {static_cast<int64_t>(lengths.size()), L});
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    uint64_t seed = 300;
    for (const TransformerCase& tc : transformer_cases()) {
      const models::TransformerConfig& c = tc.config;
      Generator gen(++seed);
      models::Transformer m(c, gen);
      // Random LayerNorm parameters and larger weights, so that every term matters.
      for (auto& [name, p] : m.named_parameters()) {
        NoGradGuard ng;
        Tensor noise = Tensor::randn(p.shape(), gen);
        const bool is_norm = name.find("norm") != std::string::npos;
        const float center = is_norm && name.find("weight") != std::string::npos ? 1.f : 0.f;
        for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (is_norm ? 0.1f : 0.2f) * noise.data()[i];
      }
      const int64_t S = 7, T = 6;
      IndexTensor src = ids_with_padding(c.src_vocab, {7, 4, 6}, S, gen);
      IndexTensor tgt_in = ids_with_padding(c.tgt_vocab, {6, 3, 5}, T, gen);
      IndexTensor tgt_out = ids_with_padding(c.tgt_vocab, {6, 3, 5}, T, gen);
      for (int64_t b = 0; b < 3; ++b) tgt_in.data[static_cast<size_t>(b * T)] = c.bos_id;

      models::TransformerOutput out = m.forward(src, tgt_in, true);
      Tensor loss = m.loss(src, tgt_in, tgt_out, tc.label_smoothing);
      loss.backward();
      const std::string pre = tc.name + "/";
      x.put(pre + "src", as_float(src));
      x.put(pre + "tgt_in", as_float(tgt_in));
      x.put(pre + "tgt_out", as_float(tgt_out));
      x.put(pre + "logits", out.logits);
      x.put(pre + "loss", loss);
      for (size_t l = 0; l < out.encoder_attentions.size(); ++l)
        x.put(pre + "attn/enc/" + std::to_string(l), out.encoder_attentions[l]);
      for (size_t l = 0; l < out.decoder_attentions.size(); ++l) {
        x.put(pre + "attn/dec/" + std::to_string(l), out.decoder_attentions[l]);
        x.put(pre + "attn/cross/" + std::to_string(l), out.cross_attentions[l]);
      }
      for (const auto& [name, t] : m.state_dict()) x.put(pre + "state/" + name, t);  // tied: every name
      for (auto& [name, p] : m.named_parameters()) x.put(pre + "grad/" + name, p.grad());
      x.cases.push_back({{"name", tc.name}, {"config", config_json(tc)}});
    }
    return run_reference("transformer_vs_torch", "transformer_ref.py", x);
  }();
  return r;
}

class TransformerVsTorch : public ::testing::TestWithParam<TransformerCase> {};

TEST_P(TransformerVsTorch, LogitsLossGradientsAndAttentionMatch) {
  const TorchResults& r = crosscheck();
  const TransformerCase& tc = GetParam();
  Generator g(0);
  const models::Transformer m(tc.config, g);
  const size_t n_params = m.named_parameters().size();
  const size_t n_attn = static_cast<size_t>(tc.config.num_encoder_layers + 2 * tc.config.num_decoder_layers);
  expect_case_within(r, tc.name, 1e-4, 2 + n_params + n_attn);  // logits, loss, gradients, attention weights
}

INSTANTIATE_TEST_SUITE_P(Transformer, TransformerVsTorch, ::testing::ValuesIn(transformer_cases()),
                         [](const ::testing::TestParamInfo<TransformerCase>& info) { return info.param.name; });

TEST(TransformerVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& r = crosscheck();
  ASSERT_TRUE(r.error.empty()) << r.error;
  std::cout << "torch " << r.results["torch_version"].get<std::string>()
            << ": Transformer cases, largest relative deviation\n";
  for (auto& [name, errs] : r.cases().items()) {
    double logit = 0, loss = 0, grad = 0, attn = 0;
    std::string worst_grad;
    for (auto& [k, v] : errs.items()) {
      if (!v.is_number()) continue;
      const double e = v.get<double>();
      if (k == "logits") logit = e;
      if (k == "loss") loss = e;
      if (k.rfind("grad/", 0) == 0 && e >= grad) grad = e, worst_grad = k.substr(5);
      if (k.rfind("attn/", 0) == 0) attn = std::max(attn, e);
    }
    std::cout << "  " << std::left << std::setw(20) << name << std::scientific << std::setprecision(2) << " logits "
              << logit << "  loss " << loss << "  attention " << attn << "  gradients " << grad << " (" << worst_grad
              << ")\n";
  }
}

}  // namespace
}  // namespace attn::testing
