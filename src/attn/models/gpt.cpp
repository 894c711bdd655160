#include "attn/models/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/attention/multihead.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace attn::models {

namespace {

constexpr float kInitStd = 0.02f;  // GPT-2's initializer_range

// Dropout generators: each layer gets its own seed (derived from the model's dropout seed) and each
// dropout site its own stream, so masks differ between sites but depend on nothing else.
enum DropoutStream : uint64_t { kEmbd = 1, kAttnWeights = 2, kAttnResid = 3, kMlp = 4 };

// Restores the module's training mode on scope exit (generate() runs in eval mode).
struct ModeGuard {
  nn::Module& m;
  bool was_training;
  explicit ModeGuard(nn::Module& module) : m(module), was_training(module.is_training()) {}
  ~ModeGuard() { m.train(was_training); }
};

}  // namespace

void GPTConfig::validate() const {
  ATTN_CHECK(vocab_size > 0 && n_layer > 0 && n_head > 0 && n_embd > 0 && block_size > 0, "GPT",
             "vocab_size, n_layer, n_head, n_embd and block_size must be positive (got " << vocab_size << ", "
                 << n_layer << ", " << n_head << ", " << n_embd << ", " << block_size << ")");
  ATTN_CHECK(n_embd % n_head == 0, "GPT", "n_embd = " << n_embd << " is not divisible by n_head = " << n_head);
  ATTN_CHECK(n_inner >= 0, "GPT", "n_inner = " << n_inner << " must be >= 0 (0 means 4 * n_embd)");
  ATTN_CHECK(dropout >= 0.f && dropout < 1.f, "GPT", "dropout = " << dropout << " must be in [0, 1)");
  ATTN_CHECK(layer_norm_epsilon > 0.f, "GPT", "layer_norm_epsilon must be positive");
}

// ---- CausalSelfAttention -------------------------------------------------------------------------------

CausalSelfAttention::CausalSelfAttention(const GPTConfig& config, Generator& gen, uint64_t dropout_seed)
    : n_head(config.n_head), n_embd(config.n_embd), dropout_p(config.dropout) {
  c_attn = register_module("c_attn", std::make_shared<nn::Linear>(n_embd, 3 * n_embd, gen, config.bias));
  c_proj = register_module("c_proj", std::make_shared<nn::Linear>(n_embd, n_embd, gen, config.bias));
  resid_dropout = register_module("resid_dropout", std::make_shared<nn::Dropout>(config.dropout));
  resid_dropout->generator() = Generator(dropout_seed, kAttnResid);
  attn_dropout_gen_ = Generator(dropout_seed, kAttnWeights);
}

Tensor CausalSelfAttention::forward(const Tensor& x, KVCache* cache, Tensor* weights) {
  // x (B, T, C)
  Tensor qkv = c_attn->forward(x);                                    // (B, T, 3C)
  std::vector<Tensor> parts = split(qkv, n_embd, 2);                  // 3 × (B, T, C)
  Tensor q = nn::split_heads(parts[0], n_head);                       // (B, H, T, Dh)
  Tensor k = nn::split_heads(parts[1], n_head);                       // (B, H, T, Dh)
  Tensor v = nn::split_heads(parts[2], n_head);                       // (B, H, T, Dh)

  SdpaOptions opts;
  opts.causal();                                                      // token i sees keys j <= i (+ P)
  if (is_training() && dropout_p > 0.f) opts.dropout(dropout_p, &attn_dropout_gen_);
  // Inference: the fused kernel hands back the weights from its log-sum-exp, at no extra pass.
  const bool weights_in_same_pass = weights != nullptr && !grad_enabled();
  if (weights_in_same_pass) opts.weights();

  AttentionOutput att = cache ? attention_with_kv_cache(q, k, v, *cache, opts)   // (B, H, T, Dh), S = P+T
                              : scaled_dot_product_attention(q, k, v, opts);      // (B, H, T, Dh), S = T
  if (weights != nullptr) {
    if (weights_in_same_pass) {
      *weights = att.weights;                                         // (B, H, T, S)
    } else {
      // Training with recording on: a second, gradient-free pass for the weights only, so the
      // differentiable path above stays the fused one.
      NoGradGuard no_grad;
      Tensor keys = cache ? cache->keys() : k.detach();               // (B, H, S, Dh)
      Tensor values = cache ? cache->values() : v.detach();           // (B, H, S, Dh)
      *weights = scaled_dot_product_attention(q.detach(), keys, values, SdpaOptions().causal().weights()).weights;
    }
  }
  Tensor y = nn::merge_heads(att.output);                             // (B, T, C)
  return resid_dropout->forward(c_proj->forward(y));                  // (B, T, C)
}

// ---- MLP ------------------------------------------------------------------------------------------------

GPTMLP::GPTMLP(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) {
  c_fc = register_module("c_fc", std::make_shared<nn::Linear>(config.n_embd, config.inner(), gen, config.bias));
  c_proj = register_module("c_proj", std::make_shared<nn::Linear>(config.inner(), config.n_embd, gen, config.bias));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(config.dropout));
  dropout->generator() = Generator(dropout_seed, kMlp);
}

Tensor GPTMLP::forward(const Tensor& x) {
  Tensor hidden = gelu(c_fc->forward(x), "tanh");   // (B, T, I)
  return dropout->forward(c_proj->forward(hidden)); // (B, T, C)
}

// ---- Block ----------------------------------------------------------------------------------------------

GPTBlock::GPTBlock(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) {
  ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon, true, config.bias));
  attn = register_module("attn", std::make_shared<CausalSelfAttention>(config, gen, dropout_seed));
  ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon, true, config.bias));
  mlp = register_module("mlp", std::make_shared<GPTMLP>(config, gen, dropout_seed));
}

Tensor GPTBlock::forward(const Tensor& x, KVCache* cache, Tensor* weights) {
  Tensor r = x + attn->forward(ln_1->forward(x), cache, weights);  // (B, T, C)  residual += attention
  return r + mlp->forward(ln_2->forward(r));                       // (B, T, C)  residual += MLP
}

// ---- GPT ------------------------------------------------------------------------------------------------

GPT::GPT(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) : config_(config) {
  config_.validate();
  const GPTConfig& c = config_;
  wte = register_module("wte", std::make_shared<nn::Embedding>(c.vocab_size, c.n_embd, gen));
  wpe = register_module("wpe", std::make_shared<nn::Embedding>(c.block_size, c.n_embd, gen));
  drop = register_module("drop", std::make_shared<nn::Dropout>(c.dropout));
  drop->generator() = Generator(dropout_seed, kEmbd);
  // HF's nn.ModuleList "h": a plain container whose children are named "0", "1", …
  auto blocks = register_module("h", std::make_shared<nn::Module>());
  for (int64_t l = 0; l < c.n_layer; ++l) {
    h.push_back(blocks->register_module(std::to_string(l),
                                        std::make_shared<GPTBlock>(c, gen, dropout_seed + 1000 * (l + 1))));
  }
  ln_f = register_module("ln_f", std::make_shared<nn::LayerNorm>(c.n_embd, c.layer_norm_epsilon, true, c.bias));

  // GPT-2 initialisation (see the header). LayerNorms keep γ = 1, β = 0 from their constructor.
  nn::init::normal_(wte->weight, 0.f, kInitStd, gen);
  nn::init::normal_(wpe->weight, 0.f, kInitStd, gen);
  const float proj_std = kInitStd / std::sqrt(2.f * static_cast<float>(c.n_layer));
  for (auto& block : h) {
    for (nn::Linear* lin : {block->attn->c_attn.get(), block->attn->c_proj.get(), block->mlp->c_fc.get(),
                            block->mlp->c_proj.get()}) {
      const bool residual_proj = lin == block->attn->c_proj.get() || lin == block->mlp->c_proj.get();
      nn::init::normal_(lin->weight, 0.f, residual_proj ? proj_std : kInitStd, gen);
      if (lin->bias.defined()) nn::init::zeros_(lin->bias);
    }
  }
}

void GPT::check_ids(const IndexTensor& ids, int64_t past, const char* op) const {
  ATTN_CHECK(ids.dim() == 2 && ids.shape[0] > 0 && ids.shape[1] > 0, op,
             "ids must be (B, T) with B, T >= 1, got " << shape_str(ids.shape));
  const int64_t T = ids.shape[1];
  ATTN_CHECK(past + T <= config_.block_size, op,
             "sequence of " << past + T << " tokens" << (past > 0 ? " (cached + new)" : "")
                            << " is longer than block_size = " << config_.block_size);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    ATTN_CHECK(ids.data[i] >= 0 && ids.data[i] < config_.vocab_size, op,
               "token id " << ids.data[i] << " at (b = " << i / T << ", t = " << i % T << ") is out of range [0, "
                           << config_.vocab_size << ")");
  }
}

GPTOutput GPT::run(const IndexTensor& ids, std::vector<KVCache>* caches, bool record_attention) {
  const int64_t past = caches ? (*caches)[0].size() : 0;            // P
  const int64_t T = ids.shape[1];
  std::vector<int64_t> pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = past + t;

  Tensor tok = wte->forward(ids);                                   // (B, T, C)
  Tensor posemb = wpe->forward(IndexTensor(pos));                   // (T, C)  positions P .. P+T-1
  Tensor x = drop->forward(tok + posemb);                           // (B, T, C)

  GPTOutput out;
  if (record_attention) out.attentions.resize(h.size());
  for (size_t l = 0; l < h.size(); ++l) {
    KVCache* cache = caches ? &(*caches)[l] : nullptr;
    x = h[l]->forward(x, cache, record_attention ? &out.attentions[l] : nullptr);  // (B, T, C)
  }
  x = ln_f->forward(x);                                             // (B, T, C)
  out.logits = matmul(x, wte->weight, false, true);                 // (B, T, C) · (V, C)ᵀ -> (B, T, V)
  return out;
}

Tensor GPT::forward(const IndexTensor& ids) { return forward(ids, false).logits; }

GPTOutput GPT::forward(const IndexTensor& ids, bool record_attention) {
  check_ids(ids, 0, "GPT::forward");
  return run(ids, nullptr, record_attention);
}

GPTOutput GPT::forward_cached(const IndexTensor& ids, std::vector<KVCache>& caches, bool record_attention) {
  ATTN_CHECK(caches.size() == h.size(), "GPT::forward_cached",
             "expected one cache per layer (" << h.size() << "), got " << caches.size());
  check_ids(ids, caches[0].size(), "GPT::forward_cached");
  ATTN_CHECK(ids.shape[0] == caches[0].batch, "GPT::forward_cached",
             "ids have batch " << ids.shape[0] << " but the caches were made for batch " << caches[0].batch);
  return run(ids, &caches, record_attention);
}

std::vector<KVCache> GPT::make_caches(int64_t batch, int64_t max_len) const {
  const int64_t len = max_len > 0 ? std::min(max_len, config_.block_size) : config_.block_size;
  return make_kv_caches(config_.n_layer, batch, config_.n_head, len, config_.head_dim());
}

Tensor GPT::loss(const IndexTensor& ids, const IndexTensor& targets) {
  ATTN_CHECK(targets.shape == ids.shape, "GPT::loss",
             "targets " << shape_str(targets.shape) << " must have the shape of ids " << shape_str(ids.shape));
  Tensor logits = forward(ids);                                      // (B, T, V)
  return cross_entropy(reshape(logits, {-1, config_.vocab_size}),   // (B·T, V)
                       IndexTensor(targets.data));                   // (B·T)
}

int64_t GPT::sample_next(const float* logits, int64_t V, const GenerateOptions& o, Generator& gen) {
  constexpr const char* op = "GPT::generate";
  ATTN_CHECK(o.temperature >= 0.f, op, "temperature = " << o.temperature << " must be >= 0 (0 = greedy)");
  ATTN_CHECK(o.top_k >= 0, op, "top_k = " << o.top_k << " must be >= 0 (0 = off)");
  ATTN_CHECK(o.top_p > 0.f && o.top_p <= 1.f, op, "top_p = " << o.top_p << " must be in (0, 1]");
  if (o.temperature == 0.f) return std::max_element(logits, logits + V) - logits;  // greedy: first argmax

  // Candidates by decreasing logit (ties: lower id first), so top-k and top-p are prefixes of `order`.
  std::vector<int64_t> order(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) order[static_cast<size_t>(i)] = i;
  auto before = [&](int64_t a, int64_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  int64_t n = (o.top_k > 0 && o.top_k < V) ? o.top_k : V;
  std::partial_sort(order.begin(), order.begin() + n, order.end(), before);

  // p_i = exp((z_i - z_max) / temperature) / Σ, over the n kept candidates (in double).
  std::vector<double> p(static_cast<size_t>(n));
  const double zmax = logits[order[0]];
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += p[i] = std::exp((logits[order[i]] - zmax) / o.temperature);
  if (o.top_p < 1.f) {  // nucleus: the shortest prefix whose probability reaches top_p
    double cum = 0.0;
    int64_t m = 0;
    while (m < n && cum < o.top_p * total) cum += p[m++];
    n = std::max<int64_t>(m, 1);
    total = cum > 0.0 ? cum : p[0];
  }
  const double u = static_cast<double>(gen.uniform()) * total;     // U[0, total)
  double cum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return order[i];
  }
  return order[n - 1];  // rounding left u just past the last kept candidate
}

std::vector<int64_t> GPT::generate(const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                   const GenerateOptions& options) {
  constexpr const char* op = "GPT::generate";
  ATTN_CHECK(!prompt.empty(), op, "the prompt is empty (give at least one token)");
  ATTN_CHECK(max_new_tokens >= 0, op, "max_new_tokens = " << max_new_tokens << " must be >= 0");
  const int64_t P = static_cast<int64_t>(prompt.size()), V = config_.vocab_size;
  ATTN_CHECK(P + max_new_tokens <= config_.block_size, op,
             "prompt (" << P << ") + max_new_tokens (" << max_new_tokens << ") exceeds block_size = " << config_.block_size);
  NoGradGuard no_grad;
  ModeGuard mode(*this);
  eval();
  Generator gen(options.seed);
  std::vector<int64_t> out;
  if (max_new_tokens == 0) return out;

  if (options.use_cache) {
    // Prefill: the whole prompt in one pass fills every layer's cache, positions 0 .. P-1.
    std::vector<KVCache> caches = make_caches(1, P + max_new_tokens);
    Tensor logits = forward_cached(IndexTensor(prompt, {1, P}), caches).logits;       // (1, P, V)
    const float* last = logits.data() + (P - 1) * V;                                   // (V) at position P-1
    for (int64_t i = 0; i < max_new_tokens; ++i) {
      const int64_t next = sample_next(last, V, options, gen);
      out.push_back(next);
      if (i + 1 == max_new_tokens) break;
      // Decode: one new token at position P + i attends to everything cached.
      logits = forward_cached(IndexTensor({next}, {1, 1}), caches).logits;            // (1, 1, V)
      last = logits.data();
    }
  } else {
    // No cache: re-run the whole sequence each step (O(T²) per token instead of O(T)).
    std::vector<int64_t> seq = prompt;
    for (int64_t i = 0; i < max_new_tokens; ++i) {
      const int64_t T = static_cast<int64_t>(seq.size());
      Tensor logits = forward(IndexTensor(seq, {1, T}));                               // (1, T, V)
      const int64_t next = sample_next(logits.data() + (T - 1) * V, V, options, gen);
      out.push_back(next);
      seq.push_back(next);
    }
  }
  return out;
}

}  // namespace attn::models
