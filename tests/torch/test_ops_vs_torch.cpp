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
#include "op_cases.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    Generator gen(424242, 3);
    std::vector<OpCase> cases = all_op_cases();
    record_op_cases(x, cases, gen);
    return run_reference("ops_vs_torch", "ops_ref.py", x);
  }();
  return r;
}

class OpsVsTorch : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpsVsTorch, ValuesAndGradientsMatch) {
  const TorchResults& r = crosscheck();
  const OpCase& c = GetParam();
  expect_case_within(r, c.name, c.torch_rtol, 1, {"drop_fraction"});
  if (r.error.empty() && r.cases().contains(c.name) && r.cases()[c.name].contains("drop_fraction")) {
    EXPECT_NEAR(r.cases()[c.name]["drop_fraction"].get<double>(), c.args["p"].get<double>(), 0.1)
        << c.name << ": dropout rate";
  }
  if (r.error.empty() && r.cases().contains(c.name)) {
    EXPECT_TRUE(r.cases()[c.name].contains("out")) << c.name;
  }
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) { return gtest_name(info.param.name); }

INSTANTIATE_TEST_SUITE_P(Ops, OpsVsTorch, ::testing::ValuesIn(all_op_cases()), case_name);

// One summary line per op: the largest deviation seen, for the record.
TEST(OpsVsTorchSummary, PrintsLargestDeviations) {
  const TorchResults& cc = crosscheck();
  ASSERT_TRUE(cc.error.empty()) << cc.error;
  std::map<std::string, std::pair<double, double>> worst;  // op -> (max out err, max grad err)
  for (auto& [name, r] : cc.cases().items()) {
    const std::string op = name.substr(0, name.find('/'));
    auto& w = worst[op];
    for (auto& [key, v] : r.items()) {
      if (key == "out") w.first = std::max(w.first, v.get<double>());
      if (key.rfind("grad", 0) == 0) w.second = std::max(w.second, v.get<double>());
    }
  }
  std::cout << "torch " << cc.results["torch_version"].get<std::string>() << ": " << cc.cases().size() << " cases, "
            << worst.size() << " ops; largest relative deviation per op (value, gradient):\n";
  for (auto& [op, w] : worst)
    std::cout << "  " << std::left << std::setw(22) << op << std::scientific << std::setprecision(2) << w.first << "  "
              << w.second << "\n";
  EXPECT_FALSE(worst.empty());
}

}  // namespace
}  // namespace attn::testing
