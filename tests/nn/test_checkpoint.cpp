// Module and optimizer checkpoints: exact round trips, exact resume, clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attn/core/error.h"
#include "attn/nn/averaging.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "test_util.h"

namespace attn::nn {
namespace {

// A small model with nested modules: embedding -> GRU -> linear head.
class Tagger : public Module {
 public:
  Tagger(int64_t vocab, int64_t hidden, Generator& gen) {
    emb = register_module("emb", std::make_shared<Embedding>(vocab, hidden, gen));
    gru = register_module("gru", std::make_shared<GRU>(hidden, hidden, gen, RNNOptions().batch_first(true)));
    head = register_module("head", std::make_shared<Linear>(hidden, vocab, gen));
  }
  Tensor forward(const IndexTensor& ids) { return head->forward(gru->forward(emb->forward(ids)).output); }
  std::shared_ptr<Embedding> emb;
  std::shared_ptr<GRU> gru;
  std::shared_ptr<Linear> head;
};

IndexTensor batch(Generator& g) {
  std::vector<int64_t> v(2 * 5);
  for (auto& x : v) x = g.randint(7);
  return IndexTensor(v, {2, 5});
}

float train_steps(Tagger& m, Optimizer& opt, Generator& data, int steps) {
  float loss_v = 0;
  for (int s = 0; s < steps; ++s) {
    IndexTensor ids = batch(data);
    Tensor logits = m.forward(ids);  // (2, 5, 7)
    Tensor loss = cross_entropy(reshape(logits, {10, 7}), IndexTensor(ids.data));
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_v = loss.item();
  }
  return loss_v;
}

TEST(NnCheckpoint, RoundTripRestoresExactOutputs) {
  const std::string dir = attn::testing::scratch_dir("nn_checkpoint");
  Generator g1(1), g2(2), gd(3);
  Tagger a(7, 8, g1), b(7, 8, g2);
  IndexTensor ids = batch(gd);
  save_checkpoint(a, dir + "/tagger.safetensors", {{"note", "hello"}});
  EXPECT_NE(a.forward(ids).to_vector(), b.forward(ids).to_vector());
  Metadata meta = load_checkpoint(b, dir + "/tagger.safetensors");
  EXPECT_EQ(meta.at("note"), "hello");
  EXPECT_EQ(a.forward(ids).to_vector(), b.forward(ids).to_vector());
}

TEST(NnCheckpoint, ResumeContinuesTheExactLossTrajectory) {
  const std::string dir = attn::testing::scratch_dir("nn_checkpoint");
  // Uninterrupted: 12 steps.
  Generator g(5), data(6);
  Tagger full(7, 8, g);
  AdamW opt_full(full.parameters(), AdamWOptions(1e-2f));
  train_steps(full, opt_full, data, 6);
  const auto data_state = data.get_state();
  save_checkpoint(full, dir + "/m.safetensors");
  save_checkpoint(opt_full, dir + "/opt.safetensors");
  const float want = train_steps(full, opt_full, data, 6);

  // Interrupted after 6: a fresh process would rebuild the model, load both checkpoints, restore the
  // data stream, and go on.
  Generator g2(99);
  Tagger resumed(7, 8, g2);
  AdamW opt(resumed.parameters(), AdamWOptions(1e-2f));
  load_checkpoint(resumed, dir + "/m.safetensors");
  load_checkpoint(opt, dir + "/opt.safetensors");
  Generator data2(0);
  data2.set_state(data_state);
  EXPECT_EQ(train_steps(resumed, opt, data2, 6), want);
  auto pa = full.named_parameters(), pb = resumed.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;
}

TEST(NnCheckpoint, MismatchedModelNamesEveryDifference) {
  const std::string dir = attn::testing::scratch_dir("nn_checkpoint");
  Generator g(1);
  Tagger a(7, 8, g);
  save_checkpoint(a, dir + "/a.safetensors");
  Tagger wider(7, 9, g);
  try {
    load_checkpoint(wider, dir + "/a.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("emb.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("head.weight"), std::string::npos) << msg;
  }
  Sequential other{std::make_shared<Linear>(3, 3, g)};
  try {
    load_checkpoint(other, dir + "/a.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected"), std::string::npos) << msg;
  }
}

TEST(NnCheckpoint, TruncatedFileIsAnErrorAndTheModelIsUntouched) {
  const std::string dir = attn::testing::scratch_dir("nn_checkpoint");
  Generator g(1);
  Tagger a(7, 8, g);
  const std::string path = dir + "/t.safetensors";
  save_checkpoint(a, path);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  Generator g2(2);
  Tagger b(7, 8, g2);
  const auto before = b.head->named_parameters()[0].second.to_vector();
  EXPECT_THROW(load_checkpoint(b, path), Error);
  EXPECT_EQ(b.head->named_parameters()[0].second.to_vector(), before);
  EXPECT_THROW(load_checkpoint(b, dir + "/does_not_exist.safetensors"), Error);
}

}  // namespace
}  // namespace attn::nn

TEST(NnCheckpoint, AverageStateDictsIsTheElementwiseMeanAndNamesMismatches) {
  attn::Tensor a = attn::Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}),
               b = attn::Tensor::from_vector({3.f, -2.f, 0.5f, 8.f}, {2, 2});
  attn::Tensor c = attn::Tensor::from_vector({5.f, 6.f, 1.f, 0.f}, {2, 2}),
               bias = attn::Tensor::from_vector({1.f, -1.f}, {2});
  const attn::nn::StateDict avg =
      attn::nn::average_state_dicts({{{"w", a}, {"b", bias}}, {{"w", b}, {"b", bias * 3.f}}, {{"w", c}, {"b", bias}}});
  EXPECT_EQ(avg.keys(), (std::vector<std::string>{"w", "b"}));
  EXPECT_EQ(avg.at("w").to_vector(), (std::vector<float>{3.f, 2.f, 1.5f, 4.f}));
  const std::vector<float> mb = avg.at("b").to_vector();
  EXPECT_FLOAT_EQ(mb[0], 5.f / 3.f);
  EXPECT_FLOAT_EQ(mb[1], -5.f / 3.f);
  EXPECT_EQ(a.to_vector(), (std::vector<float>{1.f, 2.f, 3.f, 4.f}));  // the inputs are left alone
  EXPECT_EQ(attn::nn::average_state_dicts({{{"w", a}}}).at("w").to_vector(), a.to_vector());

  auto message = [](const std::vector<attn::nn::StateDict>& dicts) {
    try {
      attn::nn::average_state_dicts(dicts);
    } catch (const attn::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}).find("no state dicts"), std::string::npos);
  EXPECT_NE(message({{{"w", a}}, {{"v", a}}}).find("has no 'w'"), std::string::npos);
  EXPECT_NE(message({{{"w", a}}, {{"w", bias}}}).find("'w' is (2,)"), std::string::npos);
  EXPECT_NE(message({{{"w", a}}, {{"w", a}, {"b", bias}}}).find("has 2 tensors"), std::string::npos);
}
