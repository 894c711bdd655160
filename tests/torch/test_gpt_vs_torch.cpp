// Live cross-checks of the GPT against a PyTorch GPT-2 written from the architecture (tests/torch/gpt_ref.py,
// float64), on random weights:
//   - our checkpoints, including the options beyond GPT-2 (grouped-query attention, MQA, RoPE, no biases):
//     logits, the loss and every parameter's gradient;
//   - Hugging Face GPT-2 folders that the reference writes, in both layouts found in the wild ("official":
//     h.0.attn.c_attn.weight …; "finetuned": transformer.-prefixed, lm_head.weight, attn.bias buffers),
//     with Conv1D weights stored (in, out): our logits within 1e-4 of the reference's;
//   - save_hf_gpt2: a model of ours written as a GPT-2 folder gives the reference the same logits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/safetensors.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt2_hf.h"
#include "attn/ops/ops.h"
#include "test_util.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct GptCase {
  std::string name;
  models::GPTConfig config;
};

std::vector<GptCase> gpt_cases() {
  auto base = [] {
    models::GPTConfig c;
    c.vocab_size = 23;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_embd = 16;
    c.block_size = 12;
    return c;
  };
  std::vector<GptCase> cases;
  cases.push_back({"gpt2", base()});
  models::GPTConfig c = base();
  c.bias = false;
  c.n_inner = 24;
  c.layer_norm_epsilon = 1e-6f;
  cases.push_back({"no_bias_n_inner", c});
  c = base();
  c.n_kv_head = 2;
  cases.push_back({"gqa", c});
  c = base();
  c.n_kv_head = 1;
  c.rope = true;
  cases.push_back({"mqa_rope", c});
  c = base();
  c.rope = true;
  c.rope_theta = 500000.f;
  cases.push_back({"rope_theta", c});
  return cases;
}

json config_json(const models::GPTConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"n_layer", c.n_layer},
          {"n_head", c.n_head},         {"n_embd", c.n_embd},
          {"n_kv_head", c.n_kv_head},   {"rope", c.rope},
          {"rope_theta", c.rope_theta}, {"layer_norm_epsilon", c.layer_norm_epsilon}};
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    uint64_t seed = 100;
    for (const GptCase& gc : gpt_cases()) {
      Generator gen(++seed);
      models::GPT m(gc.config, gen);
      // Random LayerNorm parameters and larger weights, so that every term matters.
      for (auto& [name, p] : m.named_parameters()) {
        NoGradGuard ng;
        Tensor noise = Tensor::randn(p.shape(), gen);
        const bool is_ln = name.find("ln_") != std::string::npos;
        const float center = is_ln && name.find("weight") != std::string::npos ? 1.f : 0.f;  // LayerNorm γ ≈ 1
        for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = center + (is_ln ? 0.1f : 0.2f) * noise.data()[i];
      }
      const int64_t B = 2, T = 9;
      std::vector<float> ids_f, tgt_f;
      std::vector<int64_t> ids, tgt;
      for (int64_t i = 0; i < B * T; ++i) {
        ids.push_back(gen.randint(static_cast<uint32_t>(gc.config.vocab_size)));
        tgt.push_back(gen.randint(static_cast<uint32_t>(gc.config.vocab_size)));
        ids_f.push_back(static_cast<float>(ids.back()));
        tgt_f.push_back(static_cast<float>(tgt.back()));
      }
      const IndexTensor id_t(ids, {B, T}), tgt_t(tgt, {B, T});
      Tensor logits = m.forward(id_t);
      Tensor loss = m.loss(id_t, tgt_t);
      loss.backward();
      const std::string pre = gc.name + "/";
      x.put(pre + "ids", Tensor::from_vector(ids_f, {B, T}));
      x.put(pre + "targets", Tensor::from_vector(tgt_f, {B, T}));
      x.put(pre + "logits", logits);
      x.put(pre + "loss", loss);
      for (auto& [name, p] : m.named_parameters()) {
        x.put(pre + "param/" + name, p);
        x.put(pre + "grad/" + name, p.grad());
      }
      x.cases.push_back({{"name", gc.name}, {"config", config_json(gc.config)}});
    }
    return run_reference("gpt_vs_torch", "gpt_ref.py", x);
  }();
  return r;
}

class GptVsTorch : public ::testing::TestWithParam<GptCase> {};

TEST_P(GptVsTorch, LogitsLossAndEveryParameterGradientMatch) {
  const TorchResults& r = crosscheck();
  const GptCase& c = GetParam();
  Generator g(0);
  const size_t n_params = models::GPT(c.config, g).named_parameters().size();
  expect_case_within(r, c.name, 1e-4, 2 + n_params);  // logits, loss and one gradient per parameter
}

INSTANTIATE_TEST_SUITE_P(Gpt, GptVsTorch, ::testing::ValuesIn(gpt_cases()),
                         [](const ::testing::TestParamInfo<GptCase>& info) { return info.param.name; });

TEST(GptVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& r = crosscheck();
  ASSERT_TRUE(r.error.empty()) << r.error;
  std::cout << "torch " << r.results["torch_version"].get<std::string>() << ": GPT cases, largest relative deviation\n";
  for (auto& [name, errs] : r.cases().items()) {
    double logit = 0, grad = 0;
    for (auto& [k, v] : errs.items()) {
      if (!v.is_number()) continue;
      if (k == "logits") logit = v.get<double>();
      if (k.rfind("grad/", 0) == 0) grad = std::max(grad, v.get<double>());
    }
    std::cout << "  " << std::left << std::setw(18) << name << " logits " << std::scientific << std::setprecision(2)
              << logit << "  gradients " << grad << "\n";
  }
}

// ---- Hugging Face GPT-2 folders ---------------------------------------------------------------------------

double max_logit_error(models::GPT& m, const std::string& dir) {
  io::SafeTensors ref = io::load_safetensors(dir + "/reference.safetensors");
  const Tensor& ids_f = ref.tensors.at("ids");
  std::vector<int64_t> ids;
  for (float v : ids_f.to_vector()) ids.push_back(static_cast<int64_t>(v));
  NoGradGuard ng;
  Tensor logits = m.forward(IndexTensor(ids, ids_f.shape()));
  EXPECT_EQ(logits.shape(), ref.tensors.at("logits").shape());
  return max_abs_diff(logits, ref.tensors.at("logits"));
}

class HfGpt2Folder : public ::testing::TestWithParam<std::string> {};

TEST_P(HfGpt2Folder, LogitsMatchTheTorchReference) {
  const std::string layout = GetParam();
  const std::string dir = fresh_dir("hf_gpt2_" + layout);
  std::string log;
  ASSERT_EQ(run_torch_script("gpt_ref.py", "make-hf '" + dir + "' " + layout + " 7", &log), 0) << log;
  EXPECT_TRUE(models::is_hf_gpt2_folder(dir));
  auto m = models::load_hf_gpt2(dir);
  const models::GPTConfig& c = m->config();
  EXPECT_EQ(c.vocab_size, 97);
  EXPECT_EQ(c.block_size, 24);                            // n_positions
  EXPECT_EQ(c.inner(), layout == "official" ? 128 : 48);  // n_inner: null = 4·n_embd
  EXPECT_FLOAT_EQ(c.layer_norm_epsilon, layout == "official" ? 1e-5f : 1e-6f);
  const double err = max_logit_error(*m, dir);
  std::cout << layout << " GPT-2 folder: max |logit - torch reference| = " << err << "\n";
  EXPECT_LE(err, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Layouts, HfGpt2Folder, ::testing::Values("official", "finetuned"));

TEST(HfGpt2, SavedFolderGivesTheReferenceTheSameLogits) {
  models::GPTConfig c;
  c.vocab_size = 41;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 16;
  c.n_inner = 40;
  Generator g(3);
  models::GPT m(c, g);
  const std::string dir = fresh_dir("hf_gpt2_saved");
  models::save_hf_gpt2(m, dir);
  Generator ig(4);
  std::vector<float> ids;
  for (int i = 0; i < 2 * 13; ++i) ids.push_back(static_cast<float>(ig.randint(41)));
  io::save_safetensors(dir + "/ids.safetensors", {{"ids", Tensor::from_vector(ids, {2, 13})}});
  std::string log;
  ASSERT_EQ(run_torch_script("gpt_ref.py", "logits-hf '" + dir + "'", &log), 0) << log;
  EXPECT_LE(max_logit_error(m, dir), 1e-4);
  // And it loads back into an identical model.
  auto back = models::load_hf_gpt2(dir);
  for (auto& [name, p] : m.named_parameters()) {
    bool found = false;
    for (auto& [n2, p2] : back->named_parameters())
      if (n2 == name) {
        found = true;
        EXPECT_EQ(max_abs_diff(p, p2), 0.0) << name;
      }
    EXPECT_TRUE(found) << name;
  }
}

TEST(HfGpt2, BadFoldersGiveClearErrors) {
  const std::string dir = fresh_dir("hf_gpt2_bad");
  std::string log;
  ASSERT_EQ(run_torch_script("gpt_ref.py", "make-hf '" + dir + "' finetuned 9", &log), 0) << log;
  auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; };
  std::ifstream in(dir + "/config.json");
  json cfg = json::parse(in);
  // config.json problems
  json c2 = cfg;
  c2["activation_function"] = "relu";
  write("config.json", c2.dump());
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("activation_function \"relu\" is not supported"),
            std::string::npos);
  c2 = cfg;
  c2.erase("n_head");
  write("config.json", c2.dump());
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("missing field \"n_head\""), std::string::npos);
  c2 = cfg;
  c2["n_embd"] = 48;  // does not match the weights
  write("config.json", c2.dump());
  const std::string mismatch = error_of([&] { models::load_hf_gpt2(dir); });
  EXPECT_NE(mismatch.find("does not match config.json"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("shape mismatch"), std::string::npos) << mismatch;
  write("config.json", "{not json");
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("is not a JSON object"), std::string::npos);
  write("config.json", cfg.dump());
  // An untied lm_head is refused.
  io::SafeTensors st = io::load_safetensors(dir + "/model.safetensors");
  st.tensors["lm_head.weight"] = st.tensors["lm_head.weight"] + 1.f;
  io::save_safetensors(dir + "/model.safetensors", st.tensors);
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("lm_head.weight differs from wte.weight"),
            std::string::npos);
  // A missing weight is named.
  st.tensors.erase("lm_head.weight");
  st.tensors.erase("transformer.h.1.mlp.c_fc.bias");
  io::save_safetensors(dir + "/model.safetensors", st.tensors);
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("h.1.mlp.c_fc.bias"), std::string::npos);
  std::filesystem::remove(dir + "/model.safetensors");
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir); }).find("no model.safetensors"), std::string::npos);
  EXPECT_NE(error_of([&] { models::load_hf_gpt2(dir + "/nope"); }).find("no such folder"), std::string::npos);
}

}  // namespace
}  // namespace attn::testing
