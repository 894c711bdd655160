// Live cross-check of the explain layer against PyTorch (Debian's python3-torch), float64:
//   - attention rollout (attn/explain/rollout.h), the paper's formula written in torch, values and gradients.
//     Random softmax attentions, causal (a GPT's) and full (a ViT's over CLS + patches), with and without the
//     batch dim, one with a query row masked out entirely (zero weights), and the recorded attentions of a
//     small random GPT;
//   - every attribution method on a GPT (attn/explain/gpt_explain.h): small random GPTs (GPT-2, and GQA with
//     RoPE), the next-token logit at the last position explained by our trace_gpt and by tests/torch/gpt_ref.py's
//     torch GPT with torch autograd: the traced ∂y/∂A, ∂y/∂x₀, ∂y/∂h_L, the six methods' scores (flow by
//     Edmonds-Karp in Python), and gpt_removal_forward's logits with keys removed;
//   - Chefer et al.'s relevance for an encoder-decoder (attn/explain/seq2seq_explain.h): small random
//     Transformers (post-LN; pre-LN with shared embeddings and gelu), one logit y = logits[t, v] traced by our
//     trace_translation and by a torch Transformer written in explain_ref.py (its logits checked against
//     torch.nn.Transformer's): every encoder self / decoder self / cross attention and its ∂y/∂A, R^ss, R^tt,
//     R^ts and the raw last-layer cross-attention (t = 0 too, where rows of R − I are all zero).
//
// Same protocol as the other torch checks (tests/common/torch_check.h): every case's inputs and our results
// go into one safetensors file; tests/torch/explain_ref.py recomputes them and returns the norm-wise
// relative errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/attention/masks.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/explain/gpt_explain.h"
#include "attn/explain/rollout.h"
#include "attn/explain/seq2seq_explain.h"
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
  struct Spec {
    Shape shape;
    int64_t L;
    bool causal;
  };
  for (const Spec& s : std::vector<Spec>{{{1, 3, 3}, 1, true},
                                         {{2, 3, 3}, 2, true},
                                         {{4, 7, 7}, 3, true},
                                         {{2, 3, 5, 5}, 4, true},
                                         {{3, 10, 10}, 6, false},  // a ViT: CLS + 9 patches, full attention
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

struct GptExplainCase {
  std::string name;
  models::GPTConfig config;
  int64_t T, target;
};

void PrintTo(const GptExplainCase& c, std::ostream* os) { *os << c.name; }

std::vector<GptExplainCase> gpt_explain_cases() {
  models::GPTConfig c;
  c.vocab_size = 17, c.n_layer = 3, c.n_head = 4, c.n_embd = 16, c.block_size = 12;
  std::vector<GptExplainCase> cases{{"gpt_explain/gpt2", c, 9, -1}};
  models::GPTConfig g = c;
  g.n_layer = 2, g.n_kv_head = 2, g.rope = true, g.bias = false;
  cases.push_back({"gpt_explain/gqa_rope", g, 11, 5});
  return cases;
}

nlohmann::json gpt_config_json(const models::GPTConfig& c) {
  return {{"vocab_size", c.vocab_size},
          {"n_layer", c.n_layer},
          {"n_head", c.n_head},
          {"n_kv_head", c.n_kv_head},
          {"n_embd", c.n_embd},
          {"layer_norm_epsilon", c.layer_norm_epsilon},
          {"rope", c.rope},
          {"rope_theta", c.rope_theta}};
}

void record_gpt_explain_case(TorchExchange& x, const GptExplainCase& gc, uint64_t seed) {
  Generator gen(seed);
  models::GPT m(gc.config, gen);
  for (auto& [name, p] : m.named_parameters()) {  // larger weights and random norms: every term matters
    NoGradGuard ng;
    const Tensor noise = Tensor::randn(p.shape(), gen);
    const bool ln = name.find("ln_") != std::string::npos;
    const float center = ln && name.find("weight") != std::string::npos ? 1.f : 0.f;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (ln ? 0.1f : 0.4f) * noise.data()[i];
  }
  std::vector<int64_t> ids;
  std::vector<float> ids_f;
  for (int64_t t = 0; t < gc.T; ++t) {
    ids.push_back(gen.randint(static_cast<uint32_t>(gc.config.vocab_size)));
    ids_f.push_back(static_cast<float>(ids.back()));
  }
  const explain::GPTTrace t = explain::trace_gpt(m, ids, gc.target);
  const std::string pre = gc.name + "/";
  for (auto& [name, p] : m.named_parameters()) x.put(pre + "param/" + name, p);
  x.put(pre + "ids", Tensor::from_vector(ids_f, {1, gc.T}));
  x.put(pre + "logits", t.logits);
  for (size_t l = 0; l < t.trace.attentions.size(); ++l) {
    x.put(pre + "attention" + std::to_string(l), t.trace.attentions[l]);
    x.put(pre + "dA" + std::to_string(l), t.trace.attention_grads[l]);
  }
  x.put(pre + "input_grad", t.trace.input_grad);
  x.put(pre + "last_grad", t.trace.last_grad);
  for (const std::string& method : explain::kMethods)
    x.put(pre + "explain/" + method, explain::scores(method, t.trace));
  // Three removal rows: nothing, a few tokens, every token but the query (token 0 too: a query with no key).
  Tensor removed = Tensor::zeros({3, gc.T});
  for (int64_t j : {int64_t{1}, int64_t{4}, gc.T - 2}) removed.data()[gc.T + j] = 1.f;
  for (int64_t j = 0; j < gc.T - 1; ++j) removed.data()[2 * gc.T + j] = 1.f;
  x.put(pre + "removed", removed);
  x.put(pre + "removed_logits", explain::gpt_removal_forward(m, ids)(removed));
  x.cases.push_back({{"name", gc.name}, {"kind", "gpt"}, {"config", gpt_config_json(gc.config)}, {"target", t.target}});
}

struct Seq2SeqExplainCase {
  std::string name;
  models::TransformerConfig config;
  int64_t position, token;  // the explained logit y = logits[position, token]; token -1: the predicted one
};

void PrintTo(const Seq2SeqExplainCase& c, std::ostream* os) { *os << c.name; }

std::vector<Seq2SeqExplainCase> seq2seq_explain_cases() {
  models::TransformerConfig c;
  c.src_vocab = 17, c.tgt_vocab = 13, c.d_model = 16, c.nhead = 4, c.num_encoder_layers = 2;
  c.num_decoder_layers = 2, c.dim_feedforward = 24, c.dropout = 0.f, c.max_len = 12;
  std::vector<Seq2SeqExplainCase> cases{{"seq2seq_explain/post_ln", c, 3, -1},
                                        {"seq2seq_explain/post_ln_first", c, 0, -1}};
  models::TransformerConfig g = c;
  g.src_vocab = g.tgt_vocab = 19, g.share_embeddings = true, g.norm_first = true, g.activation = "gelu";
  g.num_encoder_layers = 1, g.num_decoder_layers = 3, g.nhead = 2;
  cases.push_back({"seq2seq_explain/pre_ln_shared_gelu", g, 5, 7});
  return cases;
}

void record_seq2seq_explain_case(TorchExchange& x, const Seq2SeqExplainCase& sc, uint64_t seed) {
  const models::TransformerConfig& c = sc.config;
  Generator gen(seed);
  models::Transformer m(c, gen);
  for (auto& [name, p] : m.named_parameters()) {  // random norms and larger weights: every term matters
    NoGradGuard ng;
    const Tensor noise = Tensor::randn(p.shape(), gen);
    const bool norm = name.find("norm") != std::string::npos;
    const float center = norm && name.find("weight") != std::string::npos ? 1.f : 0.f;
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (norm ? 0.1f : 0.3f) * noise.data()[i];
  }
  const int64_t S = 7, T = 6;
  std::vector<int64_t> src, tgt = {c.bos_id};
  for (int64_t s = 0; s < S; ++s) src.push_back(4 + gen.randint(static_cast<uint32_t>(c.src_vocab - 4)));
  while (static_cast<int64_t>(tgt.size()) < T) tgt.push_back(4 + gen.randint(static_cast<uint32_t>(c.tgt_vocab - 4)));
  const explain::Seq2SeqTrace t = explain::trace_translation(m, src, tgt, sc.position, sc.token);
  const explain::Seq2SeqRelevance r = explain::seq2seq_relevance(t);
  const std::string pre = sc.name + "/";
  for (const auto& [name, p] : m.state_dict()) x.put(pre + "state/" + name, p);  // tied: every name
  x.put(pre + "src", Tensor::from_vector(std::vector<float>(src.begin(), src.end()), {1, S}));
  x.put(pre + "tgt_in", Tensor::from_vector(std::vector<float>(tgt.begin(), tgt.end()), {1, T}));
  x.put(pre + "logits", t.logits);
  const std::pair<const char*, const std::vector<Tensor>*> lists[] = {
      {"enc", &t.encoder_attentions}, {"enc_grad", &t.encoder_grads}, {"dec", &t.decoder_attentions},
      {"dec_grad", &t.decoder_grads}, {"cross", &t.cross_attentions}, {"cross_grad", &t.cross_grads}};
  for (const auto& [key, list] : lists)
    for (size_t l = 0; l < list->size(); ++l) x.put(pre + key + std::to_string(l), (*list)[l]);
  x.put(pre + "R_ss", r.source_self);
  x.put(pre + "R_tt", r.target_self);
  x.put(pre + "R_ts", r.target_source);
  x.put(pre + "raw_cross", r.raw_cross);
  x.cases.push_back({{"name", sc.name},
                     {"kind", "seq2seq"},
                     {"position", t.position},
                     {"token", t.token},
                     {"config",
                      {{"src_vocab", c.src_vocab},
                       {"tgt_vocab", c.tgt_vocab},
                       {"d_model", c.d_model},
                       {"nhead", c.nhead},
                       {"num_encoder_layers", c.num_encoder_layers},
                       {"num_decoder_layers", c.num_decoder_layers},
                       {"dim_feedforward", c.dim_feedforward},
                       {"activation", c.activation},
                       {"norm_first", c.norm_first},
                       {"layer_norm_eps", c.layer_norm_eps},
                       {"share_embeddings", c.share_embeddings}}}});
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    uint64_t seed = 500;
    for (const GptExplainCase& gc : gpt_explain_cases()) record_gpt_explain_case(x, gc, ++seed);
    for (const Seq2SeqExplainCase& sc : seq2seq_explain_cases()) record_seq2seq_explain_case(x, sc, ++seed);
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

class GptExplainVsTorch : public ::testing::TestWithParam<GptExplainCase> {};

TEST_P(GptExplainVsTorch, EveryMethodAndTracedGradientMatchesTorchAutograd) {
  const TorchResults& r = crosscheck();
  const GptExplainCase& c = GetParam();
  // logits, per layer attention + dA, input and last gradients, six methods, removal logits
  const size_t keys = 1 + 2 * static_cast<size_t>(c.config.n_layer) + 2 + explain::kMethods.size() + 1;
  expect_case_within(r, c.name, 1e-4, keys);
}

INSTANTIATE_TEST_SUITE_P(Explain, GptExplainVsTorch, ::testing::ValuesIn(gpt_explain_cases()),
                         [](const ::testing::TestParamInfo<GptExplainCase>& info) {
                           return gtest_name(info.param.name);
                         });

class Seq2SeqExplainVsTorch : public ::testing::TestWithParam<Seq2SeqExplainCase> {};

TEST_P(Seq2SeqExplainVsTorch, TracedAttentionsGradientsAndRelevanceMatchTorchAutograd) {
  const TorchResults& r = crosscheck();
  const Seq2SeqExplainCase& c = GetParam();
  // our logits and torch.nn.Transformer's against the torch reference, each map and its ∂y/∂A, R^ss, R^tt, R^ts,
  // the raw cross-attention
  const size_t keys = 2 + 2 * static_cast<size_t>(c.config.num_encoder_layers + 2 * c.config.num_decoder_layers) + 4;
  expect_case_within(r, c.name, 1e-5, keys);
}

INSTANTIATE_TEST_SUITE_P(Explain, Seq2SeqExplainVsTorch, ::testing::ValuesIn(seq2seq_explain_cases()),
                         [](const ::testing::TestParamInfo<Seq2SeqExplainCase>& info) {
                           return gtest_name(info.param.name);
                         });

TEST(ExplainVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  double out = 0, grad = 0, methods = 0, traced = 0, relevance = 0, s2s_traced = 0;
  size_t gpt_cases = 0, s2s_cases = 0;
  for (auto& [name, res] : cc.cases().items()) {
    const bool gpt = name.rfind("gpt_explain/", 0) == 0, s2s = name.rfind("seq2seq_explain/", 0) == 0;
    gpt_cases += gpt;
    s2s_cases += s2s;
    for (auto& [key, v] : res.items()) {
      if (!v.is_number()) continue;
      double& worst = s2s   ? (key.rfind("R_", 0) == 0 || key == "raw_cross" ? relevance : s2s_traced)
                      : gpt ? (key.rfind("explain/", 0) == 0 ? methods : traced)
                            : (key.rfind("grad", 0) == 0 ? grad : out);
      worst = std::max(worst, v.get<double>());
    }
  }
  std::cout << "torch " << cc.results["torch_version"].get<std::string>() << ": "
            << cc.cases().size() - gpt_cases - s2s_cases << " rollout cases; largest relative deviation: value " << out
            << ", gradient " << grad << "\n"
            << "  " << gpt_cases << " GPT explanations; largest relative deviation: methods " << methods
            << ", traced logits/attentions/gradients/removals " << traced << "\n"
            << "  " << s2s_cases << " encoder-decoder relevance cases; largest relative deviation: R^ss/R^tt/R^ts/raw "
            << relevance << ", traced logits/attentions/gradients " << s2s_traced << "\n";
  EXPECT_FALSE(cc.cases().empty());
}

}  // namespace
}  // namespace attn::testing
