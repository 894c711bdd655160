// CLIP: a dual encoder that learns one space for pictures and words (Radford et al. 2021, "Learning Transferable
// Visual Models From Natural Language Supervision"), small enough to train here on emoji (attn/data/emoji.h).
//
// Two towers, each ending in a linear projection to the shared space of E dimensions and a unit-length vector:
//
//   image (B, 3, S, S) ─ ViT (attn/models/vit.h) ─ class token (B, Dv) ─ visual_projection ─ ĩ = i / ‖i‖   (B, E)
//   words "grinning face" ─ <s> ▁grin ning ▁face </s> ─ token + position embeddings ─ Transformer encoder of the
//         ViT's pre-LN blocks (padding masked) ─ final_layer_norm ─ the </s> token's state (B, Dt) ─
//         text_projection ─ t̃ = t / ‖t‖                                                                  (B', E)
//
// Their cosine similarities, times a learned temperature τ⁻¹ = exp(logit_scale) (initialized to 1 / 0.07 and kept
// at most 100, as in the paper), are the logits of a B × B' "which caption is this picture's?" matrix:
//
//   logits_per_image = exp(logit_scale) · Ĩ T̃ᵀ     (B, B')        logits_per_text = logits_per_imageᵀ
//
// Trained on B matching pairs with the symmetric InfoNCE loss (van den Oord et al. 2018): the right caption of each
// picture is on the diagonal, so
//
//   loss = ½ · [ CE(logits_per_image, [0..B)) + CE(logits_per_text, [0..B)) ]
//
// — each picture must pick its caption among the batch's B captions, and each caption its picture. Nothing else
// tells the model what a word means: a learner can watch "red" and "heart" find their pixels.
//
// The names follow Hugging Face's CLIPModel (vision_model, text_model, visual_projection, text_projection,
// logit_scale), except that the text tower here attends both ways (OpenAI's is causal) and its blocks are the ViT's.
// Words are SentencePiece pieces (attn/data/subword_tokenizer.h) of the lower-cased text.
//
// Folder: config.json (ClipConfig, "architecture": "clip"), model.safetensors, spm.model.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attn/data/subword_tokenizer.h"
#include "attn/models/vit.h"

namespace attn::models {

struct ClipConfig {
  // vision tower
  int64_t image_size = 32, patch_size = 4, num_channels = 3;
  int64_t vision_hidden_size = 128, vision_layers = 4, vision_heads = 4, vision_intermediate_size = 512;
  // x = (pixel / 255 − mean) / std per channel (mean 1 would put the white background at 0)
  std::vector<float> image_mean = {0.5f, 0.5f, 0.5f}, image_std = {0.5f, 0.5f, 0.5f};
  // text tower
  int64_t vocab_size = 1000, max_position_embeddings = 24;  // tokens a text may have, <s> and </s> included
  int64_t text_hidden_size = 128, text_layers = 3, text_heads = 4, text_intermediate_size = 512;
  // the shared space
  int64_t projection_dim = 128;
  float logit_scale_init_value = 2.6592f;  // ln(1 / 0.07)
  float dropout = 0.f;                     // on attention weights and residual branches, both towers
  float initializer_range = 0.02f, layer_norm_eps = 1e-6f;

  ViTConfig vision_config() const;  // the ViT's settings (its num_labels unused)
  ViTConfig text_config() const;    // the text blocks' settings, as ViT blocks
  void validate() const;            // attn::Error naming CLIP and the field
};

// The largest temperature⁻¹ the paper allows (it clips logit_scale at ln 100).
inline constexpr float kClipMaxLogitScale = 4.6051702f;

class ClipTextEmbeddings : public nn::Module {
 public:
  ClipTextEmbeddings(const ClipConfig& c, Generator& gen);
  Tensor forward(const IndexTensor& ids);  // (B, L) -> (B, L, D): token + position embeddings
  std::string type_name() const override { return "CLIPTextEmbeddings"; }
  std::shared_ptr<nn::Embedding> token_embedding;  // (V, D), <pad> row 0
  Tensor position_embedding;                       // (1, max_position_embeddings, D)
};

struct ClipTextOutput {
  Tensor last_hidden_state;        // (B, L, D) after final_layer_norm
  Tensor pooler_output;            // (B, D): each row's </s> state
  std::vector<Tensor> attentions;  // per layer (B, H, L, L), when asked for
  Tensor embeddings, last_block;   // (B, L, D): the blocks' input and the last block's output (explanations)
  std::vector<int64_t> eos;        // each row's </s> position
};

class ClipTextModel : public nn::Module {
 public:
  ClipTextModel(const ClipConfig& c, Generator& gen, uint64_t dropout_seed);
  // ids (B, L): <s> pieces </s> <pad>…; the </s> must be present in every row. Padding keys are masked.
  // attention_grad: the attentions through the composed path, in the graph (attn/explain); implies
  // output_attentions.
  ClipTextOutput forward(const IndexTensor& ids, bool output_attentions = false, bool attention_grad = false);
  std::string type_name() const override { return "CLIPTextTransformer"; }
  std::shared_ptr<ClipTextEmbeddings> embeddings;
  std::vector<std::shared_ptr<ViTLayer>> layer;  // encoder.layer.{l}
  std::shared_ptr<nn::LayerNorm> final_layer_norm;
};

struct ClipVisionOutput {
  Tensor pooler_output;            // (B, Dv): the class token after the last LayerNorm
  std::vector<Tensor> attentions;  // per layer (B, H, T, T), when asked for
  Tensor embeddings, last_block;   // (B, T, Dv): the blocks' input and the last block's output (explanations)
};

struct ClipOutput {
  Tensor logits_per_image;  // (B, B')
  Tensor logits_per_text;   // (B', B)
  Tensor image_embeds;      // (B, E), unit rows
  Tensor text_embeds;       // (B', E), unit rows
};

class ClipModel : public nn::Module {
 public:
  ClipModel(const ClipConfig& config, Generator& gen, uint64_t dropout_seed = 0);

  // images (B, C, S, S), normalized as image_mean / image_std say -> (B, E) unit rows. attn::Error for another shape.
  Tensor get_image_features(const Tensor& images);
  // ids (B, L) as ClipTextModel reads them -> (B, E) unit rows.
  Tensor get_text_features(const IndexTensor& ids);
  ClipOutput forward(const Tensor& images, const IndexTensor& ids);
  // The symmetric InfoNCE loss of B matching pairs (image b with text b).
  Tensor loss(const Tensor& images, const IndexTensor& ids);
  // The vision tower alone, with its attention maps (for pictures of what a patch looks at); attention_grad as
  // ClipTextModel::forward's.
  ClipVisionOutput vision_forward(const Tensor& images, bool output_attentions, bool attention_grad = false);
  // The projections to the shared space, unit rows: (B, Dv) -> (B, E), (B, Dt) -> (B, E).
  Tensor project_image(const Tensor& pooled);
  Tensor project_text(const Tensor& pooled);
  // exp(logit_scale), the temperature⁻¹ (logit_scale kept at most ln 100 by clamp_logit_scale).
  float temperature_inverse() const;
  // After an optimizer step: logit_scale ← min(logit_scale, ln 100), in place (the paper's clipping).
  void clamp_logit_scale();

  const ClipConfig& config() const { return config_; }
  std::string type_name() const override { return "CLIPModel"; }

  std::shared_ptr<ViTModel> vision_model;
  std::shared_ptr<ClipTextModel> text_model;
  std::shared_ptr<nn::Linear> visual_projection, text_projection;  // no bias
  Tensor logit_scale;                                              // 0-d

 private:
  ClipConfig config_;
};

// The symmetric InfoNCE loss of B matching pairs from their (B, B) logits (pair b on the diagonal):
// ½ [CE(rows, [0..B)) + CE(columns, [0..B))]. What ClipModel::loss and evaluate_clip compute.
Tensor clip_contrastive_loss(const Tensor& logits_per_image);

// Text as the model reads it: lower-cased (ASCII). The vocabulary is learnt from texts so normalized.
std::string clip_normalize(std::string text);
// How a picture of any size becomes the vision tower's input: resized to image_size, normalized as the config says.
ImagePreprocess clip_preprocess(const ClipConfig& c);
// The k rows of `pool` (indices into embeds (N, E)) nearest `query` (E values) by cosine, best first (ties: the
// lower index): (index, similarity). attn::Error for an index outside embeds.
std::vector<std::pair<int64_t, float>> clip_nearest(const Tensor& embeds, const Tensor& query,
                                                    std::vector<int64_t> pool, int64_t k);

// Texts as the text tower reads them: clip_normalize'd, <s> pieces </s>, the pieces cut to
// max_position_embeddings − 2, padded with <pad> (0) to the longest row: (B, L). attn::Error for an empty list or an
// empty text.
IndexTensor clip_tokenize(const data::SubwordTokenizer& tok, const std::vector<std::string>& texts,
                          int64_t max_position_embeddings);

// Images of an ImageDataset (bytes, (N, C, S, S)) at `indices`, normalized per channel: (B, C, S, S). With
// `shift` > 0 and a generator, each picture moves by dy, dx drawn from [−shift, shift] (in that order), white
// filling what it uncovers (the emoji's background).
Tensor clip_images(const data::ImageDataset& data, const std::vector<int64_t>& indices, const ClipConfig& c,
                   int64_t shift = 0, Generator* gen = nullptr);

// Retrieval among N matching pairs (image i with text i): every image ranks the N texts by cosine similarity and
// every text the N images. recall@k = the share whose own partner is among the k best (ties count against it); a
// random ranking scores k / N.
struct ClipRetrieval {
  int64_t count = 0;
  double loss = 0;  // the symmetric InfoNCE loss of the N pairs as one batch
  double image_to_text[3] = {0, 0, 0};  // recall@1, @5, @10
  double text_to_image[3] = {0, 0, 0};
  std::vector<int64_t> best_text;  // each image's best text (an index into `texts`)
};
inline constexpr int64_t kClipRecallAt[3] = {1, 5, 10};
ClipRetrieval evaluate_clip(ClipModel& model, const data::SubwordTokenizer& tok, const data::ImageDataset& data,
                            const std::vector<int64_t>& indices, const std::vector<std::string>& texts);
// (N, E) unit rows of the images / texts, in batches, without gradients, the model in eval mode.
Tensor clip_image_embeddings(ClipModel& model, const data::ImageDataset& data, const std::vector<int64_t>& indices);
Tensor clip_text_embeddings(ClipModel& model, const data::SubwordTokenizer& tok, const std::vector<std::string>& texts);

struct LoadedClip {
  std::unique_ptr<ClipModel> model;
  data::SubwordTokenizer tokenizer;
  std::string dir;
};
// A folder written by save_clip; attn::Error naming the folder (and how to make one) when it is not one.
LoadedClip load_clip(const std::string& dir);
// config.json (with `extra_config`, a JSON object's text, merged in) last, each file atomically; dtype "F32",
// "F16" or "BF16".
void save_clip(const std::string& dir, const ClipModel& model, const data::SubwordTokenizer& tokenizer,
               const std::string& dtype = "F32", const std::string& extra_config = "",
               const std::map<std::string, std::string>& weights_metadata = {});

}  // namespace attn::models
