#include "attn/models/vit.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "attn/attention/multihead.h"
#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"
#include "attn/io/safetensors.h"
#include "attn/nn/init.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::models {

namespace {

constexpr const char* kOp = "ViT";

enum DropoutStream : uint64_t { kEmbeddings = 1, kAttnWeights = 2, kAttnOutput = 3, kMlpOutput = 4 };

std::shared_ptr<nn::Linear> make_linear(int64_t in, int64_t out, const ViTConfig& c, Generator& gen, bool bias = true) {
  return make_vit_linear(in, out, c.initializer_range, gen, bias);
}

std::shared_ptr<nn::LayerNorm> make_norm(const ViTConfig& c) {
  return std::make_shared<nn::LayerNorm>(c.hidden_size, c.layer_norm_eps);
}

}  // namespace

void trunc_normal_(Tensor& t, float std, Generator& gen) {
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) {
    float z = gen.normal();
    while (std::fabs(z) > 2.f) z = gen.normal();
    p[i] = z * std;
  }
}

std::shared_ptr<nn::Linear> make_vit_linear(int64_t in, int64_t out, float std, Generator& gen, bool bias) {
  auto l = std::make_shared<nn::Linear>(in, out, gen, bias);
  trunc_normal_(l->weight, std, gen);
  if (l->bias.defined()) nn::init::zeros_(l->bias);
  return l;
}

std::string ViTConfig::label(int64_t k) const {
  if (k >= 0 && k < static_cast<int64_t>(id2label.size())) return id2label[k];
  return "LABEL_" + std::to_string(k);
}

void ViTConfig::validate() const {
  ATTN_CHECK(image_size > 0 && patch_size > 0 && num_channels > 0 && hidden_size > 0 && num_hidden_layers > 0 &&
                 num_attention_heads > 0 && intermediate_size > 0 && num_labels > 0,
             kOp,
             "image_size, patch_size, num_channels, hidden_size, num_hidden_layers, num_attention_heads, "
             "intermediate_size and num_labels must all be positive");
  ATTN_CHECK(image_size % patch_size == 0, kOp,
             "image_size " << image_size << " is not a multiple of patch_size " << patch_size);
  ATTN_CHECK(hidden_size % num_attention_heads == 0, kOp,
             "hidden_size " << hidden_size << " is not divisible by num_attention_heads " << num_attention_heads);
  ATTN_CHECK(hidden_act == "gelu" || hidden_act == "gelu_pytorch_tanh" || hidden_act == "gelu_new", kOp,
             "hidden_act \"" << hidden_act << "\" is not supported (gelu, gelu_pytorch_tanh, gelu_new)");
  ATTN_CHECK(layer_norm_eps > 0.f, kOp, "layer_norm_eps must be positive");
  ATTN_CHECK(hidden_dropout_prob >= 0.f && hidden_dropout_prob < 1.f && attention_probs_dropout_prob >= 0.f &&
                 attention_probs_dropout_prob < 1.f,
             kOp, "dropout probabilities must be in [0, 1)");
  // Upper bounds, so that a hostile or mistyped config.json cannot ask for terabytes before any weight is read.
  ATTN_CHECK(image_size <= 4096 && num_channels <= 16 && hidden_size <= 16384 && intermediate_size <= 65536 &&
                 num_hidden_layers <= 256 && num_attention_heads <= 1024 && num_labels <= (int64_t{1} << 20),
             kOp,
             "sizes beyond what this ViT supports (image_size <= 4096, num_channels <= 16, hidden_size <= 16384, "
             "intermediate_size <= 65536, num_hidden_layers <= 256, num_attention_heads <= 1024, num_labels <= 2^20)");
  {
    const double D = static_cast<double>(hidden_size), T = static_cast<double>(seq_len());
    const double params = num_hidden_layers * (4 * D * D + 2 * D * intermediate_size) + T * D +
                          D * num_channels * patch_size * patch_size + D * num_labels;
    ATTN_CHECK(params <= 4e9, kOp,
               "this configuration has ~" << params / 1e9
                                          << " billion parameters, more than the 4 billion "
                                             "this ViT supports");
  }
  ATTN_CHECK(id2label.empty() || static_cast<int64_t>(id2label.size()) == num_labels, kOp,
             "id2label names " << id2label.size() << " classes but num_labels is " << num_labels);
}

// ---- patches ---------------------------------------------------------------------------------------------

Tensor patchify(const Tensor& images, int64_t P) {
  ATTN_CHECK(images.dim() == 4, "patchify", "images must be (B, C, H, W), got " << shape_str(images.shape()));
  const int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  ATTN_CHECK(P > 0 && H % P == 0 && W % P == 0, "patchify",
             "image " << H << "x" << W << " is not a whole number of " << P << "x" << P << " patches");
  const int64_t gh = H / P, gw = W / P;
  Tensor x = reshape(images, {B, C, gh, P, gw, P});  // (B, C, gh, P, gw, P)
  x = permute(x, {0, 2, 4, 1, 3, 5});                // (B, gh, gw, C, P, P)
  return reshape(x, {B, gh * gw, C * P * P});        // (B, N, C·P·P)
}

PatchConv2d::PatchConv2d(int64_t in, int64_t out, int64_t P, Generator& gen, float init_std)
    : in_channels(in), out_channels(out), patch_size(P) {
  weight = register_parameter("weight", Tensor::empty({out, in, P, P}));
  bias = register_parameter("bias", Tensor::zeros({out}));
  trunc_normal_(weight, init_std, gen);
}

Tensor PatchConv2d::forward(const Tensor& images) {
  ATTN_CHECK(images.dim() == 4 && images.size(1) == in_channels, "Conv2d",
             "expected images (B, " << in_channels << ", H, W), got " << shape_str(images.shape()));
  const Tensor w = reshape(weight, {out_channels, in_channels * patch_size * patch_size});  // (D, C·P·P)
  return linear(patchify(images, patch_size), w, bias);                                     // (B, N, D)
}

// ---- embeddings ------------------------------------------------------------------------------------------

ViTPatchEmbeddings::ViTPatchEmbeddings(const ViTConfig& c, Generator& gen) {
  projection = register_module("projection", std::make_shared<PatchConv2d>(c.num_channels, c.hidden_size, c.patch_size,
                                                                           gen, c.initializer_range));
}

ViTEmbeddings::ViTEmbeddings(const ViTConfig& c, Generator& gen) {
  cls_token = register_parameter("cls_token", Tensor::empty({1, 1, c.hidden_size}));
  trunc_normal_(cls_token, c.initializer_range, gen);
  position_embeddings = register_parameter("position_embeddings", Tensor::empty({1, c.seq_len(), c.hidden_size}));
  trunc_normal_(position_embeddings, c.initializer_range, gen);
  patch_embeddings = register_module("patch_embeddings", std::make_shared<ViTPatchEmbeddings>(c, gen));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
}

Tensor ViTEmbeddings::forward(const Tensor& images) {
  Tensor patches = patch_embeddings->forward(images);  // (B, N, D)
  const int64_t B = patches.size(0), D = patches.size(2);
  Tensor cls = cls_token + Tensor::zeros({B, 1, D});           // (B, 1, D): the same token for all
  Tensor x = concat({cls, patches}, 1) + position_embeddings;  // (B, T, D)
  return dropout->forward(x);
}

// ---- attention -------------------------------------------------------------------------------------------

ViTSelfAttention::ViTSelfAttention(const ViTConfig& c, Generator& gen, uint64_t dropout_seed)
    : num_heads(c.num_attention_heads),
      head_dim(c.head_dim()),
      dropout_p(c.attention_probs_dropout_prob),
      dropout_gen_(dropout_seed, kAttnWeights) {
  query = register_module("query", make_linear(c.hidden_size, c.hidden_size, c, gen, c.qkv_bias));
  key = register_module("key", make_linear(c.hidden_size, c.hidden_size, c, gen, c.qkv_bias));
  value = register_module("value", make_linear(c.hidden_size, c.hidden_size, c, gen, c.qkv_bias));
}

Tensor ViTSelfAttention::forward(const Tensor& x, Tensor* weights, bool grad_path, const Tensor& removed) {
  Tensor q = split_heads(query->forward(x), num_heads, head_dim);  // (B, Hh, T, Dh)
  Tensor k = split_heads(key->forward(x), num_heads, head_dim);    // (B, Hh, T, Dh)
  Tensor v = split_heads(value->forward(x), num_heads, head_dim);  // (B, Hh, T, Dh)
  SdpaOptions opts;                                                // no mask: every patch sees every patch
  if (removed.defined()) opts.padding(removed);                    // ... unless some are left out
  if (is_training() && dropout_p > 0.f) opts.dropout(dropout_p, &dropout_gen_);
  AttentionOutput att;
  if (grad_path) {
    // The composed path: the weights returned are the tensor the output is computed from.
    att = scaled_dot_product_attention_math(q, k, v, opts.weights());
    *weights = att.weights;
  } else {
    const bool same_pass = weights != nullptr && !grad_enabled();  // the fused kernel returns them at no cost
    if (same_pass) opts.weights();
    att = scaled_dot_product_attention(q, k, v, opts);
    if (weights != nullptr) {
      if (same_pass) {
        *weights = att.weights;
      } else {  // training with recording on: a gradient-free second pass, as GPT does
        NoGradGuard no_grad;
        SdpaOptions w = SdpaOptions().weights();
        if (removed.defined()) w.padding(removed);
        *weights = scaled_dot_product_attention(q.detach(), k.detach(), v.detach(), w).weights;
      }
    }
  }
  return merge_heads(att.output);  // (B, T, D)
}

ViTSelfOutput::ViTSelfOutput(const ViTConfig& c, Generator& gen, uint64_t dropout_seed) {
  dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size, c, gen));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
  dropout->generator() = Generator(dropout_seed, kAttnOutput);
}

ViTAttention::ViTAttention(const ViTConfig& c, Generator& gen, uint64_t dropout_seed) {
  attention = register_module("attention", std::make_shared<ViTSelfAttention>(c, gen, dropout_seed));
  output = register_module("output", std::make_shared<ViTSelfOutput>(c, gen, dropout_seed));
}

// ---- MLP and layer ---------------------------------------------------------------------------------------

ViTIntermediate::ViTIntermediate(const ViTConfig& c, Generator& gen)
    : approximate(c.hidden_act == "gelu" ? "none" : "tanh") {
  dense = register_module("dense", make_linear(c.hidden_size, c.intermediate_size, c, gen));
}

Tensor ViTIntermediate::forward(const Tensor& x) { return gelu(dense->forward(x), approximate); }

ViTOutput::ViTOutput(const ViTConfig& c, Generator& gen, uint64_t dropout_seed) {
  dense = register_module("dense", make_linear(c.intermediate_size, c.hidden_size, c, gen));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
  dropout->generator() = Generator(dropout_seed, kMlpOutput);
}

ViTLayer::ViTLayer(const ViTConfig& c, Generator& gen, uint64_t dropout_seed) {
  // Hugging Face registers them in this order: attention, intermediate, output, then the two norms.
  attention = register_module("attention", std::make_shared<ViTAttention>(c, gen, dropout_seed));
  intermediate = register_module("intermediate", std::make_shared<ViTIntermediate>(c, gen));
  output = register_module("output", std::make_shared<ViTOutput>(c, gen, dropout_seed));
  layernorm_before = register_module("layernorm_before", make_norm(c));
  layernorm_after = register_module("layernorm_after", make_norm(c));
}

Tensor ViTLayer::forward(const Tensor& x, Tensor* weights, bool grad_path, const Tensor& removed) {
  Tensor h = attention->forward(layernorm_before->forward(x), weights, grad_path, removed) + x;  // (B, T, D)
  return output->forward(intermediate->forward(layernorm_after->forward(h)), h);                 // (B, T, D)
}

ViTModel::ViTModel(const ViTConfig& c, Generator& gen, uint64_t dropout_seed) {
  embeddings = register_module("embeddings", std::make_shared<ViTEmbeddings>(c, gen));
  embeddings->dropout->generator() = Generator(dropout_seed, kEmbeddings);
  auto encoder = register_module("encoder", std::make_shared<nn::Module>());
  auto layers = encoder->register_module("layer", std::make_shared<nn::Module>());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    layer.push_back(
        layers->register_module(std::to_string(l), std::make_shared<ViTLayer>(c, gen, dropout_seed + 1000 * (l + 1))));
  layernorm = register_module("layernorm", make_norm(c));
}

// ---- the classifier --------------------------------------------------------------------------------------

ViTForImageClassification::ViTForImageClassification(const ViTConfig& config, Generator& gen, uint64_t dropout_seed)
    : config_(config) {
  config_.validate();
  vit = register_module("vit", std::make_shared<ViTModel>(config_, gen, dropout_seed));
  classifier = register_module("classifier", make_linear(config_.hidden_size, config_.num_labels, config_, gen));
}

void ViTForImageClassification::check_images(const Tensor& images) const {
  const ViTConfig& c = config_;
  ATTN_CHECK(images.defined() && images.dim() == 4 && images.size(1) == c.num_channels &&
                 images.size(2) == c.image_size && images.size(3) == c.image_size,
             kOp,
             "expected images (B, " << c.num_channels << ", " << c.image_size << ", " << c.image_size << "), got "
                                    << (images.defined() ? shape_str(images.shape()) : std::string("none")));
}

Tensor ViTForImageClassification::forward(const Tensor& images) { return forward(images, {}).logits; }

ImageClassifierOutput ViTForImageClassification::forward(const Tensor& images, const ViTForwardOptions& options) {
  check_images(images);
  const Tensor& removed = options.removed;
  if (removed.defined()) {
    ATTN_CHECK(removed.dim() == 2 && removed.size(0) == images.size(0) && removed.size(1) == config_.seq_len(), kOp,
               "removed must be (B, T) = (" << images.size(0) << ", " << config_.seq_len() << "), got "
                                            << shape_str(removed.shape()));
    for (int64_t b = 0; b < removed.size(0); ++b)
      ATTN_CHECK(removed.data()[b * removed.size(1)] == 0.f, kOp,
                 "the CLS token (column 0 of removed) cannot be removed");
  }
  const bool record = options.output_attentions || options.attention_grad;
  ImageClassifierOutput out;
  Tensor x = vit->embeddings->forward(images);  // (B, T, D)
  if (options.output_hidden_states) out.hidden_states.push_back(x);
  for (auto& l : vit->layer) {
    Tensor w;
    x = l->forward(x, record ? &w : nullptr, options.attention_grad, removed);  // (B, T, D)
    if (record) out.attentions.push_back(w);                                    // (B, Hh, T, T)
    if (options.output_hidden_states) out.hidden_states.push_back(x);
  }
  Tensor cls = squeeze(slice(vit->layernorm->forward(x), 1, 0, 1), 1);  // (B, D): the CLS token
  out.logits = classifier->forward(cls);                                // (B, K)
  return out;
}

Tensor ViTForImageClassification::loss(const Tensor& images, const IndexTensor& labels, float label_smoothing) {
  ATTN_CHECK(labels.dim() == 1 && images.defined() && labels.numel() == images.size(0), kOp,
             "labels must be (B) with B = " << (images.defined() ? images.size(0) : 0));
  for (int64_t v : labels.data)
    ATTN_CHECK(v >= 0 && v < config_.num_labels, kOp, "label " << v << " outside 0.." << config_.num_labels - 1);
  return cross_entropy(forward(images), labels, CrossEntropyOptions().smoothing(label_smoothing));
}

ViTEvaluation evaluate_vit(ViTForImageClassification& model, const data::ImageDataset& data, const ImagePreprocess& pp,
                           int64_t limit) {
  const int64_t n = limit < 0 ? data.size() : std::min(limit, data.size());
  ATTN_CHECK(n > 0, kOp, "nothing to evaluate (" << data.size() << " images, limit " << limit << ")");
  NoGradGuard no_grad;
  nn::ModeGuard mode(model);
  model.eval();
  const int64_t K = model.config().num_labels, chunk = 500;
  ViTEvaluation r;
  r.confusion.assign(static_cast<size_t>(K), std::vector<int64_t>(static_cast<size_t>(K), 0));
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += chunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(chunk, n - start)));
    std::iota(idx.begin(), idx.end(), start);
    const data::ImageBatch b = data::make_image_batch(data, idx, pp.image_mean[0], pp.image_std[0]);
    const Tensor logits = model.forward(b.images);  // (B, K)
    loss_sum += cross_entropy(logits, b.labels, CrossEntropyOptions().reduce("sum")).item();
    const float* l = logits.data();
    for (size_t i = 0; i < idx.size(); ++i) {
      const int64_t truth = b.labels[static_cast<int64_t>(i)];
      const int64_t pred = std::max_element(l + i * K, l + (i + 1) * K) - (l + i * K);
      correct += pred == truth;
      ++r.confusion[truth][pred];
    }
  }
  r.loss = loss_sum / static_cast<double>(n);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return r;
}

// ---- folders ---------------------------------------------------------------------------------------------

namespace {

json read_json_file(const fs::path& p, const char* what) { return io::read_json_object(p.string(), kOp, what); }

json config_json(const ViTConfig& c) {
  json id2label = json::object(), label2id = json::object();
  for (int64_t k = 0; k < c.num_labels; ++k) {
    id2label[std::to_string(k)] = c.label(k);
    label2id[c.label(k)] = k;
  }
  return {{"architectures", {"ViTForImageClassification"}},
          {"model_type", "vit"},
          {"image_size", c.image_size},
          {"patch_size", c.patch_size},
          {"num_channels", c.num_channels},
          {"hidden_size", c.hidden_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"intermediate_size", c.intermediate_size},
          {"hidden_act", c.hidden_act},
          {"layer_norm_eps", c.layer_norm_eps},
          {"hidden_dropout_prob", c.hidden_dropout_prob},
          {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
          {"initializer_range", c.initializer_range},
          {"qkv_bias", c.qkv_bias},
          {"id2label", id2label},
          {"label2id", label2id}};
}

ViTConfig config_from(const json& j, const std::string& path) {
  ViTConfig c;
  try {
    ATTN_CHECK(j.value("model_type", std::string("vit")) == "vit", kOp,
               path << ": model_type \"" << j.value("model_type", std::string()) << "\" is not a ViT");
    c.image_size = j.value("image_size", int64_t{224});
    c.patch_size = j.value("patch_size", int64_t{16});
    c.num_channels = j.value("num_channels", int64_t{3});
    c.hidden_size = j.value("hidden_size", int64_t{768});
    c.num_hidden_layers = j.value("num_hidden_layers", int64_t{12});
    c.num_attention_heads = j.value("num_attention_heads", int64_t{12});
    c.intermediate_size = j.value("intermediate_size", int64_t{3072});
    c.hidden_act = j.value("hidden_act", std::string("gelu"));
    c.layer_norm_eps = j.value("layer_norm_eps", 1e-12f);
    c.hidden_dropout_prob = j.value("hidden_dropout_prob", 0.f);
    c.attention_probs_dropout_prob = j.value("attention_probs_dropout_prob", 0.f);
    c.initializer_range = j.value("initializer_range", 0.02f);
    c.qkv_bias = j.value("qkv_bias", true);
    if (j.contains("id2label")) {
      const json& m = j.at("id2label");
      c.num_labels = static_cast<int64_t>(m.size());
      c.id2label.assign(m.size(), "");
      for (auto it = m.begin(); it != m.end(); ++it) {
        const int64_t k = std::stoll(it.key());
        ATTN_CHECK(k >= 0 && k < c.num_labels, kOp,
                   path << ": id2label key " << it.key() << " is not in 0.." << c.num_labels - 1);
        c.id2label[k] = it.value().get<std::string>();
      }
    } else {
      c.num_labels = j.value("num_labels", int64_t{2});
    }
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, path << ": " << e.what());
  } catch (const std::invalid_argument&) {
    ATTN_FAIL(kOp, path << ": id2label keys must be integers");
  }
  c.validate();
  return c;
}

std::vector<float> per_channel(const json& j, const char* key, std::vector<float> fallback, int64_t channels,
                               const std::string& path) {
  std::vector<float> v = fallback;
  if (j.contains(key))
    v = j.at(key).is_array() ? j.at(key).get<std::vector<float>>() : std::vector<float>{j.at(key).get<float>()};
  if (v.size() == 1 && channels > 1) v.assign(static_cast<size_t>(channels), v[0]);
  ATTN_CHECK(static_cast<int64_t>(v.size()) == channels, kOp,
             path << ": " << key << " has " << v.size() << " values for " << channels << " channels");
  return v;
}

}  // namespace

LoadedViT load_vit(const std::string& dir) {
  const fs::path cfg_path = fs::path(dir) / "config.json";
  ATTN_CHECK(fs::is_directory(dir) && fs::exists(cfg_path), kOp,
             "no ViT model in " << dir << " (config.json missing; train one with: attn train vit --out DIR)");
  const json cj = read_json_file(cfg_path, "the model's configuration");
  LoadedViT out;
  out.dir = dir;
  const ViTConfig c = config_from(cj, cfg_path.string());
  // The weights are read before the model is built: a folder without them fails before any allocation.
  const fs::path weights = fs::path(dir) / "model.safetensors";
  ATTN_CHECK(fs::exists(weights), kOp, "no weights in " << dir << " (model.safetensors missing)");
  io::SafeTensors file = io::load_safetensors(weights.string());

  ImagePreprocess& pp = out.preprocess;
  pp.height = pp.width = c.image_size;
  pp.do_resize = true;
  pp.image_mean.assign(static_cast<size_t>(c.num_channels), 0.5f);  // ViTImageProcessor's defaults
  pp.image_std.assign(static_cast<size_t>(c.num_channels), 0.5f);
  const fs::path pp_path = fs::path(dir) / "preprocessor_config.json";
  if (fs::exists(pp_path)) {
    const json pj = read_json_file(pp_path, "the image preprocessing");
    try {
      if (pj.contains("size")) {
        const json& s = pj.at("size");
        if (s.is_object()) {
          pp.height = s.value("height", s.value("shortest_edge", c.image_size));
          pp.width = s.value("width", s.value("shortest_edge", c.image_size));
        } else {
          pp.height = pp.width = s.get<int64_t>();
        }
      }
      pp.do_resize = pj.value("do_resize", true);
      pp.rescale_factor = pj.value("do_rescale", true) ? pj.value("rescale_factor", 1.f / 255.f) : 1.f;
      if (pj.value("do_normalize", true)) {
        pp.image_mean = per_channel(pj, "image_mean", pp.image_mean, c.num_channels, pp_path.string());
        pp.image_std = per_channel(pj, "image_std", pp.image_std, c.num_channels, pp_path.string());
      } else {
        pp.image_mean.assign(static_cast<size_t>(c.num_channels), 0.f);
        pp.image_std.assign(static_cast<size_t>(c.num_channels), 1.f);
      }
    } catch (const json::exception& e) {
      ATTN_FAIL(kOp, pp_path.string() << ": " << e.what());
    }
    ATTN_CHECK(pp.height == c.image_size && pp.width == c.image_size, kOp,
               pp_path.string() << ": size " << pp.height << "x" << pp.width << " differs from the model's image_size "
                                << c.image_size);
    for (float s : pp.image_std) ATTN_CHECK(s > 0.f, kOp, pp_path.string() << ": image_std must be positive");
    ATTN_CHECK(pp.rescale_factor > 0.f, kOp, pp_path.string() << ": rescale_factor must be positive");
  }

  Generator gen(0);
  out.model = std::make_unique<ViTForImageClassification>(c, gen);
  nn::StateDict sd;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("vit.pooler.", 0) == 0) continue;  // ViTModel's pooler: unused by the classifier
    sd.insert(name, t);
  }
  out.model->load_state_dict(sd);
  out.model->eval();
  return out;
}

void save_vit(const std::string& dir, const ViTForImageClassification& model, const ImagePreprocess& pp,
              const std::string& dtype, const std::string& extra_config,
              const std::map<std::string, std::string>& weights_metadata) {
  const io::StoreDtype d = io::store_dtype_from(dtype, kOp);
  fs::create_directories(dir);
  json cfg = config_json(model.config());
  io::merge_json_object(cfg, extra_config, kOp);
  const json pj = {{"image_processor_type", "ViTImageProcessor"},
                   {"do_resize", pp.do_resize},
                   {"size", {{"height", pp.height}, {"width", pp.width}}},
                   {"resample", 2},
                   {"do_rescale", true},
                   {"rescale_factor", pp.rescale_factor},
                   {"do_normalize", true},
                   {"image_mean", pp.image_mean},
                   {"image_std", pp.image_std}};
  nn::StateDict sd = model.state_dict();
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), io::NamedTensors(sd.begin(), sd.end()),
                       weights_metadata, d);
  io::write_file_atomic((fs::path(dir) / "preprocessor_config.json").string(), pj.dump(2) + "\n");
  io::write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
}

Tensor image_to_tensor(const viz::Image& img, const ImagePreprocess& pp, int64_t channels, const std::string& what) {
  ATTN_CHECK(channels == 1 || channels == 3, kOp, "models read 1 (grey) or 3 (RGB) channels, not " << channels);
  ATTN_CHECK(img.width > 0 && img.height > 0, kOp, what << " is empty");
  ATTN_CHECK(pp.do_resize || (img.height == pp.height && img.width == pp.width), kOp,
             what << " is " << img.width << "x" << img.height << " pixels but the model reads " << pp.width << "x"
                  << pp.height);
  ATTN_CHECK(
      static_cast<int64_t>(pp.image_mean.size()) == channels && static_cast<int64_t>(pp.image_std.size()) == channels,
      kOp, "the preprocessing has " << pp.image_mean.size() << " means for " << channels << " channels");
  const int64_t H = pp.height, W = pp.width, sh = img.height, sw = img.width;
  // One channel of the source picture as floats in [0, 255].
  auto source = [&](int64_t c, int64_t y, int64_t x) -> float {
    const viz::Rgb p = img.at(static_cast<int>(x), static_cast<int>(y));
    if (channels == 1) return 0.299f * p.r + 0.587f * p.g + 0.114f * p.b;
    return c == 0 ? p.r : c == 1 ? p.g : p.b;
  };
  Tensor out = Tensor::empty({1, channels, H, W});
  float* o = out.data();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        float v;
        if (sh == H && sw == W) {
          v = source(c, y, x);
        } else {  // bilinear, half-pixel centres (torch's interpolate, align_corners=False)
          const float fy = std::clamp((y + 0.5f) * sh / H - 0.5f, 0.f, static_cast<float>(sh - 1));
          const float fx = std::clamp((x + 0.5f) * sw / W - 0.5f, 0.f, static_cast<float>(sw - 1));
          const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
          const int64_t y1 = std::min(y0 + 1, sh - 1), x1 = std::min(x0 + 1, sw - 1);
          const float wy = fy - y0, wx = fx - x0;
          v = (1 - wy) * ((1 - wx) * source(c, y0, x0) + wx * source(c, y0, x1)) +
              wy * ((1 - wx) * source(c, y1, x0) + wx * source(c, y1, x1));
        }
        o[(c * H + y) * W + x] = (v * pp.rescale_factor - pp.image_mean[c]) / pp.image_std[c];
      }
  return out;
}

viz::Image tensor_to_image(const Tensor& x, const ImagePreprocess& pp) {
  const int64_t d = x.dim();
  ATTN_CHECK((d == 4 && x.size(0) == 1) || d == 3, kOp,
             "tensor_to_image takes (1, C, H, W) or (C, H, W), got " << shape_str(x.shape()));
  const int64_t C = x.size(d - 3), H = x.size(d - 2), W = x.size(d - 1);
  ATTN_CHECK(C == 1 || C == 3, kOp, "tensor_to_image: 1 or 3 channels, not " << C);
  ATTN_CHECK(static_cast<int64_t>(pp.image_mean.size()) == C && static_cast<int64_t>(pp.image_std.size()) == C, kOp,
             "the preprocessing has " << pp.image_mean.size() << " means for " << C << " channels");
  const Tensor& xc = x;
  viz::Image img;
  img.width = static_cast<int>(W);
  img.height = static_cast<int>(H);
  img.pixels.reserve(static_cast<size_t>(H * W));
  const int64_t HW = H * W;
  for (int64_t i = 0; i < HW; ++i) {
    auto px = [&](int64_t c) {  // pixel = (x · std + mean) / rescale_factor
      const float v = (xc.data()[c * HW + i] * pp.image_std[c] + pp.image_mean[c]) / pp.rescale_factor;
      return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    };
    const uint8_t r = px(0), g = C == 3 ? px(1) : r, b = C == 3 ? px(2) : r;
    img.pixels.push_back({r, g, b});
  }
  return img;
}

}  // namespace attn::models
