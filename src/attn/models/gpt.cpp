#include "attn/models/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attn/attention/multihead.h"
#include "attn/attention/positional.h"
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

}  // namespace

void GPTConfig::validate() const {
  ATTN_CHECK(vocab_size > 0 && n_layer > 0 && n_head > 0 && n_embd > 0 && block_size > 0, "GPT",
             "vocab_size, n_layer, n_head, n_embd and block_size must be positive (got "
                 << vocab_size << ", " << n_layer << ", " << n_head << ", " << n_embd << ", " << block_size << ")");
  ATTN_CHECK(n_embd % n_head == 0, "GPT", "n_embd = " << n_embd << " is not divisible by n_head = " << n_head);
  ATTN_CHECK(n_inner >= 0, "GPT", "n_inner = " << n_inner << " must be >= 0 (0 means 4 * n_embd)");
  ATTN_CHECK(dropout >= 0.f && dropout < 1.f, "GPT", "dropout = " << dropout << " must be in [0, 1)");
  ATTN_CHECK(layer_norm_epsilon > 0.f, "GPT", "layer_norm_epsilon must be positive");
  ATTN_CHECK(n_kv_head >= 0 && (n_kv_head == 0 || n_head % n_kv_head == 0), "GPT",
             "n_kv_head = " << n_kv_head << " must divide n_head = " << n_head << " (0 means n_head)");
  ATTN_CHECK(!rope || head_dim() % 2 == 0, "GPT",
             "RoPE needs an even head dimension, got n_embd / n_head = " << head_dim());
  ATTN_CHECK(!rope || rope_theta > 0.f, "GPT", "rope_theta must be positive");
}

// ---- CausalSelfAttention -------------------------------------------------------------------------------

CausalSelfAttention::CausalSelfAttention(const GPTConfig& config, Generator& gen, uint64_t dropout_seed)
    : n_head(config.n_head),
      n_kv_head(config.kv_heads()),
      n_embd(config.n_embd),
      dropout_p(config.dropout),
      rope(config.rope),
      rope_theta(config.rope_theta) {
  const int64_t kv_width = n_kv_head * config.head_dim();  // C for multi-head attention
  c_attn = register_module("c_attn", std::make_shared<nn::Linear>(n_embd, n_embd + 2 * kv_width, gen, config.bias));
  c_proj = register_module("c_proj", std::make_shared<nn::Linear>(n_embd, n_embd, gen, config.bias));
  resid_dropout = register_module("resid_dropout", std::make_shared<nn::Dropout>(config.dropout));
  resid_dropout->generator() = Generator(dropout_seed, kAttnResid);
  attn_dropout_gen_ = Generator(dropout_seed, kAttnWeights);
}

CausalSelfAttention::QKV CausalSelfAttention::project(const Tensor& x, int64_t past) {
  // x (B, T, C)
  const int64_t kv_width = n_kv_head * (n_embd / n_head);     // Hkv·Dh (= C without GQA)
  Tensor qkv = c_attn->forward(x);                            // (B, T, C + 2·Hkv·Dh)
  const int64_t Dh = n_embd / n_head;                         // heads read their columns of qkv
  QKV r{split_heads(qkv, n_head, Dh, 0),                      // q (B, H, T, Dh)
        split_heads(qkv, n_kv_head, Dh, n_embd),              // k (B, Hkv, T, Dh)
        split_heads(qkv, n_kv_head, Dh, n_embd + kv_width)};  // v (B, Hkv, T, Dh)
  if (rope) {                                                 // rotate for positions P .. P+T-1
    RopeTables tables = rope_tables(r.q.shape()[2], r.q.shape()[3], rope_theta, false, past);
    r.q = apply_rotary_embedding(r.q, tables);
    r.k = apply_rotary_embedding(r.k, tables);
  }
  return r;
}

Tensor CausalSelfAttention::forward(const Tensor& x, KVCache* cache, Tensor* weights, bool grad_path,
                                    const Tensor& removed, const GPTLayerHooks* hooks) {
  const bool hook_z = hooks != nullptr && static_cast<bool>(hooks->head_z);
  ATTN_CHECK(cache == nullptr || (!grad_path && !removed.defined()), "CausalSelfAttention",
             "differentiable weights and removed tokens are for a whole sequence, not a KV cache");
  auto [q, k, v] = project(x, cache ? cache->size() : 0);  // (B, H, T, Dh), 2 × (B, Hkv, T, Dh)

  SdpaOptions opts;
  opts.causal();                                 // token i sees keys j <= i (+ P)
  if (removed.defined()) opts.padding(removed);  // ... but never a removed one
  if (is_training() && dropout_p > 0.f) opts.dropout(dropout_p, &attn_dropout_gen_);
  if (grad_path) {
    // The composed path: the weights handed back are the very tensor the output is computed from, so
    // grad() reaches them (GQA repeats k and v per query head inside, RoPE was applied by project()).
    AttentionOutput att = scaled_dot_product_attention_math(q, k, v, opts.weights());  // (B, H, T, Dh)
    *weights = att.weights;                                                            // (B, H, T, T), in the graph
    Tensor z = hook_z ? hooks->head_z(att.output) : att.output;                        // (B, H, T, Dh)
    return resid_dropout->forward(c_proj->forward(nn::merge_heads(z)));                // (B, T, C)
  }
  // Inference: the fused kernel hands back the weights from its log-sum-exp, at no extra pass.
  const bool weights_in_same_pass = weights != nullptr && !grad_enabled();
  if (weights_in_same_pass) opts.weights();

  AttentionOutput att = cache ? attention_with_kv_cache(q, k, v, *cache, opts)  // (B, H, T, Dh), S = P+T
                              : scaled_dot_product_attention(q, k, v, opts);    // (B, H, T, Dh), S = T
  if (weights != nullptr) {
    if (weights_in_same_pass) {
      *weights = att.weights;  // (B, H, T, S)
    } else {
      // Training with recording on: a second, gradient-free pass for the weights only, so the
      // differentiable path above stays the fused one.
      SdpaOptions w = SdpaOptions().causal();
      if (removed.defined()) w.padding(removed);
      *weights = attention_weights_no_grad(q, cache ? cache->keys() : k, w);  // (B, H, T, S)
    }
  }
  Tensor y = nn::merge_heads(hook_z ? hooks->head_z(att.output) : att.output);  // (B, H, T, Dh) -> (B, T, C)
  return resid_dropout->forward(c_proj->forward(y));                            // (B, T, C)
}

// ---- MLP ------------------------------------------------------------------------------------------------

GPTMLP::GPTMLP(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) {
  c_fc = register_module("c_fc", std::make_shared<nn::Linear>(config.n_embd, config.inner(), gen, config.bias));
  c_proj = register_module("c_proj", std::make_shared<nn::Linear>(config.inner(), config.n_embd, gen, config.bias));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(config.dropout));
  dropout->generator() = Generator(dropout_seed, kMlp);
}

Tensor GPTMLP::forward(const Tensor& x) {
  Tensor hidden = gelu(c_fc->forward(x), "tanh");    // (B, T, I)
  return dropout->forward(c_proj->forward(hidden));  // (B, T, C)
}

// ---- Block ----------------------------------------------------------------------------------------------

GPTBlock::GPTBlock(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) {
  ln_1 = register_module("ln_1",
                         std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon, true, config.bias));
  attn = register_module("attn", std::make_shared<CausalSelfAttention>(config, gen, dropout_seed));
  ln_2 = register_module("ln_2",
                         std::make_shared<nn::LayerNorm>(config.n_embd, config.layer_norm_epsilon, true, config.bias));
  mlp = register_module("mlp", std::make_shared<GPTMLP>(config, gen, dropout_seed));
}

Tensor GPTBlock::forward(const Tensor& x, KVCache* cache, Tensor* weights, bool grad_path, const Tensor& removed,
                         const GPTLayerHooks* hooks) {
  Tensor r = x + attn->forward(ln_1->forward(x), cache, weights, grad_path, removed,
                               hooks);        // (B, T, C)  residual += attention
  Tensor m = mlp->forward(ln_2->forward(r));  // (B, T, C)
  if (hooks != nullptr && hooks->mlp_out) m = hooks->mlp_out(m);
  return r + m;  // (B, T, C)  residual += MLP
}

// ---- GPT ------------------------------------------------------------------------------------------------

GPT::GPT(const GPTConfig& config, Generator& gen, uint64_t dropout_seed) : config_(config) {
  config_.validate();
  const GPTConfig& c = config_;
  wte = register_module("wte", std::make_shared<nn::Embedding>(c.vocab_size, c.n_embd, gen));
  if (!c.rope) wpe = register_module("wpe", std::make_shared<nn::Embedding>(c.block_size, c.n_embd, gen));
  drop = register_module("drop", std::make_shared<nn::Dropout>(c.dropout));
  drop->generator() = Generator(dropout_seed, kEmbd);
  // HF's nn.ModuleList "h": a plain container whose children are named "0", "1", …
  auto blocks = register_module("h", std::make_shared<nn::Module>());
  for (int64_t l = 0; l < c.n_layer; ++l) {
    h.push_back(
        blocks->register_module(std::to_string(l), std::make_shared<GPTBlock>(c, gen, dropout_seed + 1000 * (l + 1))));
  }
  ln_f = register_module("ln_f", std::make_shared<nn::LayerNorm>(c.n_embd, c.layer_norm_epsilon, true, c.bias));

  // GPT-2 initialisation (see the header). LayerNorms keep γ = 1, β = 0 from their constructor.
  nn::init::normal_(wte->weight, 0.f, kInitStd, gen);
  if (wpe) nn::init::normal_(wpe->weight, 0.f, kInitStd, gen);
  const float proj_std = kInitStd / std::sqrt(2.f * static_cast<float>(c.n_layer));
  for (auto& block : h) {
    for (nn::Linear* lin :
         {block->attn->c_attn.get(), block->attn->c_proj.get(), block->mlp->c_fc.get(), block->mlp->c_proj.get()}) {
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

Tensor GPT::embed(const IndexTensor& ids, int64_t past) {
  const int64_t T = ids.shape[1];
  std::vector<int64_t> pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = past + t;
  Tensor x = wte->forward(ids);                     // (B, T, C)
  if (wpe) x = x + wpe->forward(IndexTensor(pos));  // + (T, C)  positions P .. P+T-1
  return x;                                         // (RoPE: positions enter in attention)
}

namespace {
// A hook's replacement must have the activation's shape; anything else is a caller's bug, named here.
Tensor checked_hook(const std::function<Tensor(int64_t, const Tensor&)>& hook, int64_t layer, const Tensor& t,
                    const char* name) {
  Tensor r = hook(layer, t);
  ATTN_CHECK(r.defined() && r.shape() == t.shape(), "GPTHooks",
             name << " at layer " << layer << " returned "
                  << (r.defined() ? shape_str(r.shape()) : std::string("an undefined tensor"))
                  << " for an activation of shape " << shape_str(t.shape()));
  return r;
}
}  // namespace

GPTLayerHooks GPTHooks::layer(int64_t l) const {
  GPTLayerHooks lh;
  if (head_z) lh.head_z = [this, l](const Tensor& z) { return checked_hook(head_z, l, z, "head_z"); };
  if (mlp_out) lh.mlp_out = [this, l](const Tensor& m) { return checked_hook(mlp_out, l, m, "mlp_out"); };
  return lh;
}

Tensor GPTHooks::apply_resid_pre(int64_t l, const Tensor& x) const {
  return resid_pre ? checked_hook(resid_pre, l, x, "resid_pre") : x;
}

GPTOutput GPT::run(const IndexTensor& ids, std::vector<KVCache>* caches, const GPTForwardOptions& o) {
  const int64_t past = caches ? (*caches)[0].size() : 0;  // P
  Tensor x = drop->forward(embed(ids, past));             // (B, T, C)

  const bool record = o.output_attentions || o.attention_grad;
  GPTOutput out;
  if (record) out.attentions.resize(h.size());
  const GPTHooks* hooks = o.hooks;
  for (size_t l = 0; l < h.size(); ++l) {
    KVCache* cache = caches ? &(*caches)[l] : nullptr;
    const auto layer = static_cast<int64_t>(l);
    if (hooks) x = hooks->apply_resid_pre(layer, x);
    if (o.output_hidden_states) out.hidden_states.push_back(x);  // block l's input (x₀ for l = 0)
    const GPTLayerHooks lh = hooks ? hooks->layer(layer) : GPTLayerHooks();
    x = h[l]->forward(x, cache, record ? &out.attentions[l] : nullptr, o.attention_grad, o.removed,
                      hooks ? &lh : nullptr);  // (B, T, C)
  }
  if (hooks) x = hooks->apply_resid_pre(static_cast<int64_t>(h.size()), x);
  if (o.output_hidden_states) out.hidden_states.push_back(x);  // the last block's output, before ln_f
  const int64_t T = ids.shape[1];
  if (o.logits_to_keep > 0 && o.logits_to_keep < T) x = slice(x, 1, T - o.logits_to_keep, T);  // (B, n, C)
  x = ln_f->forward(x);                              // (B, T, C), or (B, n, C)
  out.logits = matmul(x, wte->weight, false, true);  // (B, T, C) · (V, C)ᵀ -> (B, T, V)
  return out;
}

Tensor GPT::forward(const IndexTensor& ids) { return forward(ids, false).logits; }

GPTOutput GPT::forward(const IndexTensor& ids, bool record_attention) {
  check_ids(ids, 0, "GPT::forward");
  GPTForwardOptions o;
  o.output_attentions = record_attention;
  return run(ids, nullptr, o);
}

GPTOutput GPT::forward(const IndexTensor& ids, const GPTForwardOptions& options) {
  constexpr const char* op = "GPT::forward";
  check_ids(ids, 0, op);
  const int64_t B = ids.shape[0], T = ids.shape[1];
  ATTN_CHECK(options.logits_to_keep >= 0, op,
             "logits_to_keep = " << options.logits_to_keep << " must be >= 0 (0 = all)");
  const Tensor& removed = options.removed;
  if (removed.defined()) {
    ATTN_CHECK(removed.dim() == 2 && removed.size(0) == B && removed.size(1) == T, op,
               "removed must be (B, T) = (" << B << ", " << T << "), got " << shape_str(removed.shape()));
    const float* m = removed.data();
    for (int64_t i = 0; i < removed.numel(); ++i)
      ATTN_CHECK(m[i] == 0.f || m[i] == 1.f, op,
                 "removed must hold 0 (kept) or 1 (removed), got " << m[i] << " at (b = " << i / T << ", t = " << i % T
                                                                   << ")");
    for (int64_t b = 0; b < B; ++b)
      ATTN_CHECK(
          m[b * T + T - 1] == 0.f, op,
          "removed: the last position (column "
              << T - 1 << ", row " << b
              << ") cannot be removed: "
                 "its output is the prediction being explained, and with no key left it would attend to nothing");
  }
  return run(ids, nullptr, options);
}

GPTOutput GPT::forward_cached(const IndexTensor& ids, std::vector<KVCache>& caches, bool record_attention) {
  ATTN_CHECK(caches.size() == h.size(), "GPT::forward_cached",
             "expected one cache per layer (" << h.size() << "), got " << caches.size());
  check_ids(ids, caches[0].size(), "GPT::forward_cached");
  ATTN_CHECK(ids.shape[0] == caches[0].batch, "GPT::forward_cached",
             "ids have batch " << ids.shape[0] << " but the caches were made for batch " << caches[0].batch);
  GPTForwardOptions o;
  o.output_attentions = record_attention;
  return run(ids, &caches, o);
}

std::pair<Tensor, Tensor> GPT::queries_and_keys(const IndexTensor& ids, int64_t layer) {
  ATTN_CHECK(layer >= 0 && layer < config_.n_layer, "GPT::queries_and_keys",
             "layer " << layer << " is out of range [0, " << config_.n_layer << ")");
  check_ids(ids, 0, "GPT::queries_and_keys");
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);  // generate() runs in eval mode
  eval();
  Tensor x = embed(ids, 0);  // (B, T, C)
  for (int64_t l = 0; l < layer; ++l) x = h[static_cast<size_t>(l)]->forward(x);
  GPTBlock& block = *h[static_cast<size_t>(layer)];
  CausalSelfAttention::QKV p = block.attn->project(block.ln_1->forward(x), 0);
  return {p.q, p.k};  // (B, H, T, Dh), (B, Hkv, T, Dh)
}

std::vector<KVCache> GPT::make_caches(int64_t batch, int64_t max_len) const {
  const int64_t len = max_len > 0 ? std::min(max_len, config_.block_size) : config_.block_size;
  return make_kv_caches(config_.n_layer, batch, config_.kv_heads(), len, config_.head_dim());
}

Tensor GPT::loss(const IndexTensor& ids, const IndexTensor& targets) {
  ATTN_CHECK(targets.shape == ids.shape, "GPT::loss",
             "targets " << shape_str(targets.shape) << " must have the shape of ids " << shape_str(ids.shape));
  Tensor logits = forward(ids);                                    // (B, T, V)
  return cross_entropy(reshape(logits, {-1, config_.vocab_size}),  // (B·T, V)
                       IndexTensor(targets.data));                 // (B·T)
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
  const double u = static_cast<double>(gen.uniform()) * total;  // U[0, total)
  double cum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return order[i];
  }
  return order[n - 1];  // rounding left u just past the last kept candidate
}

int64_t GPT::window_start(int64_t len, int64_t block_size, int64_t current_start) {
  if (len - current_start <= block_size) return current_start;  // still fits
  return len - (block_size + 1) / 2;                            // jump: keep the last ⌈block_size / 2⌉
}

std::vector<int64_t> GPT::generate(const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                   const GenerateOptions& options) {
  constexpr const char* op = "GPT::generate";
  ATTN_CHECK(!prompt.empty(), op, "the prompt is empty (give at least one token)");
  ATTN_CHECK(max_new_tokens >= 0, op, "max_new_tokens = " << max_new_tokens << " must be >= 0");
  const int64_t V = config_.vocab_size, block = config_.block_size;
  for (size_t i = 0; i < prompt.size(); ++i) {
    ATTN_CHECK(prompt[i] >= 0 && prompt[i] < V, op,
               "prompt token " << i << " = " << prompt[i] << " is out of range [0, " << V << ")");
  }
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);  // generate() runs in eval mode
  eval();
  Generator gen(options.seed);
  std::vector<int64_t> seq = prompt;  // prompt + every generated token
  std::vector<int64_t> out;
  if (max_new_tokens == 0) return out;

  // The window [start, seq.size()) the next forward sees; a prompt longer than the context keeps its tail.
  int64_t start = std::max<int64_t>(0, static_cast<int64_t>(seq.size()) - block);
  auto window = [&](int64_t from) {  // seq[from ..] as a (1, n) batch
    std::vector<int64_t> w(seq.begin() + from, seq.end());
    const auto n = static_cast<int64_t>(w.size());
    return IndexTensor(std::move(w), {1, n});
  };
  std::vector<KVCache> caches;
  if (options.use_cache) caches = make_caches(1, block);
  Tensor logits;              // (1, T, V): the last row predicts the next token
  int64_t cached_start = -1;  // the window start the caches were filled for
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    const auto len = static_cast<int64_t>(seq.size());
    start = window_start(len, block, start);
    if (!options.use_cache) {
      logits = forward(window(start));  // the whole window again: O(T²) per token
    } else if (cached_start != start) {
      // Prefill (first step, or the window jumped): the whole window in one pass fills every cache.
      for (KVCache& c : caches) c.reset();
      logits = forward_cached(window(start), caches).logits;
      cached_start = start;
    } else {
      // Decode: only the newest token, attending to everything cached: O(T) per token.
      logits = forward_cached(window(len - 1), caches).logits;  // (1, 1, V)
    }
    const int64_t T = logits.shape()[1];
    const int64_t next = sample_next(logits.data() + (T - 1) * V, V, options, gen);
    out.push_back(next);
    seq.push_back(next);
    if (options.on_token && !options.on_token(next)) break;
  }
  return out;
}

}  // namespace attn::models
