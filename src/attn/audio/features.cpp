// The log-mel spectrogram, step by step as attn/audio/features.h writes it; FFTW computes the FFTs.
#include "attn/audio/features.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numbers>

#include "attn/core/error.h"

namespace attn::audio {

namespace {
constexpr const char* kOp = "MelSpectrogram";
// FFTW's planner is not thread-safe: plans are made (and destroyed) under this lock; executing is.
std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

void MelOptions::validate() const {
  ATTN_CHECK(sample_rate >= 1000, kOp, "sample_rate " << sample_rate << " must be >= 1000");
  ATTN_CHECK(n_fft >= 16 && n_fft <= 65536, kOp, "n_fft " << n_fft << " outside 16..65536");
  ATTN_CHECK(win_length > 0 && win_length <= n_fft, kOp,
             "win_length " << win_length << " outside 1..n_fft (" << n_fft << ")");
  ATTN_CHECK(hop_length > 0, kOp, "hop_length " << hop_length << " must be positive");
  ATTN_CHECK(n_mels > 0 && n_mels <= n_fft / 2 + 1, kOp, "n_mels " << n_mels << " outside 1..n_fft/2+1");
  ATTN_CHECK(f_min >= 0 && f_min < f_max && f_max <= sample_rate / 2.0, kOp,
             "need 0 <= f_min < f_max <= sample_rate/2, got f_min " << f_min << ", f_max " << f_max);
}

struct MelSpectrogram::Plan {
  fftw_plan plan = nullptr;
};

MelSpectrogram::MelSpectrogram(const MelOptions& o) : options_(o), plan_(std::make_unique<Plan>()) {
  o.validate();
  const int64_t n_freqs = o.n_fft / 2 + 1;
  // Periodic Hann of win_length samples, centred in n_fft (torch.stft pads the window on both sides).
  window_.assign(static_cast<size_t>(o.n_fft), 0.0);
  const int64_t left = (o.n_fft - o.win_length) / 2;
  for (int64_t n = 0; n < o.win_length; ++n)
    window_[static_cast<size_t>(left + n)] = 0.5 * (1.0 - std::cos(2.0 * std::numbers::pi * n / o.win_length));
  // Triangular filters (torchaudio.functional.melscale_fbanks, norm=None): the frequencies of the FFT bins are
  // linspace(0, sample_rate // 2, n_freqs); the filters' corners are n_mels + 2 points equally spaced in mel.
  fb_.assign(static_cast<size_t>(n_freqs * o.n_mels), 0.0);
  const double m_min = hz_to_mel(o.f_min), m_max = hz_to_mel(o.f_max);
  std::vector<double> f_pts(static_cast<size_t>(o.n_mels + 2));
  for (int64_t i = 0; i < o.n_mels + 2; ++i)
    f_pts[static_cast<size_t>(i)] =
        mel_to_hz(m_min + (m_max - m_min) * static_cast<double>(i) / static_cast<double>(o.n_mels + 1));
  const double nyquist = static_cast<double>(o.sample_rate / 2);
  for (int64_t f = 0; f < n_freqs; ++f) {
    const double hz = n_freqs > 1 ? nyquist * static_cast<double>(f) / static_cast<double>(n_freqs - 1) : 0.0;
    for (int64_t m = 0; m < o.n_mels; ++m) {
      const double lo = f_pts[static_cast<size_t>(m)], mid = f_pts[static_cast<size_t>(m + 1)],
                   hi = f_pts[static_cast<size_t>(m + 2)];
      const double down = (hz - lo) / (mid - lo), up = (hi - hz) / (hi - mid);
      fb_[static_cast<size_t>(f * o.n_mels + m)] = std::max(0.0, std::min(down, up));
    }
  }
  fb_lo_.assign(static_cast<size_t>(o.n_mels), 0);
  fb_hi_.assign(static_cast<size_t>(o.n_mels), 0);
  for (int64_t m = 0; m < o.n_mels; ++m) {
    int64_t lo = n_freqs, hi = 0;
    for (int64_t f = 0; f < n_freqs; ++f)
      if (fb_[static_cast<size_t>(f * o.n_mels + m)] != 0.0) {
        lo = std::min(lo, f);
        hi = f + 1;
      }
    fb_lo_[static_cast<size_t>(m)] = std::min(lo, hi);
    fb_hi_[static_cast<size_t>(m)] = hi;
  }
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  double* in = fftw_alloc_real(static_cast<size_t>(o.n_fft));
  fftw_complex* out = fftw_alloc_complex(static_cast<size_t>(n_freqs));
  plan_->plan = fftw_plan_dft_r2c_1d(static_cast<int>(o.n_fft), in, out, FFTW_ESTIMATE);
  fftw_free(in);
  fftw_free(out);
  ATTN_CHECK(plan_->plan != nullptr, kOp, "FFTW could not plan an FFT of " << o.n_fft << " points");
}

MelSpectrogram::~MelSpectrogram() {
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  if (plan_ && plan_->plan) fftw_destroy_plan(plan_->plan);
}

int64_t MelSpectrogram::num_frames(int64_t n) const {
  if (options_.center) return 1 + n / options_.hop_length;
  return n >= options_.n_fft ? 1 + (n - options_.n_fft) / options_.hop_length : 0;
}

std::vector<double> MelSpectrogram::mel_power(const float* x, int64_t n) const {
  const MelOptions& o = options_;
  ATTN_CHECK(n > 0, kOp, "no samples");
  const int64_t pad = o.center ? o.n_fft / 2 : 0;
  ATTN_CHECK(!o.center || n > pad, kOp,
             n << " samples: reflection padding needs more than n_fft/2 = " << pad << " (torch.stft's rule)");
  const int64_t frames = num_frames(n);
  ATTN_CHECK(frames > 0, kOp, n << " samples: shorter than one frame of " << o.n_fft);
  const int64_t n_freqs = o.n_fft / 2 + 1;
  // The padded signal's sample i (reflect: ... x2 x1 | x0 x1 ... x_{n-1} | x_{n-2} x_{n-3} ...).
  auto sample = [&](int64_t i) -> double {
    i -= pad;
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
    return static_cast<double>(x[i]);
  };
  double* in = fftw_alloc_real(static_cast<size_t>(o.n_fft));
  fftw_complex* out = fftw_alloc_complex(static_cast<size_t>(n_freqs));
  std::vector<double> power(static_cast<size_t>(n_freqs));
  std::vector<double> mel(static_cast<size_t>(o.n_mels * frames), 0.0);
  for (int64_t t = 0; t < frames; ++t) {
    const int64_t start = t * o.hop_length;
    for (int64_t k = 0; k < o.n_fft; ++k) in[k] = sample(start + k) * window_[static_cast<size_t>(k)];
    fftw_execute_dft_r2c(plan_->plan, in, out);
    for (int64_t f = 0; f < n_freqs; ++f) power[static_cast<size_t>(f)] = out[f][0] * out[f][0] + out[f][1] * out[f][1];
    // Each triangle covers a few bins only: sum over its own range [fb_lo_[m], fb_hi_[m]).
    for (int64_t m = 0; m < o.n_mels; ++m) {
      double acc = 0;
      for (int64_t f = fb_lo_[static_cast<size_t>(m)]; f < fb_hi_[static_cast<size_t>(m)]; ++f)
        acc += power[static_cast<size_t>(f)] * fb_[static_cast<size_t>(f * o.n_mels + m)];
      mel[static_cast<size_t>(m * frames + t)] = acc;
    }
  }
  fftw_free(in);
  fftw_free(out);
  return mel;
}

std::vector<float> MelSpectrogram::log_mel(const float* x, int64_t n) const {
  const std::vector<double> mel = mel_power(x, n);
  std::vector<double> db(mel.size());
  double top = -1e300;
  for (size_t i = 0; i < mel.size(); ++i) {
    db[i] = 10.0 * std::log10(std::max(mel[i], 1e-10));
    top = std::max(top, db[i]);
  }
  std::vector<float> result(mel.size());
  for (size_t i = 0; i < mel.size(); ++i)
    result[i] = static_cast<float>(options_.top_db > 0 ? std::max(db[i], top - options_.top_db) : db[i]);
  return result;
}

}  // namespace attn::audio
