// Lesson 05.01 — Building a Transformer: from embeddings to a trained GPT.
//
// The lessons so far built attention piece by piece. A GPT (Radford et al. 2018, 2019) is those pieces
// stacked: a decoder-only Transformer (Vaswani et al. 2017) that reads a sequence of tokens and, at every
// position, predicts the next one. We assemble GPT-2 from the bottom up on Moby-Dick, one character per
// token, check each piece against the library's own, train a small one for a few hundred steps, sample
// from it and look at what its heads attend to.
//
// Shape legend: B batch, T tokens (≤ block_size), V vocabulary, C = n_embd, H = n_head, Dh = C / H,
// I = 4·C (the MLP's width), L = n_layer.
//
//   ids                                                         (B, T)      one character per token
//   x₀ = wte[ids] + wpe[0 .. T-1]                               (B, T, C)   token + learned position
//   for each of the L blocks (pre-LayerNorm, residual stream x):
//     q, k, v = split(c_attn(ln_1(x)))                          (B, T, C) each, split into H heads (B, H, T, Dh)
//     x = x + c_proj(merge_heads(softmax(q kᵀ / √Dh + causal) v))   attention: tokens talk to each other
//     x = x + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))          MLP: each token thinks on its own, C -> I -> C
//   logits = ln_f(x) · wteᵀ                                     (B, T, V)   weights tied with the input embedding
//   loss = mean over (b, t) of -log softmax(logits[b, t])[ids[b, t+1]]   next-token cross-entropy, nats
//
// The pieces, and why each is there:
//   - Embeddings turn ids into vectors; the learned position table wpe is the only thing that tells
//     attention where a token sits (self-attention alone is blind to order, lesson 02.01).
//   - The causal mask lets position t read positions ≤ t only, so one forward pass trains T predictions
//     at once without any of them seeing its own answer.
//   - Multi-head attention (lesson 02.02): H heads of Dh = C / H features, one (C, 3C) projection c_attn
//     for all of q, k, v (GPT-2's layout), one (C, C) projection c_proj back into the residual stream.
//   - The MLP, c_fc (C -> 4C), GELU (Hendrycks & Gimpel 2016; GPT-2 uses the tanh approximation
//     0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))), c_proj (4C -> C): two thirds of each block's weights.
//   - LayerNorm (Ba et al. 2016): each token's vector rescaled to mean 0, variance 1, then γ·x̂ + β.
//     Pre-LN (GPT-2; Xiong et al. 2020) normalises the *input* of each sublayer and leaves the residual
//     path x -> x + f(x) untouched, which is what lets deep stacks train without a careful warmup.
//   - Residual connections: every sublayer adds to x rather than replacing it; gradients reach the
//     embeddings through L additions (He et al. 2016).
//   - Weight tying (Press & Wolf 2017): the output projection is wte itself, V·C weights saved.
//
// Parameters (attn/models/gpt.h): V·C + block_size·C + L·(4C + 3C² + 3C + C² + C + 2·C·I + I + C) + 2C.
// At initialisation the logits are nearly zero, the prediction nearly uniform over V characters, so the
// loss starts at ln V — a free check that the model and the loss are wired up right.
//
// Training is nanoGPT's loop (Karpathy 2022), the one `attn train gpt` runs: AdamW (Loshchilov & Hutter
// 2019) with weight decay on matrices only, a linear warmup then a cosine decay of the learning rate,
// and the gradient norm clipped to 1. Generation is autoregressive: feed the prompt, sample one token
// from softmax(logits / temperature) (over the top k only, Fan et al. 2018), append, repeat — with a KV
// cache so that each new token costs one position's work, not the whole context's.
//
// References: Vaswani et al. 2017, "Attention Is All You Need"; Radford et al. 2019, "Language Models
// are Unsupervised Multitask Learners" (GPT-2); Karpathy, nanoGPT (github.com/karpathy/nanoGPT) and
// "Let's build GPT: from scratch, in code, spelled out" (2023).
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
#include "attn/data/text_corpus.h"
#include "attn/models/gpt.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;

namespace {

// Every Generator below derives from kSeed, so each run prints the same numbers (timings aside) on a given
// machine; a different thread count or BLAS kernel rounds sums differently and shifts the later digits.
constexpr uint64_t kSeed = 1337;

// Training settings, small enough to run in well under a minute on two cores.
// A 64-wide model tolerates a higher peak rate than nanoGPT's 1e-3 for 10M parameters.
constexpr int64_t kBatch = 16, kSteps = 1000, kWarmup = 50, kEvalEvery = 100, kEvalBatches = 8;
constexpr float kLr = 1e-2f, kMinLr = 1e-3f, kWeightDecay = 0.1f, kClip = 1.f;

// A text with its line breaks made visible and every line indented, for printing.
std::string shown(const std::string& text) {
  std::string out = "  | ";
  for (char c : text) out += c == '\n' ? std::string("\n  | ") : std::string(1, c);
  return out;
}
// One token as a readable string: '\n' as "\n", everything else as itself.
std::string visible(const std::string& token) { return token == "\n" ? "\\n" : token; }

std::vector<int64_t> arange_ids(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) p[static_cast<size_t>(t)] = t;
  return p;
}

// Mean next-character loss over the same `kEvalBatches` validation batches every time (a fresh Generator):
// successive evaluations are comparable, and the training data stream is left alone.
double evaluate(models::GPT& model, const data::TextCorpus& corpus) {
  NoGradGuard no_grad;
  model.eval();
  Generator gen(kSeed, /*stream=*/7);
  double total = 0;
  for (int64_t i = 0; i < kEvalBatches; ++i) {
    data::TokenBatch b = corpus.sample_val(kBatch, model.config().block_size, gen);
    total += model.loss(b.x, b.y).item();
  }
  model.train();
  return total / static_cast<double>(kEvalBatches);
}

// Count-based baselines scored on the validation split, in nats per character: a unigram model
// p(c) and a bigram model p(c | previous c), both counted on the training split with add-one smoothing.
std::pair<double, double> count_baselines(const data::TextCorpus& corpus) {
  const int64_t V = corpus.tokenizer().vocab_size();
  const std::vector<int64_t>& train = corpus.train();
  const std::vector<int64_t>& val = corpus.val();
  std::vector<double> uni(static_cast<size_t>(V), 1.0);        // count(c) + 1
  std::vector<double> bi(static_cast<size_t>(V * V), 1.0);     // count(p, c) + 1
  std::vector<double> row(static_cast<size_t>(V), double(V));  // Σ_c count(p, c) + V
  for (size_t i = 0; i < train.size(); ++i) {
    uni[static_cast<size_t>(train[i])] += 1;
    if (i > 0) {
      bi[static_cast<size_t>(train[i - 1] * V + train[i])] += 1;
      row[static_cast<size_t>(train[i - 1])] += 1;
    }
  }
  const double uni_total = double(train.size()) + double(V);
  double u = 0, b = 0;
  for (size_t i = 1; i < val.size(); ++i) {
    u -= std::log(uni[static_cast<size_t>(val[i])] / uni_total);
    b -= std::log(bi[static_cast<size_t>(val[i - 1] * V + val[i])] / row[static_cast<size_t>(val[i - 1])]);
  }
  const double n = double(val.size() - 1);
  return {u / n, b / n};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Building a Transformer: from embeddings to a trained GPT");

  L.step("Tokens: Moby-Dick, one character at a time");
  L.say(
      "The model sees integers. A character tokenizer gives each distinct character of the text an id\n"
      "(sorted by code point); the text becomes one long list of ids, 90% for training and the last 10%\n"
      "held out for validation.");
  const std::string path = data::moby_dick_path(ATTN_SOURCE_DIR);
  data::TextCorpus corpus;
  try {
    corpus = data::TextCorpus::load(path, /*val_fraction=*/0.1);
  } catch (const std::exception& e) {
    std::cout << "  cannot read the corpus: " << e.what() << "\n  (bash scripts/setup.sh installs it)\n";
    return 1;
  }
  const data::CharTokenizer& tok = corpus.tokenizer();
  const int64_t V = tok.vocab_size();
  std::printf("  %lld characters; train %zu, validation %zu\n", static_cast<long long>(corpus.size()),
              corpus.train().size(), corpus.val().size());
  std::string vocab_line;
  for (int64_t i = 0; i < V; ++i) vocab_line += visible(tok.token(i));
  std::printf("  vocabulary size V = %lld: %s\n", static_cast<long long>(V), vocab_line.c_str());
  const std::string sentence = "Call me Ishmael.";
  const std::vector<int64_t> sentence_ids = tok.encode(sentence);
  std::string ids_str;
  for (int64_t id : sentence_ids) ids_str += std::to_string(id) + " ";
  std::printf("  encode(\"%s\") = [ %s]\n  decode(...) = \"%s\"\n", sentence.c_str(), ids_str.c_str(),
              tok.decode(sentence_ids).c_str());

  L.say(
      "Training examples are windows of T + 1 consecutive ids at random offsets: the model reads the first\n"
      "T (x) and must predict the next character at every one of them (y, x shifted left by one).");
  Generator data_gen(kSeed, /*stream=*/1);
  const int64_t Bs = 2, Ts = 12;                                   // a small batch to look at
  data::TokenBatch small = corpus.sample_train(Bs, Ts, data_gen);  // x, y (B, T)
  for (int64_t b = 0; b < Bs; ++b) {
    std::vector<int64_t> xs(small.x.data.begin() + b * Ts, small.x.data.begin() + (b + 1) * Ts);
    std::vector<int64_t> ys(small.y.data.begin() + b * Ts, small.y.data.begin() + (b + 1) * Ts);
    std::string xv, yv;
    for (int64_t id : xs) xv += visible(tok.token(id));
    for (int64_t id : ys) yv += visible(tok.token(id));
    std::printf("  example %lld:  x = \"%s\"   y = \"%s\"\n", static_cast<long long>(b), xv.c_str(), yv.c_str());
  }

  L.step("Embeddings: a vector per token, plus a vector per position");
  L.say(
      "wte (V, C) holds one learned row per character, wpe (block_size, C) one per position. Their sum is\n"
      "the residual stream x that every block reads and adds to. (nn::Embedding, as torch.nn.Embedding.)");
  models::GPTConfig cfg;  // GPT-2's structure, at a size a laptop trains in a minute
  cfg.vocab_size = V;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_embd = 64;
  cfg.block_size = 64;
  const int64_t C = cfg.n_embd, H = cfg.n_head, Dh = cfg.head_dim(), I = cfg.inner(), Lyr = cfg.n_layer;
  std::printf(
      "  config: n_layer L = %lld, n_head H = %lld, n_embd C = %lld (Dh = %lld), block_size = %lld, "
      "vocab_size V = %lld\n",
      static_cast<long long>(Lyr), static_cast<long long>(H), static_cast<long long>(C), static_cast<long long>(Dh),
      static_cast<long long>(cfg.block_size), static_cast<long long>(V));
  Generator gen(kSeed, /*stream=*/2);
  nn::Embedding wte(V, C, gen), wpe(cfg.block_size, C, gen);
  Tensor tok_emb = wte(small.x);                      // (B, T, C)
  Tensor pos_emb = wpe(IndexTensor(arange_ids(Ts)));  // (T, C): the same for every example
  Tensor x = tok_emb + pos_emb;                       // (B, T, C), pos_emb broadcast over B
  std::printf("  x %s -> wte(x) %s + wpe(0..T-1) %s = %s\n", shape_str(small.x.shape).c_str(),
              shape_str(tok_emb.shape()).c_str(), shape_str(pos_emb.shape()).c_str(), shape_str(x.shape()).c_str());

  L.step("One causal self-attention head, by hand");
  L.say(
      "Project x to queries, keys and values of Dh features; compare every query with every key; hide the\n"
      "future with -inf above the diagonal; softmax each row; mix the values.");
  const float init = 1.f / std::sqrt(float(C));
  Tensor Wq = Tensor::randn({C, Dh}, gen) * init, Wk = Tensor::randn({C, Dh}, gen) * init,
         Wv = Tensor::randn({C, Dh}, gen) * init;                                    // (C, Dh) each
  Tensor q = matmul(x, Wq), k = matmul(x, Wk), v = matmul(x, Wv);                    // (B, T, Dh) each
  Tensor scores = matmul(q, k, false, /*transpose_b=*/true) / std::sqrt(float(Dh));  // (B, T, T)
  Tensor future = 1.f - causal_mask(Ts, Ts);                                         // (T, T): 1 where j > i
  Tensor weights = softmax(masked_fill(scores, future, -INFINITY), -1);              // (B, T, T), rows sum to 1
  Tensor head = matmul(weights, v);                                                  // (B, T, Dh)
  std::vector<std::string> chars0;
  for (int64_t t = 0; t < Ts; ++t) chars0.push_back(tok.token(small.x[t]));
  std::printf("  weights of example 0 (query down, key across):\n");
  for (int64_t i = 0; i < Ts; ++i) {
    std::printf("    %-2s", visible(chars0[i]).c_str());
    for (int64_t j = 0; j < Ts; ++j) std::printf(j <= i ? " %4.2f" : "    ·", weights.at({0, i, j}));
    std::printf("\n");
  }
  Tensor lib = scaled_dot_product_attention(q, k, v, SdpaOptions().causal()).output;  // is_causal = True
  std::printf("  scaled_dot_product_attention(q, k, v, is_causal): max |by hand - sdpa| = %.1e\n",
              max_abs_diff(head, lib));
  viz::Heatmap(slice(reshape(weights, {Bs * Ts, Ts}), 0, 0, Ts))
      .title("One causal head (random weights)")
      .labels(chars0)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("one_causal_head.png"));

  L.step("Multi-head attention, the MLP, LayerNorm, residuals: one GPT block");
  L.say(
      "GPT-2's CausalSelfAttention projects x once with c_attn (C -> 3C), splits q, k, v, splits each into\n"
      "H heads (split_heads: (B, T, C) -> (B, H, T, Dh)), runs the H causal attentions at once, merges the\n"
      "heads back (merge_heads) and projects with c_proj (C -> C). By hand against models::CausalSelfAttention:");
  models::CausalSelfAttention attn_layer(cfg, gen, /*dropout_seed=*/0);
  {
    Tensor qkv = attn_layer.c_attn->forward(x);  // (B, T, 3C)
    std::vector<Tensor> p = split(qkv, C, 2);    // q, k, v: (B, T, C) each
    Tensor qh = nn::split_heads(p[0], H), kh = nn::split_heads(p[1], H),
           vh = nn::split_heads(p[2], H);                                                 // (B, H, T, Dh)
    Tensor ah = scaled_dot_product_attention(qh, kh, vh, SdpaOptions().causal()).output;  // (B, H, T, Dh)
    Tensor y = attn_layer.c_proj->forward(nn::merge_heads(ah));                           // (B, T, C)
    std::printf("  c_attn.weight %s, q %s -> heads %s -> merged %s -> c_proj %s\n",
                shape_str(attn_layer.c_attn->weight.shape()).c_str(), shape_str(p[0].shape()).c_str(),
                shape_str(qh.shape()).c_str(), shape_str(nn::merge_heads(ah).shape()).c_str(),
                shape_str(y.shape()).c_str());
    std::printf("  max |CausalSelfAttention - by hand| = %.1e\n", max_abs_diff(attn_layer.forward(x), y));
  }

  L.say(
      "\nThe MLP widens each token to I = 4C features, applies GELU, and narrows back. GPT-2's GELU is the tanh\n"
      "approximation of x Φ(x); the two differ by less than a thousandth:");
  {
    std::vector<double> xs, exact, approx, relu_y;
    for (int i = -40; i <= 40; ++i) xs.push_back(i / 10.0);
    std::vector<float> xf(xs.begin(), xs.end());
    Tensor g = Tensor::from_vector(xf, {static_cast<int64_t>(xf.size())});
    std::vector<float> ge = gelu(g).to_vector(), gt = gelu(g, "tanh").to_vector(), gr = relu(g).to_vector();
    exact.assign(ge.begin(), ge.end());
    approx.assign(gt.begin(), gt.end());
    relu_y.assign(gr.begin(), gr.end());
    std::printf("  x:          -3.0    -1.0     0.0     1.0     3.0\n  gelu:     ");
    for (int i : {10, 30, 40, 50, 70}) std::printf(" %7.4f", exact[i]);
    std::printf("\n  gelu_tanh:");
    for (int i : {10, 30, 40, 50, 70}) std::printf(" %7.4f", approx[i]);
    std::printf("\n  max |gelu - gelu_tanh| on [-4, 4]: %.1e\n", max_abs_diff(gelu(g), gelu(g, "tanh")));
    viz::LinePlot("GELU: x Φ(x), its tanh approximation, and ReLU", "x", "activation")
        .add_series("gelu", xs, exact)
        .add_series("gelu_tanh", xs, approx)
        .add_series("relu", xs, relu_y)
        .save(L.figure("gelu.svg"));
  }
  models::GPTMLP mlp(cfg, gen, /*dropout_seed=*/0);
  std::printf("  c_fc %s, c_proj %s: max |GPTMLP - c_proj(gelu_tanh(c_fc(x)))| = %.1e\n",
              shape_str(mlp.c_fc->weight.shape()).c_str(), shape_str(mlp.c_proj->weight.shape()).c_str(),
              max_abs_diff(mlp.forward(x), mlp.c_proj->forward(gelu(mlp.c_fc->forward(x), "tanh"))));

  L.say(
      "\nLayerNorm rescales each token's C features to mean 0 and variance 1 (then γ·x̂ + β, γ = 1, β = 0 at\n"
      "first), whatever the scale of the residual stream has grown to:");
  {
    nn::LayerNorm ln(C);
    Tensor row = slice(slice(x, 0, 0, 1), 1, 0, 1), nrow = ln.forward(row);  // token 0 of example 0: (1, 1, C)
    auto stats = [](const Tensor& t) {
      std::vector<float> v = t.to_vector();
      double m = 0, s = 0;
      for (float f : v) m += f;
      m /= double(v.size());
      for (float f : v) s += (f - m) * (f - m);
      return std::pair<double, double>(m, std::sqrt(s / double(v.size())));
    };
    auto [m0, s0] = stats(row);
    auto [m1, s1] = stats(nrow);
    std::printf("  token 0: before mean %+.3f, std %.3f   after ln: mean %+.3f, std %.3f\n", m0, s0, m1, s1);
  }

  L.say(
      "\nA block is two residual updates, each reading a LayerNorm of the stream (pre-LN, GPT-2):\n"
      "  x = x + attn(ln_1(x));   x = x + mlp(ln_2(x))\n"
      "(The 2017 Transformer normalised after the addition, x = LN(x + f(x)), which puts a LayerNorm on the\n"
      "gradient's path through every layer and needs a careful warmup; pre-LN keeps the path x -> x clean.)");
  models::GPTBlock block(cfg, gen, /*dropout_seed=*/0);
  {
    Tensor r = x + block.attn->forward(block.ln_1->forward(x));   // (B, T, C)
    Tensor out = r + block.mlp->forward(block.ln_2->forward(r));  // (B, T, C)
    std::printf("  max |GPTBlock - by hand| = %.1e\n", max_abs_diff(block.forward(x), out));
  }
  const int64_t per_block = 4 * C + 3 * C * C + 3 * C + C * C + C + 2 * C * I + I + C;
  std::printf(
      "  parameters of one block: ln_1 2C + c_attn 3C² + 3C + c_proj C² + C + ln_2 2C + c_fc CI + I + "
      "c_proj IC + C\n    = %lld by the formula, %lld from block.num_parameters()\n",
      static_cast<long long>(per_block), static_cast<long long>(block.num_parameters()));

  L.step("The whole GPT");
  L.say(
      "models::GPT stacks it: wte + wpe, L blocks h.0 .. h.{L-1}, a final LayerNorm ln_f, and\n"
      "logits = ln_f(x) · wteᵀ. Its parameters carry Hugging Face GPT-2's names:");
  Generator init_gen(kSeed);
  models::GPT model(cfg, init_gen);
  for (const auto& [name, p] : model.named_parameters())
    if (name.rfind("h.", 0) != 0 || name.rfind("h.0.", 0) == 0)
      std::printf("    %-26s %s\n", name.c_str(), shape_str(p.shape()).c_str());
  std::printf("    h.1%s: the same names and shapes as h.0\n",
              Lyr > 2 ? (" .. h." + std::to_string(Lyr - 1)).c_str() : "");
  const int64_t formula = V * C + cfg.block_size * C + Lyr * per_block + 2 * C;
  std::printf("  V·C + block_size·C + L·(block) + 2C = %lld·%lld + %lld·%lld + %lld·%lld + 2·%lld\n",
              static_cast<long long>(V), static_cast<long long>(C), static_cast<long long>(cfg.block_size),
              static_cast<long long>(C), static_cast<long long>(Lyr), static_cast<long long>(per_block),
              static_cast<long long>(C));
  std::printf("  parameters by the formula: %lld, num_parameters(): %lld\n", static_cast<long long>(formula),
              static_cast<long long>(model.num_parameters()));

  Tensor logits = model.forward(small.x);  // (B, T, V)
  std::printf("  logits = model.forward(x): %s -> %s, one score per character of the vocabulary\n",
              shape_str(small.x.shape).c_str(), shape_str(logits.shape()).c_str());
  L.say(
      "GPT-2's initialisation draws every weight from N(0, 0.02²) (the two residual projections smaller still),\n"
      "so the logits start near zero and the prediction near uniform: the cross-entropy should start at\n"
      "-log(1/V) = ln V.");
  const double initial_val = evaluate(model, corpus);
  std::printf("  loss at initialisation: %.4f   ln V = ln %lld = %.4f\n", initial_val, static_cast<long long>(V),
              std::log(double(V)));
  L.say(
      "Two more yardsticks, by counting on the training split (add-one smoothing) and scoring the validation\n"
      "split: a model that knows only how common each character is (unigram), and one that knows only the\n"
      "previous character (bigram). To beat the bigram, the GPT must read further back — through attention.");
  const auto [unigram, bigram] = count_baselines(corpus);
  std::printf("  unigram model: %.4f nats per character   bigram model: %.4f nats per character\n", unigram, bigram);

  L.step("Training on Moby-Dick");
  L.say(
      "nanoGPT's loop, as `attn train gpt` runs it: for each step, set the learning rate (linear warmup, then\n"
      "a cosine down to a tenth), draw a batch of windows, loss.backward(), clip the gradient norm to 1, and\n"
      "take an AdamW step — two parameter groups, weight decay on matrices and embeddings only, never on\n"
      "biases or LayerNorm gains. The validation loss is on the held-out tail of the book.");
  std::vector<Tensor> decay, no_decay;
  for (const Tensor& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  nn::AdamW opt_decay(decay, nn::AdamWOptions(kLr).betas(0.9f, 0.95f).weight_decay(kWeightDecay));
  nn::AdamW opt_no_decay(no_decay, nn::AdamWOptions(kLr).betas(0.9f, 0.95f).weight_decay(0.f));
  std::printf(
      "  %lld steps of %lld x %lld characters, peak lr %.0e (warmup %lld, cosine to %.0e), AdamW "
      "betas (0.9, 0.95), weight decay %.1f on %zu tensors, 0 on %zu\n",
      static_cast<long long>(kSteps), static_cast<long long>(kBatch), static_cast<long long>(cfg.block_size), kLr,
      static_cast<long long>(kWarmup), kMinLr, kWeightDecay, decay.size(), no_decay.size());
  std::vector<double> train_x, train_y, val_x = {0}, val_y = {initial_val};
  model.train();
  const auto t_train = std::chrono::steady_clock::now();
  double last_val = initial_val;
  for (int64_t step = 0; step < kSteps; ++step) {
    const float lr = nn::warmup_cosine(step + 1, kLr, kWarmup, kSteps, kMinLr);
    opt_decay.set_lr(lr);
    opt_no_decay.set_lr(lr);
    data::TokenBatch b = corpus.sample_train(kBatch, cfg.block_size, data_gen);  // x, y (B, T)
    Tensor loss = model.loss(b.x, b.y);                                          // () mean over B·T
    loss.backward();
    const float grad_norm = nn::clip_grad_norm_(model.parameters(), kClip);
    opt_decay.step();
    opt_no_decay.step();
    opt_decay.zero_grad();
    opt_no_decay.zero_grad();
    train_x.push_back(double(step + 1));
    train_y.push_back(loss.item());
    if ((step + 1) % kEvalEvery == 0) {
      last_val = evaluate(model, corpus);
      val_x.push_back(double(step + 1));
      val_y.push_back(last_val);
      std::printf("  step %3lld  lr %.2e  train loss %.4f  val loss %.4f  grad norm %.2f\n",
                  static_cast<long long>(step + 1), lr, loss.item(), last_val, grad_norm);
    }
  }
  const double train_s = seconds_since(t_train);
  std::printf("  final validation loss: %.4f (from %.4f at initialisation; the bigram model scores %.4f)\n", last_val,
              initial_val, bigram);
  std::printf("  %.1f s, %.0f tokens/s (this machine)\n", train_s, double(kSteps * kBatch * cfg.block_size) / train_s);
  viz::LinePlot("A 2-layer GPT on Moby-Dick", "step", "loss (nats per character)")
      .add_series("train", train_x, train_y)
      .add_series("validation", val_x, val_y)
      .add_series("ln V (uniform)", {0, double(kSteps)}, {std::log(double(V)), std::log(double(V))})
      .add_series("bigram model", {0, double(kSteps)}, {bigram, bigram})
      .save(L.figure("loss.svg"));
  L.say(
      "From ln V (every character equally likely) the loss falls within a hundred steps to about the bigram's\n"
      "level — character frequencies and common pairs — and keeps going below it as the heads learn to read\n"
      "more of the context: spelling, then words. The full default model, 4 layers 128 wide with a\n"
      "128-character context and 2000 steps of 32 windows, trains in about ten minutes on two cores with\n"
      "  attn train gpt --out out/gpt\n"
      "and writes to a checkpoint you can sample from with\n"
      "  attn generate --model out/gpt --prompt \"Call me Ishmael.\"");

  L.step("Sampling, and the KV cache");
  L.say(
      "Generation feeds the prompt, turns the last position's logits into probabilities, picks a character,\n"
      "appends it and repeats. temperature = 0 is greedy (always the argmax); otherwise sample from\n"
      "softmax(logits / temperature), here over the top_k = 10 most likely characters only.");
  const std::vector<int64_t> prompt = tok.encode(sentence);
  const int64_t n_new = 200;
  auto timed = [&](const models::GenerateOptions& o, double* seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int64_t> out = model.generate(prompt, n_new, o);
    *seconds = seconds_since(t0);
    return out;
  };
  double s_cached = 0, s_uncached = 0, s_sampled = 0;
  const std::vector<int64_t> greedy_cached = timed(models::GenerateOptions().greedy(), &s_cached);
  const std::vector<int64_t> greedy_uncached = timed(models::GenerateOptions().greedy().cache(false), &s_uncached);
  const std::vector<int64_t> sampled =
      timed(models::GenerateOptions().with_temperature(0.8f).with_top_k(10).with_seed(kSeed), &s_sampled);
  std::printf("  greedy (temperature = 0):\n%s\n", shown(sentence + tok.decode(greedy_cached)).c_str());
  std::printf("  sampled (temperature = 0.8, top_k = 10, seed %llu):\n%s\n", static_cast<unsigned long long>(kSeed),
              shown(sentence + tok.decode(sampled)).c_str());
  L.say(
      "Greedy decoding gets stuck in loops — the most likely next character, every time, is a narrow path.\n"
      "Sampling trades a little likelihood for variety.\n\n"
      "Each new token needs the keys and values of every earlier one. Without a cache, generate() runs the\n"
      "whole window again for every token (O(T) positions each); with one KVCache per layer it runs only the\n"
      "new token and appends its k and v. Same numbers, so greedy decoding must give the same text:");
  std::printf("  greedy text identical with and without the KV cache: %s (%lld characters)\n",
              greedy_cached == greedy_uncached ? "yes" : "NO", static_cast<long long>(greedy_cached.size()));
  std::printf(
      "  without cache: %.0f tokens/s   with cache: %.0f tokens/s   (%.1fx, context %lld; the gap grows "
      "with the context)\n",
      double(n_new) / s_uncached, double(n_new) / s_cached, s_uncached / s_cached,
      static_cast<long long>(cfg.block_size));

  L.step("What the trained heads look at");
  L.say(
      "forward(ids, /*record_attention=*/true) also returns every layer's (B, H, T, T) weights. Each panel\n"
      "is one head: query characters down, key characters across. Look for the causal triangle (nothing\n"
      "above the diagonal), heads with a bright line just below the diagonal (they read the previous\n"
      "character — the first step of spelling), and bright columns on spaces (heads that find where the\n"
      "current word began).");
  NoGradGuard no_grad;
  model.eval();
  const std::string probe = "Call me Ishmael. Some years ago";
  const std::vector<int64_t> probe_ids = tok.encode(probe);
  const int64_t Tp = static_cast<int64_t>(probe_ids.size());
  models::GPTOutput rec = model.forward(IndexTensor(probe_ids, {1, Tp}), /*record_attention=*/true);
  std::vector<std::string> labels;
  for (int64_t id : probe_ids) labels.push_back(tok.token(id));
  std::printf("  %zu layers of weights, each %s\n", rec.attentions.size(),
              shape_str(rec.attentions[0].shape()).c_str());
  viz::HeatmapGrid grid;
  grid.title("Attention of every head, trained GPT, on \"" + probe + "\"")
      .labels(labels)
      .unit_range()
      .columns(H)
      .panel_size(300)
      .colorbar_label("attention weight");
  double above = 0;
  for (int64_t l = 0; l < Lyr; ++l)
    for (int64_t hh = 0; hh < H; ++hh) {
      Tensor w = reshape(slice(rec.attentions[static_cast<size_t>(l)], 1, hh, hh + 1), {Tp, Tp});  // (T, T)
      for (int64_t i = 0; i < Tp; ++i)
        for (int64_t j = i + 1; j < Tp; ++j) above += w.at({i, j});
      grid.add(w, "L" + std::to_string(l) + " H" + std::to_string(hh));
    }
  grid.save_png(L.figure("attention_heads.png"));
  std::printf("  total weight above the diagonal, all heads: %.6f\n", above);

  L.say(
      "\nThe same, measured over 16 validation windows of 64 characters: for each head the mean weight a query\n"
      "puts on itself, on the previous character, and on spaces (against the share of spaces among the keys it\n"
      "may see, what a head that ignored the characters would give):");
  Generator probe_gen(kSeed, /*stream=*/9);
  data::TokenBatch vb = corpus.sample_val(kBatch, cfg.block_size, probe_gen);
  models::GPTOutput vrec = model.forward(vb.x, /*record_attention=*/true);
  const int64_t space = tok.encode(" ")[0], T = cfg.block_size;
  std::printf("  head    self   previous   on spaces (baseline)\n");
  int64_t best_l = 0, best_h = 0;
  double best_prev = -1;
  for (int64_t l = 0; l < Lyr; ++l)
    for (int64_t hh = 0; hh < H; ++hh) {
      const Tensor& w = vrec.attentions[static_cast<size_t>(l)];  // (B, H, T, T)
      double self = 0, prev = 0, on_space = 0, base = 0;
      int64_t n = 0;
      for (int64_t b = 0; b < kBatch; ++b) {
        int64_t spaces_seen = 0;
        for (int64_t i = 0; i < T; ++i) {
          if (vb.x[b * T + i] == space) ++spaces_seen;
          if (i == 0) continue;
          self += w.at({b, hh, i, i});
          prev += w.at({b, hh, i, i - 1});
          for (int64_t j = 0; j <= i; ++j)
            if (vb.x[b * T + j] == space) on_space += w.at({b, hh, i, j});
          base += double(spaces_seen) / double(i + 1);
          ++n;
        }
      }
      self /= double(n), prev /= double(n), on_space /= double(n), base /= double(n);
      const char* kind = prev >= 0.3 && prev > self ? "  <- previous character"
                         : on_space > 1.5 * base    ? "  <- spaces (word starts)"
                         : self >= 0.3              ? "  <- itself"
                                                    : "";
      std::printf("  L%lld H%lld  %5.2f   %8.2f   %9.2f (%.2f)%s\n", static_cast<long long>(l),
                  static_cast<long long>(hh), self, prev, on_space, base, kind);
      if (prev > best_prev) best_prev = prev, best_l = l, best_h = hh;
    }
  const std::string best = "L" + std::to_string(best_l) + " H" + std::to_string(best_h);
  std::printf("  strongest previous-character head: %s, weight on the previous character %.2f\n", best.c_str(),
              best_prev);
  viz::Heatmap(reshape(slice(rec.attentions[static_cast<size_t>(best_l)], 1, best_h, best_h + 1), {Tp, Tp}))
      .title("Head " + best + ": the strongest previous-character head")
      .labels(labels)
      .row_title("query")
      .col_title("key")
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("previous_character_head.png"));

  L.say(
      "\nThat is the whole of GPT-2: embeddings, causal multi-head attention, an MLP, LayerNorms and residual\n"
      "additions, repeated; a tied read-out; next-token cross-entropy. GPT-2 small is this model with\n"
      "V = 50257 BPE tokens, L = 12, H = 12, C = 768 and a 1024-token context: 124M parameters.");
  return 0;
}
