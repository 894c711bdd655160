// The Keyword Transformer (attn/models/kwt.h).
#include "attn/models/kwt.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"
#include "attn/io/safetensors.h"
#include "attn/models/model_folder.h"
#include "attn/nn/checkpoint.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::models {

namespace {

constexpr const char* kOp = "KWT";

std::shared_ptr<nn::Linear> make_linear(int64_t in, int64_t out, float std, Generator& gen) {
  return make_vit_linear(in, out, std, gen);
}

json config_json(const KWTConfig& c) {
  return {{"model_type", "kwt"},
          {"architecture", "kwt"},
          {"architectures", {"KWTForKeywordSpotting"}},
          {"features", speech_features_json(c.features)},
          {"patch_frames", c.patch_frames},
          {"hidden_size", c.hidden_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"intermediate_size", c.intermediate_size},
          {"layer_norm_eps", c.layer_norm_eps},
          {"hidden_dropout_prob", c.hidden_dropout_prob},
          {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
          {"initializer_range", c.initializer_range},
          {"num_labels", c.num_labels},
          {"id2label", c.id2label}};
}

KWTConfig config_from(const json& j, const std::string& path) {
  return parse_folder_config<KWTConfig>(kOp, path, [&](KWTConfig& c) {
    ATTN_CHECK(j.value("architecture", std::string()) == "kwt", kOp,
               path << ": architecture is '" << j.value("architecture", std::string("(none)")) << "', not kwt");
    c.features = speech_features_from_json(j.at("features"), path);
    c.patch_frames = j.at("patch_frames");
    c.hidden_size = j.at("hidden_size");
    c.num_hidden_layers = j.at("num_hidden_layers");
    c.num_attention_heads = j.at("num_attention_heads");
    c.intermediate_size = j.at("intermediate_size");
    c.layer_norm_eps = j.value("layer_norm_eps", 1e-6f);
    c.num_labels = j.at("num_labels");
    c.id2label = j.at("id2label").get<std::vector<std::string>>();
  });
}

}  // namespace

json speech_features_json(const audio::SpeechFeatures& f) {
  const audio::MelOptions& m = f.mel;
  return {{"sample_rate", m.sample_rate},
          {"n_fft", m.n_fft},
          {"win_length", m.win_length},
          {"hop_length", m.hop_length},
          {"f_min", m.f_min},
          {"f_max", m.f_max},
          {"n_mels", m.n_mels},
          {"top_db", m.top_db},
          {"center", m.center},
          {"clip_seconds", f.clip_seconds},
          {"trim_db", f.trim_db},
          {"normalize", "utterance"}};
}

audio::SpeechFeatures speech_features_from_json(const json& f, const std::string& path) {
  return parse_folder_config<audio::SpeechFeatures>(
      kOp, path,
      [&](audio::SpeechFeatures& out) {
        audio::MelOptions& m = out.mel;
        m.sample_rate = f.at("sample_rate");
        m.n_fft = f.at("n_fft");
        m.win_length = f.at("win_length");
        m.hop_length = f.at("hop_length");
        m.f_min = f.at("f_min");
        m.f_max = f.at("f_max");
        m.n_mels = f.at("n_mels");
        m.top_db = f.at("top_db");
        m.center = f.at("center");
        out.clip_seconds = f.at("clip_seconds");
        out.trim_db = f.at("trim_db");
        ATTN_CHECK(f.value("normalize", std::string("utterance")) == "utterance", kOp,
                   path << ": features.normalize must be \"utterance\"");
      },
      "features: ");
}

std::string KWTConfig::label(int64_t k) const {
  if (k >= 0 && k < static_cast<int64_t>(id2label.size())) return id2label[static_cast<size_t>(k)];
  return "LABEL_" + std::to_string(k);
}

ViTConfig KWTConfig::encoder_config() const {
  ViTConfig v;
  v.hidden_size = hidden_size;
  v.num_hidden_layers = num_hidden_layers;
  v.num_attention_heads = num_attention_heads;
  v.intermediate_size = intermediate_size;
  v.layer_norm_eps = layer_norm_eps;
  v.hidden_dropout_prob = hidden_dropout_prob;
  v.attention_probs_dropout_prob = attention_probs_dropout_prob;
  v.initializer_range = initializer_range;
  v.num_labels = num_labels;
  v.id2label = id2label;
  return v;
}

void KWTConfig::validate() const {
  features.validate();
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"patch_frames", patch_frames},
                                {"hidden_size", hidden_size},
                                {"num_hidden_layers", num_hidden_layers},
                                {"num_attention_heads", num_attention_heads},
                                {"intermediate_size", intermediate_size},
                                {"num_labels", num_labels}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  ATTN_CHECK(hidden_size % num_attention_heads == 0, kOp,
             "hidden_size " << hidden_size << " is not divisible by num_attention_heads " << num_attention_heads);
  ATTN_CHECK(patch_frames <= num_frames(), kOp,
             "patch_frames " << patch_frames << " exceeds the " << num_frames() << " frames");
  ATTN_CHECK(id2label.empty() || static_cast<int64_t>(id2label.size()) == num_labels, kOp,
             id2label.size() << " labels for num_labels " << num_labels);
}

KWTEmbeddings::KWTEmbeddings(const KWTConfig& c, const ViTConfig& vc, Generator& gen)
    : patch_frames(c.patch_frames), num_patches(c.num_patches()) {
  cls_token = register_parameter("cls_token", Tensor::empty({1, 1, c.hidden_size}));
  trunc_normal_(cls_token, vc.initializer_range, gen);
  position_embeddings = register_parameter("position_embeddings", Tensor::empty({1, c.seq_len(), c.hidden_size}));
  trunc_normal_(position_embeddings, vc.initializer_range, gen);
  patch_projection = register_module(
      "patch_projection", make_linear(c.patch_frames * c.num_mel_bins(), c.hidden_size, vc.initializer_range, gen));
}

Tensor KWTEmbeddings::forward(const Tensor& features) {
  const int64_t B = features.size(0), M = features.size(2);
  Tensor x = features;
  if (features.size(1) != num_patches * patch_frames) x = slice(features, 1, 0, num_patches * patch_frames);
  x = reshape(x, {B, num_patches, patch_frames * M});              // (B, N, p·M)
  Tensor tokens = patch_projection->forward(x);                    // (B, N, D)
  Tensor cls = cls_token + Tensor::zeros({B, 1, tokens.size(2)});  // (B, 1, D)
  return concat({cls, tokens}, 1) + position_embeddings;           // (B, T, D)
}

KWTForKeywordSpotting::KWTForKeywordSpotting(const KWTConfig& config, Generator& gen, uint64_t dropout_seed)
    : config_(config) {
  config_.validate();
  const ViTConfig vc = config_.encoder_config();
  embeddings = register_module("embeddings", std::make_shared<KWTEmbeddings>(config_, vc, gen));
  auto encoder = register_module("encoder", std::make_shared<nn::Module>());
  auto layers = encoder->register_module("layer", std::make_shared<nn::Module>());
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l)
    layer.push_back(
        layers->register_module(std::to_string(l), std::make_shared<ViTLayer>(vc, gen, dropout_seed + 1000 * (l + 1))));
  layernorm =
      register_module("layernorm", std::make_shared<nn::LayerNorm>(config_.hidden_size, config_.layer_norm_eps));
  classifier =
      register_module("classifier", make_linear(config_.hidden_size, config_.num_labels, vc.initializer_range, gen));
}

Tensor KWTForKeywordSpotting::forward(const Tensor& features) { return forward(features, false).logits; }

KWTOutput KWTForKeywordSpotting::forward(const Tensor& features, bool output_attentions) {
  ATTN_CHECK(features.defined() && features.dim() == 3 && features.size(1) == config_.num_frames() &&
                 features.size(2) == config_.num_mel_bins(),
             kOp,
             "features must be (B, " << config_.num_frames() << ", " << config_.num_mel_bins() << "), got "
                                     << (features.defined() ? shape_str(features.shape()) : std::string("undefined")));
  KWTOutput out;
  Tensor x = embeddings->forward(features);  // (B, T, D)
  for (auto& l : layer) {
    Tensor w;
    x = l->forward(x, output_attentions ? &w : nullptr);
    if (output_attentions) out.attentions.push_back(w);
  }
  Tensor cls = squeeze(slice(layernorm->forward(x), 1, 0, 1), 1);  // (B, D)
  out.logits = classifier->forward(cls);                           // (B, K)
  return out;
}

Tensor KWTForKeywordSpotting::loss(const Tensor& features, const IndexTensor& labels, float label_smoothing) {
  ATTN_CHECK(labels.dim() == 1 && features.defined() && labels.numel() == features.size(0), kOp,
             "labels must be (B) with B = " << (features.defined() ? features.size(0) : 0));
  for (int64_t v : labels.data)
    ATTN_CHECK(v >= 0 && v < config_.num_labels, kOp, "label " << v << " outside 0.." << config_.num_labels - 1);
  return cross_entropy(forward(features), labels, CrossEntropyOptions().smoothing(label_smoothing));
}

std::vector<std::vector<float>> cls_attention_rows(const KWTOutput& out, int64_t b) {
  std::vector<std::vector<float>> rows;
  for (const Tensor& a : out.attentions) {  // (B, H, T, T): row 0 of each head is the CLS token's
    ATTN_CHECK(a.dim() == 4 && b >= 0 && b < a.size(0), kOp,
               "cls_attention_rows: item " << b << " of attention " << shape_str(a.shape()));
    const int64_t H = a.size(1), T = a.size(2);
    const float* p = a.data() + b * H * T * T;
    std::vector<float> row(static_cast<size_t>(T - 1), 0.f);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t k = 1; k < T; ++k) row[static_cast<size_t>(k - 1)] += p[h * T * T + k] / static_cast<float>(H);
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

void score(const Tensor& logits, const std::vector<int64_t>& labels, KWTEvaluation* r, double* loss_sum) {
  const int64_t B = logits.size(0), K = logits.size(1);
  const float* l = logits.data();
  for (int64_t i = 0; i < B; ++i) {
    const float* row = l + i * K;
    const int64_t truth = labels[static_cast<size_t>(i)];
    const int64_t pred = std::max_element(row, row + K) - row;
    int64_t above = 0;
    for (int64_t k = 0; k < K; ++k) above += row[k] > row[truth];
    r->predicted.push_back(pred);
    r->accuracy += pred == truth;
    r->top5 += above < 5;
    ++r->confusion[static_cast<size_t>(truth)][static_cast<size_t>(pred)];
    const float mx = *std::max_element(row, row + K);
    double z = 0;
    for (int64_t k = 0; k < K; ++k) z += std::exp(static_cast<double>(row[k] - mx));
    *loss_sum += std::log(z) + mx - row[truth];
  }
  r->count += B;
}

KWTEvaluation finish(KWTEvaluation r, double loss_sum) {
  if (r.count > 0) {
    r.loss = loss_sum / static_cast<double>(r.count);
    r.accuracy /= static_cast<double>(r.count);
    r.top5 /= static_cast<double>(r.count);
  }
  return r;
}

}  // namespace

KWTEvaluation evaluate_kwt(KWTForKeywordSpotting& model, const std::vector<audio::Utterance>& data,
                           const audio::MelSpectrogram& mel) {
  ATTN_CHECK(!data.empty(), kOp, "nothing to evaluate");
  NoGradGuard no_grad;
  nn::ModeGuard mode(model);
  model.eval();
  const int64_t K = model.config().num_labels, n = static_cast<int64_t>(data.size()), chunk = 256;
  KWTEvaluation r;
  r.confusion.assign(static_cast<size_t>(K), std::vector<int64_t>(static_cast<size_t>(K), 0));
  double loss_sum = 0;
  for (int64_t s = 0; s < n; s += chunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(chunk, n - s)));
    std::iota(idx.begin(), idx.end(), s);
    const audio::SpeechBatch b = audio::make_speech_batch(data, idx, model.config().features, mel);
    score(model.forward(b.features), b.labels.data, &r, &loss_sum);
  }
  return finish(std::move(r), loss_sum);
}

KWTEvaluation evaluate_kwt(KWTForKeywordSpotting& model, const std::vector<Tensor>& features,
                           const std::vector<int64_t>& labels) {
  ATTN_CHECK(!features.empty() && features.size() == labels.size(), kOp,
             features.size() << " inputs for " << labels.size() << " labels");
  NoGradGuard no_grad;
  nn::ModeGuard mode(model);
  model.eval();
  const int64_t K = model.config().num_labels;
  KWTEvaluation r;
  r.confusion.assign(static_cast<size_t>(K), std::vector<int64_t>(static_cast<size_t>(K), 0));
  double loss_sum = 0;
  score(model.forward(concat(features, 0)), labels, &r, &loss_sum);
  return finish(std::move(r), loss_sum);
}

LoadedKWT load_kwt(const std::string& dir) {
  const KWTConfig c =
      config_from(read_folder_config(dir, kOp, "KWT", "train one with: attn train audio --arch kwt --out DIR"),
                  (fs::path(dir) / "config.json").string());
  LoadedKWT out;
  out.dir = dir;
  Generator gen(0);
  out.model = std::make_unique<KWTForKeywordSpotting>(c, gen);
  load_folder_weights(*out.model, dir, kOp);
  return out;
}

void save_kwt(const std::string& dir, const KWTForKeywordSpotting& model, const std::string& dtype,
              const std::string& extra_config, const std::map<std::string, std::string>& weights_metadata) {
  save_folder(dir, model, config_json(model.config()), extra_config, io::store_dtype_from(dtype, kOp), weights_metadata,
              kOp);
}

}  // namespace attn::models
