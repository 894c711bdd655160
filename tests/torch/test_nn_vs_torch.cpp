// Live cross-check of the nn layer against torch.nn and torch.optim (Debian's python3-torch).
//
// Modules: ours is built with random weights; its state dict — whose names are torch's — is loaded into
// the torch module of the same configuration, both run the same random input, and outputs, input
// gradients and every parameter's gradient are compared (tests/torch/nn_ref.py, float64 on the torch
// side). Optimizers: several steps of clip_grad_norm_ + step on the same quadratic loss, final
// parameters compared.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct Case {
  std::string name;
  json config;  // what nn_ref.py needs to build the same thing in torch
};

using Recorder = TorchExchange;

// Runs a module case: forward over `inputs` (requires grad), a random upstream gradient for each
// output, backward, and records everything under `name/`.
void module_case(Recorder& rec, const std::string& name, json config, nn::Module& module, std::vector<Tensor> inputs,
                 const std::function<std::vector<Tensor>(std::vector<Tensor>&)>& run, Generator& gen) {
  for (auto& x : inputs) x.requires_grad_(true);
  for (auto& [pname, p] : module.named_parameters()) rec.put(name + "/param/" + pname, p);
  for (size_t k = 0; k < inputs.size(); ++k) rec.put(name + "/in/" + std::to_string(k), inputs[k]);
  std::vector<Tensor> outs = run(inputs);
  record_outputs_and_backward(rec, name, outs, gen);
  for (size_t k = 0; k < inputs.size(); ++k) rec.put(name + "/grad_in/" + std::to_string(k), inputs[k].grad());
  for (auto& [pname, p] : module.named_parameters())
    rec.put(name + "/grad_param/" + pname, p.grad().defined() ? p.grad() : Tensor::zeros(p.shape()));
  config["name"] = name;
  config["n_inputs"] = inputs.size();
  config["n_outputs"] = outs.size();
  rec.cases.push_back(config);
}

// Optimizer case: loss = Σ c ⊙ (θ - target)² over two parameters, `steps` updates with clipping.
void optim_case(Recorder& rec, const std::string& name, json config,
                const std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>& make, Generator& gen) {
  std::vector<Tensor> params = {Tensor::randn({3, 4}, gen).requires_grad_(), Tensor::randn({5}, gen).requires_grad_()};
  std::vector<Tensor> targets = {Tensor::randn({3, 4}, gen), Tensor::randn({5}, gen)};
  std::vector<Tensor> weights = {Tensor::uniform({3, 4}, 0.5f, 3.f, gen), Tensor::uniform({5}, 0.5f, 3.f, gen)};
  for (size_t i = 0; i < params.size(); ++i) {
    rec.put(name + "/init/" + std::to_string(i), params[i]);
    rec.put(name + "/target/" + std::to_string(i), targets[i]);
    rec.put(name + "/weight/" + std::to_string(i), weights[i]);
  }
  auto opt = make(params);
  const int steps = config["steps"];
  const float max_norm = config["max_norm"];
  std::vector<float> norms;
  for (int s = 0; s < steps; ++s) {
    opt->zero_grad();
    Tensor loss = Tensor::scalar(0.f);
    for (size_t i = 0; i < params.size(); ++i) loss = loss + sum(weights[i] * pow(params[i] - targets[i], 2.f));
    loss.backward();
    norms.push_back(nn::clip_grad_norm_(params, max_norm));
    opt->step();
  }
  for (size_t i = 0; i < params.size(); ++i) rec.put(name + "/final/" + std::to_string(i), params[i]);
  rec.put(name + "/norms", Tensor::from_vector(norms, {static_cast<int64_t>(norms.size())}));
  config["name"] = name;
  config["kind"] = "optim";
  rec.cases.push_back(config);
}

const TorchResults& results() {
  static const TorchResults res = [] {
    Recorder rec;
    Generator gen(777, 5);
    {
      nn::GRU gru(5, 7, gen, nn::RNNOptions().num_layers(2).bidirectional(true));
      module_case(
          rec, "gru/2layer_bidirectional",
          {{"kind", "gru"},
           {"input_size", 5},
           {"hidden_size", 7},
           {"num_layers", 2},
           {"bidirectional", true},
           {"batch_first", false},
           {"bias", true}},
          gru, {Tensor::randn({6, 3, 5}, gen), Tensor::randn({4, 3, 7}, gen)},
          [&](std::vector<Tensor>& x) {
            auto o = gru.forward(x[0], x[1]);
            return std::vector<Tensor>{o.output, o.h_n};
          },
          gen);
    }
    {
      nn::GRU gru(4, 6, gen, nn::RNNOptions().bias(false).batch_first(true));
      module_case(
          rec, "gru/batch_first_no_bias",
          {{"kind", "gru"},
           {"input_size", 4},
           {"hidden_size", 6},
           {"num_layers", 1},
           {"bidirectional", false},
           {"batch_first", true},
           {"bias", false}},
          gru, {Tensor::randn({2, 5, 4}, gen)},
          [&](std::vector<Tensor>& x) {
            auto o = gru.forward(x[0]);
            return std::vector<Tensor>{o.output, o.h_n};
          },
          gen);
    }
    {
      // Padded sequences: lengths stop each sequence early (torch: pack_padded_sequence).
      nn::GRU gru(5, 6, gen, nn::RNNOptions().num_layers(2).bidirectional(true).batch_first(true));
      const std::vector<int64_t> lengths = {7, 3, 5};
      module_case(
          rec, "gru/packed_lengths",
          {{"kind", "gru"},
           {"input_size", 5},
           {"hidden_size", 6},
           {"num_layers", 2},
           {"bidirectional", true},
           {"batch_first", true},
           {"bias", true},
           {"lengths", lengths}},
          gru, {Tensor::randn({3, 7, 5}, gen)},
          [&](std::vector<Tensor>& x) {
            auto o = gru.forward(x[0], Tensor(), lengths);
            return std::vector<Tensor>{o.output, o.h_n};
          },
          gen);
      nn::LSTM lstm(4, 5, gen, nn::RNNOptions().bidirectional(true));
      const std::vector<int64_t> lens = {2, 6};
      module_case(
          rec, "lstm/packed_lengths",
          {{"kind", "lstm"},
           {"input_size", 4},
           {"hidden_size", 5},
           {"num_layers", 1},
           {"bidirectional", true},
           {"batch_first", false},
           {"bias", true},
           {"lengths", lens}},
          lstm, {Tensor::randn({6, 2, 4}, gen)},
          [&](std::vector<Tensor>& x) {
            auto o = lstm.forward(x[0], Tensor(), Tensor(), lens);
            return std::vector<Tensor>{o.output, o.h_n, o.c_n};
          },
          gen);
    }
    {
      nn::LSTM lstm(4, 6, gen, nn::RNNOptions().num_layers(2).bidirectional(true).batch_first(true));
      module_case(
          rec, "lstm/2layer_bidirectional_batch_first",
          {{"kind", "lstm"},
           {"input_size", 4},
           {"hidden_size", 6},
           {"num_layers", 2},
           {"bidirectional", true},
           {"batch_first", true},
           {"bias", true}},
          lstm, {Tensor::randn({3, 5, 4}, gen), Tensor::randn({4, 3, 6}, gen), Tensor::randn({4, 3, 6}, gen)},
          [&](std::vector<Tensor>& x) {
            auto o = lstm.forward(x[0], x[1], x[2]);
            return std::vector<Tensor>{o.output, o.h_n, o.c_n};
          },
          gen);
    }
    {
      nn::GRUCell cell(5, 4, gen);
      module_case(
          rec, "gru_cell", {{"kind", "gru_cell"}, {"input_size", 5}, {"hidden_size", 4}}, cell,
          {Tensor::randn({3, 5}, gen), Tensor::randn({3, 4}, gen)},
          [&](std::vector<Tensor>& x) { return std::vector<Tensor>{cell.forward(x[0], x[1])}; }, gen);
    }
    {
      nn::LSTMCell cell(5, 4, gen);
      module_case(
          rec, "lstm_cell", {{"kind", "lstm_cell"}, {"input_size", 5}, {"hidden_size", 4}}, cell,
          {Tensor::randn({3, 5}, gen), Tensor::randn({3, 4}, gen), Tensor::randn({3, 4}, gen)},
          [&](std::vector<Tensor>& x) {
            auto s = cell.forward(x[0], x[1], x[2]);
            return std::vector<Tensor>{s.h, s.c};
          },
          gen);
    }
    {
      nn::Sequential mlp{std::make_shared<nn::Linear>(6, 8, gen), std::make_shared<nn::LayerNorm>(8),
                         std::make_shared<nn::GELU>("tanh"), std::make_shared<nn::Linear>(8, 3, gen, false),
                         std::make_shared<nn::RMSNorm>(3)};
      // Non-trivial norm weights, so their gradients are tested at generic values.
      for (auto& [pname, p] : mlp.named_parameters())
        if (pname.find(".weight") != std::string::npos && p.dim() == 1)
          p.copy_(Tensor::uniform(p.shape(), 0.5f, 1.5f, gen));
      module_case(
          rec, "sequential/linear_layernorm_gelu_linear_rmsnorm", {{"kind", "mlp"}}, mlp,
          {Tensor::randn({2, 4, 6}, gen)},
          [&](std::vector<Tensor>& x) { return std::vector<Tensor>{mlp.forward(x[0])}; }, gen);
    }
    {
      nn::Embedding emb(10, 4, gen, 2);
      IndexTensor ids({1, 2, 9, 1, 0, 2}, {2, 3});
      rec.put("embedding/ids", Tensor::from_vector({1, 2, 9, 1, 0, 2}, {2, 3}));
      module_case(
          rec, "embedding/padding_idx", {{"kind", "embedding"}, {"num", 10}, {"dim", 4}, {"padding_idx", 2}}, emb, {},
          [&](std::vector<Tensor>&) { return std::vector<Tensor>{emb.forward(ids)}; }, gen);
    }
    optim_case(
        rec, "optim/sgd_momentum_nesterov_wd",
        {{"opt", "sgd"},
         {"lr", 0.05},
         {"momentum", 0.9},
         {"weight_decay", 0.01},
         {"nesterov", true},
         {"steps", 6},
         {"max_norm", 5.0}},
        [](std::vector<Tensor> p) {
          return std::make_unique<nn::SGD>(p, nn::SGDOptions(0.05f).momentum(0.9f).weight_decay(0.01f).nesterov(true));
        },
        gen);
    optim_case(
        rec, "optim/sgd_dampening",
        {{"opt", "sgd"}, {"lr", 0.1}, {"momentum", 0.5}, {"dampening", 0.3}, {"steps", 4}, {"max_norm", 100.0}},
        [](std::vector<Tensor> p) {
          return std::make_unique<nn::SGD>(p, nn::SGDOptions(0.1f).momentum(0.5f).dampening(0.3f));
        },
        gen);
    optim_case(
        rec, "optim/adam_l2",
        {{"opt", "adam"},
         {"lr", 0.01},
         {"betas", {0.8, 0.95}},
         {"eps", 1e-8},
         {"weight_decay", 0.1},
         {"steps", 7},
         {"max_norm", 2.0}},
        [](std::vector<Tensor> p) {
          return std::make_unique<nn::Adam>(p, nn::AdamOptions(0.01f).betas(0.8f, 0.95f).weight_decay(0.1f));
        },
        gen);
    optim_case(
        rec, "optim/adamw",
        {{"opt", "adamw"},
         {"lr", 0.02},
         {"betas", {0.9, 0.999}},
         {"eps", 1e-8},
         {"weight_decay", 0.05},
         {"steps", 7},
         {"max_norm", 1.0}},
        [](std::vector<Tensor> p) {
          return std::make_unique<nn::AdamW>(p, nn::AdamWOptions(0.02f).weight_decay(0.05f));
        },
        gen);

    return run_reference("nn_vs_torch", "nn_ref.py", rec);
  }();
  return res;
}

class NnVsTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(NnVsTorch, MatchesTorch) { expect_case_within(results(), GetParam(), 1e-5); }

INSTANTIATE_TEST_SUITE_P(Nn, NnVsTorch,
                         ::testing::Values("gru/2layer_bidirectional", "gru/batch_first_no_bias", "gru/packed_lengths",
                                           "lstm/packed_lengths", "lstm/2layer_bidirectional_batch_first", "gru_cell",
                                           "lstm_cell", "sequential/linear_layernorm_gelu_linear_rmsnorm",
                                           "embedding/padding_idx", "optim/sgd_momentum_nesterov_wd",
                                           "optim/sgd_dampening", "optim/adam_l2", "optim/adamw"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return gtest_name(info.param); });

}  // namespace
}  // namespace attn::testing
