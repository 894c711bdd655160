// Live cross-check of the attention variants against PyTorch (Debian's python3-torch), values and
// gradients: RoPE (both layouts), ALiBi, sinusoidal encodings, linear attention (causal and not).
//
// Same protocol as test_ops_vs_torch.cpp: every case's inputs, our output, a random upstream gradient and
// our input gradients go into one safetensors file; tests/torch/attention_variants_ref.py recomputes each
// case in float64 with torch — for some cases with two independent references (RoPE: the formula
// composed in torch and HF's rotate_half, or Meta's complex-number form; linear attention: the factored
// form and the quadratic one) — and returns the norm-wise relative error of every output and gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "attn/attention/linear_attention.h"
#include "attn/attention/positional.h"
#include "attn/core/rng.h"
#include "op_cases.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

std::vector<OpCase> variant_cases() {
  Generator gen(31337, 11);
  std::vector<OpCase> cases;
  auto add = [&](std::string name, std::string op, json args, std::vector<Tensor> inputs, OpFn fn) -> OpCase& {
    cases.push_back(make_op_case(std::move(name), std::move(op), std::move(args), std::move(inputs), std::move(fn)));
    return cases.back();
  };
  auto pick = [&](std::initializer_list<int64_t> options) {
    return *(options.begin() + gen.randint(static_cast<uint32_t>(options.size())));
  };

  // ---- RoPE: random shapes, both layouts, positions from a start offset or arbitrary ----
  for (int r = 0; r < 6; ++r)
    for (bool interleaved : {false, true}) {
      const int64_t B = pick({1, 2}), H = pick({1, 2, 3}), T = pick({1, 3, 5, 7}), D = pick({2, 4, 6, 8, 16});
      const int64_t start = pick({0, 1, 17, 4000});
      const float base = r % 3 == 2 ? 500000.f : 10000.f;  // Llama 3 uses 500000
      const std::string name = std::string("rope/") + (interleaved ? "interleaved/" : "half/") + std::to_string(r);
      std::vector<int64_t> pos(T);
      for (int64_t t = 0; t < T; ++t) pos[t] = start + t;
      OpCase& c =
          add(name, "rope", {{"base", base}, {"interleaved", interleaved}}, {Tensor::randn({B, H, T, D}, gen)},
              [=](const std::vector<Tensor>& x) { return apply_rotary_embedding(x[0], start, base, interleaved); });
      c.indices = {IndexTensor(pos)};
    }
  for (bool interleaved : {false, true}) {  // arbitrary (unsorted, repeated) positions
    IndexTensor pos({5, 0, 2, 2, 1000}, {5});
    OpCase& c =
        add(std::string("rope/positions/") + (interleaved ? "interleaved" : "half"), "rope",
            {{"base", 10000.f}, {"interleaved", interleaved}}, {Tensor::randn({2, 2, 5, 8}, gen)},
            [=](const std::vector<Tensor>& x) { return apply_rotary_embedding(x[0], pos, 10000.f, interleaved); });
    c.indices = {pos};
  }

  // ---- ALiBi: slopes and bias, powers of two and not; no inputs, values only ----
  for (int64_t H : {1, 2, 3, 5, 6, 8, 12, 16, 20, 32}) {
    const int64_t L = pick({1, 3, 6}), S = L + pick({0, 2});
    add("alibi/H" + std::to_string(H), "alibi", {{"H", H}, {"L", L}, {"S", S}}, {}, [=](const std::vector<Tensor>&) {
      return concat({reshape(alibi_slopes(H), {H}), reshape(alibi_bias(H, L, S), {H * L * S})}, 0);
    });
  }

  // ---- sinusoidal: values only ----
  for (auto [T, D] : std::vector<std::pair<int64_t, int64_t>>{{6, 8}, {50, 16}, {7, 5}, {1000, 64}}) {
    add("sinusoidal/" + std::to_string(T) + "x" + std::to_string(D), "sinusoidal", {{"T", T}, {"D", D}}, {},
        [=](const std::vector<Tensor>&) { return sinusoidal_encoding(T, D); });
  }

  // ---- linear attention: random shapes, causal and not, broadcast key/value heads ----
  // No L = 1 when causal, no D = 2: there the query/key gradients are almost nothing (one key: out = v_0
  // whatever q and k are, the gradient is O(eps)) or a near-total cancellation of the two terms of
  // d(num/den), so the norm-wise error measures float32 rounding of ~0, not the implementation (the unit
  // tests check those shapes by finite differences).
  for (int r = 0; r < 5; ++r)
    for (bool causal : {false, true}) {
      const int64_t B = pick({1, 2}), H = pick({1, 2, 3}), L = causal ? pick({4, 9}) : pick({1, 4, 9}),
                    D = pick({4, 8}), Dv = pick({3, 4, 8});
      const int64_t S = causal ? L : pick({2, 5, 9});
      const int64_t Hkv = r == 3 ? 1 : H;  // one key/value head broadcast over the query heads
      add(std::string("linear_attention/") + (causal ? "causal/" : "full/") + std::to_string(r), "linear_attention",
          {{"causal", causal}, {"eps", 1e-6}},
          {Tensor::randn({B, H, L, D}, gen), Tensor::randn({B, Hkv, S, D}, gen), Tensor::randn({B, Hkv, S, Dv}, gen)},
          [=](const std::vector<Tensor>& x) { return linear_attention(x[0], x[1], x[2], causal); });
    }
  // the quadratic form, checked against the same torch references
  for (bool causal : {false, true}) {
    add(std::string("linear_attention/quadratic/") + (causal ? "causal" : "full"), "linear_attention",
        {{"causal", causal}, {"eps", 1e-6}},
        {Tensor::randn({2, 2, 6, 4}, gen), Tensor::randn({2, 2, 6, 4}, gen), Tensor::randn({2, 2, 6, 5}, gen)},
        [=](const std::vector<Tensor>& x) { return linear_attention_quadratic(x[0], x[1], x[2], causal); });
  }
  return cases;
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    Generator gen(8080, 5);
    std::vector<OpCase> cases = variant_cases();
    record_op_cases(x, cases, gen);
    return run_reference("attention_variants_vs_torch", "attention_variants_ref.py", x);
  }();
  return r;
}

class AttnVariantsVsTorch : public ::testing::TestWithParam<OpCase> {};

TEST_P(AttnVariantsVsTorch, ValuesAndGradientsMatch) {
  const TorchResults& r = crosscheck();
  const OpCase& c = GetParam();
  expect_case_within(r, c.name, c.torch_rtol);
  if (!r.error.empty() || !r.cases().contains(c.name)) return;
  EXPECT_TRUE(r.cases()[c.name].contains("out")) << c.name;
  // every differentiable input got its gradient checked
  for (size_t k = 0; k < c.inputs.size(); ++k)
    if (c.differentiable[k]) {
      EXPECT_TRUE(r.cases()[c.name].contains("grad" + std::to_string(k))) << c.name;
    }
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) { return gtest_name(info.param.name); }

INSTANTIATE_TEST_SUITE_P(Attn, AttnVariantsVsTorch, ::testing::ValuesIn(variant_cases()), case_name);

// One line per (variant, reference): the largest deviation seen, for the record.
TEST(AttnVariantsVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  std::map<std::string, std::pair<double, double>> worst;  // "op [reference]" -> (value, gradient)
  for (auto& [name, r] : cc.cases().items()) {
    const std::string op = name.substr(0, name.find('/'));
    for (auto& [key, v] : r.items()) {
      if (!v.is_number()) continue;
      const size_t at = key.find('_');  // "out", "grad0", "out_hf", "grad2_quadratic"
      const std::string ref = at == std::string::npos ? "" : " vs " + key.substr(at + 1);
      auto& w = worst[op + ref];
      if (key.rfind("out", 0) == 0) w.first = std::max(w.first, v.get<double>());
      if (key.rfind("grad", 0) == 0) w.second = std::max(w.second, v.get<double>());
    }
  }
  std::cout << "torch " << cc.results["torch_version"].get<std::string>() << ": " << cc.cases().size()
            << " attention-variant cases; largest relative deviation (value, gradient):\n";
  for (auto& [op, w] : worst)
    std::cout << "  " << std::left << std::setw(34) << op << std::scientific << std::setprecision(2) << w.first << "  "
              << w.second << "\n";
  EXPECT_FALSE(worst.empty());
}

}  // namespace
}  // namespace attn::testing
