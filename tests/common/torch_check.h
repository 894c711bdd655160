// The live PyTorch cross-check protocol, shared by every tests/torch/test_*_vs_torch.cpp:
//
//   1. the C++ test runs each case — inputs, our outputs, a random upstream gradient, our gradients — and
//      records the tensors under "<case>/..." keys, plus one JSON description per case;
//   2. run_reference() writes them to one safetensors file (the case list as its metadata), runs
//      tests/torch/<script> on it under Debian's python3-torch, and reads back the script's results:
//      {"torch_version": ..., "cases": {"<case>": {"out": err, "grad0": err, ...} | {"error": "..."}}}
//      where each err is max |ours - torch| / max |torch| against a float64 reference;
//   3. each parametrized test asserts its case's errors.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"
#include "op_cases.h"

namespace attn::testing {

struct TorchExchange {
  std::vector<std::pair<std::string, Tensor>> tensors;
  nlohmann::json cases = nlohmann::json::array();
  void put(const std::string& key, const Tensor& t) { tensors.push_back({key, t.detach().clone()}); }
};

// Runs every OpCase (as test_ops_vs_torch does) and records it in the layout ops_ref.py reads:
// "<name>/in<k>", "<name>/idx<k>", "<name>/out", "<name>/gout", "<name>/grad<k>".
void record_op_cases(TorchExchange& x, std::vector<OpCase>& cases, Generator& gen);

// Records each output under "<name>/out/<k>" with a random upstream gradient "<name>/gout/<k>", then runs
// backward on Σ_k Σ out_k ⊙ gout_k — the loss whose gradients the reference scripts recompute.
void record_outputs_and_backward(TorchExchange& x, const std::string& name, const std::vector<Tensor>& outs,
                                 Generator& gen);

struct TorchResults {
  nlohmann::json results;  // the script's whole output
  std::string error;       // set when the script could not run
  const nlohmann::json& cases() const { return results["cases"]; }
};

// Writes `x` under build/test_scratch/<scratch>/, runs tests/torch/<script>, parses its results.
TorchResults run_reference(const std::string& scratch, const std::string& script, const TorchExchange& x);

// Checks one case's result: present, no error, at least `min_keys` entries, each numeric entry ≤ tol
// (entries named in `skip` are left to the caller).
void expect_case_within(const TorchResults& r, const std::string& name, double tol, size_t min_keys = 1,
                        const std::vector<std::string>& skip = {});

// A GoogleTest-safe parameter name: every character that is not alphanumeric becomes '_'.
std::string gtest_name(const std::string& s);

}  // namespace attn::testing
