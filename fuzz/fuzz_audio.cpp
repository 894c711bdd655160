// Sound files (audio/audio_io.h): what `attn listen` and the explorer read from a user's file or an upload —
// WAV, OGG/Vorbis, FLAC, whatever libsndfile recognizes — then resampled and turned into a model's input.
#include <string>

#include "attn/audio/audio_io.h"
#include "attn/audio/speech_data.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string bytes(fuzz::view(data, size));
  fuzz::expect_clean([&] {
    audio::LoadOptions o;
    o.max_seconds = 30;
    const audio::Waveform w = audio::load_audio_bytes(bytes, "fuzz input", o);
    if (w.samples.empty() || w.sample_rate < 1000) __builtin_trap();  // a load returns samples or throws
    for (float s : w.samples)
      if (!(s >= -1.f && s <= 1.f)) __builtin_trap();  // finite and in range, whatever the file held
    // The features of long or very high-rate inputs cost time (sinc resampling), not coverage.
    if (w.seconds() > 0.25 || w.sample_rate > 48000) return;
    static const audio::SpeechFeatures features;
    static const audio::MelSpectrogram mel(features.mel);
    const Tensor x = audio::waveform_features(w, features, mel);
    if (x.size(1) != features.frames()) __builtin_trap();
  });
  return 0;
}
