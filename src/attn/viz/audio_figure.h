// Where a speech model listens: the log-mel spectrogram of a recording, and under it, aligned in time, one
// strip per row of attention — for a Keyword Transformer, per layer, how much the CLS token attends to each
// moment (the mean over heads of its attention row); for Listen, Attend and Spell, per spelled letter, its
// alignment over the encoder's steps (the classic figure of attention in speech recognition). Each column spans
// `frames_per_column` spectrogram frames. The figure of `attn listen --figure` and of the audio lesson.
//
//   ┌ title: the recording, and what the model heard ─────────────────────┐
//   │ spectrogram (n_mels rows, low frequencies at the bottom; viridis)   │
//   │ layer 1  ░░▒▒▓▓██▓▒░  CLS → time (blues, each strip scaled to its max)│
//   │ ...                                                                 │
//   │ time axis in seconds                                                │
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn::viz {

struct AudioAttentionFigure {
  std::string title;
  std::vector<float> spectrogram;  // (n_mels, frames), dB or standardized: coloured min..max
  int64_t n_mels = 0, frames = 0;
  double seconds_per_frame = 0.01;
  std::vector<std::vector<float>> rows;  // attention weights over time: per layer (KWT) or per letter (LAS)
  std::vector<std::string> row_labels;   // "layer 1", ... or the letters
  int64_t frames_per_column = 1;         // frames of the spectrogram under one weight
  std::string caption = "time (s)";
};

// A figure with the spectrogram of a model's input: `features` laid out (frames, n_mels) as the models read it
// (attn/audio/speech_data.h), turned into the figure's (n_mels, frames); no rows yet, caption "time (s)".
AudioAttentionFigure spectrogram_figure(const float* features, int64_t frames, int64_t n_mels, double seconds_per_frame,
                                        std::string title = "");

// SVG or PNG by the path's extension (.svg / .png); attn::Error naming the path otherwise.
void save_audio_attention(const AudioAttentionFigure& figure, const std::string& path);
std::string audio_attention_svg(const AudioAttentionFigure& figure);
std::string audio_attention_png(const AudioAttentionFigure& figure, double scale = 2);

}  // namespace attn::viz
