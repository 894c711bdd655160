// The explorer's Audio tab: the speech models of attn train audio (a Keyword Transformer, Listen, Attend and
// Spell, or both), KTuberling's human recordings, and one recording at a time through them. Explorer routes
// these paths here (docs/explorer_api.md):
//
//   GET  /api/audio/recordings           the real test recordings: index, file, word
//   POST /api/audio/analyze?index=N      analyze recording N
//   POST /api/audio/analyze  + body      analyze an uploaded WAV/OGG/FLAC (any rate, mono or stereo; mixed down
//                                        and resampled; over max_audio_seconds or silent: 400, too big: 413)
//
// One analysis holds: the recording as the models heard it (16-bit mono WAV at their rate, base64, for the
// page to play), its length, the log-mel spectrogram the models read (n_mels × frames, standardized dB), and
//   - kwt: the top 5 words with probabilities and the CLS token's attention (L, H, N) over the N time tokens,
//     with the frames each token spans;
//   - las: the spelled text, whether it is one of the vocabulary's words, and the alignment (letters + 1, T)
//     over the T encoder steps, with the frames each step spans.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "attn/audio/features.h"
#include "attn/audio/words.h"
#include "attn/models/kwt.h"
#include "attn/models/las.h"

namespace attn::explore {

class AudioExplorer {
 public:
  // Either model may be absent (not both). `recordings` is KTuberling's sounds folder: missing = uploads only.
  AudioExplorer(models::LoadedKWT kwt, models::LoadedLAS las, const std::string& recordings = audio::kKtuberlingSounds);

  // {kwt: {name, path, words, layers, heads, tokens} | null, las: {...} | null, recordings: count}
  nlohmann::json info() const;
  nlohmann::json recordings() const;
  // HttpError 400/404 for a bad index or an unreadable, silent or over-long upload.
  nlohmann::json analyze_recording(int64_t index);
  nlohmann::json analyze_upload(const std::string& bytes, double max_seconds);

 private:
  nlohmann::json analyze(const audio::Waveform& wave, const std::string& source, int64_t label);
  const audio::SpeechFeatures& features() const;

  models::LoadedKWT kwt_;
  models::LoadedLAS las_;
  std::unique_ptr<audio::MelSpectrogram> mel_;  // the models' features, planned once
  std::vector<audio::Recording> recordings_;
};

}  // namespace attn::explore
