#include "torch_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "attn/io/safetensors.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"
#include "test_util.h"

namespace attn::testing {

using json = nlohmann::json;

void record_op_cases(TorchExchange& x, std::vector<OpCase>& cases, Generator& gen) {
  for (OpCase& c : cases) {
    std::vector<Tensor> xs;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      Tensor in = c.inputs[k].clone();
      if (c.differentiable[k]) in.requires_grad_(true);
      xs.push_back(in);
      x.put(c.name + "/in" + std::to_string(k), c.inputs[k]);
    }
    for (size_t k = 0; k < c.indices.size(); ++k) {
      std::vector<float> v(c.indices[k].data.begin(), c.indices[k].data.end());
      x.put(c.name + "/idx" + std::to_string(k), Tensor::from_vector(v, c.indices[k].shape));
    }
    Tensor out = c.fn(xs);
    Tensor gout = Tensor::uniform(out.shape(), -1.f, 1.f, gen);
    const PoisonUninitializedGradients poison;  // an op adding into an unwritten buffer gets NaN, not luck
    if (out.requires_grad()) out.backward(gout);
    x.put(c.name + "/out", out);
    x.put(c.name + "/gout", gout);
    for (size_t k = 0; k < xs.size(); ++k)
      if (c.differentiable[k])
        x.put(c.name + "/grad" + std::to_string(k),
              xs[k].grad().defined() ? xs[k].grad() : Tensor::zeros(xs[k].shape()));
    x.cases.push_back({{"name", c.name},
                       {"op", c.op},
                       {"args", c.args},
                       {"n_inputs", c.inputs.size()},
                       {"n_indices", c.indices.size()},
                       {"differentiable", c.differentiable}});
  }
}

void record_outputs_and_backward(TorchExchange& x, const std::string& name, const std::vector<Tensor>& outs,
                                 Generator& gen) {
  Tensor total = Tensor::scalar(0.f);
  for (size_t k = 0; k < outs.size(); ++k) {
    Tensor g = Tensor::uniform(outs[k].shape(), -1.f, 1.f, gen);
    x.put(name + "/out/" + std::to_string(k), outs[k]);
    x.put(name + "/gout/" + std::to_string(k), g);
    total = total + sum(outs[k] * g);
  }
  const PoisonUninitializedGradients poison;
  total.backward();
}

TorchResults run_reference(const std::string& scratch, const std::string& script, const TorchExchange& x) {
  TorchResults r;
  const std::string dir = scratch_dir(scratch);
  const std::string in = dir + "/cases.safetensors", res = dir + "/results.json";
  io::save_safetensors(in, x.tensors, {{"cases", x.cases.dump()}});
  std::string log;
  const int rc = run_torch_script(script, "'" + in + "' '" + res + "'", &log);
  if (rc != 0) {
    r.error = script + " exited with " + std::to_string(rc) + ":\n" + log;
    return r;
  }
  std::ifstream f(res);
  r.results = json::parse(f, nullptr, false);
  if (r.results.is_discarded() || !r.results.contains("cases"))
    r.error = script + " wrote no readable results to " + res;
  return r;
}

void expect_case_within(const TorchResults& r, const std::string& name, double tol, size_t min_keys,
                        const std::vector<std::string>& skip) {
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(r.cases().contains(name)) << "no result for " << name;
  const json& c = r.cases()[name];
  ASSERT_FALSE(c.contains("error")) << name << ": " << c["error"].get<std::string>();
  ASSERT_GE(c.size(), min_keys) << name;
  for (auto& [key, v] : c.items()) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    EXPECT_LE(v.get<double>(), tol) << name << ": " << key << " relative error vs torch";
  }
}

std::string gtest_name(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

}  // namespace attn::testing
