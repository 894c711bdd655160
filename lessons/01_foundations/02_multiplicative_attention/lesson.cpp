// Lesson 01.02 — Multiplicative attention: Luong's dot, general and concat scores, side by side.
//
// Bahdanau's additive score runs a small network for every (query, key) pair. Luong et al. (2015)
// asked how much of that is needed, and proposed three scores:
//   dot      e_ij = s_iᵀ m_j                 no parameters; one matrix product for all pairs
//   general  e_ij = s_iᵀ W_a m_j             a learned bilinear form
//   concat   e_ij = v_aᵀ tanh(W_a [s_i; m_j]) additive attention under another name
// (and they attend with the *new* decoder state s_t, feeding the attentional vector back in).
// We train the same encoder-decoder on the same task with each score and compare what they learn.
#include <cstdio>
#include <iostream>

#include "attn/attention/scoring.h"
#include "attn/core/rng.h"
#include "attn/data/toy_tasks.h"
#include "attn/models/seq2seq.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"
#include "seq2seq_training.h"

using namespace attn;

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Multiplicative attention: dot, general and concat scores");

  L.step("Three scores on the same query and keys");
  L.say("One decoder state s (H = 4) and three encoder states m_j: the scores differ in how they compare.");
  Generator g(3);
  Tensor s = Tensor::randn({1, 1, 4}, g), m = Tensor::randn({1, 3, 4}, g);  // (B, L, H), (B, S, H)
  Tensor W = Tensor::randn({4, 4}, g) * 0.5f, Wc = Tensor::randn({6, 8}, g) * 0.5f, v = Tensor::randn({6}, g);
  std::cout << "  dot:      " << dot_score(s, m) << "\n";
  std::cout << "  general:  " << general_score(s, m, W) << "\n";
  std::cout << "  concat:   " << concat_score(s, m, Wc, v) << "\n";
  std::cout << "  softmax of dot scores: " << softmax(dot_score(s, m), -1) << "\n";

  L.step("Train one model per score on sequence reversal");
  data::ToyTask task;
  task.name = "reverse";
  task.num_symbols = 8;
  task.min_len = 4;
  task.max_len = 7;
  const std::vector<std::string> scores = {"additive", "dot", "general", "concat"};
  std::vector<std::string> src_tokens;
  std::vector<int64_t> example = {3 + 2, 3 + 7, 3 + 1, 3 + 4, 3 + 0, 3 + 6, 3 + 5};
  for (int64_t id : example) src_tokens.push_back(data::ToyTask::token_str(id));
  const int64_t S = static_cast<int64_t>(example.size());

  viz::LinePlot losses("Training loss by attention score (reverse)", "step", "cross-entropy");
  viz::HeatmapGrid grid;
  grid.title("Alignments learned with each score (source ->, output v)").unit_range().colormap(viz::Colormap::Blues);
  std::printf("\n  %-9s %10s %10s %12s %10s %8s\n", "score", "seq acc", "token acc", "anti-diag", "argmax hit",
              "seconds");
  std::vector<std::string> summary;
  for (const std::string& score : scores) {
    models::Seq2SeqConfig cfg;
    cfg.src_vocab = cfg.tgt_vocab = task.vocab_size();
    cfg.embed_dim = 16;
    cfg.hidden_dim = 32;
    cfg.attention = score;
    Generator init(7), data_gen(8), eval_gen(9);  // same data and init seeds for every score
    models::Seq2Seq model(cfg, init);
    TrainResult tr = train_seq2seq(model, task, 800, 64, 5e-3f, data_gen, /*verbose=*/false);
    EvalResult ev = evaluate_seq2seq(model, task, 500, eval_gen);
    models::Decoded d = model.greedy_decode(task.make_batch({example}).src, S + 1);
    // (S, S): row t = output t's weights over the source; rows the model did not produce stay 0, so every
    // panel of the grid has the same shape.
    const int64_t T = std::min<int64_t>(d.attention.size(1), S);
    Tensor align = Tensor::zeros({S, S});
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < S; ++j) align.at({t, j}) = d.attention.at({0, t, j});
    double anti = 0, hits = 0;
    IndexTensor argmax;
    max(align, 1, false, &argmax);
    for (int64_t t = 0; t < T; ++t) {
      anti += align.at({t, S - 1 - t});
      hits += argmax[t] == S - 1 - t;
    }
    anti /= static_cast<double>(T);
    std::printf("  %-9s %9.1f%% %9.1f%% %12.2f %9.0f%% %8.1f\n", score.c_str(), 100 * ev.sequence_accuracy,
                100 * ev.token_accuracy, anti, 100 * hits / T, tr.seconds);
    losses.add_series(score, tr.steps, tr.losses);
    grid.add(align, score);
  }
  grid.col_labels(src_tokens);
  losses.log_y().save(L.figure("loss_by_score.svg"));
  grid.save_png(L.figure("alignments_by_score.png"));

  L.step("What to take away");
  L.say(
      "All four scores learn to reverse, and all four put their weight on the mirrored input: attention\n"
      "learns *where* to look whatever the score. Dot needs no parameters and is one matrix product for\n"
      "all pairs — which is why the Transformer kept it (scaled by 1/√d, lesson 02_types/01).\n"
      "Next: 02_types/01_self_attention.");
  return 0;
}
