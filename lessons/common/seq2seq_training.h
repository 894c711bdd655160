// Shared by the foundations lessons: train a Seq2Seq model on a toy task, then measure it.
// (Kept here, beside the lessons, because it is the lessons' own scaffolding; the model itself lives in
// src/attn/models/seq2seq.h.)
#pragma once
#include <chrono>
#include <cstdio>
#include <vector>

#include "attn/data/toy_tasks.h"
#include "attn/models/seq2seq.h"
#include "attn/nn/nn.h"
#include "attn/nn/schedule.h"
#include "attn/ops/ops.h"

struct TrainResult {
  std::vector<double> steps, losses;
  double seconds = 0;
};

// Teacher-forced training with Adam and gradient clipping; padding targets are ignored by the loss. The rate
// falls from `lr` to lr / 20 along a half cosine, so that the last steps settle instead of hopping around the
// minimum at full rate (the accuracy then no longer depends on where the last few noisy steps happened to land).
inline TrainResult train_seq2seq(attn::models::Seq2Seq& model, const attn::data::ToyTask& task, int steps,
                                 int64_t batch, float lr, attn::Generator& data_gen, bool verbose = true) {
  using namespace attn;
  nn::Adam opt(model.parameters(), nn::AdamOptions(lr));
  TrainResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t V = model.config().tgt_vocab;
  for (int s = 1; s <= steps; ++s) {
    opt.set_lr(nn::warmup_cosine(s, lr, 0, steps, lr / 20));
    data::SeqBatch b = task.sample(batch, data_gen);
    auto out = model.forward(b.src, b.tgt_in);  // logits (B, T, V)
    Tensor loss = cross_entropy(reshape(out.logits, {-1, V}), IndexTensor(b.tgt_out.data),
                                CrossEntropyOptions().ignore(data::kPad));
    opt.zero_grad();
    loss.backward();
    nn::clip_grad_norm_(model.parameters(), 1.f);
    opt.step();
    r.steps.push_back(s);
    r.losses.push_back(loss.item());
    if (verbose && (s % (steps / 4) == 0 || s == 1)) std::printf("  step %4d  loss %.4f\n", s, loss.item());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

struct EvalResult {
  double sequence_accuracy = 0, token_accuracy = 0;
};

// Greedy decoding on `n` fresh examples: whole-sequence and per-position accuracy.
inline EvalResult evaluate_seq2seq(attn::models::Seq2Seq& model, const attn::data::ToyTask& task, int64_t n,
                                   attn::Generator& gen) {
  using namespace attn;
  data::SeqBatch b = task.sample(n, gen);
  const int64_t S = b.src.shape[1];
  models::Decoded d = model.greedy_decode(b.src, S + 2);
  EvalResult e;
  int64_t tokens = 0, right = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> src(b.src.data.begin() + i * S, b.src.data.begin() + i * S + b.src_lengths[i]);
    const std::vector<int64_t> want = task.target_of(src);
    e.sequence_accuracy += d.tokens[i] == want;
    for (size_t t = 0; t < want.size(); ++t) {
      ++tokens;
      right += t < d.tokens[i].size() && d.tokens[i][t] == want[t];
    }
  }
  e.sequence_accuracy /= static_cast<double>(n);
  e.token_accuracy = static_cast<double>(right) / static_cast<double>(tokens);
  return e;
}
