// Keyword Transformer (Berg, O'Connor & Tairum Cruz 2021, "Keyword Transformer: A Self-Attention Model for
// Keyword Spotting"): a Vision Transformer whose image is a log-mel spectrogram and whose patches are slices
// of time. Every `patch_frames` frames (all mel bins) become one token; a CLS token is prepended, learned
// positions added, and pre-LayerNorm encoder blocks (the ViT's, attn/models/vit.h) let every moment of the
// word attend to every other; the CLS token's final state names the word.
//
// Shape legend: B batch, F frames (1 + clip/hop), M mel bins, p patch_frames, N = F / p tokens of sound (the
// frames past the last whole patch are dropped), T = N + 1 with CLS, D hidden_size, K words.
//
//   x      = log-mel features (B, F, M)  (attn/audio/speech_data.h: standardized dB)
//   tokens = x[:, :N·p] viewed (B, N, p·M) · Wpᵀ + bp                                        (B, N, D)
//   h₀     = [cls ; tokens] + position_embeddings                                           (B, T, D)
//   hₗ     = ViTLayer(hₗ₋₁)  (pre-LN: h += attn(LN(h)); h += MLP(LN(h)))                     (B, T, D)
//   logits = classifier(LN(h_L)[:, 0])                                                      (B, K)
//
// Parameters:
//   embeddings.cls_token (1, 1, D), embeddings.position_embeddings (1, T, D),
//   embeddings.patch_projection.weight (D, p·M) / .bias (D),
//   encoder.layer.{l}.* (as ViT: attention.attention.{query,key,value}, attention.output.dense,
//   intermediate.dense, output.dense, layernorm_before, layernorm_after), layernorm.*, classifier.*
//
// The folder (save_kwt / load_kwt): config.json (architecture "kwt", the encoder's sizes, the words, and
// the features: sample rate, mel options, clip length) and model.safetensors.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "attn/audio/speech_data.h"
#include "attn/models/vit.h"

namespace attn::models {

struct KWTConfig {
  audio::SpeechFeatures features;  // what the model hears: F = features.frames(), M = features.mel.n_mels
  int64_t patch_frames = 2;
  int64_t hidden_size = 96;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t intermediate_size = 384;
  float layer_norm_eps = 1e-6f;
  float hidden_dropout_prob = 0.f, attention_probs_dropout_prob = 0.f;
  float initializer_range = 0.02f;
  int64_t num_labels = 72;
  std::vector<std::string> id2label;

  int64_t num_frames() const { return features.frames(); }
  int64_t num_mel_bins() const { return features.mel.n_mels; }
  int64_t num_patches() const { return num_frames() / patch_frames; }  // N
  int64_t seq_len() const { return num_patches() + 1; }                // T
  std::string label(int64_t k) const;
  ViTConfig encoder_config() const;  // the ViT blocks' settings
  void validate() const;             // attn::Error naming KWT and the field
};

class KWTEmbeddings : public nn::Module {
 public:
  KWTEmbeddings(const KWTConfig& c, const ViTConfig& vc, Generator& gen);
  Tensor forward(const Tensor& features);  // (B, F, M) -> (B, T, D)
  std::string type_name() const override { return "KWTEmbeddings"; }
  int64_t patch_frames, num_patches;
  Tensor cls_token, position_embeddings;
  std::shared_ptr<nn::Linear> patch_projection;
};

struct KWTOutput {
  Tensor logits;                   // (B, K)
  std::vector<Tensor> attentions;  // per layer (B, Hh, T, T), when asked for
};

class KWTForKeywordSpotting : public nn::Module {
 public:
  KWTForKeywordSpotting(const KWTConfig& config, Generator& gen, uint64_t dropout_seed = 0);
  // features (B, F, M) -> logits (B, K); attn::Error for another shape.
  Tensor forward(const Tensor& features);
  // With the attention weights of every layer (the fused kernel's; explain methods use vit's options).
  KWTOutput forward(const Tensor& features, bool output_attentions);
  Tensor loss(const Tensor& features, const IndexTensor& labels, float label_smoothing = 0.f);
  const KWTConfig& config() const { return config_; }
  std::string type_name() const override { return "KWTForKeywordSpotting"; }

  std::shared_ptr<KWTEmbeddings> embeddings;
  std::vector<std::shared_ptr<ViTLayer>> layer;  // encoder.layer.{l}
  std::shared_ptr<nn::LayerNorm> layernorm;
  std::shared_ptr<nn::Linear> classifier;

 private:
  KWTConfig config_;
};

// Where the CLS token listens: per layer, item `b`'s CLS attention row over the N sound tokens (the CLS column
// left out), averaged over heads — out.attentions must be recorded. L vectors of N weights.
std::vector<std::vector<float>> cls_attention_rows(const KWTOutput& out, int64_t b = 0);

// Accuracy (top-1, top-5), mean loss and the confusion matrix over utterances, in batches, without
// gradients and in eval mode (the caller's mode comes back).
struct KWTEvaluation {
  double loss = 0, accuracy = 0, top5 = 0;
  int64_t count = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  std::vector<int64_t> predicted;               // each utterance's top-1 class, in order
};
KWTEvaluation evaluate_kwt(KWTForKeywordSpotting& model, const std::vector<audio::Utterance>& data,
                           const audio::MelSpectrogram& mel);
// The same over (1, F, M) feature tensors with their labels (real recordings).
KWTEvaluation evaluate_kwt(KWTForKeywordSpotting& model, const std::vector<Tensor>& features,
                           const std::vector<int64_t>& labels);

struct LoadedKWT {
  std::unique_ptr<KWTForKeywordSpotting> model;
  std::string dir;
};
LoadedKWT load_kwt(const std::string& dir);
// Writes config.json (merged with extra_config, a JSON object text or "") and model.safetensors (dtype F32,
// F16 or BF16), each atomically.
void save_kwt(const std::string& dir, const KWTForKeywordSpotting& model, const std::string& dtype = "F32",
              const std::string& extra_config = "", const std::map<std::string, std::string>& weights_metadata = {});

// The feature settings as a model folder's config.json stores them ("features": sample rate, mel options,
// clip length) and back (attn::Error naming `path` and the field); shared by the KWT and LAS folders.
nlohmann::json speech_features_json(const audio::SpeechFeatures& features);
audio::SpeechFeatures speech_features_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace attn::models
