// Lesson 02.01 — Self-attention: queries, keys and values all come from one sequence.
//
// In lessons 01.x a decoder state asked questions of an encoder's states: two sequences. Self-attention
// (Cheng et al. 2016; Vaswani et al. 2017) lets a sequence ask questions of itself. Every token is
// projected three ways — a query (what am I looking for?), a key (what do I offer?) and a value (what do
// I pass on?) — and each token's output is the average of all values, weighted by how well its query
// matches each key:
//
//   Q = X W_q,  K = X W_k,  V = X W_v,   Y = softmax(Q Kᵀ / √d) V
//
// We build it by hand on a six-word sentence, see why the 1/√d is there, add the two masks every
// Transformer uses, check the library's scaled_dot_product_attention against the formula, and find
// self-attention's blind spot: it does not know the order of the words.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "attn/attention/masks.h"
#include "attn/attention/sdpa.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;

namespace {

// Mean over the rows of w (N, S) of the largest weight, and of the entropy -Σ p log p (in nats).
std::pair<double, double> row_stats(const Tensor& w) {
  const int64_t N = w.size(0), S = w.size(1);
  double max_w = 0, entropy = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* p = w.data() + i * S;
    max_w += *std::max_element(p, p + S);
    for (int64_t j = 0; j < S; ++j)
      if (p[j] > 0) entropy -= p[j] * std::log(double(p[j]));
  }
  return {max_w / N, entropy / N};
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Self-attention: Q, K and V from one sequence");

  L.step("A sentence is a (T, E) matrix");
  L.say(
      "Six words, each looked up in a small random embedding table (E = 8 numbers per word).\n"
      "The two 'the's are the same word, so they get the same row.");
  const std::vector<std::string> vocab = {"the", "cat", "sat", "on", "mat"};
  const std::vector<std::string> words = {"the", "cat", "sat", "on", "the", "mat"};
  const int64_t T = 6, E = 8, d = 8;  // tokens, embedding size, query/key/value size
  Generator gen(0);
  Tensor table = Tensor::randn({5, E}, gen);  // (V, E)
  auto embed = [&](const std::vector<std::string>& sentence) {
    std::vector<int64_t> ids;
    for (const auto& w : sentence) ids.push_back(std::find(vocab.begin(), vocab.end(), w) - vocab.begin());
    return embedding(IndexTensor(ids), table);  // (T, E)
  };
  Tensor X = embed(words);
  std::cout << "  X " << shape_str(X.shape()) << " = " << X << "\n";

  L.step("Three projections of the same X");
  L.say(
      "W_q, W_k, W_v are (E, d) matrices — learned in a real model, random here. Each token's row of X\n"
      "becomes a query, a key and a value.");
  const float init = 1.f / std::sqrt(float(E));  // keeps q and k entries about N(0, 1)
  Tensor Wq = Tensor::randn({E, d}, gen) * init, Wk = Tensor::randn({E, d}, gen) * init,
         Wv = Tensor::randn({E, d}, gen) * init;
  Tensor Q = matmul(X, Wq), K = matmul(X, Wk), V = matmul(X, Wv);  // (T, d) each
  std::printf("  Q %s   K %s   V %s\n", shape_str(Q.shape()).c_str(), shape_str(K.shape()).c_str(),
              shape_str(V.shape()).c_str());

  L.step("Scores, softmax, weighted sum");
  L.say(
      "scores[i, j] = q_i · k_j compares token i's query with token j's key: a (T, T) matrix.\n"
      "Dividing by √d and taking softmax along each row gives the weights; Y = A V mixes the values.");
  Tensor scores = matmul(Q, K, false, /*transpose_b=*/true);  // (T, T)
  Tensor A = softmax(scores / std::sqrt(float(d)), -1);       // (T, T), each row sums to 1
  Tensor Y = matmul(A, V);                                    // (T, d): one new vector per token
  std::cout << "  A = " << A << "\n  Y " << shape_str(Y.shape()) << "\n";
  std::printf("  rows 0 and 4 (both 'the') differ by %.1e (rounding): same word, same query, same weights\n",
              max_abs_diff(slice(A, 0, 0, 1), slice(A, 0, 4, 5)));
  viz::Heatmap(A)
      .title("Self-attention weights softmax(QKᵀ/√d)")
      .labels(words)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("weights.png"));

  L.step("Why divide by √d: softmax saturates as d grows");
  L.say(
      "If q and k have d independent N(0, 1) entries, q · k has variance d: its spread grows like √d.\n"
      "Large scores make softmax nearly one-hot — one key takes all the weight, the others get almost\n"
      "zero gradient. Dividing by √d brings the scores back to unit variance, whatever d is.\n"
      "256 random queries against 16 random keys (uniform weights would have entropy ln 16 = 2.77):");
  viz::LinePlot plot("Softmax over 16 keys: entropy of the weights vs head size d", "log₂ d", "mean entropy (nats)");
  std::vector<double> log_d, ent_raw, ent_scaled, uniform;
  for (int64_t dd : {4, 16, 64, 256, 1024}) {
    Tensor q = Tensor::randn({256, dd}, gen), k = Tensor::randn({16, dd}, gen);  // (Nq, d), (Nk, d)
    Tensor s = matmul(q, k, false, true);                                        // (Nq, Nk), each ~ N(0, d)
    auto [max_raw, h_raw] = row_stats(softmax(s, -1));
    auto [max_scaled, h_scaled] = row_stats(softmax(s / std::sqrt(float(dd)), -1));
    double var = 0;
    for (float v : s.to_vector()) var += double(v) * v;
    std::printf(
        "  d = %-4lld  std(q·k) = %5.1f   without scaling: max weight %.2f, entropy %.2f   "
        "with 1/√d: max weight %.2f, entropy %.2f\n",
        static_cast<long long>(dd), std::sqrt(var / s.numel()), max_raw, h_raw, max_scaled, h_scaled);
    log_d.push_back(std::log2(double(dd)));
    ent_raw.push_back(h_raw);
    ent_scaled.push_back(h_scaled);
    uniform.push_back(std::log(16.0));
  }
  plot.add_series("q·k", log_d, ent_raw)
      .add_series("q·k / √d", log_d, ent_scaled)
      .add_series("uniform", log_d, uniform)
      .save(L.figure("scaling_entropy.svg"));
  L.say("The same sentence projected to d = 1024: unscaled, each row is one-hot; scaled, it stays soft.");
  {
    const int64_t big = 1024;
    Tensor Qb = matmul(X, Tensor::randn({E, big}, gen) * init), Kb = matmul(X, Tensor::randn({E, big}, gen) * init);
    Tensor sb = matmul(Qb, Kb, false, true);  // (T, T)
    viz::HeatmapGrid()
        .title("d = 1024: softmax without and with the 1/√d scaling")
        .labels(words)
        .unit_range()
        .add(softmax(sb, -1), "softmax(QKᵀ)")
        .add(softmax(sb / std::sqrt(float(big)), -1), "softmax(QKᵀ/√d)")
        .save_png(L.figure("saturation_d1024.png"));
  }

  L.step("Padding mask: batches have sequences of different lengths");
  L.say(
      "To batch sentences, short ones are padded to the longest with <pad>. A key-padding mask (B, S),\n"
      "1 = padding, removes those keys from every softmax: no real token may read a <pad>.\n"
      "(The <pad> rows still get outputs; the loss ignores them.)");
  std::vector<std::string> padded = words;
  padded.insert(padded.end(), {"<pad>", "<pad>"});
  const int64_t S = 8;
  Tensor Xp = reshape(concat({X, Tensor::zeros({2, E})}, 0), {1, S, E});  // (B, S, E), B = 1
  Tensor pad = key_padding_mask({T}, S);                                  // (B, S): 0 0 0 0 0 0 1 1
  std::cout << "  key_padding_mask = " << pad << "\n";
  AttentionOutput pa = scaled_dot_product_attention(matmul(Xp, Wq), matmul(Xp, Wk), matmul(Xp, Wv),
                                                    SdpaOptions().padding(pad).weights());
  Tensor Ap = reshape(pa.weights, {S, S});  // (L, S)
  double on_pad = 0;
  for (int64_t i = 0; i < S; ++i) on_pad += Ap.at({i, 6}) + Ap.at({i, 7});
  std::printf("  total weight on <pad> keys: %.6f\n", on_pad);
  viz::Heatmap(Ap)
      .title("Key-padding mask: no query reads <pad>")
      .labels(padded)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("padding_mask.png"));

  L.step("Causal mask: a decoder may not look ahead");
  L.say(
      "A model that writes text one token at a time must not peek at the tokens it has not written yet.\n"
      "The causal mask lets query i see keys j <= i only: the upper triangle is removed.");
  std::cout << "  causal_mask(6, 6) = " << causal_mask(T, T) << "\n";
  Tensor Q3 = reshape(Q, {1, T, d}), K3 = reshape(K, {1, T, d}), V3 = reshape(V, {1, T, d});  // (B, T, d)
  AttentionOutput ca = scaled_dot_product_attention(Q3, K3, V3, SdpaOptions().causal().weights());
  Tensor Ac = reshape(ca.weights, {T, T});
  double above = 0;
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = i + 1; j < T; ++j) above += Ac.at({i, j});
  std::printf("  total weight above the diagonal (future keys): %.6f\n", above);
  std::printf("  first token: weight %.2f on itself (it has nothing else to look at)\n", Ac.at({0, 0}));
  viz::Heatmap(Ac)
      .title("Causal mask: token i sees tokens 0..i")
      .labels(words)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("causal_mask.png"));

  L.step("The library's scaled_dot_product_attention is this formula");
  L.say(
      "The formula by hand — scores, scale, mask (-inf where not allowed), softmax, weighted sum —\n"
      "against scaled_dot_product_attention(Q, K, V) with inputs (B, L, d):");
  Tensor hand = matmul(softmax(scores / std::sqrt(float(d)), -1), V);
  Tensor hand_causal =
      matmul(softmax(masked_fill(scores / std::sqrt(float(d)), 1.f - causal_mask(T, T), -INFINITY), -1), V);
  Tensor lib = reshape(scaled_dot_product_attention(Q3, K3, V3).output, {T, d});
  std::printf("  max |sdpa - formula|, no mask:     %.1e\n", max_abs_diff(lib, hand));
  std::printf("  max |sdpa - formula|, causal mask: %.1e\n", max_abs_diff(reshape(ca.output, {T, d}), hand_causal));

  L.step("Self-attention does not see word order");
  L.say(
      "Shuffle the tokens: the scores are the same numbers, rows and columns shuffled, so the outputs\n"
      "are the same vectors in the shuffled order. Self-attention is permutation-equivariant.");
  auto self_attention = [&](const Tensor& x) {  // (T, E) -> (T, d)
    Tensor q = matmul(x, Wq), k = matmul(x, Wk), v = matmul(x, Wv);
    return matmul(softmax(matmul(q, k, false, true) / std::sqrt(float(d)), -1), v);
  };
  const std::vector<int64_t> perm = {5, 2, 0, 3, 1, 4};  // shuffled[i] = words[perm[i]]
  std::vector<std::string> shuffled;
  for (int64_t p : perm) shuffled.push_back(words[p]);
  IndexTensor P(perm);
  Tensor Y_shuffled = self_attention(index_select(X, 0, P));
  std::string s_str;
  for (const auto& w : shuffled) s_str += w + " ";
  std::printf("  shuffled: %s\n  max |attn(shuffled X) - shuffled attn(X)|: %.1e\n", s_str.c_str(),
              max_abs_diff(Y_shuffled, index_select(Y, 0, P)));
  L.say("So 'the cat sat on the mat' and 'the mat sat on the cat' give 'cat' the very same vector:");
  const std::vector<std::string> swapped = {"the", "mat", "sat", "on", "the", "cat"};
  Tensor Y_swapped = self_attention(embed(swapped));
  std::printf("  max |output for 'cat' in the two sentences|: %.1e\n",
              max_abs_diff(slice(Y, 0, 1, 2), slice(Y_swapped, 0, 5, 6)));
  L.say(
      "The cure is to add a vector that depends on the position to each token's embedding. With\n"
      "sinusoids p[t, 2i] = sin(t / 10000^(2i/E)), p[t, 2i+1] = cos(...), the two 'cat's differ:");
  Tensor pos = Tensor::empty({T, E});  // (T, E)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < E; i += 2) {
      const double angle = t / std::pow(10000.0, double(i) / E);
      pos.at({t, i}) = float(std::sin(angle));
      pos.at({t, i + 1}) = float(std::cos(angle));
    }
  Tensor Yp = self_attention(X + pos), Yp_swapped = self_attention(embed(swapped) + pos);
  std::printf("  with positions added: max |output for 'cat' in the two sentences|: %.2f\n",
              max_abs_diff(slice(Yp, 0, 1, 2), slice(Yp_swapped, 0, 5, 6)));

  L.say(
      "\nOne set of W_q, W_k, W_v gives each token one way of looking at the others. Next:\n"
      "02_types/02_multi_head_attention — several heads, each in its own subspace, looking at different things.");
  return 0;
}
