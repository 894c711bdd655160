// GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"): a decoder-only
// transformer, written out as nanoGPT writes it, with Hugging Face's parameter names.
//
// Shape legend: B batch, T tokens (≤ block_size), V vocabulary, C = n_embd, H = n_head, Dh = C / H,
// I = n_inner (4·C by default), L = n_layer, P = past tokens already in a KV cache.
//
//   x₀ = wte[ids] + wpe[P .. P+T-1]                              (B, T, C)  token + learned position
//   for each block h.{l}, l = 0 .. L-1 (pre-LayerNorm, residual stream x):
//     q, k, v = split(c_attn(ln_1(x)))                           (B, T, C) each, c_attn: C -> 3C
//     a = merge_heads(softmax(q kᵀ / √Dh + causal) v)            heads (B, H, T, Dh) -> (B, T, C)
//     x = x + c_proj(a)                                          attn.c_proj: C -> C
//     x = x + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))           c_fc: C -> I, c_proj: I -> C
//   logits = ln_f(x) · wteᵀ                                      (B, T, V)  tied with the input embedding
//
// gelu_tanh(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), GPT-2's approximation. Attention goes
// through scaled_dot_product_attention with is_causal, i.e. the fused kernel (attn/attention/flash.h).
//
// Parameters, in this order (HF GPT-2's names without the "transformer." prefix):
//   wte.weight (V, C), wpe.weight (block_size, C),
//   h.{l}.ln_1.weight/bias (C), h.{l}.attn.c_attn.weight (3C, C)/bias (3C),
//   h.{l}.attn.c_proj.weight (C, C)/bias (C), h.{l}.ln_2.weight/bias (C),
//   h.{l}.mlp.c_fc.weight (I, C)/bias (I), h.{l}.mlp.c_proj.weight (C, I)/bias (C),
//   ln_f.weight/bias (C).
//   count = V·C + block_size·C + L·(4C + 3C² + 3C + C² + C + 2·C·I + I + C) + 2C   (with biases)
// There is no lm_head.weight: the output projection *is* wte.weight (weight tying, Press & Wolf 2017).
//
// Loading Hugging Face weights (a later slice): HF's Conv1D stores its weight as (in, out) and computes
// x W + b, whereas our Linear stores (out, in) and computes x Wᵀ + b — so a loader must transpose every
// c_attn, c_proj and c_fc weight; embeddings, LayerNorms and biases copy as they are. Fine-tuned
// checkpoints may also add the "transformer." prefix, a separate lm_head.weight (equal to wte) and the
// attn.bias / attn.masked_bias mask buffers, none of which this model keeps.
//
// Initialisation (GPT-2 / nanoGPT): every Linear and Embedding weight ~ N(0, 0.02²), biases 0, LayerNorm
// γ = 1, β = 0; the two residual projections (attn.c_proj, mlp.c_proj) ~ N(0, (0.02 / √(2L))²) so that
// the residual stream's variance does not grow with depth (each of the 2L blocks adds one term).
//
// Options beyond GPT-2 (GPTConfig::n_kv_head, GPTConfig::rope), as in Llama-style models:
//   grouped-query attention: c_attn projects C -> C + 2·Hkv·Dh (q for H heads, k and v for Hkv heads);
//     query head h reads key/value head h / (H / Hkv) inside the fused kernel (no copies); the KV cache
//     shrinks by H / Hkv.
//   RoPE: no wpe; q and k of the token at position p are rotated by angles p·θ_i (rotate_half layout)
//     after the head split, so q·k depends only on the distance between the two positions.
//
// Dropout (0 by default, as in nanoGPT's fine-tuning config): after the embedding sum (drop), on the
// attention weights, and on each residual branch before it is added (attn.resid_dropout, mlp.dropout).
// Active only in training mode.
//
// For the explanation methods (attn/explain/gpt_explain.h), forward(ids, GPTForwardOptions) can also hand
// back every layer's input (hidden states) and, with `attention_grad`, run attention as the composed
//   A = softmax(q kᵀ / √Dh + causal + key mask),  out = A v        (scaled_dot_product_attention_math)
// so that the (B, H, T, T) weights it returns are the tensor the output was computed from: ∂logit/∂A
// comes out of grad() — Chefer et al.'s relevance needs it. `removed` masks keys: no query attends to a
// removed token in any layer (the perturbation tests of attn/explain/faithfulness.h). Every other path
// (training, generate, the explorer) is the fused kernel, unchanged.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "attn/attention/kv_cache.h"
#include "attn/nn/layers.h"

namespace attn::models {

struct GPTConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  int64_t n_embd = 768;
  int64_t block_size = 1024;  // n_positions: the longest context (rows of wpe)
  int64_t n_inner = 0;        // MLP hidden size; 0 = 4 · n_embd
  float layer_norm_epsilon = 1e-5f;
  float dropout = 0.f;
  bool bias = true;  // biases in every Linear and LayerNorm (GPT-2: true)
  // Beyond GPT-2 (both off by default, so the model is GPT-2 exactly):
  int64_t n_kv_head = 0;       // key/value heads; 0 = n_head (multi-head), 1 = MQA, else GQA (n_head % n_kv_head == 0)
  bool rope = false;           // rotary position embedding on q and k (Su et al. 2021) instead of learned wpe
  float rope_theta = 10000.f;  // RoPE base

  int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  int64_t head_dim() const { return n_embd / n_head; }
  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  // Validates and throws attn::Error naming GPT.
  void validate() const;
};

// What forward(ids, record_attention = true) and forward(ids, GPTForwardOptions) return.
struct GPTOutput {
  Tensor logits;                      // (B, T, V); (B, n, V) with logits_to_keep = n
  std::vector<Tensor> attentions;     // one (B, H, T, P+T) per layer (P = 0 without a cache); empty if not recorded
  std::vector<Tensor> hidden_states;  // with output_hidden_states: the embeddings x₀ (after `drop`), then each
                                      // block's output, L + 1 tensors (B, T, C); the last is before ln_f
                                      // (Hugging Face's last one is after it)
};

// Hook points for interventions (attn/explain/interventions.h: ablation, activation patching), named as
// TransformerLens names them. Each is handed an activation and returns what flows on: the same tensor to
// only read it, or a replacement of the same shape to intervene. Unset hooks cost nothing.
//
//   resid_pre(l, x)  x (B, T, C)      the input of block l (blocks.l.hook_resid_pre); l = n_layer is the
//                                     stream after the last block, before ln_f (ln_final.hook_normalized's input)
//   head_z(l, z)     z (B, H, T, Dh)  every head's attention output A v, before merge_heads and attn.c_proj
//                                     (blocks.l.attn.hook_z): zeroing z[:, h] removes head h exactly
//   mlp_out(l, m)    m (B, T, C)      the MLP's output before it is added to the stream (blocks.l.hook_mlp_out)
//
// Why z and not the head's share of c_proj's output: c_proj(merge(z)) = Σ_h z_h W_Oʰ + b, so the head's
// contribution to the stream is z_h W_Oʰ; replacing z_h is replacing that term, and b stays (as in
// TransformerLens, where ablating every head leaves attn.c_proj's bias).
// One layer's share of GPTHooks, bound to its layer index (GPTHooks::layer).
struct GPTLayerHooks {
  std::function<Tensor(const Tensor&)> head_z, mlp_out;
};

struct GPTHooks {
  std::function<Tensor(int64_t layer, const Tensor& x)> resid_pre;
  std::function<Tensor(int64_t layer, const Tensor& z)> head_z;
  std::function<Tensor(int64_t layer, const Tensor& m)> mlp_out;

  // head_z and mlp_out bound to `layer`, each replacement checked to have its activation's shape (a hook
  // that returns another shape is named in an attn::Error). Refers to *this: it must outlive the result.
  GPTLayerHooks layer(int64_t layer) const;
  // resid_pre(layer, x), checked the same way; x itself when resid_pre is unset.
  Tensor apply_resid_pre(int64_t layer, const Tensor& x) const;
};

// Options of forward(ids, options), as Hugging Face's forward arguments and ViTForwardOptions.
struct GPTForwardOptions {
  bool output_attentions = false;  // record every layer's (B, H, T, T) weights (no gradient through them)
  bool output_hidden_states = false;
  // Attention through the composed path, the returned weights part of the graph (see the header comment);
  // implies output_attentions. Slower than the fused kernel: for explanations only.
  bool attention_grad = false;
  // (B, T), 1 = removed: no query attends to a removed token, in any layer, through either path. The other
  // tokens keep their positions (wpe / RoPE angles), so this is the sequence with those tokens left out
  // and nothing renumbered. A query whose every allowed key is removed (a removed token with no kept token
  // before it) gets zero weights and a zero attention output — finite, its logits meaningless. The last
  // position (column T-1), whose next-token logits an explanation reads, cannot be removed: attn::Error.
  // Undefined: every token takes part.
  Tensor removed;
  // > 0: only the last n positions' logits (Hugging Face's logits_to_keep): (B, n, V) — a batch of
  // perturbed copies needs only the last row, and B·T·V floats add up for a large vocabulary. 0: all.
  int64_t logits_to_keep = 0;
  // Interventions (see GPTHooks); null: none. Not owned; must outlive the call.
  const GPTHooks* hooks = nullptr;
};

// Sampling: logits / temperature -> keep the top_k largest (0 = all) -> keep the smallest set whose
// probability reaches top_p (nucleus; 1 = all) -> softmax -> draw with a Generator seeded by `seed`.
// temperature = 0 is greedy decoding (argmax, the first index among ties).
struct GenerateOptions {
  float temperature = 1.f;
  int64_t top_k = 0;
  float top_p = 1.f;
  uint64_t seed = 0;
  bool use_cache = true;  // incremental decoding with one KVCache per layer; false re-runs the whole prefix
  // Called with each new id as soon as it is drawn (streaming); return false to stop early.
  std::function<bool(int64_t)> on_token;

  GenerateOptions& with_temperature(float v) {
    temperature = v;
    return *this;
  }
  GenerateOptions& greedy() {
    temperature = 0.f;
    return *this;
  }
  GenerateOptions& with_top_k(int64_t v) {
    top_k = v;
    return *this;
  }
  GenerateOptions& with_top_p(float v) {
    top_p = v;
    return *this;
  }
  GenerateOptions& with_seed(uint64_t v) {
    seed = v;
    return *this;
  }
  GenerateOptions& cache(bool v) {
    use_cache = v;
    return *this;
  }
};

// Causal self-attention: c_attn -> split q, k, v -> heads -> sdpa(is_causal) -> merge -> c_proj.
class CausalSelfAttention : public nn::Module {
 public:
  CausalSelfAttention(const GPTConfig& config, Generator& gen, uint64_t dropout_seed);
  // x (B, T, C) -> (B, T, C). With a cache, the T new tokens attend to the P cached ones too and their
  // keys/values are appended (RoPE rotates them for positions P .. P+T-1 first). weights (optional): receives the (B,
  // H, T, P+T) attention weights.
  // grad_path (no cache): the composed softmax(q kᵀ/√Dh + masks) v, *weights the differentiable weights it
  // used. removed (B, T), no cache: keys no query may attend to (1 = removed), or undefined.
  // hooks (optional): head_z is applied to the (B, H, T, Dh) head outputs before merge_heads.
  Tensor forward(const Tensor& x, KVCache* cache = nullptr, Tensor* weights = nullptr, bool grad_path = false,
                 const Tensor& removed = Tensor(), const GPTLayerHooks* hooks = nullptr);
  // The projections forward() attends with: c_attn, split, heads, RoPE for positions past .. past+T-1.
  struct QKV {
    Tensor q;  // (B, H, T, Dh)
    Tensor k;  // (B, Hkv, T, Dh)
    Tensor v;  // (B, Hkv, T, Dh)
  };
  QKV project(const Tensor& x, int64_t past);
  std::string type_name() const override { return "CausalSelfAttention"; }

  int64_t n_head, n_kv_head, n_embd;
  float dropout_p;
  bool rope;
  float rope_theta;
  std::shared_ptr<nn::Linear> c_attn, c_proj;
  std::shared_ptr<nn::Dropout> resid_dropout;

 private:
  Generator attn_dropout_gen_;
};

class GPTMLP : public nn::Module {
 public:
  GPTMLP(const GPTConfig& config, Generator& gen, uint64_t dropout_seed);
  Tensor forward(const Tensor& x);  // (B, T, C) -> (B, T, I) -> (B, T, C)
  std::string type_name() const override { return "GPTMLP"; }

  std::shared_ptr<nn::Linear> c_fc, c_proj;
  std::shared_ptr<nn::Dropout> dropout;
};

class GPTBlock : public nn::Module {
 public:
  GPTBlock(const GPTConfig& config, Generator& gen, uint64_t dropout_seed);
  // x + attn(ln_1(x)), then + mlp(ln_2(·)).  (B, T, C) -> (B, T, C). grad_path, removed: as CausalSelfAttention;
  // hooks: head_z inside attention, mlp_out on the MLP's output before the residual add.
  Tensor forward(const Tensor& x, KVCache* cache = nullptr, Tensor* weights = nullptr, bool grad_path = false,
                 const Tensor& removed = Tensor(), const GPTLayerHooks* hooks = nullptr);
  std::string type_name() const override { return "GPTBlock"; }

  std::shared_ptr<nn::LayerNorm> ln_1, ln_2;
  std::shared_ptr<CausalSelfAttention> attn;
  std::shared_ptr<GPTMLP> mlp;
};

class GPT : public nn::Module {
 public:
  // Parameters drawn from `gen` (GPT-2 init, above); dropout masks from generators seeded by dropout_seed.
  GPT(const GPTConfig& config, Generator& gen, uint64_t dropout_seed = 0);

  // ids (B, T) with 0 <= id < V and T <= block_size -> logits (B, T, V).
  Tensor forward(const IndexTensor& ids);
  // The same, also recording every layer's (B, H, T, T) attention weights when record_attention is set.
  // Recording costs nothing when off; when on, the weights come from the fused kernel's log-sum-exp
  // (inference) or, while gradients are recorded, from a second attention pass under NoGradGuard — the
  // recorded weights never carry gradients.
  GPTOutput forward(const IndexTensor& ids, bool record_attention);
  // The same with the explanation options above (differentiable attention, removed tokens, hidden states).
  // With default options it is forward(ids, false), the same kernels and the same numbers.
  GPTOutput forward(const IndexTensor& ids, const GPTForwardOptions& options);
  // Incremental forward with one cache per layer (make_caches): the T new tokens sit at positions
  // P .. P+T-1, P = caches[0].size(), and P + T must stay <= block_size. Appends to every cache.
  GPTOutput forward_cached(const IndexTensor& ids, std::vector<KVCache>& caches, bool record_attention = false);
  std::vector<KVCache> make_caches(int64_t batch, int64_t max_len = 0) const;  // max_len 0 = block_size

  // What layer `layer`'s attention compares, for inspection (the explorer's neuron view): the queries
  // (B, H, T, Dh) and keys (B, Hkv, T, Dh) computed from ln_1 of that layer's input, after RoPE if any.
  // Runs without gradients. weights = softmax(q kᵀ / √Dh + causal) reproduces forward's attention.
  std::pair<Tensor, Tensor> queries_and_keys(const IndexTensor& ids, int64_t layer);

  // Mean next-token cross-entropy: ids (B, T), targets (B, T) (usually ids shifted left by one).
  // Targets equal to -100 are ignored.
  Tensor loss(const IndexTensor& ids, const IndexTensor& targets);

  // Autoregressive generation from one prompt (its ids, non-empty): returns the max_new_tokens new ids.
  // Runs without gradients and in eval mode (restoring the mode it found).
  //
  // Sliding context: the model sees at most block_size tokens. When the next step would exceed that, the
  // window jumps forward by half a context: only the last block_size / 2 (rounded up) tokens are kept
  // and, with the cache, re-run once as a new prefill (amortised: one prefill every block_size / 2 new
  // tokens, instead of a full forward for every token as nanoGPT's crop does). Both paths (cache or not)
  // use exactly the same windows, so greedy decoding gives the same tokens with and without the cache.
  // A prompt longer than block_size keeps only its last block_size tokens.
  std::vector<int64_t> generate(const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                                const GenerateOptions& options = GenerateOptions());

  // Picks the next token from one row of logits (V) with the options above; exposed for tests/tools.
  static int64_t sample_next(const float* logits, int64_t vocab_size, const GenerateOptions& options, Generator& gen);

  const GPTConfig& config() const { return config_; }
  std::string type_name() const override { return "GPT"; }

  // The context window generate() uses after `len` tokens (prompt + generated): [start, len).
  static int64_t window_start(int64_t len, int64_t block_size, int64_t current_start);

  std::shared_ptr<nn::Embedding> wte, wpe;  // wpe is null with config.rope
  std::vector<std::shared_ptr<GPTBlock>> h;
  std::shared_ptr<nn::LayerNorm> ln_f;
  std::shared_ptr<nn::Dropout> drop;

 private:
  void check_ids(const IndexTensor& ids, int64_t past, const char* op) const;
  // wte[ids] + wpe[past .. past+T-1] (just wte with RoPE): (B, T, C), before dropout.
  Tensor embed(const IndexTensor& ids, int64_t past);
  GPTOutput run(const IndexTensor& ids, std::vector<KVCache>* caches, const GPTForwardOptions& options);

  GPTConfig config_;
};

}  // namespace attn::models
