// GPT-2: names and sizes, causality, KV-cache decoding, gradients, overfitting, recorded attention,
// sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/char_tokenizer.h"
#include "attn/models/gpt.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"

using namespace attn;

namespace {

models::GPTConfig tiny() {
  models::GPTConfig c;
  c.vocab_size = 11;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 16;
  return c;
}

IndexTensor random_ids(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = g.randint(static_cast<uint32_t>(V));
  return IndexTensor(v, {B, T});
}

// d loss / d p[i] by a 4th-order central difference (step 2^-8), p restored afterwards.
double numeric_grad(models::GPT& m, const IndexTensor& ids, const IndexTensor& targets, Tensor& p, int64_t i) {
  const float orig = p.data()[i];
  const double h = 1.0 / 256;
  auto L = [&](double v) {
    NoGradGuard ng;
    p.data()[i] = static_cast<float>(v);
    return static_cast<double>(m.loss(ids, targets).item());
  };
  const double num = (-L(orig + 2 * h) + 8 * L(orig + h) - 8 * L(orig - h) + L(orig - 2 * h)) / (12 * h);
  p.data()[i] = orig;
  return num;
}

double sample_std(const Tensor& t) {
  double s = 0, s2 = 0;
  for (float x : t.to_vector()) {
    s += x;
    s2 += double(x) * x;
  }
  const double n = static_cast<double>(t.numel());
  return std::sqrt(s2 / n - (s / n) * (s / n));
}

}  // namespace

TEST(ModelsGpt, ParameterNamesFollowHuggingFaceAndCountMatchesFormula) {
  Generator g(1);
  models::GPT m(tiny(), g);
  std::vector<std::string> expected = {"wte.weight", "wpe.weight"};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* n : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                          "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                          "mlp.c_proj.weight", "mlp.c_proj.bias"})
      expected.push_back(p + n);
  }
  expected.push_back("ln_f.weight");
  expected.push_back("ln_f.bias");
  std::vector<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, expected);

  const int64_t V = 11, P = 16, C = 16, I = 4 * C, L = 2;
  const int64_t per_block = 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (C * I + I) + (I * C + C);
  EXPECT_EQ(m.num_parameters(), V * C + P * C + L * per_block + 2 * C);
  EXPECT_EQ(m.state_dict().size(), expected.size());                   // no buffers, no lm_head
  EXPECT_EQ(m.h[0]->attn->c_attn->weight.shape(), (Shape{3 * C, C}));  // (out, in): HF's Conv1D is (in, out)

  // GPT-2 init: N(0, 0.02²), residual projections N(0, (0.02/√(2L))²), zero biases, unit LayerNorm γ.
  EXPECT_NEAR(sample_std(m.wte->weight), 0.02, 0.004);
  EXPECT_NEAR(sample_std(m.h[1]->mlp->c_fc->weight), 0.02, 0.003);
  EXPECT_NEAR(sample_std(m.h[1]->mlp->c_proj->weight), 0.01, 0.0015);
  EXPECT_EQ(max_abs_diff(m.h[0]->attn->c_attn->bias, Tensor::zeros({3 * C})), 0.0);
  EXPECT_EQ(max_abs_diff(m.ln_f->weight, Tensor::ones({C})), 0.0);

  models::GPTConfig nb = tiny();
  nb.bias = false;
  nb.n_inner = 24;
  Generator g2(1);
  models::GPT m2(nb, g2);
  EXPECT_EQ(m2.num_parameters(), V * C + P * C + L * (2 * C + 3 * C * C + C * C + 2 * C * 24) + C);
}

TEST(ModelsGpt, ChangingTokenTLeavesEarlierLogitsUnchanged) {
  Generator g(2);
  models::GPT m(tiny(), g);
  IndexTensor ids = random_ids(2, 12, 11, 7);
  Tensor a = m.forward(ids);  // (2, 12, 11)
  ASSERT_EQ(a.shape(), (Shape{2, 12, 11}));
  const int64_t t = 6;
  ids.data[static_cast<size_t>(t)] = (ids.data[static_cast<size_t>(t)] + 3) % 11;  // batch 0, position 6
  Tensor b = m.forward(ids);
  EXPECT_LT(max_abs_diff(slice(a, 1, 0, t), slice(b, 1, 0, t)), 1e-6);
  EXPECT_GT(max_abs_diff(slice(slice(a, 0, 0, 1), 1, t, 12), slice(slice(b, 0, 0, 1), 1, t, 12)), 1e-4);
  EXPECT_EQ(max_abs_diff(slice(a, 0, 1, 2), slice(b, 0, 1, 2)), 0.0);  // the other sequence is untouched
}

TEST(ModelsGpt, CachedForwardMatchesFullForward) {
  Generator g(3);
  models::GPT m(tiny(), g);
  IndexTensor ids = random_ids(2, 10, 11, 8);
  NoGradGuard ng;
  Tensor full = m.forward(ids);  // (2, 10, 11)
  auto caches = m.make_caches(2);
  // Prefill 4 tokens, then 3 + 1 + 2 in chunks: positions are offset by what the caches hold.
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t n : {4, 3, 1, 2}) {
    std::vector<int64_t> chunk;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t t = start; t < start + n; ++t) chunk.push_back(ids.data[static_cast<size_t>(b * 10 + t)]);
    parts.push_back(m.forward_cached(IndexTensor(chunk, {2, n}), caches).logits);
    start += n;
  }
  EXPECT_EQ(caches[1].size(), 10);
  EXPECT_LT(max_abs_diff(concat(parts, 1), full), 1e-5);
}

TEST(ModelsGpt, GreedyGenerationWithCacheEqualsWithout) {
  Generator g(4);
  models::GPT m(tiny(), g);
  for (const std::vector<int64_t>& prompt : {std::vector<int64_t>{3}, {1, 2, 3, 4}, {10, 0, 10, 0, 5, 7, 9}}) {
    const int64_t n = 16 - static_cast<int64_t>(prompt.size());
    auto with = m.generate(prompt, n, models::GenerateOptions().greedy());
    auto without = m.generate(prompt, n, models::GenerateOptions().greedy().cache(false));
    EXPECT_EQ(with.size(), static_cast<size_t>(n));
    EXPECT_EQ(with, without);
  }
  EXPECT_TRUE(m.is_training());  // generate restores the mode it found
}

TEST(ModelsGpt, LossGradientMatchesFiniteDifferences) {
  Generator g(5);
  models::GPT m(tiny(), g);
  IndexTensor ids = random_ids(2, 7, 11, 9), targets = random_ids(2, 7, 11, 10);
  m.loss(ids, targets).backward();
  int checked = 0;
  for (auto& [name, p] : m.named_parameters()) {
    if (name != "wte.weight" && name != "h.0.attn.c_attn.weight" && name != "h.1.mlp.c_fc.weight" &&
        name != "ln_f.weight" && name != "h.1.attn.c_proj.bias" && name != "wpe.weight")
      continue;
    ASSERT_TRUE(p.grad().defined()) << name;
    for (int64_t i : {int64_t{0}, p.numel() / 3, p.numel() - 1}) {
      const double num = numeric_grad(m, ids, targets, p, i);
      EXPECT_NEAR(p.grad().data()[i], num, 2e-3 + 2e-2 * std::fabs(num)) << name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 18);
}

TEST(ModelsGpt, OverfitsARepeatedStringDeterministically) {
  const std::string text = "to be or not to be, that is the question. to be or not to be, that is the question.";
  data::CharTokenizer tok = data::CharTokenizer::from_text(text);
  const std::vector<int64_t> all = tok.encode(text);
  auto train = [&] {
    models::GPTConfig c = tiny();
    c.vocab_size = tok.vocab_size();
    c.n_embd = 32;
    c.n_head = 4;
    c.block_size = 24;
    Generator g(6);
    models::GPT m(c, g);
    nn::AdamW opt(m.parameters(), nn::AdamWOptions(1e-2f).weight_decay(0.f));
    // Four fixed windows of 24 characters, each target the next character.
    std::vector<int64_t> x, y;
    for (int64_t s : {0, 11, 30, 45})
      for (int64_t t = 0; t < 24; ++t) {
        x.push_back(all[static_cast<size_t>(s + t)]);
        y.push_back(all[static_cast<size_t>(s + t + 1)]);
      }
    IndexTensor ids(x, {4, 24}), targets(y, {4, 24});
    float loss = 0.f;
    for (int step = 0; step < 120; ++step) {
      opt.zero_grad();
      Tensor l = m.loss(ids, targets);
      l.backward();
      opt.step();
      loss = l.item();
    }
    // The memorized text continues from its own prefix.
    const std::vector<int64_t> prompt(all.begin(), all.begin() + 8);
    std::string cont = tok.decode(m.generate(prompt, 12, models::GenerateOptions().greedy()));
    return std::make_pair(loss, cont);
  };
  auto [loss1, cont1] = train();
  auto [loss2, cont2] = train();
  EXPECT_LT(loss1, 0.1f);
  EXPECT_EQ(loss1, loss2);  // same seed, same trajectory
  EXPECT_EQ(cont1, text.substr(8, 12));
  EXPECT_EQ(cont1, cont2);
}

TEST(ModelsGpt, RecordedAttentionIsCausalAndNormalised) {
  Generator g(7);
  models::GPT m(tiny(), g);
  IndexTensor ids = random_ids(2, 9, 11, 11);
  models::GPTOutput rec = m.forward(ids, true);  // grad mode on: weights from a second, gradient-free pass
  models::GPTOutput plain = m.forward(ids, false);
  EXPECT_TRUE(plain.attentions.empty());
  EXPECT_EQ(max_abs_diff(rec.logits, plain.logits), 0.0);  // recording does not change the result
  ASSERT_EQ(rec.attentions.size(), 2u);
  models::GPTOutput inference;
  {
    NoGradGuard ng;
    inference = m.forward(ids, true);  // weights from the fused kernel's log-sum-exp
  }
  for (size_t l = 0; l < 2; ++l) {
    const Tensor& w = rec.attentions[l];
    ASSERT_EQ(w.shape(), (Shape{2, 2, 9, 9}));
    EXPECT_FALSE(w.requires_grad());
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t hd = 0; hd < 2; ++hd)
        for (int64_t i = 0; i < 9; ++i) {
          double row = 0;
          for (int64_t j = 0; j < 9; ++j) {
            const float v = w.at({b, hd, i, j});
            if (j > i) {
              EXPECT_EQ(v, 0.f);
            }
            row += v;
          }
          EXPECT_NEAR(row, 1.0, 1e-5);
        }
    EXPECT_LT(max_abs_diff(inference.attentions[l], w), 1e-6);
  }
}

TEST(ModelsGpt, SeededSamplingIsReproducibleAndTopK1IsGreedy) {
  Generator g(8);
  models::GPT m(tiny(), g);
  // At init the logits are nearly flat, so samples spread over the vocabulary and seeds matter.
  const std::vector<int64_t> prompt = {1, 5, 2};
  auto opts = models::GenerateOptions().with_temperature(1.f).with_seed(42);
  auto a = m.generate(prompt, 12, opts);
  EXPECT_EQ(a, m.generate(prompt, 12, opts));
  EXPECT_EQ(a, m.generate(prompt, 12, models::GenerateOptions(opts).cache(false)));
  EXPECT_NE(a, m.generate(prompt, 12, models::GenerateOptions(opts).with_seed(43)));
  auto greedy = m.generate(prompt, 12, models::GenerateOptions().greedy());
  EXPECT_EQ(m.generate(prompt, 12, models::GenerateOptions().with_top_k(1).with_seed(3)), greedy);
  EXPECT_EQ(m.generate(prompt, 12, models::GenerateOptions().with_top_p(1e-6f).with_seed(3)), greedy);
  // top_k restricts to the k most likely: with k = 2, every sample is one of the two best.
  const float z[5] = {0.1f, 3.f, -1.f, 2.9f, 0.f};
  Generator s(1);
  for (int i = 0; i < 50; ++i) {
    const int64_t t = models::GPT::sample_next(z, 5, models::GenerateOptions().with_top_k(2), s);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(ModelsGpt, ErrorsNameGpt) {
  Generator g(9);
  models::GPT m(tiny(), g);
  auto message = [&](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] {
              m.forward(IndexTensor({1, 11, 2}, {1, 3}));
            }).find("[GPT::forward] token id 11"),
            std::string::npos);
  EXPECT_NE(message([&] { m.forward(random_ids(1, 17, 11, 1)); }).find("longer than block_size = 16"),
            std::string::npos);
  EXPECT_NE(message([&] { m.generate({}, 2); }).find("[GPT::generate] the prompt is empty"), std::string::npos);
  EXPECT_NE(message([&] { m.generate({1, -1}, 2); }).find("[GPT::generate] prompt token 1 = -1"), std::string::npos);
  EXPECT_NE(message([&] {
              m.generate({1, 2}, 3, models::GenerateOptions().with_top_p(0.f));
            }).find("top_p"),
            std::string::npos);
  models::GPTConfig bad = tiny();
  bad.n_head = 3;
  EXPECT_NE(message([&] { models::GPT(bad, g); }).find("[GPT] n_embd = 16 is not divisible"), std::string::npos);
  bad = tiny();
  bad.n_kv_head = 3;
  EXPECT_NE(message([&] { models::GPT(bad, g); }).find("[GPT] n_kv_head = 3 must divide n_head = 2"),
            std::string::npos);
  bad = tiny();
  bad.n_head = 16;
  bad.rope = true;
  EXPECT_NE(message([&] { models::GPT(bad, g); }).find("RoPE needs an even head dimension"), std::string::npos);
}

TEST(ModelsGpt, DropoutActsInTrainingOnlyAndIsSeeded) {
  models::GPTConfig c = tiny();
  c.dropout = 0.2f;
  Generator g1(10), g2(10);
  models::GPT a(c, g1, /*dropout_seed=*/5), b(c, g2, /*dropout_seed=*/5);
  IndexTensor ids = random_ids(2, 8, 11, 12);
  Tensor ta = a.forward(ids), tb = b.forward(ids);
  EXPECT_EQ(max_abs_diff(ta, tb), 0.0);  // same dropout seed, same masks
  a.loss(ids, ids).backward();
  EXPECT_TRUE(a.h[0]->attn->c_attn->weight.grad().defined());
  a.eval();
  Tensor e1 = a.forward(ids), e2 = a.forward(ids);
  EXPECT_EQ(max_abs_diff(e1, e2), 0.0);
  EXPECT_GT(max_abs_diff(e1, ta), 1e-6);  // dropout was active in training mode
}

// ---- Sliding context ---------------------------------------------------------------------------------

TEST(ModelsGpt, WindowJumpsByHalfAContext) {
  using models::GPT;
  EXPECT_EQ(GPT::window_start(16, 16, 0), 0);   // fits
  EXPECT_EQ(GPT::window_start(17, 16, 0), 9);   // keep the last 8
  EXPECT_EQ(GPT::window_start(24, 16, 9), 9);   // 15 tokens: fits
  EXPECT_EQ(GPT::window_start(26, 16, 9), 18);  // 17 > 16: jump again
  EXPECT_EQ(GPT::window_start(18, 15, 0), 10);  // odd context: keep ⌈15/2⌉ = 8
  EXPECT_EQ(GPT::window_start(5, 1, 3), 4);     // a context of one token keeps just the newest
}

TEST(ModelsGpt, GenerationSlidesPastTheContextAndCacheStillEqualsNoCache) {
  Generator g(14);
  models::GPT m(tiny(), g);  // block_size 16
  for (const std::vector<int64_t>& prompt : {std::vector<int64_t>{3, 1}, std::vector<int64_t>(20, 7)}) {
    auto with = m.generate(prompt, 40, models::GenerateOptions().greedy());
    auto without = m.generate(prompt, 40, models::GenerateOptions().greedy().cache(false));
    ASSERT_EQ(with.size(), 40u);
    EXPECT_EQ(with, without);
  }
  // The tokens after a jump are the model's prediction from the kept window alone.
  std::vector<int64_t> prompt = {3, 1};
  auto out = m.generate(prompt, 15, models::GenerateOptions().greedy());  // 17 tokens: one jump at 16
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), out.begin(), out.end() - 1);  // 16 tokens before the last draw
  std::vector<int64_t> window(seq.end() - 8, seq.end());
  NoGradGuard ng;
  m.eval();
  Tensor logits = m.forward(IndexTensor(window, {1, 8}));
  const float* last = logits.data() + 7 * 11;
  EXPECT_EQ(out.back(), std::max_element(last, last + 11) - last);
}

TEST(ModelsGpt, OnTokenStreamsEachIdAndCanStop) {
  Generator g(15);
  models::GPT m(tiny(), g);
  std::vector<int64_t> streamed;
  models::GenerateOptions o = models::GenerateOptions().with_seed(1);
  o.on_token = [&](int64_t id) {
    streamed.push_back(id);
    return streamed.size() < 5;
  };
  auto out = m.generate({1, 2, 3}, 12, o);
  EXPECT_EQ(out.size(), 5u);
  EXPECT_EQ(out, streamed);
}

// ---- Options beyond GPT-2: grouped-query attention and RoPE ----------------------------------------------

namespace {
models::GPTConfig tiny_variant(int64_t n_kv_head, bool rope) {
  models::GPTConfig c = tiny();
  c.n_head = 4;
  c.n_kv_head = n_kv_head;
  c.rope = rope;
  return c;
}
}  // namespace

TEST(ModelsGpt, GroupedQueryAttentionShrinksKeyValueProjectionsAndCache) {
  Generator g(16);
  models::GPT m(tiny_variant(1, false), g);  // MQA: 4 query heads share one key/value head
  const int64_t C = 16, Dh = 4;
  EXPECT_EQ(m.h[0]->attn->c_attn->weight.shape(), (Shape{C + 2 * Dh, C}));
  EXPECT_EQ(m.make_caches(1)[0].num_kv_heads, 1);
  // n_kv_head = n_head is ordinary multi-head attention: same parameters, same logits as n_kv_head = 0.
  Generator g1(17), g2(17);
  models::GPT a(tiny_variant(0, false), g1), b(tiny_variant(4, false), g2);
  IndexTensor ids = random_ids(2, 9, 11, 18);
  EXPECT_EQ(max_abs_diff(a.forward(ids), b.forward(ids)), 0.0);
}

TEST(ModelsGpt, RopeModelHasNoPositionTableAndCachedRotationsMatchTheFullForward) {
  Generator g(19);
  models::GPT m(tiny_variant(2, true), g);
  for (auto& [name, p] : m.named_parameters()) EXPECT_NE(name, "wpe.weight");
  EXPECT_EQ(m.wpe, nullptr);
  // One token at a time through the cache, each rotated for its absolute position P, equals the whole
  // sequence at once.
  IndexTensor ids = random_ids(1, 10, 11, 20);
  NoGradGuard ng;
  Tensor full = m.forward(ids);
  auto caches = m.make_caches(1);
  std::vector<Tensor> parts;
  for (int64_t t = 0; t < 10; ++t)
    parts.push_back(m.forward_cached(IndexTensor({ids.data[static_cast<size_t>(t)]}, {1, 1}), caches).logits);
  EXPECT_LT(max_abs_diff(concat(parts, 1), full), 1e-5);
}

TEST(ModelsGpt, VariantsAreCausalCacheConsistentAndHaveCorrectGradients) {
  for (auto [kv, rope] : {std::pair<int64_t, bool>{2, false}, {1, true}, {4, true}}) {
    SCOPED_TRACE("n_kv_head " + std::to_string(kv) + (rope ? " rope" : ""));
    Generator g(21);
    models::GPT m(tiny_variant(kv, rope), g);
    // Causal: changing token 5 leaves logits 0..4 alone.
    IndexTensor ids = random_ids(1, 9, 11, 22);
    Tensor a = m.forward(ids);
    IndexTensor ids2 = ids;
    ids2.data[5] = (ids2.data[5] + 1) % 11;
    Tensor b = m.forward(ids2);
    EXPECT_LT(max_abs_diff(slice(a, 1, 0, 5), slice(b, 1, 0, 5)), 1e-6);
    EXPECT_GT(max_abs_diff(slice(a, 1, 5, 9), slice(b, 1, 5, 9)), 1e-5);
    // Greedy decoding with the cache equals without, across a context jump.
    EXPECT_EQ(m.generate({1, 2}, 24, models::GenerateOptions().greedy()),
              m.generate({1, 2}, 24, models::GenerateOptions().greedy().cache(false)));
    // Finite differences on the fused c_attn (which holds q, k and v) and on the embedding.
    IndexTensor targets = random_ids(1, 9, 11, 23);
    m.zero_grad();
    m.loss(ids, targets).backward();
    for (const char* name : {"h.0.attn.c_attn.weight", "h.1.attn.c_attn.weight", "wte.weight"}) {
      Tensor p;
      for (auto& [n, t] : m.named_parameters())
        if (n == name) p = t;
      ASSERT_TRUE(p.grad().defined()) << name;
      for (int64_t i : {int64_t{1}, p.numel() / 2 + 3, p.numel() - 2}) {
        const double num = numeric_grad(m, ids, targets, p, i);
        EXPECT_NEAR(p.grad().data()[i], num, 2e-3 + 2e-2 * std::fabs(num)) << name << "[" << i << "]";
      }
    }
  }
}

TEST(ModelsGpt, QueriesAndKeysReproduceTheRecordedAttention) {
  for (auto [kv, rope] : {std::pair<int64_t, bool>{0, false}, {2, true}}) {
    Generator g(24);
    models::GPT m(tiny_variant(kv, rope), g);
    IndexTensor ids = random_ids(1, 9, 11, 25);
    NoGradGuard ng;
    std::vector<Tensor> recorded = m.forward(ids, true).attentions;  // L × (1, H, T, T)
    for (int64_t layer = 0; layer < 2; ++layer) {
      auto [q, k] = m.queries_and_keys(ids, layer);  // (1, 4, 9, 4), (1, Hkv, 9, 4)
      ASSERT_EQ(q.shape(), (Shape{1, 4, 9, 4}));
      const int64_t Hkv = kv == 0 ? 4 : kv;
      ASSERT_EQ(k.shape(), (Shape{1, Hkv, 9, 4}));
      Tensor w = scaled_dot_product_attention(q, k, k, SdpaOptions().causal().weights()).weights;  // values unused
      EXPECT_LT(max_abs_diff(w, recorded[static_cast<size_t>(layer)]), 1e-5) << "layer " << layer;
    }
  }
  Generator g(26);
  models::GPT m(tiny(), g);
  EXPECT_THROW(m.queries_and_keys(random_ids(1, 3, 11, 1), 2), Error);
}
