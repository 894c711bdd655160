// Lesson 02.04 — Modern variants: what changed in attention between 2017 and a Llama-style decoder.
//
// The Transformer's attention is still the core of every large model, but almost every piece around
// the softmax has been revised:
//
//   positions   sinusoidal table added to the input (2017)  ->  RoPE: rotate q and k (2021)
//                                                             or ALiBi: a distance bias on the scores (2022)
//   heads       H query, key and value heads               ->  GQA / MQA: H query heads share Hkv K/V heads
//   span        every earlier token                        ->  a sliding window of the last W tokens
//   cost        O(T²) scores                               ->  linear attention: O(T), no softmax
//   decoding    recompute every key and value              ->  the KV cache: one new key and value per step
//
// Each step below runs one of these ideas, prints the numbers that prove it, and draws a figure.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "attn/attention/flash.h"
#include "attn/attention/kv_cache.h"
#include "attn/attention/linear_attention.h"
#include "attn/attention/masks.h"
#include "attn/attention/multihead.h"
#include "attn/attention/positional.h"
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

float dot(const Tensor& a, const Tensor& b) { return sum(a * b).item(); }

// Wall-clock milliseconds of f(): the best of `reps` runs (the least disturbed by anything else).
double best_ms(int reps, const std::function<void()>& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::vector<std::string> numbered(const std::string& prefix, int64_t n) {
  std::vector<std::string> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Modern variants: RoPE, ALiBi, GQA/MQA, sliding windows, linear attention, the KV cache");
  NoGradGuard no_grad;  // nothing is trained here: no graphs to record

  // ---------------------------------------------------------------------------------------------------
  L.step("Why positions at all: attention cannot tell order");
  L.say(
      "Self-attention treats its input as a set: shuffle the tokens and the outputs are shuffled the\n"
      "same way, nothing else changes (it is permutation-equivariant). 'dog bites man' and 'man bites dog'\n"
      "would look alike. The 2017 fix adds a fixed table of sines and cosines to the embeddings:\n"
      "PE[t, 2i] = sin(t / 10000^(2i/D)),  PE[t, 2i+1] = cos(t / 10000^(2i/D)).");
  Generator gen(0);
  const int64_t T0 = 6, E0 = 8;
  Tensor X = Tensor::randn({1, 1, T0, E0}, gen);  // (B, H, T, E): one sequence, one head, no projections
  IndexTensor perm(std::vector<int64_t>{3, 0, 5, 1, 4, 2});
  auto self_attend = [](const Tensor& x) { return scaled_dot_product_attention(x, x, x).output; };
  Tensor shuffled_out = self_attend(index_select(X, 2, perm));
  std::printf("  max |attn(shuffled X) - shuffled attn(X)|: %.1e\n",
              max_abs_diff(shuffled_out, index_select(self_attend(X), 2, perm)));
  Tensor pe = sinusoidal_encoding(T0, E0);  // (T, E)
  std::printf("  with sinusoidal positions added:            %.2f\n",
              max_abs_diff(self_attend(index_select(X, 2, perm) + pe), index_select(self_attend(X + pe), 2, perm)));
  L.say(
      "\nThe table, for 64 positions of a 64-feature model. Each pair of columns is a clock ticking at its\n"
      "own rate: the first pairs change every position, the last hardly at all — together they spell the\n"
      "position out like the digits of a number.");
  viz::Heatmap(sinusoidal_encoding(64, 64))
      .title("Sinusoidal position encodings PE[t, i]")
      .row_labels(numbered("", 64))
      .col_labels(numbered("", 64))
      .row_title("position t")
      .col_title("feature i (sin, cos pairs; slower to the right)")
      .colormap(viz::Colormap::RdBu)
      .range(-1, 1)
      .annotate(viz::Annotate::Off)
      .save_png(L.figure("sinusoidal_encoding.png"));
  {
    Tensor P = sinusoidal_encoding(128, 64);
    auto row = [&](int64_t t) { return slice(P, 0, t, t + 1); };
    std::printf(
        "  PE[10]·PE[13] = %.4f, PE[50]·PE[53] = %.4f: the dot product of two positions depends on\n"
        "  their distance only (Σ_i cos(3θ_i)) — but once added to the content and projected by W_q,\n"
        "  W_k, that clean property is mixed with everything else.\n",
        dot(row(10), row(13)), dot(row(50), row(53)));
  }

  // ---------------------------------------------------------------------------------------------------
  L.step("RoPE: rotate queries and keys by their position");
  L.say(
      "Rotary embeddings (Su et al. 2021; Llama, Mistral, Qwen, ...) put the position into q and k\n"
      "themselves. Feature pairs of the vector at position m are rotated by the angles m·θ_i,\n"
      "θ_i = 10000^(-2i/D). A rotation by mθ followed by one by -nθ is one by (m - n)θ, so\n"
      "  RoPE(q, m) · RoPE(k, n) = q · R((n - m)θ) k   — a function of the offset m - n only.");
  const int64_t D = 64;
  Tensor q = Tensor::randn({1, D}, gen), k = Tensor::randn({1, D}, gen);  // one query, one key (T = 1, D)
  auto rope_score = [&](int64_t m, int64_t n) {
    return dot(apply_rotary_embedding(q, /*start_pos=*/m), apply_rotary_embedding(k, /*start_pos=*/n));
  };
  std::printf("  q·k without RoPE: %.6f\n", dot(q, k));
  for (auto [m, n] : std::vector<std::pair<int, int>>{{3, 1}, {10, 8}, {100, 98}, {1000, 998}})
    std::printf("  RoPE score at (m, n) = (%d, %d): %.6f\n", m, n, rope_score(m, n));
  std::printf("  |q| = %.6f, |RoPE(q, m = 1000)| = %.6f: a rotation keeps the length\n", std::sqrt(dot(q, q)),
              std::sqrt(dot(apply_rotary_embedding(q, 1000), apply_rotary_embedding(q, 1000))));
  L.say(
      "\nHow does the score change with distance? Rotate the query to positions 0..511 at once (the key\n"
      "stays at 0) and divide by |q||k|. With q = k the score is 1 at distance 0 and falls away: the fast\n"
      "pairs decorrelate within a few tokens, the slow ones carry the long range (RoFormer's 'long-term\n"
      "decay'). A learned q and k can use the pairs to prefer any offset they like.");
  {
    const int64_t Tr = 512;
    Tensor ones_T = Tensor::ones({Tr, 1});
    auto normalized_scores = [&](const Tensor& a, const Tensor& b) {  // a, b (1, D) -> score(d), d = 0..Tr-1
      Tensor rotated = apply_rotary_embedding(a * ones_T, 0);         // (Tr, D): a at positions 0..Tr-1
      Tensor s = matmul(rotated, b, false, /*transpose_b=*/true);     // (Tr, 1)
      const double norm = std::sqrt(dot(a, a) * dot(b, b));
      std::vector<double> y;
      for (int64_t t = 0; t < Tr; ++t) y.push_back(s.data()[t] / norm);
      return y;
    };
    std::vector<double> dist;
    for (int64_t t = 0; t < Tr; ++t) dist.push_back(static_cast<double>(t));
    Tensor all_ones = Tensor::ones({1, D});
    std::vector<double> s_ones = normalized_scores(all_ones, all_ones), s_self = normalized_scores(q, q),
                        s_pair = normalized_scores(q, k);
    std::printf("  q = k = 1: normalized score %.3f at distance 0, %.3f at 8, %.3f at 64, %.3f at 511\n", s_ones[0],
                s_ones[8], s_ones[64], s_ones[511]);
    viz::LinePlot("RoPE: query·key score vs their distance (D = 64)", "distance m - n",
                  "RoPE(q, m)·RoPE(k, n) / (|q| |k|)")
        .add_series("q = k = 1", dist, s_ones)
        .add_series("q = k, random", dist, s_self)
        .add_series("q, k unrelated", dist, s_pair)
        .save(L.figure("rope_score_vs_distance.svg"), 760, 400);
  }

  // ---------------------------------------------------------------------------------------------------
  L.step("ALiBi: a bias that grows with distance, one slope per head");
  L.say(
      "ALiBi (Press et al. 2022; BLOOM, MPT) adds no embedding at all. Head h adds -m_h · (i - j) to the\n"
      "score of query i for key j: the further back, the lower. The slopes form a geometric sequence,\n"
      "m_h = 2^(-8h/H), so some heads look only at the last few tokens and others almost everywhere.\n"
      "With no content at all (all scores 0), the weights are softmax(-m_h · distance): how much of its\n"
      "weight each head keeps within a distance tells its span.");
  const int64_t H = 8;
  Tensor slopes = alibi_slopes(H);  // (H)
  {
    const int64_t Ta = 64, plotted = 48;           // (the log axis labels stop at 1e-12)
    Tensor zeros = Tensor::zeros({1, H, Ta, 16});  // q = k = v = 0: the scores are the bias alone
    Tensor w = scaled_dot_product_attention_math(zeros, zeros, zeros,
                                                 SdpaOptions().mask(alibi_bias(H, Ta, Ta)).causal().weights())
                   .weights;  // (1, H, Ta, Ta)
    viz::LinePlot plot("ALiBi, no content: weight of the last query by distance", "distance back (i - j)",
                       "attention weight (log scale)");
    std::vector<double> dist;
    for (int64_t d = 0; d < plotted; ++d) dist.push_back(static_cast<double>(d));
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> y;
      int64_t span = 0;
      double mass = 0;
      for (int64_t d = 0; d < Ta; ++d) {
        const double wd = w.at({0, h, Ta - 1, Ta - 1 - d});
        if (d < plotted) y.push_back(wd);
        mass += wd;
        if (span == 0 && mass >= 0.9) span = d + 1;
      }
      const float m = slopes.data()[h];
      std::printf("  head %lld: slope %.6f (= 1/%.0f)   90%% of the weight within the last %lld of %lld keys\n",
                  static_cast<long long>(h + 1), m, 1.0 / m, static_cast<long long>(span), static_cast<long long>(Ta));
      if (h == 4 || h == 6) continue;  // six curves are enough to read (and the palette has six colours)
      char name[32];
      std::snprintf(name, sizeof name, "h%lld: m = 1/%.0f", static_cast<long long>(h + 1), 1.0 / m);
      plot.add_series(name, dist, y);
    }
    plot.log_y().save(L.figure("alibi_weights_by_distance.svg"), 760, 420);
  }
  {
    const int64_t Tb = 16;
    // (H, T, T) biases; the future (j > i) is masked by the causal mask anyway: drawn grey (NaN).
    Tensor bias = masked_fill(alibi_bias(H, Tb, Tb), 1.f - causal_mask(Tb, Tb), NAN);
    viz::HeatmapGrid grid;
    grid.title("ALiBi bias -m_h·(i - j) per head (grey: future keys, masked)")
        .columns(4)
        .labels(numbered("", Tb))
        .colorbar_label("bias added to the score");
    for (int64_t h = 0; h < H; ++h)
      grid.add(reshape(slice(bias, 0, h, h + 1), {Tb, Tb}),
               "head " + std::to_string(h + 1) + ", m = 1/" + std::to_string(1 << (h + 1)));
    grid.save_png(L.figure("alibi_bias_per_head.png"));
  }
  L.say(
      "\nA straight line on a log scale is exponential decay: weight ∝ e^(-m_h · distance). Because the bias\n"
      "only depends on i - j, ALiBi models trained on short texts still behave on longer ones.");

  // ---------------------------------------------------------------------------------------------------
  L.step("GQA and MQA: fewer key/value heads");
  L.say(
      "While generating, every layer keeps the keys and values of every earlier token (step 7). Their size\n"
      "is set by the number of K/V heads. Multi-query attention (Shazeer 2019) keeps one K/V head for all\n"
      "H query heads; grouped-query attention (Ainslie et al. 2023; Llama 2 70B, Llama 3, Mistral) keeps\n"
      "Hkv, each shared by a group of H/Hkv query heads. E = 512, H = 8 query heads of Dh = 64:");
  const int64_t E = 512;
  std::printf("\n  %-5s %6s %22s   %s\n", "Hkv", "group", "q,k,v,o params/layer",
              "KV cache (12 layers, B = 1, T = 4096)");
  for (int64_t hkv : {8, 4, 2, 1}) {
    Generator init(1);
    nn::GroupedQueryAttention layer(E, H, hkv, init);
    const int64_t cache = KVCache::memory_bytes(/*num_layers=*/12, /*batch=*/1, hkv, /*seq_len=*/4096, /*head_dim=*/64);
    std::printf("  %-5lld %6lld %22lld   %8.0f MiB  %s\n", static_cast<long long>(hkv), static_cast<long long>(H / hkv),
                static_cast<long long>(layer.num_parameters()), mib(cache),
                hkv == H   ? "(MHA)"
                : hkv == 1 ? "(MQA)"
                           : "(GQA)");
  }
  L.say(
      "\nThe query and output projections stay; only k_proj and v_proj shrink — and the cache with them,\n"
      "by H/Hkv. Which K/V head each query head reads (head h reads h / (H/Hkv)):");
  {
    viz::HeatmapGrid grid;
    grid.title("Query head -> the key/value head it reads (grey: no such K/V head)")
        .columns(4)
        .row_labels(numbered("q", H))
        .col_labels(numbered("kv", H))
        .colormap(viz::Colormap::Blues)
        .unit_range()
        .colorbar(false);
    for (int64_t hkv : {8, 4, 2, 1}) {
      Tensor use = Tensor::zeros({H, H});  // (query head, K/V head)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < H; ++j) use.at({h, j}) = j >= hkv ? NAN : (j == h / (H / hkv) ? 1.f : 0.f);
      grid.add(use, std::string(hkv == H ? "MHA" : hkv == 1 ? "MQA" : "GQA") + ", Hkv = " + std::to_string(hkv));
    }
    grid.save_png(L.figure("gqa_head_sharing.png"));
  }
  L.say(
      "\nTwo checks. Sharing a K/V head is the same as copying it to every query head in its group\n"
      "(repeat_kv), and with Hkv = H, GroupedQueryAttention is ordinary multi-head attention — the same\n"
      "weights in nn::MultiheadAttention give the same output.");
  {
    Tensor qg = Tensor::randn({1, H, 10, 16}, gen), kg = Tensor::randn({1, 2, 10, 16}, gen),
           vg = Tensor::randn({1, 2, 10, 16}, gen);  // H = 8 query heads, Hkv = 2
    Tensor shared = scaled_dot_product_attention(qg, kg, vg, SdpaOptions().causal()).output;
    Tensor copied = scaled_dot_product_attention(qg, repeat_kv(kg, 4), repeat_kv(vg, 4), SdpaOptions().causal()).output;
    std::printf("  max |GQA (Hkv = 2) - MHA on repeat_kv(k, v)|: %.1e\n", max_abs_diff(shared, copied));

    const int64_t Es = 32, Hs = 4;
    Generator init(2);
    nn::GroupedQueryAttention gqa(Es, Hs, /*num_kv_heads=*/Hs, init);
    nn::MultiheadAttention mha(Es, Hs, init, nn::MultiheadAttentionOptions().with_bias(false).with_batch_first(true));
    // in_proj_weight (3E, E) = [W_q; W_k; W_v] stacked; out_proj.weight = W_o.
    float* w = mha.in_proj_weight.data();
    for (const Tensor* part : {&gqa.q_proj->weight, &gqa.k_proj->weight, &gqa.v_proj->weight})
      w = std::copy(part->data(), part->data() + part->numel(), w);
    std::copy(gqa.o_proj->weight.data(), gqa.o_proj->weight.data() + Es * Es, mha.out_proj->weight.data());
    Tensor x = Tensor::randn({2, 10, Es}, gen);  // (B, T, E)
    Tensor a = gqa.forward(x).output;            // causal by default
    Tensor b = mha.forward(x, x, x, nn::MhaForward().causal().weights(false)).output;
    std::printf("  max |GroupedQueryAttention (Hkv = H) - MultiheadAttention|: %.1e\n", max_abs_diff(a, b));
  }

  // ---------------------------------------------------------------------------------------------------
  L.step("Sliding-window attention: only the last W tokens");
  L.say(
      "Causal attention lets token i read all i + 1 tokens up to itself: cost and cache grow with the\n"
      "text. A sliding window (Longformer, Mistral 7B, Gemma 2's local layers) lets it read only the last\n"
      "W, itself included: O(T·W) work and a cache of W tokens.");
  const int64_t Tw = 16, W = 4;
  viz::HeatmapGrid()
      .title("Keys (columns) each query (rows) may read")
      .labels(numbered("", Tw))
      .colormap(viz::Colormap::Blues)
      .unit_range()
      .colorbar(false)
      .panel_size(240)
      .add(causal_mask(Tw, Tw), "causal")
      .add(sliding_window_mask(Tw, Tw, W), "sliding window, W = 4")
      .save_png(L.figure("sliding_window_mask.png"));
  {
    Tensor qs = Tensor::randn({1, 2, Tw, 8}, gen), ks = Tensor::randn({1, 2, Tw, 8}, gen),
           vs = Tensor::randn({1, 2, Tw, 8}, gen);
    Tensor by_option = scaled_dot_product_attention(qs, ks, vs, SdpaOptions().sliding_window(W)).output;
    Tensor by_mask =
        scaled_dot_product_attention_math(qs, ks, vs, SdpaOptions().mask_bool(sliding_window_mask(Tw, Tw, W))).output;
    std::printf("  max |sdpa(window = 4) - sdpa(mask = sliding_window_mask)|: %.1e\n",
                max_abs_diff(by_option, by_mask));
  }
  L.say(
      "\nThe window does not cap what a deep model can read. Layer 2 reads layer 1's outputs, which have\n"
      "already read W tokens back each: information travels W - 1 positions further per layer. Token i can\n"
      "depend on token j after n layers iff a path of n allowed steps joins them — the boolean matrix\n"
      "power mask^n:");
  {
    const int64_t Tr = 24;
    Tensor step_mask = sliding_window_mask(Tr, Tr, W);  // (T, T), 0/1
    Tensor reach = step_mask;
    viz::HeatmapGrid grid;
    grid.title("Receptive field, window W = 4: what each token can depend on")
        .columns(4)
        .labels(numbered("", Tr))
        .colormap(viz::Colormap::Blues)
        .unit_range()
        .colorbar(false);
    for (int layers = 1; layers <= 4; ++layers) {
      if (layers > 1) {
        reach = matmul(reach, step_mask);  // paths of `layers` steps; > 0 where one exists
        for (int64_t i = 0; i < reach.numel(); ++i) reach.data()[i] = reach.data()[i] > 0.f ? 1.f : 0.f;
      }
      int64_t seen = 0;
      for (int64_t j = 0; j < Tr; ++j) seen += reach.at({Tr - 1, j}) > 0.f;
      std::printf("  W = %lld, %d layer%s the last token depends on %2lld tokens   (W - 1) · layers + 1 = %lld\n",
                  static_cast<long long>(W), layers, layers == 1 ? ": " : "s:", static_cast<long long>(seen),
                  static_cast<long long>((W - 1) * layers + 1));
      grid.add(reach, std::to_string(layers) + (layers == 1 ? " layer" : " layers"));
    }
    grid.save_png(L.figure("sliding_window_receptive_field.png"));
  }
  std::printf("  Mistral 7B: W = 4096, 32 layers -> up to %lld tokens back (≈ W × layers = %lld)\n", 4095LL * 32 + 1,
              4096LL * 32);

  // ---------------------------------------------------------------------------------------------------
  L.step("Linear attention: drop the softmax, reorder the product");
  L.say(
      "Replace exp(q·k) by a product of positive features φ(q)·φ(k), φ(x) = elu(x) + 1 (Katharopoulos et\n"
      "al. 2020). Then Σ_j φ(q_i)·φ(k_j) v_j = φ(q_i) · (Σ_j φ(k_j) v_jᵀ): the (D, Dv) sum is built once and\n"
      "shared by all queries — no T × T matrix, cost linear in T. Causal: prefix sums, an RNN state.\n"
      "It is a different model from softmax attention (weaker, in practice), but the reordering is exact:");
  {
    Tensor ql = Tensor::randn({1, 4, 256, 32}, gen), kl = Tensor::randn({1, 4, 256, 32}, gen),
           vl = Tensor::randn({1, 4, 256, 32}, gen);
    std::printf("  max |linear - quadratic|, non-causal: %.1e\n",
                max_abs_diff(linear_attention(ql, kl, vl), linear_attention_quadratic(ql, kl, vl)));
    std::printf("  max |linear - quadratic|, causal: %.1e\n",
                max_abs_diff(linear_attention(ql, kl, vl, true), linear_attention_quadratic(ql, kl, vl, true)));
  }
  L.say(
      "\nTime for one causal attention over B = 1, H = 4 heads of D = 32, as T grows:\n"
      "softmax attention composed (scores, mask, softmax, product: a T × T matrix per head), the fused\n"
      "kernel (exact softmax attention, in tiles, no T × T matrix), and linear attention. Wall-clock times on\n"
      "a small, shared machine jump about; read the shape of the curves, not the third digit.");
  {
    const std::vector<int64_t> lengths = {128, 256, 512, 1024, 2048};
    const size_t n = lengths.size();
    std::vector<Tensor> qs, ks, vs;  // (B, H, T, D) each
    for (int64_t T : lengths) {
      qs.push_back(Tensor::randn({1, 4, T, 32}, gen));
      ks.push_back(Tensor::randn({1, 4, T, 32}, gen));
      vs.push_back(Tensor::randn({1, 4, T, 32}, gen));
    }
    // Two rounds over all lengths, three runs in a row each time, keeping the best: the time the work
    // takes, not that of whatever else the machine was doing.
    const SdpaOptions causal = SdpaOptions().causal();
    std::vector<double> Ts, t_math(n, 1e300), t_flash(n, 1e300), t_linear(n, 1e300);
    for (int round = 0; round < 2; ++round)
      for (size_t i = 0; i < n; ++i) {
        const Tensor &qt = qs[i], &kt = ks[i], &vt = vs[i];
        t_math[i] = std::min(t_math[i], best_ms(3, [&] { scaled_dot_product_attention_math(qt, kt, vt, causal); }));
        t_flash[i] = std::min(t_flash[i], best_ms(3, [&] { flash_attention(qt, kt, vt, causal); }));
        t_linear[i] = std::min(t_linear[i], best_ms(3, [&] { linear_attention(qt, kt, vt, /*causal=*/true); }));
      }
    std::printf("\n  %6s %16s %16s %16s\n", "T", "softmax, math", "softmax, fused", "linear");
    for (size_t i = 0; i < n; ++i) {
      Ts.push_back(std::log2(static_cast<double>(lengths[i])));
      std::printf("  %6lld %13.2f ms %13.2f ms %13.2f ms\n", static_cast<long long>(lengths[i]), t_math[i], t_flash[i],
                  t_linear[i]);
    }
    viz::LinePlot("Causal attention time vs length (B = 1, H = 4, D = 32)", "log₂ T  (T = 128 … 2048)",
                  "milliseconds (log scale)")
        .add_series("softmax, math", Ts, t_math)
        .add_series("softmax, fused", Ts, t_flash)
        .add_series("linear", Ts, t_linear)
        .log_y()
        .save(L.figure("attention_time_vs_length.svg"), 760, 400);
  }
  L.say(
      "\nBoth axes are logarithmic, so a line's slope is its exponent: past the sizes where fixed costs\n"
      "dominate, doubling T doubles linear attention's time and quadruples softmax attention's. The fused\n"
      "kernel is quadratic too — it is faster because it never writes the T × T matrix to memory.");

  // ---------------------------------------------------------------------------------------------------
  L.step("The KV cache: generate one token at a time without recomputing the past");
  L.say(
      "A decoder generates token t + 1 from tokens 0..t. In causal attention the key and value of token j\n"
      "depend only on tokens <= j, so they never change: keep them (the KV cache) and each step computes\n"
      "one new query, key and value. A Llama-style layer: RoPE on q and k (at the token's position), GQA\n"
      "with H = 8, Hkv = 2 (E = 256), decoded token by token with attention_with_kv_cache, against the\n"
      "whole sequence at once with a causal mask:");
  const int64_t Ed = 256, Hd = 8, Hkvd = 2, Dd = Ed / Hd;
  Generator init(3);
  nn::GroupedQueryAttention layer(Ed, Hd, Hkvd, init);
  // The whole prefix at once: (B, T, E) -> (B, T, E).
  auto full_pass = [&](const Tensor& x) {
    Tensor qf = apply_rotary_embedding(layer.project_q(x), 0);  // (B, H, T, Dh)
    Tensor kf = apply_rotary_embedding(layer.project_k(x), 0);  // (B, Hkv, T, Dh)
    Tensor vf = layer.project_v(x);                             // (B, Hkv, T, Dh)
    return layer.merge_heads(scaled_dot_product_attention(qf, kf, vf, SdpaOptions().causal()).output);
  };
  // One new token x_t (B, 1, E) at position cache.size() -> (B, 1, E).
  auto cached_step = [&](const Tensor& xt, KVCache& cache) {
    const int64_t pos = cache.size();
    Tensor qt = apply_rotary_embedding(layer.project_q(xt), pos);  // (B, H, 1, Dh)
    Tensor kt = apply_rotary_embedding(layer.project_k(xt), pos);  // (B, Hkv, 1, Dh)
    return layer.merge_heads(attention_with_kv_cache(qt, kt, layer.project_v(xt), cache).output);
  };
  {
    const int64_t Tk = 64;
    Tensor x = Tensor::randn({1, Tk, Ed}, gen);  // stand-ins for the embeddings of 64 tokens
    KVCache cache(/*batch=*/1, Hkvd, /*max_len=*/Tk, Dd);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < Tk; ++t) outs.push_back(cached_step(slice(x, 1, t, t + 1), cache));
    std::printf("  cache holds %lld tokens, %lld bytes (= 4 · B · Hkv · T · 2Dh)\n",
                static_cast<long long>(cache.size()), static_cast<long long>(cache.bytes_used()));
    std::printf("  max |decoded with the KV cache - full causal attention|: %.1e\n",
                max_abs_diff(concat(outs, 1), full_pass(x)));
  }
  L.say(
      "\nThe price is memory: 2 (K and V) · layers · batch · Hkv · T · Dh numbers, growing with every token.\n"
      "For a GPT-2-small shape (12 layers, 12 heads of Dh = 64, float32), batch 1:");
  {
    std::vector<double> toks, m_mha, m_gqa, m_mqa;
    for (int64_t T = 0; T <= 2048; T += 64) {
      toks.push_back(static_cast<double>(T));
      m_mha.push_back(mib(KVCache::memory_bytes(12, 1, 12, T, 64)));
      m_gqa.push_back(mib(KVCache::memory_bytes(12, 1, 4, T, 64)));
      m_mqa.push_back(mib(KVCache::memory_bytes(12, 1, 1, T, 64)));
    }
    for (int64_t T : {1024, 2048})
      std::printf("  T = %lld tokens: MHA (Hkv = 12) %.0f MiB, GQA (Hkv = 4) %.0f MiB, MQA (Hkv = 1) %.0f MiB\n",
                  static_cast<long long>(T), mib(KVCache::memory_bytes(12, 1, 12, T, 64)),
                  mib(KVCache::memory_bytes(12, 1, 4, T, 64)), mib(KVCache::memory_bytes(12, 1, 1, T, 64)));
    std::printf("  batch 32 at T = 1024, MHA: %.0f MiB — more than the 124M weights (%.0f MiB)\n",
                mib(KVCache::memory_bytes(12, 32, 12, 1024, 64)), mib(124'000'000LL * 4));
    viz::LinePlot("KV cache of a GPT-2-small shape (12 layers × 12 heads × 64)", "tokens in the cache", "MiB (float32)")
        .add_series("MHA, Hkv = 12", toks, m_mha)
        .add_series("GQA, Hkv = 4", toks, m_gqa)
        .add_series("MQA, Hkv = 1", toks, m_mqa)
        .save(L.figure("kv_cache_memory.svg"), 760, 400);
  }
  L.say(
      "\nAnd the time it saves: generate 256 tokens with the layer above, each step either with the cache\n"
      "or by rerunning the layer over the whole prefix (what a model without a cache must do: every layer\n"
      "needs every position's input). Milliseconds per token:");
  {
    const int64_t Tg = 256, block = 16;
    Tensor x = Tensor::randn({1, Tg, Ed}, gen);
    KVCache cache(1, Hkvd, Tg, Dd);
    // Each token's best of three tries (a step slowed by something else on the machine is unlikely to be
    // slowed all three times), then the median of each block of 16 tokens. The cached steps are retried
    // by generating three times from an empty cache; the prefix passes run once in reverse order.
    std::vector<double> t_cache(Tg, 1e300), t_full(Tg, 1e300);
    for (int pass = 0; pass < 3; ++pass) {
      cache.reset();
      for (int64_t t = 0; t < Tg; ++t)
        t_cache[t] = std::min(t_cache[t], best_ms(1, [&] { cached_step(slice(x, 1, t, t + 1), cache); }));
    }
    for (int pass = 0; pass < 3; ++pass)
      for (int64_t i = 0; i < Tg; ++i) {
        const int64_t t = pass == 1 ? Tg - 1 - i : i;
        t_full[t] = std::min(t_full[t], best_ms(1, [&] { full_pass(slice(x, 1, 0, t + 1)); }));
      }
    auto block_median = [&](const std::vector<double>& v, int64_t start) {
      std::vector<double> b(v.begin() + start, v.begin() + start + block);
      std::nth_element(b.begin(), b.begin() + block / 2, b.end());
      return b[block / 2];
    };
    std::vector<double> pos, ms_cache, ms_full;
    for (int64_t start = 0; start < Tg; start += block) {
      pos.push_back(static_cast<double>(start + block / 2));
      ms_cache.push_back(block_median(t_cache, start));
      ms_full.push_back(block_median(t_full, start));
    }
    double total_cache = 0, total_full = 0;
    for (int64_t t = 0; t < Tg; ++t) {
      total_cache += t_cache[t];
      total_full += t_full[t];
    }
    std::printf("  tokens %lld..%lld: %.3f ms per token with the cache, %.3f ms recomputing\n",
                static_cast<long long>(Tg - block), static_cast<long long>(Tg - 1), ms_cache.back(), ms_full.back());
    std::printf("  all %lld tokens: %.0f ms with the cache, %.0f ms recomputing\n", static_cast<long long>(Tg),
                total_cache, total_full);
    viz::LinePlot("Time to decode one token (E = 256, H = 8, Hkv = 2)", "position of the new token",
                  "milliseconds per token")
        .add_series("recompute", pos, ms_full)
        .add_series("KV cache", pos, ms_cache)
        .save(L.figure("decode_time_per_token.svg"), 760, 400);
  }
  L.say(
      "\nWith the cache each step costs a few small projections plus one query against t keys; without it,\n"
      "every step redoes all t projections — generation goes from quadratic to linear in total work.\n");

  L.step("What to take away");
  L.say(
      "Positions: RoPE rotates q and k so scores see only offsets; ALiBi subtracts a per-head distance\n"
      "penalty. Memory: GQA/MQA share K/V heads, the KV cache trades memory for recomputation, a sliding\n"
      "window caps both. Cost: linear attention reorders the product to avoid the T × T matrix — at the\n"
      "price of the softmax. A modern decoder layer is RoPE + GQA + a KV cache around the same softmax.\n"
      "Next: the fused kernel behind scaled_dot_product_attention — exact softmax attention in tiles,\n"
      "without ever holding the T × T matrix.");
  return 0;
}
