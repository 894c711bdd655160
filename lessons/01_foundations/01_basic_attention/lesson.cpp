// Lesson 01.01 — Basic attention: a soft lookup, then a learned one.
//
// Attention is older than neural networks. A dictionary lookup returns the value whose key equals the
// query; attention returns a *weighted average* of all values, weighted by how well each key matches the
// query. We start with Nadaraya–Watson kernel regression (1964), which is exactly that, then let a
// network learn the matching function (additive attention, Bahdanau et al. 2014), and finally watch a
// tiny encoder-decoder use it to reverse sequences — its attention weights draw the anti-diagonal.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "attn/attention/scoring.h"
#include "attn/autograd/autograd.h"
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
  Lesson L(argc, argv, "Basic attention: a soft lookup, then a learned one");

  L.step("Attention as a soft dictionary lookup (Nadaraya–Watson)");
  L.say(
      "Training pairs (x_i, y_i) are the keys and values. To predict at a query x, weight every y_i by\n"
      "how close x_i is:  f(x) = Σ_i softmax_i(-(x - x_i)² / 2) · y_i.  The weights are an attention row.");
  Generator gen(0);
  const int64_t n = 50;
  Tensor x_train = Tensor::empty({n}), y_train = Tensor::empty({n});  // keys, values (n,)
  for (int64_t i = 0; i < n; ++i) {
    const float x = 5.f * static_cast<float>(i) / n;
    x_train.data()[i] = x;
    y_train.data()[i] = 2.f * std::sin(x) + std::pow(x, 0.8f) + 0.5f * gen.normal();
  }
  Tensor x_query = Tensor::arange(n) * (5.f / n);  // (n,) queries
  auto nadaraya_watson = [&](const Tensor& w) {
    // scores (n_query, n_train) = -((x_q - x_i) · w)² / 2 ; w is a learnable bandwidth (1 = the plain kernel)
    Tensor diff = (reshape(x_query, {n, 1}) - reshape(x_train, {1, n})) * w;
    Tensor weights = softmax(pow(diff, 2.f) * -0.5f, 1);       // (n, n): each row sums to 1
    return std::make_pair(matmul(weights, y_train), weights);  // (n,), (n, n)
  };
  Tensor one = Tensor::ones({1});
  auto [y_hat, weights] = nadaraya_watson(one);
  std::vector<double> xs, truth, fit, noisy;
  for (int64_t i = 0; i < n; ++i) {
    const double x = x_query.data()[i];
    xs.push_back(x);
    truth.push_back(2 * std::sin(x) + std::pow(x, 0.8));
    fit.push_back(y_hat.data()[i]);
    noisy.push_back(y_train.data()[i]);
  }
  std::printf("  query x = 2.5 attends most to x_i = %.2f (weight %.3f)\n", x_train.data()[n / 2],
              weights.at({n / 2, n / 2}));

  L.step("Let the bandwidth be learned");
  L.say(
      "Make the kernel width a parameter w and fit it by gradient descent on the training pairs\n"
      "(each point predicted from the others): a narrower kernel = sharper attention.");
  Tensor w = Tensor::ones({1}).requires_grad_();
  Tensor self_mask = Tensor::eye(n);  // a point may not look at its own value
  for (int step = 0; step < 100; ++step) {
    Tensor diff = (reshape(x_train, {n, 1}) - reshape(x_train, {1, n})) * w;
    Tensor a = softmax(masked_fill(pow(diff, 2.f) * -0.5f, self_mask, -INFINITY), 1);
    Tensor loss = mse_loss(matmul(a, y_train), y_train);
    loss.backward();
    {
      NoGradGuard ng;
      w.data()[0] -= 0.5f * w.grad().data()[0];
    }
    w.zero_grad();
    if (step % 33 == 0 || step == 99) std::printf("  step %3d  loss %.4f  w %.3f\n", step, loss.item(), w.item());
  }
  Tensor w_fixed = w.detach();
  auto [y_hat2, weights2] = nadaraya_watson(w_fixed);
  std::vector<double> fit2(y_hat2.data(), y_hat2.data() + n);
  viz::LinePlot("Nadaraya–Watson regression: attention over training points", "x", "y")
      .add_series("truth", xs, truth)
      .add_series("noisy training data", xs, noisy)
      .add_series("fixed kernel (w = 1)", xs, fit)
      .add_series("learned kernel", xs, fit2)
      .save(L.figure("nadaraya_watson_fit.svg"));
  viz::Heatmap(weights)
      .title("Attention weights, fixed kernel")
      .row_title("query x")
      .col_title("training x_i")
      .save_png(L.figure("nadaraya_watson_weights.png"));
  viz::Heatmap(weights2)
      .title("Attention weights, learned kernel (sharper)")
      .row_title("query x")
      .col_title("training x_i")
      .save_png(L.figure("nadaraya_watson_weights_learned.png"));

  L.step("Additive attention: a small network scores each key");
  L.say(
      "Bahdanau's score is e_j = v_aᵀ tanh(W_a q + U_a k_j): the query and each key are projected into a\n"
      "shared space, added, squashed, and read out by v_a. softmax over j gives the weights.");
  Generator g2(1);
  nn::AdditiveAttention additive(/*query_dim=*/4, /*key_dim=*/4, /*attn_dim=*/8, g2);
  Tensor q = Tensor::randn({1, 4}, g2), keys = Tensor::randn({1, 5, 4}, g2);  // one query (B, Dq); 5 keys (B, S, Dk)
  Attended a = additive.forward(q, keys, keys);
  std::cout << "  weights over 5 keys: " << a.weights << "\n";

  L.step("A decoder that attends: reversing sequences");
  L.say(
      "A GRU encoder reads '3 7 1 4'; a GRU decoder writes '4 1 7 3', one token at a time. Before each\n"
      "output token the decoder's state queries the encoder's states with additive attention. To reverse,\n"
      "output t must come from input S-1-t — so the learned weights should form the anti-diagonal.");
  data::ToyTask task;
  task.name = "reverse";
  task.num_symbols = 8;
  task.min_len = 4;
  task.max_len = 7;
  models::Seq2SeqConfig cfg;
  cfg.src_vocab = cfg.tgt_vocab = task.vocab_size();
  cfg.embed_dim = 16;
  cfg.hidden_dim = 32;
  cfg.attention = "additive";
  Generator init(7), data_gen(8), eval_gen(9);
  models::Seq2Seq model(cfg, init);
  TrainResult tr = train_seq2seq(model, task, 500, 64, 1e-2f, data_gen);
  EvalResult ev = evaluate_seq2seq(model, task, 500, eval_gen);
  std::printf("  trained in %.1f s; held-out accuracy: %.1f%% of sequences, %.1f%% of tokens\n", tr.seconds,
              100 * ev.sequence_accuracy, 100 * ev.token_accuracy);
  viz::LinePlot("Training loss (reverse, additive attention)", "step", "cross-entropy")
      .add_series("train", tr.steps, tr.losses)
      .log_y()
      .save(L.figure("reverse_loss.svg"));

  L.step("Look at the alignment");
  std::vector<int64_t> example = {3 + 2, 3 + 7, 3 + 1, 3 + 4, 3 + 0, 3 + 6, 3 + 5};  // "2 7 1 4 0 6 5"
  data::SeqBatch b = task.make_batch({example});
  models::Decoded d = model.greedy_decode(b.src, 10);
  const int64_t S = static_cast<int64_t>(example.size());
  std::vector<std::string> src_tokens, out_tokens;
  for (int64_t id : example) src_tokens.push_back(data::ToyTask::token_str(id));
  for (int64_t id : d.tokens[0]) out_tokens.push_back(data::ToyTask::token_str(id));
  out_tokens.push_back("<eos>");
  std::string in_s, out_s;
  for (auto& t : src_tokens) in_s += t + " ";
  for (auto& t : out_tokens) out_s += t + " ";
  std::printf("  input:  %s\n  output: %s\n", in_s.c_str(), out_s.c_str());
  // weights (1, T, S) -> (T, S); the gold alignment of output t is input S-1-t.
  const int64_t T = d.attention.size(1);
  Tensor align = reshape(d.attention, {T, S});
  double anti = 0;
  int hits = 0;
  std::vector<std::pair<int64_t, int64_t>> gold;
  IndexTensor argmax;
  max(align, 1, false, &argmax);  // the source position each output looked at most
  for (int64_t t = 0; t < std::min(T, S); ++t) {
    anti += align.at({t, S - 1 - t});
    hits += argmax[t] == S - 1 - t;
    gold.push_back({t, S - 1 - t});
  }
  std::printf("  outputs whose strongest weight is on the mirrored input: %d of %lld\n", hits,
              static_cast<long long>(std::min(T, S)));
  std::printf(
      "  mean weight on the anti-diagonal: %.2f (1.00 = a perfect reversal alignment; the rest leaks to\n"
      "  neighbours, whose encoder states also carry the token)\n",
      anti / std::min(T, S));
  viz::alignment_plot(align, src_tokens, out_tokens)
      .title("Additive attention while reversing")
      .gold(gold)
      .save_png(L.figure("reverse_alignment.png"));
  L.say(
      "\nEach output row puts its weight on the mirrored input: the model learned *where to look*.\n"
      "Next: 01_foundations/02_multiplicative_attention — cheaper scores (dot, general, concat).");
  return 0;
}
