// One list of op cases, checked twice: by the finite-difference harness (tests/autograd) and live
// against PyTorch (tests/torch). Each case names the op as tests/torch/ops_ref.py knows it, with the
// arguments that op takes there, so both checks run the very same inputs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/tensor.h"
#include "gradcheck.h"

namespace attn::testing {

struct OpCase {
  std::string name;                  // unique: "matmul/batched_broadcast"
  std::string op;                    // key in ops_ref.py
  nlohmann::json args;               // keyword arguments for the torch side
  std::vector<Tensor> inputs;        // float inputs
  std::vector<bool> differentiable;  // which inputs get gradients
  std::vector<IndexTensor> indices;  // integer inputs (ids, targets, gather indices)
  OpFn fn;                           // our op over `inputs`
  GradCheckOptions fd;               // finite-difference settings for this case
  double torch_rtol = 1e-5;          // cross-check tolerance (1e-4 for reductions over thousands)
  bool fd_check = true;              // large cases exist only for the PyTorch check
};

std::vector<OpCase> all_op_cases();

// A case with every input differentiable (change `differentiable` afterwards for masks and the like).
OpCase make_op_case(std::string name, std::string op, nlohmann::json args, std::vector<Tensor> inputs, OpFn fn);

// GoogleTest prints a parameter with this (instead of its raw bytes).
inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

}  // namespace attn::testing
