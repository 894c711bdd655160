// Listen, Attend and Spell (Chan, Jaitly, Le & Vinyals 2016): a speech recognizer that spells what it hears
// one letter at a time, attending to the sound as it goes — the encoder-decoder with attention of
// translation (Bahdanau et al. 2015), with audio frames as the source and letters as the target. The attention
// is location-aware (Chorowski et al. 2015, "Attention-Based Models for Speech Recognition"): where the model
// looked at the last letter tells it where to look next, so it moves along the word from left to right.
//
// Shape legend: B batch, F frames, M mel bins, k stack_frames, T = F / k / 2^P encoder steps after P pyramid
// levels (the keys), H listener_hidden (per direction), S speller_hidden, E embedding, A attention_dim,
// K location_filters, r location_width, V = 2 + |alphabet| (0 <sos>, 1 <eos>, then the letters), L letters.
//
// Listener (the pyramidal bidirectional RNN, with GRUs):
//   x   = features (B, F, M), every k frames concatenated                            (B, F/k, k·M)
//   h⁰  = BiGRU₀(x)                                                                  (B, F/k, 2H)
//   hᵖ  = BiGRUₚ(hᵖ⁻¹ with neighbouring steps concatenated: [h_2t ; h_2t+1])         (B, F/k/2ᵖ, 2H)
//   the keys and values: h = hᴾ                                                      (B, T, 2H)
// Speller, at letter i (teacher forcing in training: y_{i-1} is the true previous letter):
//   s_i   = GRUCell([embed(y_{i-1}) ; c_{i-1}], s_{i-1})                              (B, S)
//   f_i   = F * α_{i-1}          K filters of width r slid along the previous alignment (B, T, K)
//   e_ij  = wᵀ tanh(W s_i + V h_j + U f_ij + b)                                       (B, T)
//   α_i   = softmax_j(e_ij)                                                           (B, T)   the alignment
//   c_i   = Σ_j α_ij h_j                                                              (B, 2H)
//   P(y_i | y_<i, x) = softmax(character_distribution([s_i ; c_i]))                   (B, V)
// With location_filters = 0 the U f term is left out: plain additive attention (Bahdanau).
// Decoding is greedy (the word is short and the speller sure); the alignments α (letters × keys) are what
// `attn listen --figure` draws over the spectrogram.
//
// Parameters: listener.layer.{p}.* (torch.nn.GRU names: weight_ih_l0, ..._reverse), speller.embedding.weight,
// speller.cell.* (torch.nn.GRUCell), speller.attention.{query (A, S), key (A, 2H) + bias, location_conv (K, r),
// location (A, K), v (A)}, speller.character_distribution.weight (V, S + 2H) / .bias.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attn/audio/speech_data.h"
#include "attn/nn/layers.h"
#include "attn/nn/rnn.h"

namespace attn::models {

struct LASConfig {
  audio::SpeechFeatures features;
  int64_t stack_frames = 2;
  int64_t pyramid_levels = 1;
  int64_t listener_hidden = 96;
  int64_t speller_hidden = 128;
  int64_t embedding = 32;
  int64_t attention_dim = 64;
  int64_t location_filters = 8, location_width = 9;
  int64_t max_letters = 16;  // greedy decoding stops after this many letters
  std::string alphabet = "abcdefghijklmnopqrstuvwxyz '";
  std::vector<std::string> id2label;  // the words it was trained on (for reports; spelling is open)
  std::vector<std::string> texts;     // what each word is spelled as (the target), by label id

  int64_t vocab() const { return 2 + static_cast<int64_t>(alphabet.size()); }
  int64_t num_keys() const;  // T
  void validate() const;
};

inline constexpr int64_t kSos = 0, kEos = 1;

class LASListener : public nn::Module {
 public:
  LASListener(const LASConfig& c, Generator& gen);
  Tensor forward(const Tensor& features);  // (B, F, M) -> (B, T, 2H)
  std::string type_name() const override { return "Listener"; }
  int64_t stack_frames;
  std::vector<std::shared_ptr<nn::GRU>> layer;
};

class LocationAwareAttention : public nn::Module {
 public:
  LocationAwareAttention(const LASConfig& c, Generator& gen);
  // keys_projected = key(h) (B, T, A), computed once per utterance; s (B, S); previous alignment (B, T).
  // Returns the new alignment (B, T).
  Tensor forward(const Tensor& s, const Tensor& keys_projected, const Tensor& previous_alignment);
  std::string type_name() const override { return "LocationAwareAttention"; }
  int64_t width;
  std::shared_ptr<nn::Linear> query, key, location_conv, location;
  Tensor v;  // (A)
};

struct LASDecoded {
  std::vector<std::string> text;              // per utterance, the spelled letters (no <eos>)
  std::vector<std::vector<float>> alignment;  // per utterance (letters + 1 for <eos>) × T, row-major
};

class LASForSpelling : public nn::Module {
 public:
  LASForSpelling(const LASConfig& config, Generator& gen);
  // Teacher-forced logits (B, L, V) for targets (B, L): targets[b, i] is letter i (with <eos> after the last);
  // positions past a word's end hold -100 and are ignored by loss().
  Tensor forward(const Tensor& features, const IndexTensor& targets, std::vector<Tensor>* alignments = nullptr);
  Tensor loss(const Tensor& features, const IndexTensor& targets, float label_smoothing = 0.f);
  LASDecoded greedy_decode(const Tensor& features);
  // The targets of words spelled as `texts` (B, L) with L = longest + 1; attn::Error for a letter outside the alphabet.
  IndexTensor encode(const std::vector<std::string>& texts) const;
  const LASConfig& config() const { return config_; }
  std::string type_name() const override { return "LASForSpelling"; }

  std::shared_ptr<LASListener> listener;
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::GRUCell> cell;
  std::shared_ptr<LocationAwareAttention> attention;
  std::shared_ptr<nn::Linear> character_distribution;

 private:
  LASConfig config_;
};

// Levenshtein distance between two strings (insertions, deletions, substitutions of one byte each).
int64_t edit_distance(const std::string& a, const std::string& b);

// Character error rate Σ edit_distance / Σ |reference|, word accuracy (exact spelling) and the spellings.
struct LASEvaluation {
  double cer = 0, word_accuracy = 0, loss = 0;
  int64_t count = 0;
  std::vector<std::string> spelled;
};
LASEvaluation evaluate_las(LASForSpelling& model, const std::vector<audio::Utterance>& data,
                           const audio::MelSpectrogram& mel);
LASEvaluation evaluate_las(LASForSpelling& model, const std::vector<Tensor>& features,
                           const std::vector<int64_t>& labels);

struct LoadedLAS {
  std::unique_ptr<LASForSpelling> model;
  std::string dir;
};
LoadedLAS load_las(const std::string& dir);
void save_las(const std::string& dir, const LASForSpelling& model, const std::string& extra_config = "",
              const std::map<std::string, std::string>& weights_metadata = {});

// "kwt" or "las": the architecture a model folder names in its config.json; attn::Error if it names neither.
std::string audio_model_architecture(const std::string& dir);

}  // namespace attn::models
