// Lesson 02.03 — Cross-attention: one sequence asks, another answers.
//
// Self-attention takes Q, K and V from the same sequence. Cross-attention — the "encoder-decoder
// attention" of Vaswani et al. (2017), and the decoder-queries-encoder idea of lessons 01.x — takes the
// queries from one sequence (the target, length L) and the keys and values from another (the source,
// length S):
//
//   Q = Y W_q  (L, d),   K = X W_k  (S, d),   V = X W_v  (S, d),   out = softmax(Q Kᵀ / √d) V  (L, d)
//
// The weight matrix is L × S — rectangular — and the output has the target's length and the source's
// content. We check the shapes, mask the padding of a short source, then train a one-layer cross-attention
// to look things up: the source is a list of key=value pairs, each query names a key, and the answer is
// its value. The only way to answer is to attend to the right source position — and it learns to.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "attn/attention/masks.h"
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

constexpr int64_t kKeys = 12, kValues = 10, kEmbed = 32;  // keys a..l, values 0..9, model width E
constexpr int64_t kMinPairs = 4, kMaxPairs = 7, kQueries = 3;

// The lookup task. Source: n distinct keys, each with a value ("c=7"), padded to the batch's longest.
// Target: kQueries of those keys. Answer: their values; gold: the source position holding each key.
struct Lookup {
  IndexTensor src_keys, src_vals;  // (B, S), padding positions hold 0 (and are masked)
  IndexTensor query;               // (B, L), L = kQueries
  IndexTensor answer;              // (B·L)
  std::vector<int64_t> gold;       // (B·L) source position of each query's key
  std::vector<int64_t> lengths;    // (B) number of pairs in each source
};

Lookup sample(int64_t B, Generator& gen) {
  Lookup b;
  std::vector<std::vector<int64_t>> keys(B), vals(B);
  int64_t S = 0;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = kMinPairs + gen.randint(kMaxPairs - kMinPairs + 1);
    std::vector<int64_t> all(kKeys);
    for (int64_t k = 0; k < kKeys; ++k) all[k] = k;
    for (int64_t k = 0; k < n; ++k) std::swap(all[k], all[k + gen.randint(kKeys - k)]);  // n distinct keys
    keys[i].assign(all.begin(), all.begin() + n);
    for (int64_t k = 0; k < n; ++k) vals[i].push_back(gen.randint(kValues));
    b.lengths.push_back(n);
    S = std::max(S, n);
  }
  std::vector<int64_t> sk(B * S, 0), sv(B * S, 0), q;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = b.lengths[i];
    std::copy(keys[i].begin(), keys[i].end(), sk.begin() + i * S);
    std::copy(vals[i].begin(), vals[i].end(), sv.begin() + i * S);
    std::vector<int64_t> pos(n);
    for (int64_t k = 0; k < n; ++k) pos[k] = k;
    for (int64_t k = 0; k < kQueries; ++k) {  // kQueries distinct positions to ask about
      std::swap(pos[k], pos[k + gen.randint(n - k)]);
      q.push_back(keys[i][pos[k]]);
      b.answer.data.push_back(vals[i][pos[k]]);
      b.gold.push_back(pos[k]);
    }
  }
  b.src_keys = IndexTensor(sk, {B, S});
  b.src_vals = IndexTensor(sv, {B, S});
  b.query = IndexTensor(q, {B, kQueries});
  b.answer.shape = {B * kQueries};
  return b;
}

std::string key_str(int64_t k) { return std::string(1, static_cast<char>('a' + k)); }

// Encoder side: each source position is embed(key) + embed(value). Decoder side: each query is
// embed(key), with the same key table. One cross-attention head, then a linear read-out of the value.
struct LookupModel : nn::Module {
  std::shared_ptr<nn::Embedding> key_emb, val_emb;
  std::shared_ptr<nn::MultiheadAttention> cross;
  std::shared_ptr<nn::Linear> read;
  explicit LookupModel(Generator& gen) {
    key_emb = register_module("key_emb", std::make_shared<nn::Embedding>(kKeys, kEmbed, gen));
    val_emb = register_module("val_emb", std::make_shared<nn::Embedding>(kValues, kEmbed, gen));
    cross = register_module("cross", std::make_shared<nn::MultiheadAttention>(
                                         kEmbed, 1, gen, nn::MultiheadAttentionOptions().with_batch_first(true)));
    read = register_module("read", std::make_shared<nn::Linear>(kEmbed, kValues, gen));
  }
  struct Out {
    Tensor logits;   // (B·L, values)
    Tensor weights;  // (B, L, S) when asked for
  };
  Out forward(const Lookup& b, bool need_weights = false) {
    const int64_t S = b.src_keys.shape[1];
    Tensor memory = key_emb->forward(b.src_keys) + val_emb->forward(b.src_vals);  // (B, S, E)
    Tensor queries = key_emb->forward(b.query);                                   // (B, L, E)
    AttentionOutput a = cross->forward(queries, memory, memory,
                                       nn::MhaForward().padding(key_padding_mask(b.lengths, S)).weights(need_weights));
    return {read->forward(reshape(a.output, {-1, kEmbed})), a.weights};
  }
};

struct Score {
  double accuracy = 0, gold_hits = 0;  // answers right; weight argmax on the gold source position
};
Score evaluate(LookupModel& model, const Lookup& b) {
  NoGradGuard no_grad;
  auto out = model.forward(b, true);
  IndexTensor pred, where;
  max(out.logits, 1, false, &pred);                                        // (B·L)
  max(reshape(out.weights, {-1, out.weights.size(2)}), 1, false, &where);  // (B·L)
  Score s;
  for (int64_t i = 0; i < b.answer.numel(); ++i) {
    s.accuracy += pred[i] == b.answer[i];
    s.gold_hits += where[i] == b.gold[i];
  }
  s.accuracy /= double(b.answer.numel());
  s.gold_hits /= double(b.answer.numel());
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Cross-attention: one sequence querying another");

  L.step("Queries from the target, keys and values from the source");
  L.say(
      "A target Y of L = 3 vectors asks; a source X of S = 5 vectors answers. Only the projections'\n"
      "inputs change from self-attention — and the shapes: the weights are L × S.");
  Generator gen(0);
  const int64_t E = 8, Lq = 3, S = 5;
  Tensor Y = Tensor::randn({1, Lq, E}, gen), X = Tensor::randn({1, S, E}, gen);  // (B, L, E), (B, S, E)
  const float scale = 1.f / std::sqrt(float(E));                                 // keeps q and k entries about N(0, 1)
  Tensor Wq = Tensor::randn({E, E}, gen) * scale, Wk = Tensor::randn({E, E}, gen) * scale,
         Wv = Tensor::randn({E, E}, gen) * scale;
  Tensor Q = matmul(Y, Wq), K = matmul(X, Wk), V = matmul(X, Wv);
  AttentionOutput a = scaled_dot_product_attention(Q, K, V, SdpaOptions().weights());
  std::printf("  Q = Y W_q %s   K = X W_k %s   V = X W_v %s\n", shape_str(Q.shape()).c_str(),
              shape_str(K.shape()).c_str(), shape_str(V.shape()).c_str());
  std::printf("  weights %s: one row per target position, one column per source position\n",
              shape_str(a.weights.shape()).c_str());
  std::printf("  output  %s: the target's length, the source's content\n", shape_str(a.output.shape()).c_str());
  L.say(
      "No causal mask here: every target position may read the whole source, which is already known.\n"
      "The source may even have another width: MultiheadAttention takes kdim and vdim for its keys and values.");
  nn::MultiheadAttention mha(E, 2, gen,
                             nn::MultiheadAttentionOptions().with_batch_first(true).with_kdim(12).with_vdim(12));
  Tensor X12 = Tensor::randn({1, S, 12}, gen);  // (B, S, kdim)
  AttentionOutput m_avg = mha.forward(Y, X12, X12);
  AttentionOutput m_heads = mha.forward(Y, X12, X12, nn::MhaForward().average(false));
  std::printf(
      "  MultiheadAttention(E = 8, H = 2, kdim = vdim = 12): query %s, key/value %s -> output %s,\n"
      "  weights %s averaged over heads, %s per head\n",
      shape_str(Y.shape()).c_str(), shape_str(X12.shape()).c_str(), shape_str(m_avg.output.shape()).c_str(),
      shape_str(m_avg.weights.shape()).c_str(), shape_str(m_heads.weights.shape()).c_str());

  L.step("A key-padding mask on the source");
  L.say(
      "Two sources of lengths 5 and 3 in one batch: the short one is padded to S = 5, and the mask\n"
      "(B, S), 1 = padding, keeps every target position from reading the padding.");
  const std::vector<std::string> src_short = {"the", "dog", "ran", "<pad>", "<pad>"};
  const std::vector<std::string> tgt_short = {"le", "chien", "courait"};
  Tensor Xb = Tensor::randn({2, S, E}, gen), Yb = Tensor::randn({2, Lq, E}, gen);  // (B, S, E), (B, L, E)
  Tensor pad = key_padding_mask({5, 3}, S);                                        // (B, S)
  std::cout << "  key_padding_mask = " << pad << "\n";
  AttentionOutput pa = scaled_dot_product_attention(matmul(Yb, Wq), matmul(Xb, Wk), matmul(Xb, Wv),
                                                    SdpaOptions().padding(pad).weights());  // weights (B, L, S)
  Tensor second = reshape(slice(pa.weights, 0, 1, 2), {Lq, S});                             // the short source's (L, S)
  double on_pad = 0;
  for (int64_t i = 0; i < Lq; ++i) on_pad += second.at({i, 3}) + second.at({i, 4});
  std::printf("  weight on the short source's <pad> positions: %.6f\n", on_pad);
  viz::Heatmap(second)
      .title("Cross-attention with a padded source (random weights)")
      .row_labels(tgt_short)
      .col_labels(src_short)
      .row_title("target (queries)")
      .col_title("source (keys, values)")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("padding_mask.png"));

  L.step("A task for cross-attention: look up a key");
  L.say(
      "The source is a short dictionary of 4 to 7 key=value pairs; the target is 3 of its keys; the answer\n"
      "is each key's value. Which source position holds the answer changes from example to example, so a\n"
      "fixed pattern cannot work: each query must find the source position whose key matches its own.");
  Generator show_gen(1);
  Lookup show = sample(1, show_gen);
  std::vector<std::string> src_tokens, tgt_tokens;
  std::vector<std::pair<int64_t, int64_t>> gold;
  std::string src_s, q_s, a_s;
  for (int64_t j = 0; j < show.lengths[0]; ++j)
    src_tokens.push_back(key_str(show.src_keys[j]) + "=" + std::to_string(show.src_vals[j]));
  for (int64_t i = 0; i < kQueries; ++i) {
    tgt_tokens.push_back(key_str(show.query[i]) + "?");
    gold.push_back({i, show.gold[i]});
    q_s += tgt_tokens.back() + " ";
    a_s += std::to_string(show.answer[i]) + " ";
  }
  for (const auto& t : src_tokens) src_s += t + " ";
  std::printf("  source:  %s\n  queries: %s -> answers: %s\n", src_s.c_str(), q_s.c_str(), a_s.c_str());
  L.say(
      "The model: source position j = embed(key_j) + embed(value_j) (the encoder side), query i =\n"
      "embed(key_i) with the same key table (the decoder side), one cross-attention head with E = 32,\n"
      "and a linear read-out of the value. Before training, its attention is a blur:");
  Generator init(7), data_gen(8), eval_gen(9);
  LookupModel model(init);
  auto untrained = model.forward(show, true);
  viz::alignment_plot(reshape(untrained.weights, {kQueries, show.lengths[0]}), src_tokens, tgt_tokens)
      .title("Cross-attention before training")
      .gold(gold)
      .save_png(L.figure("alignment_untrained.png"));

  L.step("Train it");
  nn::Adam opt(model.parameters(), nn::AdamOptions(3e-3f));
  std::vector<double> steps, losses;
  const auto t0 = std::chrono::steady_clock::now();
  const int n_steps = 300;
  for (int s = 1; s <= n_steps; ++s) {
    Lookup b = sample(64, data_gen);
    Tensor loss = cross_entropy(model.forward(b).logits, b.answer);
    opt.zero_grad();
    loss.backward();
    opt.step();
    steps.push_back(s);
    losses.push_back(loss.item());
    if (s == 1 || s % 100 == 0) std::printf("  step %3d  loss %.4f\n", s, loss.item());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  viz::LinePlot("Training loss: key lookup by cross-attention", "step", "cross-entropy")
      .add_series("train", steps, losses)
      .log_y()
      .save(L.figure("loss.svg"));
  Score sc = evaluate(model, sample(1000, eval_gen));
  std::printf("  trained in %.1f s\n  held-out accuracy: %.1f%% of 3000 queries\n", seconds, 100 * sc.accuracy);
  std::printf("  attention argmax on the gold source position: %.1f%%\n", 100 * sc.gold_hits);

  L.step("Look at the alignment");
  L.say(
      "Rows are the queries, columns the source pairs; the red boxes are where each key really is, the\n"
      "dots where the head put most of its weight.");
  auto trained = model.forward(show, true);
  IndexTensor pred;
  max(trained.logits, 1, false, &pred);
  std::string p_s;
  for (int64_t i = 0; i < kQueries; ++i) {
    p_s += std::to_string(pred[i]) + " ";
    tgt_tokens[i] += " -> " + std::to_string(pred[i]);
  }
  std::printf("  queries: %s -> predicted: %s\n", q_s.c_str(), p_s.c_str());
  viz::alignment_plot(reshape(trained.weights, {kQueries, show.lengths[0]}), src_tokens, tgt_tokens)
      .title("Cross-attention after training: each query finds its key")
      .gold(gold)
      .save_png(L.figure("alignment_trained.png"));

  L.say(
      "\nThe head learned to match a query's key against the keys in the source, and to read the value that\n"
      "sits there — a differentiable dictionary lookup, the idea this course started from (lesson 01.01).\n"
      "Self-attention, multi-head attention and cross-attention are the attention parts of the Transformer.\n"
      "Next: 02_types/04_modern_variants — RoPE and ALiBi (positions, the cure for lesson 02.01's blind spot),\n"
      "grouped-query attention, sliding windows, linear attention and the KV cache.");
  return 0;
}
