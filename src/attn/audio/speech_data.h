// Spoken words as a data set: the synthetic training corpus, its augmentation, and how any recording —
// synthetic or real — becomes the input of a keyword model (attn/models/kwt.h).
//
//   waveform (16 kHz, mono)
//     -> trim: drop the 10 ms blocks at both ends quieter than (the loudest block − trim_db)
//     -> clip: the word centred in exactly clip_seconds (padded with silence, or its middle kept)
//     -> log-mel spectrogram in dB (attn/audio/features.h)                         (n_mels, F)
//     -> standardized over the clip: (db − mean) / std, then transposed            (F, n_mels): one row per
//        10 ms frame, the tokens' raw material
// The standardization makes the input independent of the recording's level, one of the ways a model trained on
// synthesizers is helped to hear people.
//
// Training augmentation, each item from its own Generator (seed, step, index in the batch), so a batch is
// the same whatever the number of threads and a resumed run sees the batches it would have seen:
//   - speed: the word played faster or slower by up to ±speed (linear interpolation: pitch and tempo move
//     together, like tape);
//   - position: the word shifted by up to ±shift_seconds in its clip;
//   - channel: a random first-order tilt of the spectrum (y[n] = x[n] − a·x[n−1], a in ±tilt), as different
//     microphones and rooms colour sound;
//   - noise: with probability noise_prob, white or brown noise at a signal-to-noise ratio drawn from
//     [snr_db_min, snr_db_max] dB;
//   - SpecAugment (Park et al. 2019): `time_masks` bands of up to `time_mask_frames` frames and `freq_masks`
//     bands of up to `freq_mask_bins` mels set to 0 (the standardized mean).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "attn/audio/audio_io.h"
#include "attn/audio/features.h"
#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn::audio {

struct SpeechFeatures {
  MelOptions mel;             // 16 kHz, n_fft 512, 25 ms windows every 10 ms, 40 mels from 20 to 7600 Hz
  double clip_seconds = 1.2;  // every input lasts this long
  double trim_db = 40;        // what counts as silence at the ends
  int64_t clip_samples() const;
  int64_t frames() const;  // F = 1 + clip_samples / hop_length
  void validate() const;   // attn::Error naming the field
};

// [begin, end) of x once the quiet blocks at both ends are dropped (the whole of x if nothing is above the floor).
std::pair<int64_t, int64_t> speech_bounds(const float* x, int64_t n, int64_t block, double trim_db);
// The trimmed word centred in exactly n samples, moved by `shift` samples (positive: later); the middle n
// samples if it is longer.
std::vector<float> fit_clip(const float* x, int64_t len, int64_t n, int64_t shift, double trim_db, int64_t block);
// (F, n_mels) standardized log-mel of a clip of clip_samples() samples, written to out.
void clip_features(const MelSpectrogram& mel, const std::vector<float>& clip, float* out);

// A recording (any rate, mono) as the model's input (1, F, n_mels): resampled, trimmed, centred, standardized.
Tensor waveform_features(const Waveform& wave, const SpeechFeatures& features, const MelSpectrogram& mel);

// One utterance of the corpus: 16-bit samples at the features' rate, trimmed of silence.
struct Utterance {
  std::vector<int16_t> pcm;
  int64_t label = -1;
  std::string voice;  // SynthVoice::describe(), or the recording's path
};

struct SpeechCorpusOptions {
  int64_t sample_rate = 16000;
  int64_t words = 0;                // the first N words of the vocabulary (0: all 72)
  int64_t espeak_per_word = 150;    // training utterances per word, from eSpeak NG's training variants
  int64_t val_per_word = 10;        // validation: eSpeak NG variants never trained on
  int64_t flite_per_word = 10;      // training utterances per word from each training Flite voice
  int64_t flite_test_per_word = 5;  // test: the held-out Flite voices
  std::vector<std::string> flite_test_voices = {"slt"};
  int64_t heldout_every = 8;  // every 8th eSpeak NG variant (sorted by name) is kept for validation
  double trim_db = 40;
  uint64_t seed = 1;
};

struct SpeechCorpus {
  std::vector<Utterance> train, val, flite_test;
  std::vector<std::string> labels;              // class names, by id
  std::vector<std::string> heldout_variants;    // eSpeak NG variants of the validation set only
  std::vector<std::string> train_flite_voices;  // Flite voices in training
  int64_t failed = 0;                           // utterances a synthesizer crashed on (left out)
};
// Synthesizes the corpus (tens of seconds on one core: synthesis is serialized). attn::Error for bad options.
SpeechCorpus synthesize_corpus(const SpeechCorpusOptions& options, std::ostream* log = nullptr);

struct SpeechAugment {
  double speed = 0.12, shift_seconds = 0.1, tilt = 0.9;
  double noise_prob = 0.8, snr_db_min = 5, snr_db_max = 40;
  int64_t time_masks = 2, time_mask_frames = 10, freq_masks = 2, freq_mask_bins = 6;
};

struct SpeechBatch {
  Tensor features;     // (B, F, n_mels)
  IndexTensor labels;  // (B)
};
// The utterances data[idx[i]] as a batch, augmented when `augment` is given (item i drawn from
// Generator(seed, step · 65536 + first + i): `first` is idx[0]'s place in the step's whole batch, when idx is one
// rank's share of it). Features are computed in parallel (OpenMP).
SpeechBatch make_speech_batch(const std::vector<Utterance>& data, const std::vector<int64_t>& idx,
                              const SpeechFeatures& features, const MelSpectrogram& mel,
                              const SpeechAugment* augment = nullptr, uint64_t seed = 0, uint64_t step = 0,
                              uint64_t first = 0);

}  // namespace attn::audio
