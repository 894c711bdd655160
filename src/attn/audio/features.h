// The log-mel spectrogram: how a speech model sees sound. Equal to torchaudio's
//   MelSpectrogram(sample_rate, n_fft, win_length, hop_length, f_min, f_max, n_mels, power=2,
//                  center=True, pad_mode="reflect", norm=None, mel_scale="htk")  followed by
//   AmplitudeToDB(stype="power", top_db)
// (checked live against Debian's python3-torchaudio in tests/torch/test_audio_vs_torch.cpp).
//
//   1. frames: the signal x (N samples), padded by n_fft/2 on each side with its reflection (center), is cut
//      every hop_length samples into F = 1 + N / hop_length frames of n_fft samples
//   2. window: each frame times a periodic Hann window of win_length samples, centred in n_fft
//        w[n] = ½ (1 - cos(2π n / win_length)),  n = 0 .. win_length-1
//   3. power spectrum: |FFT(frame)|², the n_fft/2 + 1 non-negative frequencies (FFTW's real-to-complex
//      transform, Debian's libfftw3-dev)                                                      (F, n_fft/2+1)
//   4. mel filter bank: n_mels triangles, equally spaced on the mel scale  m = 2595 log10(1 + f / 700)
//      between f_min and f_max, each 1 at its centre and 0 at its neighbours' centres          (n_fft/2+1, n_mels)
//        mel[t, m] = Σ_f power[t, f] · fb[f, m]
//   5. decibels: db = 10 log10(max(mel, 1e-10)), then floored at max(db) - top_db over the whole spectrogram
//
// The result is laid out (n_mels, F) as torchaudio's, frequency rows and time columns: a picture with time
// running to the right. A model reads its transpose (F, n_mels): one token per frame (attn/models/kwt.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace attn::audio {

struct MelOptions {
  int64_t sample_rate = 16000;
  int64_t n_fft = 512;
  int64_t win_length = 400;  // 25 ms at 16 kHz
  int64_t hop_length = 160;  // 10 ms
  double f_min = 20, f_max = 7600;
  int64_t n_mels = 40;
  double top_db = 80;  // <= 0: no floor
  bool center = true;
  // Throws attn::Error naming the field.
  void validate() const;
};

class MelSpectrogram {
 public:
  explicit MelSpectrogram(const MelOptions& options = {});
  ~MelSpectrogram();
  MelSpectrogram(const MelSpectrogram&) = delete;
  MelSpectrogram& operator=(const MelSpectrogram&) = delete;

  const MelOptions& options() const { return options_; }
  // Frames for n samples: 1 + n / hop_length (center) or 1 + (n - n_fft) / hop_length.
  int64_t num_frames(int64_t n) const;
  // The log-mel spectrogram in dB of x[0..n), (n_mels, F) row-major. Thread-safe (each call has its own
  // buffers; FFTW's plan is shared, executed with the new-array interface).
  std::vector<float> log_mel(const float* x, int64_t n) const;
  // The power mel spectrogram (before step 5), (n_mels, F).
  std::vector<double> mel_power(const float* x, int64_t n) const;
  // The filter bank fb (n_fft/2 + 1, n_mels) and the window (n_fft, zero outside the centred Hann).
  const std::vector<double>& filter_bank() const { return fb_; }
  const std::vector<double>& window() const { return window_; }

 private:
  MelOptions options_;
  std::vector<double> window_, fb_;
  std::vector<int64_t> fb_lo_, fb_hi_;  // the bins where filter m is non-zero: [fb_lo_[m], fb_hi_[m])
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

// Hz <-> mel (HTK's formula, as torchaudio's mel_scale="htk").
double hz_to_mel(double hz);
double mel_to_hz(double mel);

}  // namespace attn::audio
