// Live cross-check of the attention mechanisms against PyTorch (Debian's python3-torch):
//   - MultiheadAttention against torch.nn.MultiheadAttention with copied weights: self and cross
//     attention, additive / boolean / per-head masks, key padding, kdim ≠ vdim ≠ embed_dim,
//     batch_first, averaged and per-head weights; outputs, weights, and the gradients of every input
//     and every parameter;
//   - scaled_dot_product_attention (causal, offsets, padding, grouped-query, masks, scale) and the
//     Bahdanau/Luong scoring functions against the same formulas composed in torch.
// All in float64 on the torch side (tests/torch/attention_ref.py); relative tolerance 1e-5.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "attn/attention/masks.h"
#include "attn/attention/multihead.h"
#include "attn/attention/scoring.h"
#include "attn/attention/sdpa.h"
#include "attn/ops/ops.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

using Recorder = TorchExchange;

// Records one case: named inputs (all get gradients), outputs with random upstream gradients, and the
// gradients of the inputs and of `params`.
void record_case(Recorder& rec, const std::string& name, json config,
                 std::vector<std::pair<std::string, Tensor>> inputs,
                 const std::vector<std::pair<std::string, Tensor>>& params,
                 const std::vector<std::pair<std::string, Tensor>>& consts,
                 const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& run, Generator& gen) {
  std::vector<Tensor> xs;
  for (auto& [n, t] : inputs) {
    Tensor x = t.clone().requires_grad_(true);
    rec.put(name + "/in/" + n, x);
    xs.push_back(x);
  }
  for (auto& [n, p] : params) rec.put(name + "/param/" + n, p);
  for (auto& [n, c] : consts) rec.put(name + "/const/" + n, c);
  std::vector<Tensor> outs = run(xs);
  record_outputs_and_backward(rec, name, outs, gen);
  for (size_t i = 0; i < xs.size(); ++i) rec.put(name + "/grad_in/" + inputs[i].first, xs[i].grad());
  for (auto& [n, p] : params)
    rec.put(name + "/grad_param/" + n, p.grad().defined() ? p.grad() : Tensor::zeros(p.shape()));
  config["name"] = name;
  std::vector<std::string> in_names;
  for (auto& [n, t] : inputs) in_names.push_back(n);
  config["inputs"] = in_names;
  config["n_outputs"] = outs.size();
  rec.cases.push_back(config);
}

void mha_case(Recorder& rec, const std::string& name, Generator& gen, int64_t E, int64_t H, int64_t L, int64_t S,
              int64_t B, nn::MultiheadAttentionOptions o, bool self, bool average, const Tensor& add_mask,
              const Tensor& bool_mask, const Tensor& kpm) {
  nn::MultiheadAttention mha(E, H, gen, o);
  // Random (not zero) biases, so that their gradients and effects are tested.
  for (auto& [n, p] : mha.named_parameters())
    if (n.find("bias") != std::string::npos) p.copy_(Tensor::uniform(p.shape(), -0.5f, 0.5f, gen));
  const int64_t kd = o.kdim ? o.kdim : E, vd = o.vdim ? o.vdim : E;
  auto shape = [&](int64_t T, int64_t D) { return o.batch_first ? Shape{B, T, D} : Shape{T, B, D}; };
  std::vector<std::pair<std::string, Tensor>> inputs;
  if (self) inputs = {{"x", Tensor::randn(shape(L, E), gen)}};
  else
    inputs = {{"query", Tensor::randn(shape(L, E), gen)},
              {"key", Tensor::randn(shape(S, kd), gen)},
              {"value", Tensor::randn(shape(S, vd), gen)}};
  std::vector<std::pair<std::string, Tensor>> consts;
  if (add_mask.defined()) consts.push_back({"attn_mask", add_mask});
  if (bool_mask.defined()) consts.push_back({"attn_mask_bool", bool_mask});
  if (kpm.defined()) consts.push_back({"key_padding_mask", kpm});
  json cfg = {{"kind", "mha"},
              {"embed_dim", E},
              {"num_heads", H},
              {"bias", o.bias},
              {"kdim", kd},
              {"vdim", vd},
              {"batch_first", o.batch_first},
              {"self", self},
              {"average", average}};
  record_case(
      rec, name, cfg, inputs, mha.named_parameters(), consts,
      [&](const std::vector<Tensor>& x) {
        nn::MhaForward f;
        f.average(average).mask(add_mask).mask_bool(bool_mask).padding(kpm);
        auto a = self ? mha.forward(x[0], x[0], x[0], f) : mha.forward(x[0], x[1], x[2], f);
        return std::vector<Tensor>{a.output, a.weights};
      },
      gen);
}

void sdpa_case(Recorder& rec, const std::string& name, Generator& gen, Shape qs, Shape ks, Shape vs, SdpaOptions o) {
  std::vector<std::pair<std::string, Tensor>> consts;
  if (o.attn_mask.defined()) consts.push_back({"attn_mask", o.attn_mask});
  if (o.attn_mask_bool.defined()) consts.push_back({"attn_mask_bool", o.attn_mask_bool});
  if (o.key_padding_mask.defined()) consts.push_back({"key_padding_mask", o.key_padding_mask});
  json cfg = {{"kind", "sdpa"}, {"is_causal", o.is_causal}};
  if (o.scale) cfg["scale"] = *o.scale;
  o.need_weights = true;
  record_case(
      rec, name, cfg, {{"q", Tensor::randn(qs, gen)}, {"k", Tensor::randn(ks, gen)}, {"v", Tensor::randn(vs, gen)}}, {},
      consts,
      [o](const std::vector<Tensor>& x) {
        auto a = scaled_dot_product_attention(x[0], x[1], x[2], o);
        return std::vector<Tensor>{a.output, a.weights};
      },
      gen);
}

const TorchResults& results() {
  static const TorchResults res = [] {
    Recorder rec;
    Generator gen(31337, 9);
    using O = nn::MultiheadAttentionOptions;
    const Tensor none;
    // ---- MultiheadAttention vs torch.nn.MultiheadAttention ----
    mha_case(rec, "mha/self_seq_first_averaged", gen, 8, 2, 5, 5, 3, O(), true, true, none, none, none);
    mha_case(rec, "mha/self_batch_first_causal_per_head", gen, 8, 4, 6, 6, 2, O().with_batch_first(true), true, false,
             to_additive_mask(causal_mask(6, 6)), none, none);
    {
      Tensor allowed = Tensor::ones({4, 7});
      allowed.at({0, 6}) = 0.f;
      allowed.at({2, 1}) = 0.f;
      mha_case(rec, "mha/cross_padding_bool_mask", gen, 12, 3, 4, 7, 2, O(), false, true, none, allowed,
               key_padding_mask({7, 5}, 7));
    }
    mha_case(rec, "mha/cross_kdim_vdim_no_bias_per_head", gen, 8, 2, 3, 5, 2,
             O().with_kdim(5).with_vdim(3).with_bias(false).with_batch_first(true), false, false, none, none,
             key_padding_mask({4, 5}, 5));
    {
      Generator mg(5);
      mha_case(rec, "mha/self_per_head_float_mask", gen, 6, 3, 4, 4, 2, O().with_batch_first(true), true, false,
               Tensor::uniform({2 * 3, 4, 4}, -2.f, 2.f, mg), none, none);
    }
    // ---- scaled_dot_product_attention vs the formula in torch ----
    sdpa_case(rec, "sdpa/plain", gen, {2, 3, 4, 8}, {2, 3, 6, 8}, {2, 3, 6, 5}, SdpaOptions());
    sdpa_case(rec, "sdpa/causal", gen, {1, 2, 7, 4}, {1, 2, 7, 4}, {1, 2, 7, 4}, SdpaOptions().causal());
    sdpa_case(rec, "sdpa/causal_offset_decode_block", gen, {1, 2, 3, 4}, {1, 2, 8, 4}, {1, 2, 8, 4},
              SdpaOptions().causal());
    sdpa_case(rec, "sdpa/padding_scale", gen, {2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 4},
              SdpaOptions().padding(key_padding_mask({5, 2}, 5)).with_scale(0.7f));
    sdpa_case(rec, "sdpa/gqa_4q_2kv_causal", gen, {2, 4, 5, 8}, {2, 2, 5, 8}, {2, 2, 5, 8}, SdpaOptions().causal());
    sdpa_case(rec, "sdpa/mqa", gen, {1, 4, 3, 4}, {1, 1, 6, 4}, {1, 1, 6, 4}, SdpaOptions());
    {
      Generator mg(6);
      sdpa_case(
          rec, "sdpa/additive_mask_and_bool_mask", gen, {2, 2, 4, 4}, {2, 2, 5, 4}, {2, 2, 5, 3},
          SdpaOptions().mask(Tensor::uniform({2, 1, 4, 5}, -1.f, 1.f, mg)).mask_bool(sliding_window_mask(4, 5, 3)));
    }
    sdpa_case(rec, "sdpa/wide", gen, {1, 2, 64, 32}, {1, 2, 300, 32}, {1, 2, 300, 16}, SdpaOptions());
    // ---- scoring functions ----
    {
      Tensor q = Tensor::randn({2, 3, 4}, gen), k = Tensor::randn({2, 5, 6}, gen), v = Tensor::randn({2, 5, 3}, gen);
      Tensor allowed = rsub(key_padding_mask({5, 4}, 5), 1.f);
      record_case(
          rec, "score/additive_attend", {{"kind", "additive"}},
          {{"q", q},
           {"k", k},
           {"v", v},
           {"W_a", Tensor::randn({7, 4}, gen)},
           {"U_a", Tensor::randn({7, 6}, gen)},
           {"v_a", Tensor::randn({7}, gen)}},
          {}, {{"allowed", allowed}},
          [allowed](const std::vector<Tensor>& x) {
            Attended a = attend(additive_score(x[0], x[1], x[3], x[4], x[5]), x[2], allowed);
            return std::vector<Tensor>{a.context, a.weights};
          },
          gen);
      record_case(
          rec, "score/general", {{"kind", "general"}}, {{"q", q}, {"k", k}, {"W_a", Tensor::randn({4, 6}, gen)}}, {},
          {}, [](const std::vector<Tensor>& x) { return std::vector<Tensor>{general_score(x[0], x[1], x[2])}; }, gen);
      record_case(
          rec, "score/concat", {{"kind", "concat"}},
          {{"q", q}, {"k", k}, {"W_a", Tensor::randn({5, 10}, gen)}, {"v_a", Tensor::randn({5}, gen)}}, {}, {},
          [](const std::vector<Tensor>& x) { return std::vector<Tensor>{concat_score(x[0], x[1], x[2], x[3])}; }, gen);
      record_case(
          rec, "score/dot", {{"kind", "dot"}}, {{"q", q}, {"k", Tensor::randn({2, 5, 4}, gen)}}, {}, {},
          [](const std::vector<Tensor>& x) { return std::vector<Tensor>{dot_score(x[0], x[1])}; }, gen);
    }

    return run_reference("attention_vs_torch", "attention_ref.py", rec);
  }();
  return res;
}

class AttentionVsTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(AttentionVsTorch, MatchesTorch) { expect_case_within(results(), GetParam(), 1e-5, 2); }

INSTANTIATE_TEST_SUITE_P(Attention, AttentionVsTorch,
                         ::testing::Values("mha/self_seq_first_averaged", "mha/self_batch_first_causal_per_head",
                                           "mha/cross_padding_bool_mask", "mha/cross_kdim_vdim_no_bias_per_head",
                                           "mha/self_per_head_float_mask", "sdpa/plain", "sdpa/causal",
                                           "sdpa/causal_offset_decode_block", "sdpa/padding_scale",
                                           "sdpa/gqa_4q_2kv_causal", "sdpa/mqa", "sdpa/additive_mask_and_bool_mask",
                                           "sdpa/wide", "score/additive_attend", "score/general", "score/concat",
                                           "score/dot"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return gtest_name(info.param); });

TEST(AttentionVsTorchSummary, EveryRecordedCaseIsChecked) {
  const TorchResults& r = results();
  ASSERT_TRUE(r.error.empty()) << r.error;
  // Every recorded case came back (the parametrized tests above name 17 of them).
  EXPECT_EQ(r.cases().size(), 17u);
  for (auto& [name, c] : r.cases().items()) EXPECT_FALSE(c.contains("error")) << name;
  double worst = 0;
  std::string where;
  for (auto& [name, c] : r.cases().items())
    for (auto& [key, v] : c.items())
      if (v.is_number() && v.get<double>() > worst) worst = v.get<double>(), where = name + " " + key;
  std::cout << "attention vs torch: " << r.cases().size() << " cases, largest relative deviation " << worst << " ("
            << where << ")\n";
}

}  // namespace
}  // namespace attn::testing
