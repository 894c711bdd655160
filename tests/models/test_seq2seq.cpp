// The Seq2Seq model and the toy tasks: shapes, masking, decoding, gradients, learning.
#include <gtest/gtest.h>

#include <cmath>

#include "attn/core/error.h"
#include "attn/data/toy_tasks.h"
#include "attn/models/seq2seq.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"

namespace attn {
namespace {

TEST(DataToyTasks, TargetsAndFraming) {
  data::ToyTask t;
  t.name = "reverse";
  EXPECT_EQ(t.target_of({3, 4, 5}), (std::vector<int64_t>{5, 4, 3}));
  t.name = "sort";
  EXPECT_EQ(t.target_of({5, 3, 4}), (std::vector<int64_t>{3, 4, 5}));
  t.name = "copy";
  data::SeqBatch b = t.make_batch({{3, 4}, {5, 6, 7}});
  EXPECT_EQ(b.src.shape, (Shape{2, 3}));
  EXPECT_EQ(b.src.data, (std::vector<int64_t>{3, 4, 0, 5, 6, 7}));
  EXPECT_EQ(b.tgt_in.data, (std::vector<int64_t>{1, 3, 4, 0, 1, 5, 6, 7}));
  EXPECT_EQ(b.tgt_out.data, (std::vector<int64_t>{3, 4, 2, 0, 5, 6, 7, 2}));
  EXPECT_THROW(t.make_batch({{1}}), Error);
  t.name = "shuffle";
  EXPECT_THROW(t.target_of({3}), Error);
  Generator g(1);
  t.name = "reverse";
  data::SeqBatch s = t.sample(16, g);
  for (int64_t len : s.src_lengths) EXPECT_TRUE(len >= t.min_len && len <= t.max_len);
}

models::Seq2SeqConfig small(const std::string& attention) {
  models::Seq2SeqConfig c;
  c.src_vocab = c.tgt_vocab = 9;
  c.embed_dim = 6;
  c.hidden_dim = 8;
  c.attention = attention;
  return c;
}

TEST(ModelsSeq2Seq, ShapesForEveryAttention) {
  data::ToyTask task;
  task.num_symbols = 6;
  Generator g(2), dg(3);
  data::SeqBatch b = task.make_batch({{3, 4, 5}, {6, 7}});
  for (const char* a : {"none", "additive", "dot", "general", "concat"}) {
    models::Seq2Seq m(small(a), g);
    auto out = m.forward(b.src, b.tgt_in);
    EXPECT_EQ(out.logits.shape(), (Shape{2, 4, 9})) << a;
    if (std::string(a) == "none") {
      EXPECT_FALSE(out.attention.defined());
    } else {
      ASSERT_EQ(out.attention.shape(), (Shape{2, 4, 3})) << a;
      // The padded source position of sequence 1 gets no attention.
      for (int64_t t = 0; t < 4; ++t) EXPECT_EQ(out.attention.at({1, t, 2}), 0.f) << a;
    }
  }
  EXPECT_THROW(models::Seq2Seq(small("cosine"), g), Error);
}

TEST(ModelsSeq2Seq, GradientOfAttentionParametersMatchesFiniteDifferences) {
  Generator g(4);
  models::Seq2Seq m(small("additive"), g);
  data::ToyTask task;
  task.num_symbols = 6;
  data::SeqBatch b = task.make_batch({{3, 4, 5, 6}, {7, 8, 3}});
  auto loss_of = [&] {
    auto out = m.forward(b.src, b.tgt_in);
    return cross_entropy(reshape(out.logits, {-1, 9}), IndexTensor(b.tgt_out.data), CrossEntropyOptions().ignore(0));
  };
  loss_of().backward();
  int checked = 0;
  for (auto& [name, p] : m.named_parameters()) {
    if (name.rfind("attention.", 0) != 0 && name.rfind("encoder.weight_hh_l0", 0) != 0) continue;
    for (int64_t i : {int64_t{0}, p.numel() / 2, p.numel() - 1}) {
      const float orig = p.data()[i];
      const double h = 1.0 / 256;
      auto L = [&](double v) {
        NoGradGuard ng;
        p.data()[i] = static_cast<float>(v);
        return static_cast<double>(loss_of().item());
      };
      const double num = (-L(orig + 2 * h) + 8 * L(orig + h) - 8 * L(orig - h) + L(orig - 2 * h)) / (12 * h);
      p.data()[i] = orig;
      EXPECT_NEAR(p.grad().data()[i], num, 2e-3 + 2e-2 * std::fabs(num)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GE(checked, 12);
}

TEST(ModelsSeq2Seq, PaddingDoesNotChangeASentence) {
  // The encoder stops at each sequence's end: a short sentence padded inside a batch gets the same
  // logits and attention as the same sentence alone.
  Generator g(11);
  models::Seq2Seq m(small("additive"), g);
  data::ToyTask task;
  task.num_symbols = 6;
  data::SeqBatch batch = task.make_batch({{3, 4, 5, 6, 7, 8}, {5, 6, 7}});
  data::SeqBatch alone = task.make_batch({{5, 6, 7}});
  auto a = m.forward(batch.src, batch.tgt_in), b = m.forward(alone.src, alone.tgt_in);
  const int64_t T = alone.tgt_in.shape[1];  // 4 = 3 tokens + <eos>
  for (int64_t t = 0; t < T; ++t)
    for (int64_t v = 0; v < 9; ++v) EXPECT_NEAR(a.logits.at({1, t, v}), b.logits.at({0, t, v}), 1e-5) << t << "," << v;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < 3; ++j) EXPECT_NEAR(a.attention.at({1, t, j}), b.attention.at({0, t, j}), 1e-5);
}

TEST(ModelsSeq2Seq, GreedyDecodeStopsAtEosAndRecordsWeights) {
  Generator g(5);
  models::Seq2Seq m(small("dot"), g);
  data::ToyTask task;
  task.num_symbols = 6;
  data::SeqBatch b = task.make_batch({{3, 4, 5}});
  models::Decoded d = m.greedy_decode(b.src, 6);
  ASSERT_EQ(d.tokens.size(), 1u);
  EXPECT_LE(d.tokens[0].size(), 6u);
  ASSERT_TRUE(d.attention.defined());
  EXPECT_EQ(d.attention.size(2), 3);
  for (int64_t id : d.tokens[0]) EXPECT_NE(id, 2);  // <eos> is not part of the output
}

TEST(ModelsSeq2Seq, AttentionLearnsToReverseAndBeatsNoAttention) {
  data::ToyTask task;
  task.num_symbols = 6;
  task.min_len = 5;
  task.max_len = 6;
  auto train = [&](const std::string& attention) {
    models::Seq2SeqConfig c = small(attention);
    c.src_vocab = c.tgt_vocab = task.vocab_size();
    c.hidden_dim = 24;
    c.embed_dim = 12;
    Generator init(6), data(7);
    models::Seq2Seq m(c, init);
    nn::Adam opt(m.parameters(), nn::AdamOptions(1e-2f));
    float last = 0;
    for (int s = 0; s < 250; ++s) {
      data::SeqBatch b = task.sample(32, data);
      auto out = m.forward(b.src, b.tgt_in);
      Tensor loss = cross_entropy(reshape(out.logits, {-1, c.tgt_vocab}), IndexTensor(b.tgt_out.data),
                                  CrossEntropyOptions().ignore(0));
      opt.zero_grad();
      loss.backward();
      nn::clip_grad_norm_(m.parameters(), 1.f);
      opt.step();
      last = loss.item();
    }
    return last;
  };
  const float with = train("additive"), without = train("none");
  EXPECT_LT(with, 0.1f);
  EXPECT_LT(with, without);
  EXPECT_EQ(train("additive"), with);  // deterministic for a fixed seed
}

TEST(ModelsSeq2Seq, DropoutActsOnlyInTrainingModeAndDecodingRestoresTheMode) {
  Generator g(21);
  models::Seq2SeqConfig c = small("general");
  c.dropout = 0.5f;
  c.dropout_seed = 3;
  models::Seq2Seq m(c, g);
  data::ToyTask task;
  task.num_symbols = 6;
  data::SeqBatch b = task.make_batch({{3, 4, 5, 6}});
  m.train();
  const Tensor t1 = m.forward(b.src, b.tgt_in).logits, t2 = m.forward(b.src, b.tgt_in).logits;
  m.eval();
  const Tensor e1 = m.forward(b.src, b.tgt_in).logits, e2 = m.forward(b.src, b.tgt_in).logits;
  double train_diff = 0, eval_diff = 0;
  for (int64_t i = 0; i < t1.numel(); ++i) {
    train_diff += std::fabs(t1.data()[i] - t2.data()[i]);
    eval_diff += std::fabs(e1.data()[i] - e2.data()[i]);
  }
  EXPECT_GT(train_diff, 1e-3) << "two training passes draw different masks";
  EXPECT_EQ(eval_diff, 0.0) << "eval mode is deterministic";
  m.train();
  m.greedy_decode(b.src, 5);
  m.beam_search(IndexTensor(std::vector<int64_t>{3, 4, 5, 2}, {1, 4}),
                models::BeamSearchOptions().beams(2).max_length(5));
  EXPECT_TRUE(m.is_training()) << "decoding runs in eval mode and gives the caller's mode back";
  c.dropout = 1.f;
  EXPECT_THROW(models::Seq2Seq(c, g), Error);
}

// Beam search on a briefly trained model (uncertain enough for the beam to matter), for every attention:
// beam 1 with alpha 0 is greedy decoding, a wider beam nearly always scores at least greedy's, and a hypothesis's
// log-probability is the model's own under teacher forcing.
TEST(ModelsSeq2Seq, BeamSearchMatchesGreedyAtWidthOneAndScoresAtLeastGreedy) {
  data::ToyTask task;
  task.num_symbols = 6;
  task.min_len = 3;
  task.max_len = 6;
  int at_least_greedy = 0, compared = 0;
  for (const std::string attention : {"none", "additive", "dot", "general", "concat"}) {
    models::Seq2SeqConfig c = small(attention);
    c.src_vocab = c.tgt_vocab = task.vocab_size();
    Generator init(31), data(32);
    models::Seq2Seq m(c, init);
    nn::Adam opt(m.parameters(), nn::AdamOptions(1e-2f));
    for (int s = 0; s < 40; ++s) {
      data::SeqBatch b = task.sample(32, data);
      Tensor loss = cross_entropy(reshape(m.forward(b.src, b.tgt_in).logits, {-1, c.tgt_vocab}),
                                  IndexTensor(b.tgt_out.data), CrossEntropyOptions().ignore(0));
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    for (int i = 0; i < 8; ++i) {
      data::SeqBatch b = task.sample(1, data);
      const models::Decoded greedy = m.greedy_decode(b.src, 10);
      const auto one = m.beam_search(b.src, models::BeamSearchOptions().beams(1).max_length(10).alpha(0.f));
      ASSERT_EQ(one.size(), 1u);
      EXPECT_EQ(one[0].tokens, greedy.tokens[0]) << attention << " source " << i;
      for (float alpha : {0.f, 0.6f}) {
        const auto nbest = m.beam_search(b.src, models::BeamSearchOptions().beams(4).max_length(10).alpha(alpha));
        ASSERT_FALSE(nbest.empty());
        for (size_t j = 1; j < nbest.size(); ++j) EXPECT_GE(nbest[j - 1].score, nbest[j].score);
        // Not a theorem (greedy's path can fall out of the beam), but the usual case.
        at_least_greedy += nbest[0].score >=
                           models::length_normalized(
                               one[0].log_prob, static_cast<int64_t>(one[0].tokens.size()) + one[0].finished, alpha) -
                               1e-5;
        ++compared;
        // log P under teacher forcing.
        const models::Hypothesis& h = nbest[0];
        std::vector<int64_t> tin = {c.bos_id}, tout = h.tokens;
        tin.insert(tin.end(), h.tokens.begin(), h.tokens.end());
        if (h.finished) tout.push_back(c.eos_id);
        else tin.pop_back();
        const auto T = static_cast<int64_t>(tin.size());
        m.eval();
        const Tensor logp = log_softmax(m.forward(b.src, IndexTensor(tin, {1, T})).logits, 2);
        m.train();
        double lp = 0;
        for (int64_t t = 0; t < T; ++t) lp += logp.at({0, t, tout[static_cast<size_t>(t)]});
        EXPECT_NEAR(h.log_prob, lp, 1e-4) << attention;
      }
    }
  }
  EXPECT_GE(at_least_greedy, compared * 9 / 10)
      << "beam 4 scored at least greedy on " << at_least_greedy << " of " << compared;
}

}  // namespace
}  // namespace attn
