#include "attn/models/transformer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "attn/attention/multihead.h"
#include "attn/attention/positional.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace attn::models {

namespace {

// Dropout generators: each layer has its own seed (derived from the model's dropout seed), each dropout
// site its own stream, so masks differ between sites and depend on nothing else.
enum DropoutStream : uint64_t {
  kSrcEmbed = 1,
  kTgtEmbed = 2,
  kFF = 3,
  kResid1 = 4,
  kResid2 = 5,
  kResid3 = 6,
  kSelfAttn = 7,
  kCrossAttn = 8
};

std::shared_ptr<nn::MultiheadAttention> make_attention(const TransformerConfig& c, Generator& gen, uint64_t seed,
                                                       uint64_t stream) {
  auto mha = std::make_shared<nn::MultiheadAttention>(
      c.d_model, c.nhead, gen, nn::MultiheadAttentionOptions().with_batch_first(true).with_dropout(c.dropout));
  mha->dropout_gen = Generator(seed, stream);
  return mha;
}

std::shared_ptr<nn::Dropout> make_dropout(float p, uint64_t seed, uint64_t stream) {
  auto d = std::make_shared<nn::Dropout>(p);
  d->generator() = Generator(seed, stream);
  return d;
}

Tensor activate(const Tensor& x, const std::string& activation) { return activation == "gelu" ? gelu(x) : relu(x); }

// Runs `mha` and, when `weights` is given, records its per-head weights (B, H, L, S) without changing the
// result: at inference the fused kernel returns them from the same pass; while gradients are recorded they
// come from a second, gradient-free pass (no dropout), so that the differentiable path stays the fused one.
// grad_path (explanations): mha's own parameters applied by hand around the composed
//   A = softmax(q kᵀ/√Dh + masks) (B, H, L, S),  out = out_proj(merge_heads(A v))
// — the weights handed back are the tensor the output is computed from, so grad() reaches them.
Tensor attend(nn::MultiheadAttention& mha, const Tensor& query, const Tensor& memory, const Tensor& padding,
              bool causal, Tensor* weights, bool grad_path = false) {
  if (grad_path) {
    ATTN_CHECK(weights != nullptr, "Transformer", "the composed attention path hands back its weights: pass `weights`");
    const bool self = query.impl() == memory.impl();
    const auto [q, k, v] =
        self ? mha.project_qkv(query)  // (B, H, L, Dh) each
             : std::array<Tensor, 3>{mha.project_q(query), mha.project_k(memory), mha.project_v(memory)};
    SdpaOptions opts = SdpaOptions().padding(padding).causal(causal).weights();
    if (mha.dropout_p > 0.f && mha.is_training()) opts.dropout(mha.dropout_p, &mha.dropout_gen);
    AttentionOutput a = scaled_dot_product_attention_math(q, k, v, opts);  // (B, H, L, Dh)
    *weights = a.weights;                                                  // (B, H, L, S), in the graph
    return mha.out_proj->forward(nn::merge_heads(a.output));               // (B, L, D)
  }
  const bool same_pass = weights != nullptr && !grad_enabled();
  AttentionOutput a = mha.forward(query, memory, memory,
                                  nn::MhaForward().padding(padding).causal(causal).weights(same_pass).average(false));
  if (weights == nullptr) return a.output;
  if (same_pass) {
    *weights = a.weights;
  } else {  // training with recording on: the weights from a second, gradient-free pass
    NoGradGuard no_grad;
    *weights = attention_weights_no_grad(mha.project_q(query), mha.project_k(memory),  // (B, H, L, S)
                                         SdpaOptions().padding(padding).causal(causal));
  }
  return a.output;
}

}  // namespace

void TransformerConfig::validate() const {
  const char* op = "Transformer";
  ATTN_CHECK(src_vocab > 0 && tgt_vocab > 0, op,
             "src_vocab and tgt_vocab must be positive (got " << src_vocab << ", " << tgt_vocab << ")");
  ATTN_CHECK(!share_embeddings || src_vocab == tgt_vocab, op,
             "share_embeddings needs one vocabulary: src_vocab = " << src_vocab << " != tgt_vocab = " << tgt_vocab);
  ATTN_CHECK(d_model > 0 && nhead > 0 && dim_feedforward > 0 && max_len > 0, op,
             "d_model, nhead, dim_feedforward and max_len must be positive (got "
                 << d_model << ", " << nhead << ", " << dim_feedforward << ", " << max_len << ")");
  ATTN_CHECK(d_model % nhead == 0, op, "d_model = " << d_model << " is not divisible by nhead = " << nhead);
  ATTN_CHECK(num_encoder_layers > 0 && num_decoder_layers > 0, op,
             "num_encoder_layers and num_decoder_layers must be positive (got " << num_encoder_layers << ", "
                                                                                << num_decoder_layers << ")");
  ATTN_CHECK(dropout >= 0.f && dropout < 1.f, op, "dropout = " << dropout << " must be in [0, 1)");
  ATTN_CHECK(activation == "relu" || activation == "gelu", op,
             "activation must be \"relu\" or \"gelu\", got \"" << activation << "\"");
  ATTN_CHECK(layer_norm_eps > 0.f, op, "layer_norm_eps must be positive");
  ATTN_CHECK(
      pad_id >= 0 && pad_id < src_vocab && pad_id < tgt_vocab, op,
      "pad_id = " << pad_id << " is out of range for src_vocab = " << src_vocab << ", tgt_vocab = " << tgt_vocab);
  ATTN_CHECK(bos_id >= 0 && bos_id < tgt_vocab && eos_id >= 0 && eos_id < tgt_vocab, op,
             "bos_id = " << bos_id << " and eos_id = " << eos_id << " must be in [0, tgt_vocab = " << tgt_vocab << ")");
  ATTN_CHECK(bos_id != pad_id && eos_id != pad_id, op,
             "bos_id and eos_id must differ from pad_id = " << pad_id << " (padding is masked out)");
}

// ---- OutputProjection ---------------------------------------------------------------------------------

OutputProjection::OutputProjection(Tensor w) { weight = register_parameter("weight", std::move(w)); }

Tensor OutputProjection::forward(const Tensor& x) const { return linear(x, weight); }  // (..., D) -> (..., V)

std::string OutputProjection::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << weight.size(1) << ", out_features=" << weight.size(0) << ", bias=False";
  return os.str();
}

// ---- encoder layer ------------------------------------------------------------------------------------

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerConfig& c, Generator& gen, uint64_t seed)
    : norm_first(c.norm_first), activation(c.activation) {
  // torch's registration order: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
  self_attn = register_module("self_attn", make_attention(c, gen, seed, kSelfAttn));
  linear1 = register_module("linear1", std::make_shared<nn::Linear>(c.d_model, c.dim_feedforward, gen));
  dropout = register_module("dropout", make_dropout(c.dropout, seed, kFF));
  linear2 = register_module("linear2", std::make_shared<nn::Linear>(c.dim_feedforward, c.d_model, gen));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(c.d_model, c.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(c.d_model, c.layer_norm_eps));
  dropout1 = register_module("dropout1", make_dropout(c.dropout, seed, kResid1));
  dropout2 = register_module("dropout2", make_dropout(c.dropout, seed, kResid2));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& src_padding, Tensor* weights, bool grad_path) {
  auto sa = [&](const Tensor& h) {  // (B, S, D) -> (B, S, D); weights (B, H, S, S)
    return dropout1->forward(attend(*self_attn, h, h, src_padding, false, weights, grad_path));
  };
  auto ff = [&](const Tensor& h) {  // D -> F -> D
    return dropout2->forward(linear2->forward(dropout->forward(activate(linear1->forward(h), activation))));
  };
  if (norm_first) {
    Tensor r = x + sa(norm1->forward(x));
    return r + ff(norm2->forward(r));
  }
  Tensor r = norm1->forward(x + sa(x));
  return norm2->forward(r + ff(r));
}

// ---- decoder layer ------------------------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerConfig& c, Generator& gen, uint64_t seed)
    : norm_first(c.norm_first), activation(c.activation) {
  // torch's order: self_attn, multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3.
  self_attn = register_module("self_attn", make_attention(c, gen, seed, kSelfAttn));
  multihead_attn = register_module("multihead_attn", make_attention(c, gen, seed, kCrossAttn));
  linear1 = register_module("linear1", std::make_shared<nn::Linear>(c.d_model, c.dim_feedforward, gen));
  dropout = register_module("dropout", make_dropout(c.dropout, seed, kFF));
  linear2 = register_module("linear2", std::make_shared<nn::Linear>(c.dim_feedforward, c.d_model, gen));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(c.d_model, c.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(c.d_model, c.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<nn::LayerNorm>(c.d_model, c.layer_norm_eps));
  dropout1 = register_module("dropout1", make_dropout(c.dropout, seed, kResid1));
  dropout2 = register_module("dropout2", make_dropout(c.dropout, seed, kResid2));
  dropout3 = register_module("dropout3", make_dropout(c.dropout, seed, kResid3));
}

Tensor TransformerDecoderLayer::feed_forward(const Tensor& x) {
  return dropout3->forward(linear2->forward(dropout->forward(activate(linear1->forward(x), activation))));
}

Tensor TransformerDecoderLayer::forward(const Tensor& y, const Tensor& memory, const Tensor& tgt_padding,
                                        const Tensor& src_padding, Tensor* self_weights, Tensor* cross_weights,
                                        bool grad_path) {
  auto sa = [&](const Tensor& h) {  // causal self-attention over the target: (B, T, D); weights (B, H, T, T)
    return dropout1->forward(attend(*self_attn, h, h, tgt_padding, true, self_weights, grad_path));
  };
  auto ca = [&](const Tensor& h) {  // cross-attention: target queries, memory keys/values; weights (B, H, T, S)
    return dropout2->forward(attend(*multihead_attn, h, memory, src_padding, false, cross_weights, grad_path));
  };
  return residual_block(y, sa, ca);
}

Tensor TransformerDecoderLayer::residual_block(const Tensor& y, const std::function<Tensor(const Tensor&)>& sa,
                                               const std::function<Tensor(const Tensor&)>& ca) {
  if (norm_first) {
    Tensor r = y + sa(norm1->forward(y));
    r = r + ca(norm2->forward(r));
    return r + feed_forward(norm3->forward(r));
  }
  Tensor r = norm1->forward(y + sa(y));
  r = norm2->forward(r + ca(r));
  return norm3->forward(r + feed_forward(r));
}

Tensor TransformerDecoderLayer::forward_step(const Tensor& y, DecoderState::Layer& cache, const Tensor& src_padding,
                                             Tensor* cross_weights) {
  // The same computation as forward() for the newest position only, with self_attn's and multihead_attn's
  // own parameters applied by hand so that keys and values can be cached.
  auto sa = [&](const Tensor& h) {                                             // h (B, 1, D)
    const auto [q, k, v] = self_attn->project_qkv(h);                          // 3 × (B, H, 1, Dh)
    cache.self_k = cache.self_k.defined() ? concat({cache.self_k, k}, 2) : k;  // (B, H, t, Dh)
    cache.self_v = cache.self_v.defined() ? concat({cache.self_v, v}, 2) : v;
    // The newest token may see every earlier one: no causal mask needed for a single query.
    AttentionOutput a = scaled_dot_product_attention(q, cache.self_k, cache.self_v);    // (B, H, 1, Dh)
    return dropout1->forward(self_attn->out_proj->forward(nn::merge_heads(a.output)));  // (B, 1, D)
  };
  auto ca = [&](const Tensor& h) {
    Tensor q = multihead_attn->project_q(h);  // (B, H, 1, Dh)
    AttentionOutput a = scaled_dot_product_attention(
        q, cache.cross_k, cache.cross_v, SdpaOptions().padding(src_padding).weights(cross_weights != nullptr));
    if (cross_weights) *cross_weights = a.weights;  // (B, H, 1, S)
    return dropout2->forward(multihead_attn->out_proj->forward(nn::merge_heads(a.output)));
  };
  return residual_block(y, sa, ca);
}

// ---- Transformer --------------------------------------------------------------------------------------

Transformer::Transformer(const TransformerConfig& config, Generator& gen, uint64_t dropout_seed) : config_(config) {
  config_.validate();
  const TransformerConfig& c = config_;
  const int64_t D = c.d_model;
  src_embed = register_module("src_embed", std::make_shared<nn::Embedding>(c.src_vocab, D, gen, c.pad_id));
  tgt_embed = c.share_embeddings ? src_embed : std::make_shared<nn::Embedding>(c.tgt_vocab, D, gen, c.pad_id);
  register_module("tgt_embed", tgt_embed);  // the same module twice when shared: both names in the state dict

  // torch's nn.ModuleList "layers" inside TransformerEncoder / TransformerDecoder: children "0", "1", …
  encoder = register_module("encoder", std::make_shared<nn::Module>());
  auto enc_layers = encoder->register_module("layers", std::make_shared<nn::Module>());
  for (int64_t i = 0; i < c.num_encoder_layers; ++i)
    encoder_layers.push_back(enc_layers->register_module(
        std::to_string(i), std::make_shared<TransformerEncoderLayer>(c, gen, dropout_seed + 1000 * (i + 1))));
  encoder_norm = encoder->register_module("norm", std::make_shared<nn::LayerNorm>(D, c.layer_norm_eps));

  decoder = register_module("decoder", std::make_shared<nn::Module>());
  auto dec_layers = decoder->register_module("layers", std::make_shared<nn::Module>());
  for (int64_t i = 0; i < c.num_decoder_layers; ++i)
    decoder_layers.push_back(dec_layers->register_module(
        std::to_string(i), std::make_shared<TransformerDecoderLayer>(c, gen, dropout_seed + 100000 + 1000 * (i + 1))));
  decoder_norm = decoder->register_module("norm", std::make_shared<nn::LayerNorm>(D, c.layer_norm_eps));

  generator = register_module(
      "generator",
      std::make_shared<OutputProjection>(c.share_embeddings ? src_embed->weight : Tensor::empty({c.tgt_vocab, D})));
  src_dropout = register_module("src_dropout", make_dropout(c.dropout, dropout_seed, kSrcEmbed));
  tgt_dropout = register_module("tgt_dropout", make_dropout(c.dropout, dropout_seed, kTgtEmbed));

  // Initialisation (see the header).
  for (auto* part : {encoder.get(), decoder.get()})
    for (auto& [name, p] : part->named_parameters())
      if (p.dim() > 1) nn::init::xavier_uniform_(p, gen);
  const float embed_std = 1.f / std::sqrt(static_cast<float>(D));
  NoGradGuard no_grad;
  std::vector<nn::Embedding*> tables = {src_embed.get()};
  if (!c.share_embeddings) tables.push_back(tgt_embed.get());
  for (nn::Embedding* e : tables) {
    nn::init::normal_(e->weight, 0.f, embed_std, gen);
    std::fill_n(e->weight.data() + c.pad_id * D, D, 0.f);  // the padding row
  }
  if (!c.share_embeddings) nn::init::normal_(generator->weight, 0.f, embed_std, gen);

  pe_ = sinusoidal_encoding(c.max_len, D);  // (max_len, D)
}

void Transformer::check_ids(const IndexTensor& ids, int64_t vocab, const char* what, const char* op) const {
  ATTN_CHECK(ids.dim() == 2 && ids.shape[0] > 0 && ids.shape[1] > 0, op,
             what << " must be (B, L) token ids with B, L >= 1, got " << shape_str(ids.shape));
  const int64_t L = ids.shape[1];
  ATTN_CHECK(L <= config_.max_len, op,
             what << " has " << L << " tokens, more than max_len = " << config_.max_len << " (the positional table)");
  for (int64_t i = 0; i < ids.numel(); ++i)
    ATTN_CHECK(ids.data[i] >= 0 && ids.data[i] < vocab, op,
               what << " token id " << ids.data[i] << " at (b = " << i / L << ", t = " << i % L
                    << ") is out of range [0, " << vocab << ")");
}

Tensor Transformer::padding_mask(const IndexTensor& ids) const {
  const int64_t n = ids.numel();
  if (std::none_of(ids.data.begin(), ids.data.end(), [&](int64_t id) { return id == config_.pad_id; })) return Tensor();
  Tensor m = Tensor::zeros(ids.shape);  // (B, L)
  for (int64_t i = 0; i < n; ++i) m.data()[i] = ids.data[i] == config_.pad_id ? 1.f : 0.f;
  return m;
}

Tensor Transformer::embed(const IndexTensor& ids, nn::Embedding& table, nn::Dropout& drop, int64_t start) const {
  const int64_t L = ids.shape[1];
  Tensor x = table.forward(ids) * std::sqrt(static_cast<float>(config_.d_model));  // (B, L, D)
  x = x + slice(pe_, 0, start, start + L);                                         // + (L, D) positions
  return drop.forward(x);
}

TransformerMemory Transformer::encode(const IndexTensor& src, bool record_attention) {
  TransformerForwardOptions o;
  o.output_attentions = record_attention;
  return encode(src, o);
}

TransformerMemory Transformer::encode(const IndexTensor& src, const TransformerForwardOptions& o) {
  check_ids(src, config_.src_vocab, "src", "Transformer::encode");
  const bool record_attention = o.record();
  TransformerMemory m;
  m.src_padding = padding_mask(src);                   // (B, S) or undefined
  Tensor x = embed(src, *src_embed, *src_dropout, 0);  // (B, S, D)
  if (record_attention) m.encoder_attentions.resize(encoder_layers.size());
  for (size_t i = 0; i < encoder_layers.size(); ++i)
    x = encoder_layers[i]->forward(x, m.src_padding, record_attention ? &m.encoder_attentions[i] : nullptr,
                                   o.attention_grad);
  m.memory = encoder_norm->forward(x);  // (B, S, D)
  return m;
}

TransformerOutput Transformer::decode(const IndexTensor& tgt_in, const TransformerMemory& memory,
                                      bool record_attention) {
  TransformerForwardOptions o;
  o.output_attentions = record_attention;
  return decode(tgt_in, memory, o);
}

TransformerOutput Transformer::decode(const IndexTensor& tgt_in, const TransformerMemory& memory,
                                      const TransformerForwardOptions& o) {
  constexpr const char* op = "Transformer::decode";
  const bool record_attention = o.record();
  check_ids(tgt_in, config_.tgt_vocab, "tgt_in", op);
  ATTN_CHECK(memory.memory.defined() && memory.memory.dim() == 3 && memory.memory.size(0) == tgt_in.shape[0], op,
             "the memory's batch does not match tgt_in's " << tgt_in.shape[0]);
  const Tensor tgt_padding = padding_mask(tgt_in);        // (B, T) or undefined
  Tensor y = embed(tgt_in, *tgt_embed, *tgt_dropout, 0);  // (B, T, D)
  TransformerOutput out;
  if (record_attention) {
    out.decoder_attentions.resize(decoder_layers.size());
    out.cross_attentions.resize(decoder_layers.size());
    out.encoder_attentions = memory.encoder_attentions;
  }
  for (size_t i = 0; i < decoder_layers.size(); ++i)
    y = decoder_layers[i]->forward(y, memory.memory, tgt_padding, memory.src_padding,
                                   record_attention ? &out.decoder_attentions[i] : nullptr,
                                   record_attention ? &out.cross_attentions[i] : nullptr, o.attention_grad);
  out.logits = generator->forward(decoder_norm->forward(y));  // (B, T, Vt)
  return out;
}

Tensor Transformer::forward(const IndexTensor& src, const IndexTensor& tgt_in) {
  return forward(src, tgt_in, false).logits;
}

TransformerOutput Transformer::forward(const IndexTensor& src, const IndexTensor& tgt_in, bool record_attention) {
  TransformerForwardOptions o;
  o.output_attentions = record_attention;
  return forward(src, tgt_in, o);
}

TransformerOutput Transformer::forward(const IndexTensor& src, const IndexTensor& tgt_in,
                                       const TransformerForwardOptions& o) {
  ATTN_CHECK(src.dim() == 2 && tgt_in.dim() == 2 && src.shape[0] == tgt_in.shape[0], "Transformer::forward",
             "src " << shape_str(src.shape) << " and tgt_in " << shape_str(tgt_in.shape)
                    << " must be (B, S) and (B, T) with the same B");
  return decode(tgt_in, encode(src, o), o);
}

Tensor Transformer::loss(const IndexTensor& src, const IndexTensor& tgt_in, const IndexTensor& tgt_out,
                         float label_smoothing) {
  constexpr const char* op = "Transformer::loss";
  ATTN_CHECK(tgt_out.shape == tgt_in.shape, op,
             "tgt_out " << shape_str(tgt_out.shape) << " must have the shape of tgt_in " << shape_str(tgt_in.shape));
  ATTN_CHECK(label_smoothing >= 0.f && label_smoothing < 1.f, op,
             "label_smoothing = " << label_smoothing << " must be in [0, 1)");
  check_ids(tgt_out, config_.tgt_vocab, "tgt_out", op);
  Tensor logits = forward(src, tgt_in);  // (B, T, Vt)
  return cross_entropy(reshape(logits, {-1, config_.tgt_vocab}), IndexTensor(tgt_out.data),
                       CrossEntropyOptions().ignore(config_.pad_id).smoothing(label_smoothing));
}

// ---- incremental decoding -----------------------------------------------------------------------------

DecoderState Transformer::start_decoding(const TransformerMemory& memory, bool use_cache) {
  ATTN_CHECK(memory.memory.defined() && memory.memory.dim() == 3, "Transformer::start_decoding",
             "memory must be encode()'s result");
  NoGradGuard no_grad;
  DecoderState s;
  s.memory = memory;
  s.use_cache = use_cache;
  s.prefix.resize(static_cast<size_t>(memory.memory.size(0)));
  if (use_cache) {
    s.layers.resize(decoder_layers.size());
    for (size_t i = 0; i < decoder_layers.size(); ++i) {
      const nn::MultiheadAttention& cross = *decoder_layers[i]->multihead_attn;
      s.layers[i].cross_k = cross.project_k(memory.memory);  // (B, H, S, Dh)
      s.layers[i].cross_v = cross.project_v(memory.memory);  // (B, H, S, Dh)
    }
  }
  return s;
}

Tensor Transformer::decode_step(DecoderState& state, const std::vector<int64_t>& tokens,
                                std::vector<Tensor>* cross_weights) {
  constexpr const char* op = "Transformer::decode_step";
  const int64_t B = state.batch(), t = state.length();
  ATTN_CHECK(static_cast<int64_t>(tokens.size()) == B, op,
             "expected one token per row (" << B << "), got " << tokens.size());
  ATTN_CHECK(t < config_.max_len, op, "position " << t << " is past max_len = " << config_.max_len);
  for (size_t b = 0; b < tokens.size(); ++b)
    ATTN_CHECK(tokens[b] >= 0 && tokens[b] < config_.tgt_vocab, op,
               "token id " << tokens[b] << " (row " << b << ") is out of range [0, " << config_.tgt_vocab << ")");
  NoGradGuard no_grad;
  for (size_t b = 0; b < tokens.size(); ++b) state.prefix[b].push_back(tokens[b]);
  const int64_t V = config_.tgt_vocab;
  if (!state.use_cache) {  // the whole prefix again; the last row predicts the next token
    std::vector<int64_t> ids;
    for (const auto& row : state.prefix) ids.insert(ids.end(), row.begin(), row.end());
    TransformerOutput out = decode(IndexTensor(ids, {B, t + 1}), state.memory, cross_weights != nullptr);
    if (cross_weights) {
      cross_weights->clear();
      for (const Tensor& w : out.cross_attentions) cross_weights->push_back(slice(w, 2, t, t + 1));  // (B, H, 1, S)
    }
    return reshape(slice(out.logits, 1, t, t + 1), {B, V});
  }
  Tensor y = embed(IndexTensor(tokens, {B, 1}), *tgt_embed, *tgt_dropout, t);  // (B, 1, D) at position t
  if (cross_weights) cross_weights->assign(decoder_layers.size(), Tensor());
  for (size_t i = 0; i < decoder_layers.size(); ++i)
    y = decoder_layers[i]->forward_step(y, state.layers[i], state.memory.src_padding,
                                        cross_weights ? &(*cross_weights)[i] : nullptr);
  return reshape(generator->forward(decoder_norm->forward(y)), {B, V});
}

void Transformer::reorder(DecoderState& state, const std::vector<int64_t>& rows) const {
  const int64_t B = state.batch();
  for (int64_t r : rows)
    ATTN_CHECK(r >= 0 && r < B, "Transformer::reorder", "row " << r << " is out of range [0, " << B << ")");
  NoGradGuard no_grad;
  const IndexTensor idx(rows);
  auto pick = [&](Tensor& t) {
    if (t.defined()) t = index_select(t, 0, idx);
  };
  for (DecoderState::Layer& l : state.layers) {
    pick(l.self_k), pick(l.self_v), pick(l.cross_k), pick(l.cross_v);
  }
  pick(state.memory.memory);
  pick(state.memory.src_padding);
  state.memory.encoder_attentions.clear();
  std::vector<std::vector<int64_t>> prefix;
  for (int64_t r : rows) prefix.push_back(state.prefix[static_cast<size_t>(r)]);
  state.prefix = std::move(prefix);
}

std::vector<Hypothesis> Transformer::greedy_decode(const IndexTensor& src, int64_t max_len, bool use_cache) {
  constexpr const char* op = "Transformer::greedy_decode";
  ATTN_CHECK(max_len >= 1 && max_len <= config_.max_len, op,
             "max_len = " << max_len << " must be in [1, config.max_len = " << config_.max_len << "]");
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);
  eval();
  DecoderState state = start_decoding(encode(src), use_cache);
  const int64_t B = state.batch(), V = config_.tgt_vocab;
  std::vector<Hypothesis> out(static_cast<size_t>(B));
  std::vector<int64_t> next(static_cast<size_t>(B), config_.bos_id);
  int64_t live = B;
  for (int64_t step = 0; step < max_len && live > 0; ++step) {
    Tensor logp = log_softmax(decode_step(state, next), 1);  // (B, V)
    for (int64_t b = 0; b < B; ++b) {
      Hypothesis& h = out[static_cast<size_t>(b)];
      if (h.finished) continue;
      const float* row = logp.data() + b * V;
      int64_t best = -1;  // first argmax, never pad
      for (int64_t v = 0; v < V; ++v)
        if (v != config_.pad_id && (best < 0 || row[v] > row[best])) best = v;
      h.log_prob += row[best];
      next[static_cast<size_t>(b)] = best;
      if (best == config_.eos_id) {
        h.finished = true;
        --live;
      } else {
        h.tokens.push_back(best);
      }
    }
  }
  for (Hypothesis& h : out) h.score = h.log_prob;
  return out;
}

std::vector<Hypothesis> Transformer::beam_search(const IndexTensor& src, const BeamSearchOptions& o) {
  constexpr const char* op = "Transformer::beam_search";
  ATTN_CHECK(src.dim() == 2 && src.shape[0] == 1, op,
             "beam search takes one source (1, S), got " << shape_str(src.shape));
  ATTN_CHECK(o.max_len >= 1 && o.max_len <= config_.max_len, op,
             "max_len = " << o.max_len << " must be in [1, config.max_len = " << config_.max_len << "]");
  NoGradGuard no_grad;
  nn::ModeGuard mode(*this);
  eval();
  DecoderState state = start_decoding(encode(src), o.use_cache);
  bool first = true;
  auto step = [&](const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens) {
    if (!first) reorder(state, parents);
    first = false;
    return decode_step(state, tokens);
  };
  return models::beam_search(step, config_.tgt_vocab, config_.bos_id, config_.eos_id, config_.pad_id, o, op);
}

}  // namespace attn::models
