#include "attn/models/clip.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/model_folder.h"
#include "attn/ops/ops.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::models {

namespace {

constexpr const char* kOp = "CLIP";

json config_json(const ClipConfig& c) {
  return {{"model_type", "clip"},
          {"architecture", "clip"},
          {"architectures", {"CLIPModel"}},
          {"image_size", c.image_size},
          {"patch_size", c.patch_size},
          {"num_channels", c.num_channels},
          {"vision_hidden_size", c.vision_hidden_size},
          {"vision_layers", c.vision_layers},
          {"vision_heads", c.vision_heads},
          {"vision_intermediate_size", c.vision_intermediate_size},
          {"image_mean", c.image_mean},
          {"image_std", c.image_std},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", c.max_position_embeddings},
          {"text_hidden_size", c.text_hidden_size},
          {"text_layers", c.text_layers},
          {"text_heads", c.text_heads},
          {"text_intermediate_size", c.text_intermediate_size},
          {"projection_dim", c.projection_dim},
          {"logit_scale_init_value", c.logit_scale_init_value},
          {"dropout", c.dropout},
          {"initializer_range", c.initializer_range},
          {"layer_norm_eps", c.layer_norm_eps}};
}

ClipConfig config_from(const json& j, const std::string& path) {
  return parse_folder_config<ClipConfig>(kOp, path, [&](ClipConfig& c) {
    ATTN_CHECK(j.value("architecture", std::string()) == "clip", kOp,
               path << ": architecture is '" << j.value("architecture", std::string("(none)")) << "', not clip");
    // Every number checked for its kind and range before it is converted (a float too large for its type would
    // be undefined behaviour in the conversion itself).
    auto integer = [&](const char* key) {
      const json& v = j.at(key);
      ATTN_CHECK(v.is_number_integer(), kOp, path << ": " << key << " must be an integer, got " << v.dump());
      return v.get<int64_t>();
    };
    auto real = [&](const json& v, const char* key) {
      ATTN_CHECK(v.is_number() && std::isfinite(v.get<double>()) && std::fabs(v.get<double>()) <= 1e30, kOp,
                 path << ": " << key << " must be a finite number, got " << v.dump());
      return static_cast<float>(v.get<double>());
    };
    auto reals = [&](const char* key) {
      const json& v = j.at(key);
      ATTN_CHECK(v.is_array() && v.size() <= 16, kOp, path << ": " << key << " must be a list of at most 16 numbers");
      std::vector<float> out;
      for (const json& x : v) out.push_back(real(x, key));
      return out;
    };
    c.image_size = integer("image_size");
    c.patch_size = integer("patch_size");
    c.num_channels = integer("num_channels");
    c.vision_hidden_size = integer("vision_hidden_size");
    c.vision_layers = integer("vision_layers");
    c.vision_heads = integer("vision_heads");
    c.vision_intermediate_size = integer("vision_intermediate_size");
    c.image_mean = reals("image_mean");
    c.image_std = reals("image_std");
    c.vocab_size = integer("vocab_size");
    c.max_position_embeddings = integer("max_position_embeddings");
    c.text_hidden_size = integer("text_hidden_size");
    c.text_layers = integer("text_layers");
    c.text_heads = integer("text_heads");
    c.text_intermediate_size = integer("text_intermediate_size");
    c.projection_dim = integer("projection_dim");
    c.logit_scale_init_value = real(j.at("logit_scale_init_value"), "logit_scale_init_value");
    c.dropout = real(j.at("dropout"), "dropout");
    c.initializer_range = real(j.at("initializer_range"), "initializer_range");
    c.layer_norm_eps = real(j.at("layer_norm_eps"), "layer_norm_eps");
  });
}

// (B, D) unit rows: x / ‖x‖ (the norm kept from zero by ε, as F.normalize's eps does).
Tensor unit_rows(const Tensor& x) { return x / sqrt(sum(x * x, {-1}, true) + 1e-12f); }

}  // namespace

ViTConfig ClipConfig::vision_config() const {
  ViTConfig v;
  v.image_size = image_size;
  v.patch_size = patch_size;
  v.num_channels = num_channels;
  v.hidden_size = vision_hidden_size;
  v.num_hidden_layers = vision_layers;
  v.num_attention_heads = vision_heads;
  v.intermediate_size = vision_intermediate_size;
  v.layer_norm_eps = layer_norm_eps;
  v.hidden_dropout_prob = v.attention_probs_dropout_prob = dropout;
  v.initializer_range = initializer_range;
  v.num_labels = 1;
  return v;
}

ViTConfig ClipConfig::text_config() const {
  ViTConfig v = vision_config();
  v.image_size = v.patch_size = 1;  // unused by the blocks
  v.num_channels = 1;
  v.hidden_size = text_hidden_size;
  v.num_hidden_layers = text_layers;
  v.num_attention_heads = text_heads;
  v.intermediate_size = text_intermediate_size;
  return v;
}

void ClipConfig::validate() const {
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"image_size", image_size},
                                {"patch_size", patch_size},
                                {"num_channels", num_channels},
                                {"vision_hidden_size", vision_hidden_size},
                                {"vision_layers", vision_layers},
                                {"vision_heads", vision_heads},
                                {"vision_intermediate_size", vision_intermediate_size},
                                {"vocab_size", vocab_size},
                                {"text_hidden_size", text_hidden_size},
                                {"text_layers", text_layers},
                                {"text_heads", text_heads},
                                {"text_intermediate_size", text_intermediate_size},
                                {"projection_dim", projection_dim}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  ATTN_CHECK(image_size % patch_size == 0, kOp,
             "image_size " << image_size << " is not a multiple of patch_size " << patch_size);
  ATTN_CHECK(vision_hidden_size % vision_heads == 0, kOp,
             "vision_hidden_size " << vision_hidden_size << " is not divisible by vision_heads " << vision_heads);
  ATTN_CHECK(text_hidden_size % text_heads == 0, kOp,
             "text_hidden_size " << text_hidden_size << " is not divisible by text_heads " << text_heads);
  ATTN_CHECK(vocab_size > data::SubwordTokenizer::eos_id, kOp, "vocab_size " << vocab_size << " has no room for </s>");
  ATTN_CHECK(max_position_embeddings >= 3, kOp,
             "max_position_embeddings must leave room for <s>, a piece and </s>, got " << max_position_embeddings);
  ATTN_CHECK(static_cast<int64_t>(image_mean.size()) == num_channels &&
                 static_cast<int64_t>(image_std.size()) == num_channels,
             kOp, "image_mean and image_std need one value per channel (" << num_channels << ")");
  for (float s : image_std) ATTN_CHECK(s > 0 && std::isfinite(s), kOp, "image_std must be positive, got " << s);
  ATTN_CHECK(dropout >= 0 && dropout < 1, kOp, "dropout " << dropout << " outside [0, 1)");
  ATTN_CHECK(std::isfinite(logit_scale_init_value) && logit_scale_init_value <= kClipMaxLogitScale, kOp,
             "logit_scale_init_value " << logit_scale_init_value << " must be at most ln 100");
  ATTN_CHECK(std::isfinite(initializer_range) && initializer_range >= 0 && std::isfinite(layer_norm_eps) &&
                 layer_norm_eps > 0,
             kOp, "initializer_range must be >= 0 and layer_norm_eps positive");
  // Upper bounds, so that a hostile or mistyped config.json cannot ask for terabytes before any weight is read: the
  // ViT's own for each tower, and these.
  ATTN_CHECK(vocab_size <= (int64_t{1} << 20) && max_position_embeddings <= 4096 && projection_dim <= 16384, kOp,
             "sizes beyond what this model supports (vocab_size <= 2^20, max_position_embeddings <= 4096, "
             "projection_dim <= 16384)");
  vision_config().validate();
  text_config().validate();
}

// ---- the text tower ----

ClipTextEmbeddings::ClipTextEmbeddings(const ClipConfig& c, Generator& gen) {
  token_embedding = register_module(
      "token_embedding",
      std::make_shared<nn::Embedding>(c.vocab_size, c.text_hidden_size, gen, data::SubwordTokenizer::pad_id));
  trunc_normal_(token_embedding->weight, c.initializer_range, gen);
  float* pad_row = token_embedding->weight.data() + data::SubwordTokenizer::pad_id * c.text_hidden_size;
  std::fill(pad_row, pad_row + c.text_hidden_size, 0.f);
  position_embedding =
      register_parameter("position_embedding", Tensor::empty({1, c.max_position_embeddings, c.text_hidden_size}));
  trunc_normal_(position_embedding, c.initializer_range, gen);
}

Tensor ClipTextEmbeddings::forward(const IndexTensor& ids) {
  const int64_t L = ids.shape[1];
  return token_embedding->forward(ids) + slice(position_embedding, 1, 0, L);  // (B, L, D)
}

ClipTextModel::ClipTextModel(const ClipConfig& c, Generator& gen, uint64_t dropout_seed) {
  const ViTConfig tc = c.text_config();
  embeddings = register_module("embeddings", std::make_shared<ClipTextEmbeddings>(c, gen));
  auto encoder = register_module("encoder", std::make_shared<nn::Module>());
  auto layers = encoder->register_module("layer", std::make_shared<nn::Module>());
  for (int64_t l = 0; l < c.text_layers; ++l)
    layer.push_back(
        layers->register_module(std::to_string(l), std::make_shared<ViTLayer>(tc, gen, dropout_seed + 1000 * (l + 1))));
  final_layer_norm =
      register_module("final_layer_norm", std::make_shared<nn::LayerNorm>(c.text_hidden_size, c.layer_norm_eps));
}

ClipTextOutput ClipTextModel::forward(const IndexTensor& ids, bool output_attentions, bool attention_grad) {
  output_attentions = output_attentions || attention_grad;
  ATTN_CHECK(ids.dim() == 2 && ids.shape[0] > 0 && ids.shape[1] > 0, kOp,
             "token ids must be (B, L), got " << shape_str(ids.shape));
  const int64_t B = ids.shape[0], L = ids.shape[1];
  const int64_t max_len = embeddings->position_embedding.size(1), V = embeddings->token_embedding->num_embeddings;
  ClipTextOutput out;
  ATTN_CHECK(L <= max_len, kOp, "a text of " << L << " tokens is longer than the model's " << max_len);
  // padding (B, L): 1 where <pad> (a key nobody attends to); each row's </s>, the state that pools it.
  std::vector<float> pad(static_cast<size_t>(B * L), 0.f);
  for (int64_t b = 0; b < B; ++b) {
    int64_t eos = -1;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t id = ids.data[b * L + t];
      ATTN_CHECK(id >= 0 && id < V, kOp, "token id " << id << " outside the vocabulary [0, " << V << ")");
      if (id == data::SubwordTokenizer::pad_id) pad[b * L + t] = 1.f;
      if (id == data::SubwordTokenizer::eos_id && eos < 0) eos = t;
    }
    ATTN_CHECK(eos >= 0, kOp, "row " << b << " of the token ids has no </s> (" << data::SubwordTokenizer::eos_id << ")");
    out.eos.push_back(eos);
  }
  const Tensor padding = Tensor::from_vector(pad, {B, L});
  Tensor x = embeddings->forward(ids);  // (B, L, D)
  out.embeddings = x;
  for (auto& l : layer) {
    Tensor w;
    x = l->forward(x, output_attentions ? &w : nullptr, attention_grad, padding);  // (B, L, D)
    if (output_attentions) out.attentions.push_back(w);                            // (B, H, L, L)
  }
  out.last_block = x;
  out.last_hidden_state = final_layer_norm->forward(x);
  std::vector<int64_t> eos_rows;  // row b·L + eos_b of the (B·L, D) states
  for (int64_t b = 0; b < B; ++b) eos_rows.push_back(b * L + out.eos[b]);
  out.pooler_output = index_select(reshape(out.last_hidden_state, {B * L, x.size(2)}), 0, IndexTensor(eos_rows));
  return out;
}

// ---- the dual encoder ----

ClipModel::ClipModel(const ClipConfig& config, Generator& gen, uint64_t dropout_seed) : config_(config) {
  config_.validate();
  vision_model = register_module("vision_model", std::make_shared<ViTModel>(config_.vision_config(), gen, dropout_seed));
  text_model = register_module("text_model", std::make_shared<ClipTextModel>(config_, gen, dropout_seed + 500));
  visual_projection = register_module(
      "visual_projection",
      make_vit_linear(config_.vision_hidden_size, config_.projection_dim, config_.initializer_range, gen, false));
  text_projection = register_module(
      "text_projection",
      make_vit_linear(config_.text_hidden_size, config_.projection_dim, config_.initializer_range, gen, false));
  logit_scale = register_parameter("logit_scale", Tensor::scalar(config_.logit_scale_init_value));
}

ClipVisionOutput ClipModel::vision_forward(const Tensor& images, bool output_attentions, bool attention_grad) {
  output_attentions = output_attentions || attention_grad;
  const ClipConfig& c = config_;
  ATTN_CHECK(images.defined() && images.dim() == 4 && images.size(1) == c.num_channels &&
                 images.size(2) == c.image_size && images.size(3) == c.image_size,
             kOp,
             "images must be (B, " << c.num_channels << ", " << c.image_size << ", " << c.image_size << "), got "
                                   << (images.defined() ? shape_str(images.shape()) : std::string("undefined")));
  ClipVisionOutput out;
  Tensor x = vision_model->embeddings->forward(images);  // (B, T, Dv)
  out.embeddings = x;
  for (auto& l : vision_model->layer) {
    Tensor w;
    x = l->forward(x, output_attentions ? &w : nullptr, attention_grad);
    if (output_attentions) out.attentions.push_back(w);  // (B, H, T, T)
  }
  out.last_block = x;
  out.pooler_output = squeeze(slice(vision_model->layernorm->forward(x), 1, 0, 1), 1);  // (B, Dv): the class token
  return out;
}

Tensor ClipModel::project_image(const Tensor& pooled) { return unit_rows(visual_projection->forward(pooled)); }
Tensor ClipModel::project_text(const Tensor& pooled) { return unit_rows(text_projection->forward(pooled)); }

Tensor ClipModel::get_image_features(const Tensor& images) {
  return project_image(vision_forward(images, false).pooler_output);  // (B, E)
}

Tensor ClipModel::get_text_features(const IndexTensor& ids) {
  return project_text(text_model->forward(ids).pooler_output);  // (B', E)
}

ClipOutput ClipModel::forward(const Tensor& images, const IndexTensor& ids) {
  ClipOutput out;
  out.image_embeds = get_image_features(images);
  out.text_embeds = get_text_features(ids);
  out.logits_per_image = matmul(out.image_embeds, out.text_embeds, false, true) * exp(logit_scale);  // (B, B')
  out.logits_per_text = transpose(out.logits_per_image, 0, 1);                                       // (B', B)
  return out;
}

Tensor clip_contrastive_loss(const Tensor& logits_per_image) {
  ATTN_CHECK(logits_per_image.dim() == 2 && logits_per_image.size(0) == logits_per_image.size(1), kOp,
             "the logits of B matching pairs must be (B, B), got " << shape_str(logits_per_image.shape()));
  std::vector<int64_t> matches(static_cast<size_t>(logits_per_image.size(0)));  // pair b: row b's, column b's answer
  std::iota(matches.begin(), matches.end(), int64_t{0});
  const IndexTensor diagonal(std::move(matches));
  return 0.5f * (cross_entropy(logits_per_image, diagonal) +
                 cross_entropy(transpose(logits_per_image, 0, 1), diagonal));
}

Tensor ClipModel::loss(const Tensor& images, const IndexTensor& ids) {
  ATTN_CHECK(images.defined() && images.dim() == 4 && ids.dim() == 2 && images.size(0) == ids.shape[0], kOp,
             "a batch of B images needs B texts: images " << (images.defined() ? shape_str(images.shape()) : "undefined")
                                                          << ", ids " << shape_str(ids.shape));
  return clip_contrastive_loss(forward(images, ids).logits_per_image);
}

float ClipModel::temperature_inverse() const { return std::exp(logit_scale.data()[0]); }

void ClipModel::clamp_logit_scale() {
  float& s = logit_scale.data()[0];
  s = std::min(s, kClipMaxLogitScale);
}

// ---- inputs ----

std::string clip_normalize(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

ImagePreprocess clip_preprocess(const ClipConfig& c) {
  ImagePreprocess pp;
  pp.height = pp.width = c.image_size;
  pp.do_resize = true;
  pp.image_mean = c.image_mean, pp.image_std = c.image_std;
  return pp;
}

std::vector<std::pair<int64_t, float>> clip_nearest(const Tensor& embeds, const Tensor& query,
                                                    std::vector<int64_t> pool, int64_t k) {
  ATTN_CHECK(embeds.dim() == 2 && query.numel() == embeds.size(1), kOp,
             "rank (N, E) embeddings against one (E) query, got " << shape_str(embeds.shape()) << " and "
                                                                 << shape_str(query.shape()));
  NoGradGuard no_grad;
  const Tensor s = matmul(embeds, reshape(query, {1, embeds.size(1)}), false, true);  // (N, 1) cosines
  const float* sim = s.data();
  for (int64_t i : pool)
    ATTN_CHECK(i >= 0 && i < embeds.size(0), kOp, "row " << i << " outside 0.." << embeds.size(0) - 1);
  const size_t n = std::min(pool.size(), static_cast<size_t>(std::max<int64_t>(k, 0)));
  std::partial_sort(pool.begin(), pool.begin() + n, pool.end(),
                    [&](int64_t a, int64_t b) { return sim[a] > sim[b] || (sim[a] == sim[b] && a < b); });
  std::vector<std::pair<int64_t, float>> out;
  for (size_t i = 0; i < n; ++i) out.push_back({pool[i], sim[pool[i]]});
  return out;
}

IndexTensor clip_tokenize(const data::SubwordTokenizer& tok, const std::vector<std::string>& texts,
                          int64_t max_position_embeddings) {
  ATTN_CHECK(!texts.empty(), kOp, "no texts to encode");
  ATTN_CHECK(max_position_embeddings >= 3, kOp, "max_position_embeddings must be at least 3");
  std::vector<std::vector<int64_t>> rows;
  size_t L = 0;
  for (const std::string& text : texts) {
    const std::string lower = clip_normalize(text);
    ATTN_CHECK(lower.find_first_not_of(" \t\n\r") != std::string::npos, kOp, "a text is empty");
    std::vector<int64_t> pieces = tok.encode(lower);
    if (static_cast<int64_t>(pieces.size()) > max_position_embeddings - 2)
      pieces.resize(static_cast<size_t>(max_position_embeddings - 2));
    std::vector<int64_t> row{data::SubwordTokenizer::bos_id};
    row.insert(row.end(), pieces.begin(), pieces.end());
    row.push_back(data::SubwordTokenizer::eos_id);
    L = std::max(L, row.size());
    rows.push_back(std::move(row));
  }
  std::vector<int64_t> ids(rows.size() * L, data::SubwordTokenizer::pad_id);
  for (size_t b = 0; b < rows.size(); ++b) std::copy(rows[b].begin(), rows[b].end(), ids.begin() + b * L);
  return IndexTensor(std::move(ids), {static_cast<int64_t>(rows.size()), static_cast<int64_t>(L)});
}

Tensor clip_images(const data::ImageDataset& data, const std::vector<int64_t>& indices, const ClipConfig& c,
                   int64_t shift, Generator* gen) {
  ATTN_CHECK(data.channels == c.num_channels && data.height == c.image_size && data.width == c.image_size, kOp,
             "the images are " << data.channels << "x" << data.height << "x" << data.width << ", the model reads "
                               << c.num_channels << "x" << c.image_size << "x" << c.image_size);
  ATTN_CHECK(shift >= 0 && shift < c.image_size, kOp, "shift " << shift << " outside 0.." << c.image_size - 1);
  const int64_t B = static_cast<int64_t>(indices.size()), H = data.height, W = data.width, C = data.channels;
  Tensor x = Tensor::empty({B, C, H, W});
  float* p = x.data();
  for (int64_t b = 0; b < B; ++b) {
    ATTN_CHECK(indices[b] >= 0 && indices[b] < data.size(), kOp,
               "image " << indices[b] << " outside 0.." << data.size() - 1);
    const uint8_t* img = data.image(indices[b]);
    int64_t dy = 0, dx = 0;
    if (shift > 0 && gen) {
      dy = static_cast<int64_t>(gen->randint(2 * shift + 1)) - shift;
      dx = static_cast<int64_t>(gen->randint(2 * shift + 1)) - shift;
    }
    for (int64_t ch = 0; ch < C; ++ch) {
      const float m = c.image_mean[ch], inv = 1.f / c.image_std[ch];
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          const int64_t sy = y - dy, sx = xx - dx;  // the source pixel; outside the picture: white
          const float v = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? img[(ch * H + sy) * W + sx] / 255.f : 1.f;
          p[((b * C + ch) * H + y) * W + xx] = (v - m) * inv;
        }
    }
  }
  return x;
}

// ---- retrieval ----

Tensor clip_image_embeddings(ClipModel& model, const data::ImageDataset& data, const std::vector<int64_t>& indices) {
  NoGradGuard no_grad;
  nn::ModeGuard mode(model);
  model.eval();
  std::vector<Tensor> parts;
  for (size_t i = 0; i < indices.size(); i += 256) {
    const std::vector<int64_t> chunk(indices.begin() + i, indices.begin() + std::min(indices.size(), i + 256));
    parts.push_back(model.get_image_features(clip_images(data, chunk, model.config())));
  }
  ATTN_CHECK(!parts.empty(), kOp, "no images to embed");
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

Tensor clip_text_embeddings(ClipModel& model, const data::SubwordTokenizer& tok, const std::vector<std::string>& texts) {
  NoGradGuard no_grad;
  nn::ModeGuard mode(model);
  model.eval();
  std::vector<Tensor> parts;
  for (size_t i = 0; i < texts.size(); i += 256) {
    const std::vector<std::string> chunk(texts.begin() + i, texts.begin() + std::min(texts.size(), i + 256));
    parts.push_back(model.get_text_features(clip_tokenize(tok, chunk, model.config().max_position_embeddings)));
  }
  ATTN_CHECK(!parts.empty(), kOp, "no texts to embed");
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

ClipRetrieval evaluate_clip(ClipModel& model, const data::SubwordTokenizer& tok, const data::ImageDataset& data,
                            const std::vector<int64_t>& indices, const std::vector<std::string>& texts) {
  ATTN_CHECK(indices.size() == texts.size() && !texts.empty(), kOp,
             "retrieval needs as many texts as images, got " << texts.size() << " and " << indices.size());
  const Tensor img = clip_image_embeddings(model, data, indices), txt = clip_text_embeddings(model, tok, texts);
  NoGradGuard no_grad;
  const Tensor sim = matmul(img, txt, false, true);  // (N, N) cosine similarities
  const int64_t N = static_cast<int64_t>(texts.size());
  const float* s = sim.data();
  ClipRetrieval r;
  r.count = N;
  r.best_text.resize(static_cast<size_t>(N));
  r.loss = clip_contrastive_loss(sim * model.temperature_inverse()).item();
  for (int64_t i = 0; i < N; ++i) {
    int64_t above_row = 0, above_col = 0;  // texts beating image i's own, images beating text i's own
    for (int64_t j = 0; j < N; ++j) {
      above_row += s[i * N + j] > s[i * N + i];
      above_col += s[j * N + i] > s[i * N + i];
      if (s[i * N + j] > s[i * N + r.best_text[i]]) r.best_text[i] = j;
    }
    for (int k = 0; k < 3; ++k) {
      r.image_to_text[k] += above_row < kClipRecallAt[k];
      r.text_to_image[k] += above_col < kClipRecallAt[k];
    }
  }
  for (int k = 0; k < 3; ++k) r.image_to_text[k] /= N, r.text_to_image[k] /= N;
  return r;
}

// ---- the folder ----

LoadedClip load_clip(const std::string& dir) {
  const ClipConfig c = config_from(read_folder_config(dir, kOp, "CLIP", "train one with: attn train clip --out DIR"),
                                   (fs::path(dir) / "config.json").string());
  const fs::path spm = fs::path(dir) / "spm.model";
  ATTN_CHECK(fs::exists(spm), kOp, dir << " has no spm.model (the text tower's vocabulary)");
  LoadedClip out{nullptr, data::SubwordTokenizer::load(spm.string()), dir};
  ATTN_CHECK(out.tokenizer.vocab_size() == c.vocab_size, kOp,
             spm.string() << " has " << out.tokenizer.vocab_size() << " pieces, config.json says " << c.vocab_size);
  Generator gen(0);
  out.model = std::make_unique<ClipModel>(c, gen);
  load_folder_weights(*out.model, dir, kOp);
  return out;
}

void save_clip(const std::string& dir, const ClipModel& model, const data::SubwordTokenizer& tokenizer,
               const std::string& dtype, const std::string& extra_config,
               const std::map<std::string, std::string>& weights_metadata) {
  fs::create_directories(dir);
  tokenizer.save((fs::path(dir) / "spm.model").string());
  save_folder(dir, model, config_json(model.config()), extra_config, io::store_dtype_from(dtype, kOp), weights_metadata,
              kOp);
}

}  // namespace attn::models
