// Finite-difference check of every op's backward pass (the cases are shared with the PyTorch check).
#include <gtest/gtest.h>

#include "gradcheck.h"
#include "op_cases.h"

namespace attn::testing {
namespace {

class GradCheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(GradCheck, MatchesFiniteDifferences) {
  const OpCase& c = GetParam();
  GradCheckResult r = gradcheck(c.fn, c.inputs, c.differentiable, c.fd);
  EXPECT_TRUE(r.ok) << c.name << ": max abs err " << r.max_abs_err << ", max rel err " << r.max_rel_err << "\n"
                    << r.report;
}

std::vector<OpCase> fd_cases() {
  std::vector<OpCase> out;
  for (auto& c : all_op_cases())
    if (c.fd_check) out.push_back(c);
  return out;
}

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) {
  std::string s;
  for (char ch : info.param.name) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Ops, GradCheck, ::testing::ValuesIn(fd_cases()), case_name);

}  // namespace
}  // namespace attn::testing
