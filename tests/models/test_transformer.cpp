// The Transformer encoder-decoder: torch's names and sizes, recorded attention, causality, padding,
// gradients, incremental decoding, learning a toy task, greedy and beam search, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "attn/attention/multihead.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/toy_tasks.h"
#include "attn/models/transformer.h"
#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/ops/ops.h"
#include "test_util.h"

using namespace attn;

namespace {

models::TransformerConfig tiny(bool norm_first = false) {
  models::TransformerConfig c;
  c.src_vocab = 13;
  c.tgt_vocab = 11;
  c.d_model = 16;
  c.nhead = 4;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.dim_feedforward = 24;
  c.dropout = 0.f;
  c.max_len = 20;
  c.norm_first = norm_first;
  return c;  // pad 0, bos 2, eos 3
}

// Random ids in [4, V) (no pad/bos/eos), (B, L).
IndexTensor random_ids(int64_t B, int64_t L, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(B * L));
  for (auto& x : v) x = 4 + g.randint(static_cast<uint32_t>(V - 4));
  return IndexTensor(v, {B, L});
}

// ids with row b's positions from `from` on set to pad (0).
IndexTensor pad_tail(IndexTensor ids, int64_t b, int64_t from) {
  const int64_t L = ids.shape[1];
  for (int64_t t = from; t < L; ++t) ids.data[static_cast<size_t>(b * L + t)] = 0;
  return ids;
}

// (B, L) -> (B, L + extra) with pad columns appended.
IndexTensor append_pads(const IndexTensor& ids, int64_t extra) {
  const int64_t B = ids.shape[0], L = ids.shape[1];
  std::vector<int64_t> v;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < L; ++t) v.push_back(ids.data[static_cast<size_t>(b * L + t)]);
    for (int64_t t = 0; t < extra; ++t) v.push_back(0);
  }
  return IndexTensor(v, {B, L + extra});
}

}  // namespace

TEST(ModelsTransformer, ParameterNamesAreTorchsAndCountMatchesFormula) {
  Generator g(1);
  models::Transformer m(tiny(), g);
  std::vector<std::string> expected = {"src_embed.weight", "tgt_embed.weight"};
  const std::vector<std::string> mha = {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "encoder.layers." + std::to_string(l) + ".";
    for (const auto& n : mha) expected.push_back(p + "self_attn." + n);
    for (const char* n : {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                          "norm1.bias", "norm2.weight", "norm2.bias"})
      expected.push_back(p + n);
  }
  expected.push_back("encoder.norm.weight");
  expected.push_back("encoder.norm.bias");
  for (int l = 0; l < 2; ++l) {
    const std::string p = "decoder.layers." + std::to_string(l) + ".";
    for (const auto& n : mha) expected.push_back(p + "self_attn." + n);
    for (const auto& n : mha) expected.push_back(p + "multihead_attn." + n);
    for (const char* n : {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                          "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"})
      expected.push_back(p + n);
  }
  expected.push_back("decoder.norm.weight");
  expected.push_back("decoder.norm.bias");
  expected.push_back("generator.weight");
  std::vector<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(m.state_dict().size(), expected.size());  // no buffers: the sinusoidal table is not state

  const int64_t D = 16, F = 24, Vs = 13, Vt = 11;
  const int64_t enc = 4 * D * D + 4 * D + 2 * D * F + F + D + 4 * D;
  const int64_t dec = 8 * D * D + 8 * D + 2 * D * F + F + D + 6 * D;
  EXPECT_EQ(m.num_parameters(), (Vs + 2 * Vt) * D + 2 * enc + 2 * dec + 4 * D);
  EXPECT_EQ(m.decoder_layers[1]->multihead_attn->in_proj_weight.shape(), (Shape{3 * D, D}));
  // The pad rows start at zero; the embedding std is 1/√D.
  for (int64_t j = 0; j < D; ++j) EXPECT_EQ(m.src_embed->weight.at({0, j}), 0.f);

  // Shared embeddings: one matrix under three names in the state dict, listed once as a parameter.
  models::TransformerConfig c = tiny();
  c.tgt_vocab = c.src_vocab;
  c.share_embeddings = true;
  Generator g2(1);
  models::Transformer s(c, g2);
  EXPECT_EQ(s.src_embed->weight.impl(), s.tgt_embed->weight.impl());
  EXPECT_EQ(s.src_embed->weight.impl(), s.generator->weight.impl());
  EXPECT_EQ(s.num_parameters(), Vs * D + 2 * enc + 2 * dec + 4 * D);
  nn::StateDict sd = s.state_dict();
  EXPECT_NE(sd.find("tgt_embed.weight"), nullptr);
  EXPECT_NE(sd.find("generator.weight"), nullptr);
  EXPECT_EQ(sd.size(), expected.size());
  EXPECT_EQ(s.named_parameters().size(), expected.size() - 2);
  // Its gradient sums the three uses, and a state dict round-trips.
  IndexTensor src = random_ids(2, 5, 13, 3), tin = random_ids(2, 4, 13, 4), tout = random_ids(2, 4, 13, 5);
  s.loss(src, tin, tout).backward();
  EXPECT_TRUE(s.src_embed->weight.grad().defined());
  Generator g3(9);
  models::Transformer s2(c, g3);
  s2.load_state_dict(s.state_dict());
  NoGradGuard ng;
  EXPECT_EQ(max_abs_diff(s2.forward(src, tin), s.forward(src, tin)), 0.0);
}

TEST(ModelsTransformer, ShapesAndRecordedAttention) {
  Generator g(2);
  models::Transformer m(tiny(), g);
  IndexTensor src = pad_tail(random_ids(2, 7, 13, 5), 1, 4);  // row 1: 4 real tokens, 3 pads
  IndexTensor tgt = pad_tail(random_ids(2, 6, 11, 6), 1, 5);
  models::TransformerOutput out = m.forward(src, tgt, true);
  ASSERT_EQ(out.logits.shape(), (Shape{2, 6, 11}));
  EXPECT_EQ(max_abs_diff(out.logits, m.forward(src, tgt)), 0.0);  // recording changes nothing
  ASSERT_EQ(out.encoder_attentions.size(), 2u);
  ASSERT_EQ(out.decoder_attentions.size(), 2u);
  ASSERT_EQ(out.cross_attentions.size(), 2u);
  models::TransformerOutput inference;
  {
    NoGradGuard ng;
    inference = m.forward(src, tgt, true);  // fused kernel's weights
  }
  for (size_t l = 0; l < 2; ++l) {
    const Tensor &e = out.encoder_attentions[l], &d = out.decoder_attentions[l], &x = out.cross_attentions[l];
    ASSERT_EQ(e.shape(), (Shape{2, 4, 7, 7}));
    ASSERT_EQ(d.shape(), (Shape{2, 4, 6, 6}));
    ASSERT_EQ(x.shape(), (Shape{2, 4, 6, 7}));
    EXPECT_FALSE(x.requires_grad());
    for (int64_t h = 0; h < 4; ++h) {
      for (int64_t i = 0; i < 7; ++i) {
        double row = 0;
        for (int64_t j = 0; j < 7; ++j) row += e.at({1, h, i, j});
        EXPECT_NEAR(row, 1.0, 1e-5);
        for (int64_t j = 4; j < 7; ++j) EXPECT_EQ(e.at({1, h, i, j}), 0.f);  // padded keys
      }
      for (int64_t i = 0; i < 6; ++i) {
        double row = 0, xrow = 0;
        for (int64_t j = 0; j < 6; ++j) {
          row += d.at({0, h, i, j});
          if (j > i) {
            EXPECT_EQ(d.at({0, h, i, j}), 0.f);  // causal
          }
        }
        for (int64_t j = 0; j < 7; ++j) xrow += x.at({1, h, i, j});
        for (int64_t j = 4; j < 7; ++j) EXPECT_EQ(x.at({1, h, i, j}), 0.f);
        EXPECT_NEAR(row, 1.0, 1e-5);
        EXPECT_NEAR(xrow, 1.0, 1e-5);
      }
    }
    EXPECT_LT(max_abs_diff(inference.encoder_attentions[l], e), 1e-6);
    EXPECT_LT(max_abs_diff(inference.decoder_attentions[l], d), 1e-6);
    EXPECT_LT(max_abs_diff(inference.cross_attentions[l], x), 1e-6);
  }
}

TEST(ModelsTransformer, ChangingTargetTokenTLeavesEarlierLogitsUnchanged) {
  for (bool norm_first : {false, true}) {
    Generator g(3);
    models::Transformer m(tiny(norm_first), g);
    IndexTensor src = random_ids(2, 6, 13, 7), tgt = random_ids(2, 9, 11, 8);
    NoGradGuard ng;
    Tensor a = m.forward(src, tgt);
    const int64_t t = 5;
    tgt.data[static_cast<size_t>(t)] = 4 + (tgt.data[static_cast<size_t>(t)] - 4 + 3) % 7;  // row 0, position 5
    Tensor b = m.forward(src, tgt);
    EXPECT_LT(max_abs_diff(slice(a, 1, 0, t), slice(b, 1, 0, t)), 1e-6) << norm_first;
    EXPECT_GT(max_abs_diff(slice(slice(a, 0, 0, 1), 1, t, 9), slice(slice(b, 0, 0, 1), 1, t, 9)), 1e-4);
    EXPECT_EQ(max_abs_diff(slice(a, 0, 1, 2), slice(b, 0, 1, 2)), 0.0);  // the other row is untouched
  }
}

TEST(ModelsTransformer, PaddingDoesNotChangeRealPositions) {
  for (bool norm_first : {false, true}) {
    Generator g(4);
    models::Transformer m(tiny(norm_first), g);
    IndexTensor src = pad_tail(random_ids(2, 6, 13, 9), 1, 3), tgt = random_ids(2, 5, 11, 10);
    NoGradGuard ng;
    Tensor base = m.forward(src, tgt);  // (2, 5, 11)
    // Extra pad tokens on the source: the logits do not move.
    EXPECT_LT(max_abs_diff(m.forward(append_pads(src, 4), tgt), base), 1e-5) << norm_first;
    // Extra pads on the target: the real positions do not move.
    Tensor longer = m.forward(src, append_pads(tgt, 3));  // (2, 8, 11)
    EXPECT_LT(max_abs_diff(slice(longer, 1, 0, 5), base), 1e-5);
    // Row 1 alone, without its padding, gives row 1's logits.
    IndexTensor src1({src.data[6], src.data[7], src.data[8]}, {1, 3});
    IndexTensor tgt1(std::vector<int64_t>(tgt.data.begin() + 5, tgt.data.end()), {1, 5});
    EXPECT_LT(max_abs_diff(m.forward(src1, tgt1), slice(base, 0, 1, 2)), 1e-5);
  }
}

TEST(ModelsTransformer, LossGradientMatchesFiniteDifferences) {
  for (bool norm_first : {false, true}) {
    Generator g(5);
    models::Transformer m(tiny(norm_first), g);
    IndexTensor src = pad_tail(random_ids(2, 6, 13, 11), 1, 4);
    IndexTensor tin = random_ids(2, 5, 11, 12), tout = pad_tail(random_ids(2, 5, 11, 13), 0, 4);
    auto loss = [&] { return m.loss(src, tin, tout, 0.1f); };
    loss().backward();
    int checked = 0;
    for (auto& [name, p] : m.named_parameters()) {
      if (name != "src_embed.weight" && name != "tgt_embed.weight" &&
          name != "encoder.layers.0.self_attn.in_proj_weight" &&
          name != "decoder.layers.0.multihead_attn.in_proj_weight" &&
          name != "decoder.layers.1.multihead_attn.in_proj_bias" &&
          name != "decoder.layers.1.self_attn.out_proj.weight" && name != "encoder.layers.1.linear1.bias" &&
          name != "decoder.layers.0.norm3.weight" && name != "encoder.norm.bias" && name != "generator.weight")
        continue;
      ASSERT_TRUE(p.grad().defined()) << name;
      // Rows of an embedding that the batch uses: src id 5's row, tgt_in's first id's row.
      std::vector<int64_t> at = {int64_t{0}, p.numel() / 3, p.numel() - 1};
      if (name == "src_embed.weight") at = {src.data[0] * 16, src.data[0] * 16 + 7};
      if (name == "tgt_embed.weight") at = {tin.data[0] * 16 + 3, tin.data[1] * 16 + 15};
      for (int64_t i : at) {
        const float orig = p.data()[i];
        const double h = 1.0 / 256;
        auto L = [&](double v) {
          NoGradGuard ng;
          p.data()[i] = static_cast<float>(v);
          return static_cast<double>(loss().item());
        };
        const double num = (-L(orig + 2 * h) + 8 * L(orig + h) - 8 * L(orig - h) + L(orig - 2 * h)) / (12 * h);
        p.data()[i] = orig;
        EXPECT_NEAR(p.grad().data()[i], num, 2e-3 + 2e-2 * std::fabs(num))
            << norm_first << " " << name << "[" << i << "]";
        ++checked;
      }
    }
    EXPECT_EQ(checked, 28);
  }
}

TEST(ModelsTransformer, IncrementalDecodingMatchesTheFullForward) {
  for (bool norm_first : {false, true}) {
    Generator g(6);
    models::Transformer m(tiny(norm_first), g);
    m.eval();
    IndexTensor src = pad_tail(random_ids(2, 6, 13, 14), 0, 3), tgt = random_ids(2, 7, 11, 15);
    NoGradGuard ng;
    models::TransformerOutput full = m.forward(src, tgt, true);  // (2, 7, 11)
    for (bool cache : {true, false}) {
      models::DecoderState st = m.start_decoding(m.encode(src), cache);
      for (int64_t t = 0; t < 7; ++t) {
        std::vector<Tensor> cross;
        Tensor logits =
            m.decode_step(st, {tgt.data[static_cast<size_t>(t)], tgt.data[static_cast<size_t>(7 + t)]}, &cross);
        ASSERT_EQ(logits.shape(), (Shape{2, 11}));
        EXPECT_LT(max_abs_diff(logits, reshape(slice(full.logits, 1, t, t + 1), {2, 11})), 1e-5) << cache << " " << t;
        ASSERT_EQ(cross.size(), 2u);
        for (size_t l = 0; l < 2; ++l)
          EXPECT_LT(max_abs_diff(cross[l], slice(full.cross_attentions[l], 2, t, t + 1)), 1e-5);
      }
      EXPECT_EQ(st.length(), 7);
    }
    // Reordering picks rows (beam search): row 1 twice continues as row 1 did.
    models::DecoderState st = m.start_decoding(m.encode(src));
    m.decode_step(st, {tgt.data[0], tgt.data[7]});
    m.reorder(st, {1, 1});
    Tensor l = m.decode_step(st, {tgt.data[8], tgt.data[8]});
    Tensor want = reshape(slice(slice(full.logits, 0, 1, 2), 1, 1, 2), {1, 11});
    EXPECT_LT(max_abs_diff(slice(l, 0, 0, 1), want), 1e-5);
    EXPECT_LT(max_abs_diff(slice(l, 0, 1, 2), want), 1e-5);
  }
}

namespace {

data::ToyTask reverse_task() {
  data::ToyTask task;
  task.name = "reverse";
  task.num_symbols = 8;
  task.min_len = 3;
  task.max_len = 7;
  return task;
}

models::TransformerConfig toy_config(const data::ToyTask& task) {
  models::TransformerConfig c;
  c.src_vocab = c.tgt_vocab = task.vocab_size();
  c.share_embeddings = true;
  c.d_model = 32;
  c.nhead = 4;
  c.num_encoder_layers = 2;
  c.num_decoder_layers = 2;
  c.dim_feedforward = 64;
  c.dropout = 0.f;
  c.max_len = 16;
  c.pad_id = data::kPad;
  c.bos_id = data::kBos;
  c.eos_id = data::kEos;
  return c;
}

struct Trained {
  std::shared_ptr<models::Transformer> model;
  float last_loss = 0.f;
};

Trained train_reverse(int steps) {
  const data::ToyTask task = reverse_task();
  Generator init(21), batches(22);
  Trained t;
  t.model = std::make_shared<models::Transformer>(toy_config(task), init);
  // Adam with the paper's β₂ = 0.98, a warmup (a post-LN Transformer needs one) and a cosine decay: without
  // them the run-to-run spread (seeds, BLAS threads, debug builds) is wide.
  nn::Adam opt(t.model->parameters(), nn::AdamOptions(5e-3f).betas(0.9f, 0.98f));
  nn::LRScheduler sched(opt, [steps](int64_t s) { return nn::warmup_cosine(s, 5e-3f, steps / 10, steps); });
  for (int s = 0; s < steps; ++s) {
    data::SeqBatch b = task.sample(32, batches);
    Tensor loss = t.model->loss(b.src, b.tgt_in, b.tgt_out);
    opt.zero_grad();
    loss.backward();
    nn::clip_grad_norm_(t.model->parameters(), 1.f);
    opt.step();
    sched.step();
    t.last_loss = loss.item();
  }
  return t;
}

const Trained& trained() {
  static const Trained t = train_reverse(400);
  return t;
}

std::vector<std::vector<int64_t>> eval_sources() {
  Generator g(99);
  const data::ToyTask task = reverse_task();
  std::vector<std::vector<int64_t>> out;
  for (int i = 0; i < 64; ++i) {
    const int64_t len = task.min_len + g.randint(static_cast<uint32_t>(task.max_len - task.min_len + 1));
    std::vector<int64_t> s;
    for (int64_t j = 0; j < len; ++j)
      s.push_back(data::kFirstSymbol + g.randint(static_cast<uint32_t>(task.num_symbols)));
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST(ModelsTransformer, LearnsToReverseDeterministically) {
  const Trained& t = trained();
  EXPECT_LT(t.last_loss, 0.05f);  // the last batch's loss (its exact value depends on BLAS threads)
  const data::ToyTask task = reverse_task();
  const auto sources = eval_sources();
  data::SeqBatch b = task.make_batch(sources);  // a padded batch of 64
  std::vector<models::Hypothesis> hyps = t.model->greedy_decode(b.src, 12);
  ASSERT_EQ(hyps.size(), sources.size());
  int exact = 0;
  for (size_t i = 0; i < sources.size(); ++i) exact += hyps[i].finished && hyps[i].tokens == task.target_of(sources[i]);
  std::cout << "reverse: " << exact << " / " << sources.size() << " exact (greedy), last loss " << t.last_loss << "\n";
  EXPECT_GE(exact, 62);
  EXPECT_TRUE(t.model->is_training());  // decoding restores the mode it found
  // Deterministic: the same seeds give the same loss trajectory, bit for bit (a shorter run, to save time).
  EXPECT_EQ(train_reverse(30).last_loss, train_reverse(30).last_loss);
}

TEST(ModelsTransformer, GreedyEqualsBeamOfOneAndCacheChangesNothing) {
  Generator g(7);
  models::Transformer fresh(tiny(), g);  // untrained: long, uncertain outputs
  const data::ToyTask task = reverse_task();
  for (models::Transformer* m : {&fresh, trained().model.get()}) {
    const int64_t V = m->config().src_vocab;
    for (uint64_t seed : {31, 32, 33}) {
      IndexTensor src = random_ids(1, 5, V, seed);
      auto greedy = m->greedy_decode(src, 12);
      auto greedy_nc = m->greedy_decode(src, 12, false);
      auto beam = m->beam_search(src, models::BeamSearchOptions().beams(1).max_length(12).alpha(0.f));
      auto beam_nc = m->beam_search(src, models::BeamSearchOptions().beams(1).max_length(12).alpha(0.f).cache(false));
      ASSERT_EQ(beam.size(), 1u);
      EXPECT_EQ(greedy[0].tokens, greedy_nc[0].tokens);
      EXPECT_EQ(greedy[0].tokens, beam[0].tokens);
      EXPECT_EQ(greedy[0].finished, beam[0].finished);
      EXPECT_NEAR(greedy[0].log_prob, beam[0].log_prob, 1e-5);
      EXPECT_EQ(beam[0].tokens, beam_nc[0].tokens);
      EXPECT_NEAR(beam[0].log_prob, beam_nc[0].log_prob, 1e-4);
    }
  }
  // A batch decodes each row as it would alone.
  data::SeqBatch b = task.make_batch({{3, 4, 5, 6, 7}, {8, 9}});
  auto both = trained().model->greedy_decode(b.src, 10);
  auto second = trained().model->greedy_decode(task.make_batch({{8, 9}}).src, 10);
  EXPECT_EQ(both[1].tokens, second[0].tokens);
  EXPECT_NEAR(both[1].log_prob, second[0].log_prob, 1e-4);
}

TEST(ModelsTransformer, BeamSearchScoresAtLeastGreedyAndLogProbsAreTheModels) {
  // A briefly trained model is uncertain enough for the beam to matter.
  const Trained partly = train_reverse(60);
  int better = 0, checked = 0;
  for (models::Transformer* m : {partly.model.get(), trained().model.get()}) {
    for (float alpha : {0.f, 0.6f}) {
      const auto sources = eval_sources();
      for (size_t i = 0; i < 16; ++i) {
        const auto& s = sources[i];
        IndexTensor src(s, {1, static_cast<int64_t>(s.size())});
        models::Hypothesis greedy = m->greedy_decode(src, 12)[0];
        const double greedy_score =
            models::Transformer::length_normalized(greedy.log_prob, greedy.tokens.size() + greedy.finished, alpha);
        auto nbest = m->beam_search(src, models::BeamSearchOptions().beams(4).max_length(12).alpha(alpha));
        ASSERT_FALSE(nbest.empty());
        ASSERT_LE(nbest.size(), 4u);
        for (size_t j = 1; j < nbest.size(); ++j) EXPECT_GE(nbest[j - 1].score, nbest[j].score);
        EXPECT_GE(nbest[0].score, greedy_score - 1e-5) << "alpha " << alpha << " source " << i;
        better += nbest[0].score > greedy_score + 1e-5;
        if (m == trained().model.get()) {
          EXPECT_EQ(nbest[0].tokens, reverse_task().target_of(s)) << "alpha " << alpha << " source " << i;
        }
        ++checked;
        // The beam's log-probability is the model's: teacher-force [BOS] + tokens and sum log P.
        const models::Hypothesis& h = nbest[0];
        std::vector<int64_t> tin = {data::kBos}, tout = h.tokens;
        tin.insert(tin.end(), h.tokens.begin(), h.tokens.end());
        if (h.finished) {
          tout.push_back(data::kEos);
        } else {
          tin.pop_back();
        }
        const int64_t T = static_cast<int64_t>(tin.size());
        NoGradGuard ng;
        m->eval();
        Tensor logp = log_softmax(m->forward(src, IndexTensor(tin, {1, T})), 2);
        m->train();
        double lp = 0;
        for (int64_t t = 0; t < T; ++t) lp += logp.at({0, t, tout[static_cast<size_t>(t)]});
        EXPECT_NEAR(h.log_prob, lp, 1e-4);
      }
    }
  }
  std::cout << "beam 4 beat greedy on " << better << " of " << checked << " sources\n";
}

TEST(ModelsTransformer, ErrorsAreNamed) {
  Generator g(8);
  models::TransformerConfig c = tiny();
  c.nhead = 3;
  EXPECT_NE(
      attn::testing::error_of([&] { models::Transformer m(c, g); }).find("d_model = 16 is not divisible by nhead = 3"),
      std::string::npos);
  c = tiny();
  c.share_embeddings = true;
  EXPECT_NE(attn::testing::error_of([&] { models::Transformer m(c, g); }).find("share_embeddings needs one vocabulary"),
            std::string::npos);
  c = tiny();
  c.activation = "tanh";
  EXPECT_NE(attn::testing::error_of([&] { models::Transformer m(c, g); }).find("activation"), std::string::npos);
  c = tiny();
  c.eos_id = 11;
  EXPECT_NE(attn::testing::error_of([&] { models::Transformer m(c, g); }).find("eos_id = 11"), std::string::npos);

  models::Transformer m(tiny(), g);
  IndexTensor src = random_ids(2, 5, 13, 1), tgt = random_ids(2, 4, 11, 2);
  IndexTensor bad_src = src;
  bad_src.data[6] = 13;
  std::string e = attn::testing::error_of([&] { m.forward(bad_src, tgt); });
  EXPECT_NE(e.find("[Transformer::encode] src token id 13 at (b = 1, t = 1) is out of range [0, 13)"),
            std::string::npos)
      << e;
  IndexTensor bad_tgt = tgt;
  bad_tgt.data[0] = -1;
  EXPECT_NE(attn::testing::error_of([&] { m.forward(src, bad_tgt); }).find("tgt_in token id -1"), std::string::npos);
  IndexTensor tgt12 = random_ids(2, 12, 11, 3);  // target ids 11, 12 would be fine for the source only
  tgt12.data[3] = 12;
  EXPECT_NE(attn::testing::error_of([&] { m.forward(src, tgt12); }).find("out of range [0, 11)"), std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { m.forward(random_ids(2, 21, 13, 4), tgt); }).find("more than max_len = 20"),
            std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { m.forward(random_ids(3, 5, 13, 4), tgt); }).find("the same B"),
            std::string::npos);
  EXPECT_NE(
      attn::testing::error_of([&] { m.loss(src, tgt, random_ids(2, 5, 11, 5)); }).find("must have the shape of tgt_in"),
      std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { m.beam_search(src); }).find("beam search takes one source"),
            std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { m.greedy_decode(src, 21); }).find("max_len = 21"), std::string::npos);
  models::DecoderState st = m.start_decoding(m.encode(src));
  EXPECT_NE(attn::testing::error_of([&] { m.decode_step(st, {4}); }).find("one token per row (2)"), std::string::npos);
  EXPECT_NE(attn::testing::error_of([&] { m.decode_step(st, {4, 11}); }).find("token id 11"), std::string::npos);
}

TEST(ModelsTransformer, DropoutActsInTrainingOnlyAndIsSeeded) {
  models::TransformerConfig c = tiny();
  c.dropout = 0.3f;
  Generator g1(9), g2(9);
  models::Transformer a(c, g1, 5), b(c, g2, 5);
  IndexTensor src = random_ids(2, 5, 13, 6), tgt = random_ids(2, 4, 11, 7);
  NoGradGuard ng;
  Tensor t1 = a.forward(src, tgt), t2 = a.forward(src, tgt);
  EXPECT_GT(max_abs_diff(t1, t2), 1e-4);                  // fresh masks each call
  EXPECT_EQ(max_abs_diff(t1, b.forward(src, tgt)), 0.0);  // same seeds, same masks
  a.eval();
  EXPECT_EQ(max_abs_diff(a.forward(src, tgt), a.forward(src, tgt)), 0.0);
}
