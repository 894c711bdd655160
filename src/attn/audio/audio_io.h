// Reading, resampling and writing sound: the first step of every audio model (attn/audio/features.h turns
// the samples into a log-mel spectrogram, the tokens of attn/models/kwt.h).
//
//   file (WAV, OGG/Vorbis, FLAC, ... : whatever libsndfile reads)
//     -> samples as float in [-1, 1], interleaved per channel (a float file louder than full scale is scaled
//        down to it)
//     -> mono: the mean of the channels (as torchaudio users write `wave.mean(dim=0)`)
//     -> resampled to the model's rate (libsamplerate's band-limited sinc interpolation)
//
// The libraries (Debian's libsndfile1-dev, libsamplerate0-dev) do the work; this layer names what went wrong:
// a missing, empty, truncated or non-audio file, a silent recording, one longer than the caller allows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attn::audio {

struct Waveform {
  std::vector<float> samples;  // mono, in [-1, 1]
  int64_t sample_rate = 16000;
  double seconds() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

struct LoadOptions {
  double max_seconds = 60;    // longer recordings are refused (attn::Error naming the length); <= 0: no limit
  bool allow_silent = false;  // a recording whose peak is below 1e-4 (-80 dBFS) is refused unless allowed
};

// Reads a sound file and mixes it down to mono at its own rate. attn::Error naming the path for a missing,
// unreadable, empty, too long or silent file.
Waveform load_audio(const std::string& path, const LoadOptions& options = {});
// The same from bytes in memory (an upload): `name` is what the errors call it.
Waveform load_audio_bytes(const std::string& bytes, const std::string& name, const LoadOptions& options = {});

// To another sample rate (libsamplerate, SRC_SINC_MEDIUM_QUALITY); the same waveform if the rate already matches.
Waveform resample(const Waveform& wave, int64_t sample_rate);

// 16-bit PCM WAV (mono), written atomically; samples are clipped to [-1, 1].
void save_wav(const std::string& path, const Waveform& wave);
// The same file's bytes (what the explorer sends a browser to play).
std::string wav_bytes(const Waveform& wave);

// The loudest |sample|.
float peak(const Waveform& wave);

}  // namespace attn::audio
