// Module bookkeeping (names, state dicts, modes) and the basic layers against hand computation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/nn/layers.h"
#include "attn/nn/module.h"
#include "attn/ops/ops.h"

namespace attn::nn {
namespace {

// A small model with nesting, a buffer and a Sequential, to check names exactly as torch would give:
//   encoder: Sequential(0: Linear(4, 8), 1: Tanh, 2: Dropout, 3: Linear(8, 8)), norm: LayerNorm(8),
//   head: Linear(8, 3), buffer "scale".
struct Net : Module {
  std::shared_ptr<Sequential> encoder;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> head;
  Tensor scale;
  explicit Net(Generator& gen) {
    encoder = register_module(
        "encoder", std::make_shared<Sequential>(std::make_shared<Linear>(4, 8, gen), std::make_shared<Tanh>(),
                                                std::make_shared<Dropout>(0.5f), std::make_shared<Linear>(8, 8, gen)));
    norm = register_module("norm", std::make_shared<LayerNorm>(8));
    head = register_module("head", std::make_shared<Linear>(8, 3, gen));
    scale = register_buffer("scale", Tensor::full({1}, 2.f));
  }
  std::string type_name() const override { return "Net"; }
  Tensor forward(const Tensor& x) { return head->forward(norm->forward(encoder->forward(x))) * scale; }
};

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(NnModule, ParameterNamesAreDottedLikeTorch) {
  Generator gen(1);
  Net net(gen);
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"encoder.0.weight", "encoder.0.bias", "encoder.3.weight", "encoder.3.bias",
                                      "norm.weight", "norm.bias", "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), std::vector<std::string>{});
  EXPECT_EQ(net.state_dict().keys(),
            (std::vector<std::string>{"scale", "encoder.0.weight", "encoder.0.bias", "encoder.3.weight",
                                      "encoder.3.bias", "norm.weight", "norm.bias", "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()), std::vector<std::string>{"scale"});
  // 4·8 + 8 + 8·8 + 8 + 8 + 8 + 8·3 + 3
  EXPECT_EQ(net.num_parameters(), 32 + 8 + 64 + 8 + 8 + 8 + 24 + 3);
  EXPECT_EQ(net.parameters().size(), 8u);
  for (const Tensor& p : net.parameters()) {
    EXPECT_TRUE(p.is_leaf());
    EXPECT_TRUE(p.requires_grad());
  }
  std::vector<std::string> modules;
  for (auto& [name, m] : net.named_modules()) modules.push_back(name);
  EXPECT_EQ(modules, (std::vector<std::string>{"", "encoder", "encoder.0", "encoder.1", "encoder.2", "encoder.3",
                                               "norm", "head"}));
}

TEST(NnModule, StateDictSharesStorageAndCloneSnapshots) {
  Generator gen(1);
  Linear lin(2, 2, gen);
  StateDict shared = lin.state_dict();
  StateDict snapshot = shared.clone();
  lin.weight.data()[0] = 42.f;
  EXPECT_EQ(shared.at("weight").data()[0], 42.f);
  EXPECT_NE(snapshot.at("weight").data()[0], 42.f);
  EXPECT_FALSE(shared.at("weight").requires_grad());  // detached handles
}

TEST(NnModule, TiedParameterIsListedOnce) {
  // Weight tying (GPT's wte and lm_head): one tensor registered under two names. It is one parameter
  // (listed once, so an optimizer updates it once) but appears under both names in the state dict.
  struct Holder : Module {
    explicit Holder(const Tensor& shared) { register_parameter("weight", shared); }
  };
  struct Both : Module {
    Both(std::shared_ptr<Module> a, std::shared_ptr<Module> b) {
      register_module("a", std::move(a));
      register_module("b", std::move(b));
    }
  };
  Generator gen(2);
  auto emb = std::make_shared<Embedding>(5, 3, gen);
  Both both(emb, std::make_shared<Holder>(emb->weight));
  EXPECT_EQ(names_of(both.named_parameters()), std::vector<std::string>{"a.weight"});
  EXPECT_EQ(both.state_dict().keys(), (std::vector<std::string>{"a.weight", "b.weight"}));
  EXPECT_EQ(both.num_parameters(), 15);
}

TEST(NnModule, LoadStateDictCopiesValues) {
  Generator g1(1), g2(2);
  Net a(g1), b(g2);
  Tensor x = Tensor::randn({3, 4}, g1);
  a.eval();
  b.eval();
  EXPECT_NE(a.forward(x).to_vector(), b.forward(x).to_vector());
  LoadResult r = b.load_state_dict(a.state_dict());
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  EXPECT_EQ(a.forward(x).to_vector(), b.forward(x).to_vector());
  // Values were copied, not aliased: b's tensors are still its own.
  a.head->bias.data()[0] += 1.f;
  EXPECT_NE(a.head->bias.data()[0], b.head->bias.data()[0]);
}

TEST(NnModule, LoadStateDictNamesEveryProblem) {
  Generator g1(1), g2(2);
  Net a(g1), b(g2);
  StateDict sd = a.state_dict();
  sd.erase("norm.bias");                                 // missing
  sd.insert("encoder.9.weight", Tensor::zeros({2, 2}));  // unexpected
  sd.insert("head.weight", Tensor::zeros({8, 3}));       // mis-shaped: model has (3, 8)
  const float before = b.encoder->at(0)->parameters()[0].data()[0];
  try {
    b.load_state_dict(sd);
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[load_state_dict]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing keys 1: \"norm.bias\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected keys 1: \"encoder.9.weight\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"head.weight\" (checkpoint (8, 3) vs model (3, 8))"), std::string::npos) << msg;
  }
  // Nothing was copied.
  EXPECT_EQ(b.encoder->at(0)->parameters()[0].data()[0], before);
}

TEST(NnModule, NonStrictLoadReportsKeysButRejectsShapes) {
  Generator g1(1), g2(2);
  Net a(g1), b(g2);
  StateDict sd = a.state_dict();
  sd.erase("head.bias");
  sd.insert("extra", Tensor::zeros({1}));
  LoadResult r = b.load_state_dict(sd, /*strict=*/false);
  EXPECT_EQ(r.missing_keys, std::vector<std::string>{"head.bias"});
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>{"extra"});
  EXPECT_EQ(b.head->weight.to_vector(), a.head->weight.to_vector());
  sd.insert("norm.weight", Tensor::ones({9}));
  EXPECT_THROW(b.load_state_dict(sd, false), Error);
}

TEST(NnModule, TrainEvalPropagatesToEveryDescendant) {
  Generator gen(3);
  Net net(gen);
  EXPECT_TRUE(net.is_training());
  net.eval();
  for (auto& [name, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  // In eval mode the Dropout is the identity: two forwards agree.
  Tensor x = Tensor::randn({2, 4}, gen);
  EXPECT_EQ(net.forward(x).to_vector(), net.forward(x).to_vector());
  net.train();
  for (auto& [name, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << name;
  net.encoder->train(false);
  EXPECT_TRUE(net.is_training());
  EXPECT_FALSE(net.encoder->at(2)->is_training());
}

TEST(NnModule, ZeroGradDropsEveryGradient) {
  Generator gen(4);
  Net net(gen);
  sum(net.forward(Tensor::randn({2, 4}, gen))).backward();
  for (auto& [name, p] : net.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  net.zero_grad();
  for (auto& [name, p] : net.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(NnModule, RegistrationErrors) {
  struct M : Module {};
  M m;
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_THROW(m.register_parameter("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_buffer("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("u", Tensor()), Error);
  Tensor leaf = Tensor::ones({2}).requires_grad_();
  EXPECT_THROW(m.register_parameter("computed", leaf * 2.f), Error);
}

TEST(NnModule, ToStringPrintsTheTreeLikeTorch) {
  Generator gen(5);
  Sequential seq{std::make_shared<Linear>(2, 8, gen), std::make_shared<GELU>("tanh"),
                 std::make_shared<Linear>(8, 1, gen, false)};
  EXPECT_EQ(seq.to_string(),
            "Sequential(\n"
            "  (0): Linear(in_features=2, out_features=8, bias=True)\n"
            "  (1): GELU(approximate='tanh')\n"
            "  (2): Linear(in_features=8, out_features=1, bias=False)\n"
            ")");
}

// ---- layers -----------------------------------------------------------------------------------------

TEST(NnLayers, LinearMatchesHandComputation) {
  Generator gen(6);
  Linear lin(3, 2, gen);
  EXPECT_EQ(lin.weight.shape(), (Shape{2, 3}));
  EXPECT_EQ(lin.bias.shape(), (Shape{2}));
  lin.weight.copy_(Tensor::from_vector({1, 2, 3, -1, 0, 0.5f}, {2, 3}));
  lin.bias.copy_(Tensor::from_vector({0.5f, -1}, {2}));
  Tensor x = Tensor::from_vector({1, 1, 1, 2, 0, -2}, {2, 3});
  // y = x Wᵀ + b: row 0 = (1+2+3+0.5, -1+0+0.5-1), row 1 = (2-6+0.5, -2-1-1)
  expect_near(lin.forward(x).to_vector(), {6.5f, -1.5f, -3.5f, -4.f});
  // Gradient of sum(y): dW = Σ_rows x, db = number of rows.
  sum(lin.forward(x)).backward();
  expect_near(lin.weight.grad().to_vector(), {3, 1, -1, 3, 1, -1});
  expect_near(lin.bias.grad().to_vector(), {2, 2});
}

TEST(NnLayers, LinearInitIsTorchsUniformBound) {
  Generator g1(7), g2(7);
  Linear a(16, 32, g1), b(16, 32, g2);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());  // same seed, same init
  const float bound = 1.f / std::sqrt(16.f);
  float wmax = 0.f;
  for (float w : a.weight.to_vector()) wmax = std::max(wmax, std::fabs(w));
  for (float v : a.bias.to_vector()) EXPECT_LE(std::fabs(v), bound);
  EXPECT_LE(wmax, bound);
  EXPECT_GT(wmax, 0.9f * bound);  // and really uses the range
}

TEST(NnLayers, LayerNormMatchesHandComputation) {
  LayerNorm ln(4);
  ln.weight.copy_(Tensor::from_vector({1, 2, 1, 1}, {4}));
  ln.bias.copy_(Tensor::from_vector({0, 0, 1, 0}, {4}));
  // x = (1, 2, 3, 4): μ = 2.5, σ² = 1.25, x̂ = (x - μ) / √(1.25 + 1e-5)
  const float rstd = 1.f / std::sqrt(1.25f + 1e-5f);
  Tensor y = ln.forward(Tensor::from_vector({1, 2, 3, 4}, {1, 4}));
  expect_near(y.to_vector(), {-1.5f * rstd, 2 * -0.5f * rstd, 0.5f * rstd + 1, 1.5f * rstd});
  LayerNorm plain(Shape{2, 2}, 1e-5f, /*elementwise_affine=*/false);
  EXPECT_TRUE(plain.parameters().empty());
  expect_near(plain.forward(Tensor::from_vector({1, 2, 3, 4}, {2, 2})).to_vector(),
              {-1.5f * rstd, -0.5f * rstd, 0.5f * rstd, 1.5f * rstd});
}

TEST(NnLayers, RMSNormMatchesHandComputation) {
  RMSNorm rms(2);
  rms.weight.copy_(Tensor::from_vector({1, 3}, {2}));
  // x = (3, 4): mean(x²) = 12.5, y = x / √(12.5 + 1e-6) · γ
  const float r = 1.f / std::sqrt(12.5f + 1e-6f);
  expect_near(rms.forward(Tensor::from_vector({3, 4}, {2})).to_vector(), {3 * r, 12 * r});
}

TEST(NnLayers, EmbeddingLooksUpRowsAndZeroesPadding) {
  Generator gen(8);
  Embedding emb(5, 3, gen, /*padding_idx=*/0);
  EXPECT_EQ(emb.weight.shape(), (Shape{5, 3}));
  Tensor y = emb.forward(IndexTensor({0, 2, 2, 4}, {2, 2}));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(y.at({0, 0, j}), 0.f);
    EXPECT_EQ(y.at({0, 1, j}), emb.weight.at({2, j}));
    EXPECT_EQ(y.at({1, 1, j}), emb.weight.at({4, j}));
  }
  sum(y).backward();
  expect_near(emb.weight.grad().to_vector(), {0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 1, 1, 1});
  EXPECT_THROW(Embedding(5, 3, gen, 5), Error);
}

TEST(NnLayers, DropoutScalesInTrainingAndIsIdentityInEval) {
  Dropout drop(0.25f, /*seed=*/11);
  Tensor x = Tensor::ones({4000});
  std::vector<float> y = drop.forward(x).to_vector();
  int zeros = 0;
  for (float v : y) {
    if (v == 0.f) ++zeros;
    else EXPECT_FLOAT_EQ(v, 1.f / 0.75f);
  }
  EXPECT_NEAR(zeros / 4000.0, 0.25, 0.03);
  // Re-seeding reproduces the mask.
  drop.generator() = Generator(11);
  EXPECT_EQ(drop.forward(x).to_vector(), y);
  drop.eval();
  EXPECT_EQ(drop.forward(x).to_vector(), x.to_vector());
}

TEST(NnLayers, ActivationsAndSequential) {
  Tensor x = Tensor::from_vector({-1.f, 0.f, 2.f}, {3});
  expect_near(ReLU().forward(x).to_vector(), {0, 0, 2});
  expect_near(Tanh().forward(x).to_vector(), {std::tanh(-1.f), 0, std::tanh(2.f)});
  expect_near(Sigmoid().forward(x).to_vector(), {1 / (1 + std::exp(1.f)), 0.5f, 1 / (1 + std::exp(-2.f))});
  // Exact GELU: x Φ(x) = x · ½ (1 + erf(x / √2))
  expect_near(GELU().forward(x).to_vector(),
              {-0.5f * (1 + std::erf(-1 / std::sqrt(2.f))), 0, 2 * 0.5f * (1 + std::erf(2 / std::sqrt(2.f)))});
  EXPECT_THROW(GELU("fast"), Error);

  Generator gen(9);
  auto l1 = std::make_shared<Linear>(3, 4, gen);
  auto l2 = std::make_shared<Linear>(4, 2, gen);
  Sequential seq{l1, std::make_shared<ReLU>(), l2};
  EXPECT_EQ(seq.size(), 3u);
  Tensor in = Tensor::randn({5, 3}, gen);
  EXPECT_EQ(seq(in).to_vector(), l2->forward(relu(l1->forward(in))).to_vector());
  EXPECT_THROW(seq.at(3), Error);
}

}  // namespace
}  // namespace attn::nn
