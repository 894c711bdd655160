// Live cross-check of every op against PyTorch (Debian's python3-torch), values and gradients.
//
// All cases (tests/common/op_cases.cpp) run here first: inputs, our output, a random upstream gradient
// and our input gradients go into one safetensors file; tests/torch/ops_ref.py recomputes each op in
// float64 with torch and writes the norm-wise relative error of every output and gradient, which each
// parametrized test then asserts against its tolerance (1e-5; 1e-4 for reductions over thousands).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "attn/core/rng.h"
#include "attn/io/safetensors.h"
#include "op_cases.h"
#include "test_util.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct CrossCheck {
  json results;
  std::string error;  // set when the script itself could not run
};

const CrossCheck& crosscheck() {
  static const CrossCheck cc = [] {
    CrossCheck out;
    std::vector<std::pair<std::string, Tensor>> tensors;
    json cases = json::array();
    Generator gen(424242, 3);
    for (OpCase& c : all_op_cases()) {
      std::vector<Tensor> xs;
      for (size_t k = 0; k < c.inputs.size(); ++k) {
        Tensor x = c.inputs[k].clone();
        if (c.differentiable[k]) x.requires_grad_(true);
        xs.push_back(x);
        tensors.push_back({c.name + "/in" + std::to_string(k), c.inputs[k]});
      }
      for (size_t k = 0; k < c.indices.size(); ++k) {
        std::vector<float> v(c.indices[k].data.begin(), c.indices[k].data.end());
        tensors.push_back({c.name + "/idx" + std::to_string(k), Tensor::from_vector(v, c.indices[k].shape)});
      }
      Tensor out = c.fn(xs);
      Tensor gout = Tensor::uniform(out.shape(), -1.f, 1.f, gen);
      out.backward(gout);
      tensors.push_back({c.name + "/out", out.detach()});
      tensors.push_back({c.name + "/gout", gout});
      for (size_t k = 0; k < xs.size(); ++k)
        if (c.differentiable[k])
          tensors.push_back({c.name + "/grad" + std::to_string(k),
                             xs[k].grad().defined() ? xs[k].grad() : Tensor::zeros(xs[k].shape())});
      cases.push_back({{"name", c.name},
                       {"op", c.op},
                       {"args", c.args},
                       {"n_inputs", c.inputs.size()},
                       {"n_indices", c.indices.size()},
                       {"differentiable", c.differentiable}});
    }
    const std::string dir = scratch_dir("ops_vs_torch");
    const std::string in = dir + "/cases.safetensors", res = dir + "/results.json";
    io::save_safetensors(in, tensors, {{"cases", cases.dump()}});
    std::string log;
    const int rc = run_torch_script("ops_ref.py", "'" + in + "' '" + res + "'", &log);
    if (rc != 0) {
      out.error = "ops_ref.py exited with " + std::to_string(rc) + ":\n" + log;
      return out;
    }
    std::ifstream f(res);
    out.results = json::parse(f);
    return out;
  }();
  return cc;
}

class OpsVsTorch : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpsVsTorch, ValuesAndGradientsMatch) {
  const CrossCheck& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  const OpCase& c = GetParam();
  ASSERT_TRUE(cc.results["cases"].contains(c.name)) << "no result for " << c.name;
  const json& r = cc.results["cases"][c.name];
  ASSERT_FALSE(r.contains("error")) << c.name << ": " << r["error"].get<std::string>();
  ASSERT_TRUE(r.contains("out"));
  for (auto& [key, value] : r.items()) {
    if (key == "drop_fraction") {
      EXPECT_NEAR(value.get<double>(), c.args["p"].get<double>(), 0.1) << c.name << ": dropout rate";
      continue;
    }
    EXPECT_LE(value.get<double>(), c.torch_rtol) << c.name << ": " << key << " relative error vs torch";
  }
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) {
  std::string s;
  for (char ch : info.param.name) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpsVsTorch, ::testing::ValuesIn(all_op_cases()), case_name);

// One summary line per op: the largest deviation seen, for the record.
TEST(OpsVsTorchSummary, PrintsLargestDeviations) {
  const CrossCheck& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  std::map<std::string, std::pair<double, double>> worst;  // op -> (max out err, max grad err)
  for (auto& [name, r] : cc.results["cases"].items()) {
    const std::string op = name.substr(0, name.find('/'));
    auto& w = worst[op];
    for (auto& [key, v] : r.items()) {
      if (key == "out") w.first = std::max(w.first, v.get<double>());
      if (key.rfind("grad", 0) == 0) w.second = std::max(w.second, v.get<double>());
    }
  }
  std::cout << "torch " << cc.results["torch_version"].get<std::string>() << ": " << cc.results["cases"].size()
            << " cases, " << worst.size() << " ops; largest relative deviation per op (value, gradient):\n";
  for (auto& [op, w] : worst)
    std::cout << "  " << std::left << std::setw(22) << op << std::scientific << std::setprecision(2) << w.first
              << "  " << w.second << "\n";
  EXPECT_FALSE(worst.empty());
}

}  // namespace
}  // namespace attn::testing
