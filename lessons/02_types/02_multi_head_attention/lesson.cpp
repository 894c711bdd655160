// Lesson 02.02 — Multi-head attention: several small attentions side by side, each in its own subspace.
//
// One attention head computes one set of weights per query: one softmax, one place (or one blend of
// places) to read from. Multi-head attention (Vaswani et al. 2017) splits the E features into H heads of
// Dh = E / H features each and runs H attentions in parallel, each with its own queries, keys and values:
//
//   head_h = softmax(Q_h K_hᵀ / √Dh) V_h,   Q_h = X W_h^Q, …   (h = 1..H, each (T, Dh))
//   MultiHead(X) = Concat(head_1, …, head_H) W^O               ((T, E))
//
// It costs no more parameters than one head of size E. We check nn::MultiheadAttention against that
// formula, then train a one-layer, attention-only model on a task that needs two places at once — the
// previous token and the one before it — and watch the two heads divide the work between them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "attn/attention/multihead.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;

namespace {

constexpr int64_t kVocab = 8, kLen = 12, kEmbed = 32;  // symbols, sequence length T, embedding size E
constexpr int64_t kIgnore = -100;                      // cross_entropy's default ignore_index

// The task. x is T random symbols; at each position t, say which symbol was at t-1 and which at t-2.
struct Batch {
  IndexTensor x;             // (B, T)
  IndexTensor back1, back2;  // (B·T): x[t-1] and x[t-2], or kIgnore where there is none
};
Batch sample(int64_t B, Generator& gen) {
  Batch b;
  std::vector<int64_t> x(B * kLen), y1(B * kLen, kIgnore), y2(B * kLen, kIgnore);
  for (auto& v : x) v = gen.randint(kVocab);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < kLen; ++t) {
      if (t >= 1) y1[i * kLen + t] = x[i * kLen + t - 1];
      if (t >= 2) y2[i * kLen + t] = x[i * kLen + t - 2];
    }
  b.x = IndexTensor(x, {B, kLen});
  b.back1 = IndexTensor(y1);
  b.back2 = IndexTensor(y2);
  return b;
}

// Token + learned position embeddings -> one causal multi-head attention -> two linear read-outs.
// No residual, no MLP: the only way information moves between positions is through the heads.
struct AttentionOnly : nn::Module {
  std::shared_ptr<nn::Embedding> tok, pos;
  std::shared_ptr<nn::MultiheadAttention> attn;
  std::shared_ptr<nn::Linear> read1, read2;
  AttentionOnly(int64_t heads, Generator& gen) {
    tok = register_module("tok", std::make_shared<nn::Embedding>(kVocab, kEmbed, gen));
    pos = register_module("pos", std::make_shared<nn::Embedding>(kLen, kEmbed, gen));
    attn = register_module("attn", std::make_shared<nn::MultiheadAttention>(
                                       kEmbed, heads, gen, nn::MultiheadAttentionOptions().with_batch_first(true)));
    read1 = register_module("read1", std::make_shared<nn::Linear>(kEmbed, kVocab, gen));
    read2 = register_module("read2", std::make_shared<nn::Linear>(kEmbed, kVocab, gen));
  }
  struct Out {
    Tensor logits1, logits2;  // (B·T, V) each
    Tensor weights;           // (B, H, T, T) per head, or (B, T, T) averaged
  };
  Out forward(const IndexTensor& x, bool need_weights = false, bool average = false) {
    Tensor h = tok->forward(x) + pos->forward(positions());  // (B, T, E) + (T, E)
    AttentionOutput a = attn->forward(h, h, h, nn::MhaForward().causal().weights(need_weights).average(average));
    Tensor z = reshape(a.output, {-1, kEmbed});  // (B·T, E)
    return {read1->forward(z), read2->forward(z), a.weights};
  }
  static IndexTensor positions() {
    std::vector<int64_t> p(kLen);
    for (int64_t t = 0; t < kLen; ++t) p[t] = t;
    return IndexTensor(p);
  }
};

struct Accuracy {
  double back1 = 0, back2 = 0, both = 0;  // per position: x[t-1] right, x[t-2] right, both right (t >= 2)
};
Accuracy evaluate(AttentionOnly& model, const Batch& b) {
  NoGradGuard no_grad;
  auto out = model.forward(b.x);
  IndexTensor p1, p2;
  max(out.logits1, 1, false, &p1);
  max(out.logits2, 1, false, &p2);
  Accuracy a;
  int64_t n = 0;
  for (int64_t i = 0; i < b.x.numel(); ++i) {
    if (b.back2[i] == kIgnore) continue;
    ++n;
    a.back1 += p1[i] == b.back1[i];
    a.back2 += p2[i] == b.back2[i];
    a.both += p1[i] == b.back1[i] && p2[i] == b.back2[i];
  }
  a.back1 /= n, a.back2 /= n, a.both /= n;
  return a;
}

struct Trained {
  std::vector<double> steps, losses;
  double seconds = 0;
};
Trained train(AttentionOnly& model, int steps, Generator& data_gen) {
  nn::Adam opt(model.parameters(), nn::AdamOptions(3e-3f));
  Trained r;
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 1; s <= steps; ++s) {
    Batch b = sample(64, data_gen);
    auto out = model.forward(b.x);
    Tensor loss = cross_entropy(out.logits1, b.back1) + cross_entropy(out.logits2, b.back2);
    opt.zero_grad();
    loss.backward();
    opt.step();
    r.steps.push_back(s);
    r.losses.push_back(loss.item());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Multi-head attention: heads as subspaces");

  L.step("Split E features into H heads of E / H");
  L.say(
      "Project X (B, T, E) to Q, K, V as usual, then view the last dim as H blocks of Dh = E / H and\n"
      "move the head dim forward: every head is an independent attention over Dh-dim queries and keys.");
  Generator gen(0);
  Tensor x = Tensor::randn({1, 5, 8}, gen);  // (B, T, E) with E = 8
  Tensor heads = nn::split_heads(x, 2);      // (B, H, T, Dh) = (1, 2, 5, 4)
  std::printf("  x %s -> split_heads(x, 2) %s -> merge_heads %s\n", shape_str(x.shape()).c_str(),
              shape_str(heads.shape()).c_str(), shape_str(nn::merge_heads(heads).shape()).c_str());
  std::printf("  head 1 is features 4..7 of x: max difference %.1e\n",
              max_abs_diff(reshape(slice(heads, 1, 1, 2), {5, 4}), reshape(slice(x, 2, 4, 8), {5, 4})));
  L.say("Splitting does not add parameters: W^Q, W^K, W^V and W^O are (E, E) whatever H is.");
  for (int64_t H : {1, 2, 4, 8}) {
    nn::MultiheadAttention mha(32, H, gen);
    std::printf("  E = 32, H = %lld (Dh = %2lld): %lld parameters\n", static_cast<long long>(H),
                static_cast<long long>(32 / H), static_cast<long long>(mha.num_parameters()));
  }

  L.step("nn::MultiheadAttention is the formula");
  L.say(
      "Its in_proj_weight stacks [W^Q; W^K; W^V] (3E, E), as in PyTorch. By hand: project, split into\n"
      "heads, scaled dot-product attention per head (sdpa takes (B, H, T, Dh)), merge, then W^O.");
  {
    const int64_t E = 8, H = 2;
    nn::MultiheadAttention mha(E, H, gen, nn::MultiheadAttentionOptions().with_batch_first(true));
    auto w = split(mha.in_proj_weight, E, 0);  // W^Q, W^K, W^V: (E, E) each
    auto b = split(mha.in_proj_bias, E, 0);
    Tensor q = nn::split_heads(linear(x, w[0], b[0]), H);  // (B, H, T, Dh)
    Tensor k = nn::split_heads(linear(x, w[1], b[1]), H);
    Tensor v = nn::split_heads(linear(x, w[2], b[2]), H);
    Tensor by_hand = mha.out_proj->forward(nn::merge_heads(scaled_dot_product_attention(q, k, v).output));
    std::printf("  max |MultiheadAttention - by hand|: %.1e\n", max_abs_diff(mha.forward(x, x, x).output, by_hand));
  }

  L.step("A task that needs two places at once");
  L.say(
      "A sequence of 12 random symbols; at every position t, name the symbol at t-1 AND the one at t-2.\n"
      "One softmax can only blend its sources, so one head has to choose — two heads can split the job.");
  {
    Generator show(1);
    Batch b = sample(1, show);
    std::string xs, y1, y2;
    for (int64_t t = 0; t < kLen; ++t) {
      xs += std::to_string(b.x[t]) + " ";
      y1 += b.back1[t] == kIgnore ? "· " : std::to_string(b.back1[t]) + " ";
      y2 += b.back2[t] == kIgnore ? "· " : std::to_string(b.back2[t]) + " ";
    }
    std::printf("  x:         %s\n  t-1:       %s\n  t-2:       %s\n", xs.c_str(), y1.c_str(), y2.c_str());
  }
  L.say(
      "The model: token + learned position embeddings (E = 32), one causal MultiheadAttention\n"
      "(batch_first), and two linear read-outs. Same data and steps, H = 1 and H = 2:");

  Generator eval_gen(9);
  const Batch eval = sample(500, eval_gen);
  viz::LinePlot losses("Training loss: one head vs two heads", "step", "cross-entropy (t-1 + t-2)");
  std::shared_ptr<AttentionOnly> model2;
  for (int64_t H : {1, 2}) {
    Generator init(7), data_gen(8);
    auto model = std::make_shared<AttentionOnly>(H, init);
    Trained tr = train(*model, 300, data_gen);
    Accuracy acc = evaluate(*model, eval);
    std::printf("  H = %lld: accuracy t-1 %.1f%%, t-2 %.1f%%, both %.1f%%   (final loss %.3f, %.1f s)\n",
                static_cast<long long>(H), 100 * acc.back1, 100 * acc.back2, 100 * acc.both, tr.losses.back(),
                tr.seconds);
    losses.add_series(H == 1 ? "1 head" : "2 heads", tr.steps, tr.losses);
    if (H == 2) model2 = model;
  }
  losses.log_y().save(L.figure("loss_one_vs_two_heads.svg"));

  L.step("What each head learned to look at");
  L.say(
      "Per-head weights (average_attn_weights = false) are (B, H, T, T). For each head, the mean weight\n"
      "on each diagonal offset k — query t reading key t-k — over 500 held-out sequences (t >= 3):");
  NoGradGuard no_grad;
  auto out = model2->forward(eval.x, /*need_weights=*/true, /*average=*/false);
  const Tensor& W = out.weights;  // (B, H, T, T)
  const int64_t B = W.size(0), H = W.size(1);
  std::printf("  head   offset 0   offset 1   offset 2   offset 3\n");
  std::vector<int64_t> looks_at(H);
  for (int64_t h = 0; h < H; ++h) {
    double m[4] = {0, 0, 0, 0};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 3; t < kLen; ++t)
        for (int64_t k = 0; k < 4; ++k) m[k] += W.at({b, h, t, t - k});
    int64_t best = 0;
    for (int64_t k = 0; k < 4; ++k) {
      m[k] /= double(B * (kLen - 3));
      if (m[k] > m[best]) best = k;
    }
    looks_at[h] = best;
    std::printf("  H%lld   %9.2f  %9.2f  %9.2f  %9.2f   -> head %lld looks at offset %lld\n", static_cast<long long>(h),
                m[0], m[1], m[2], m[3], static_cast<long long>(h), static_cast<long long>(best));
  }

  L.step("Per-head vs averaged weights");
  L.say(
      "MultiheadAttention returns the mean over heads by default (average_attn_weights = true, as in\n"
      "PyTorch). Each head is a sharp shifted diagonal; their average is two half-bright diagonals that\n"
      "hide who does what. Look at heads separately.");
  IndexTensor first(std::vector<int64_t>(eval.x.data.begin(), eval.x.data.begin() + kLen), {1, kLen});
  auto one = model2->forward(first, true, false);  // (1, H, T, T)
  auto avg = model2->forward(first, true, true);   // (1, T, T)
  std::vector<std::string> tokens;
  for (int64_t t = 0; t < kLen; ++t) tokens.push_back(std::to_string(first[t]));
  double avg_off1 = 0, avg_off2 = 0;
  for (int64_t t = 2; t < kLen; ++t) {
    avg_off1 += avg.weights.at({0, t, t - 1});
    avg_off2 += avg.weights.at({0, t, t - 2});
  }
  std::printf("  averaged weights, mean on offset 1: %.2f, on offset 2: %.2f\n", avg_off1 / (kLen - 2),
              avg_off2 / (kLen - 2));
  viz::HeatmapGrid grid;
  grid.title("Two heads, one causal layer: per head and averaged")
      .labels(tokens)
      .unit_range()
      .columns(H + 1)
      .colorbar_label("attention weight");
  for (int64_t h = 0; h < H; ++h)
    grid.add(reshape(slice(one.weights, 1, h, h + 1), {kLen, kLen}),
             "head " + std::to_string(h) + ": t-" + std::to_string(looks_at[h]));
  grid.add(reshape(avg.weights, {kLen, kLen}), "average of heads");
  grid.save_png(L.figure("heads_vs_average.png"));
  viz::Heatmap(reshape(avg.weights, {kLen, kLen}))
      .title("Averaged over heads (average_attn_weights = true)")
      .labels(tokens)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("averaged_weights.png"));

  L.say(
      "\nEach head is a separate attention in its own Dh-dim subspace, with its own idea of where to look;\n"
      "W^O mixes what they found. So far queries, keys and values came from one sequence. Next:\n"
      "02_types/03_cross_attention — one sequence querying another.");
  return 0;
}
