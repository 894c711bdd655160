// The spoken-word corpus, its augmentation and the features of a clip (attn/audio/speech_data.h).
#include "attn/audio/speech_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attn/audio/synth.h"
#include "attn/audio/words.h"
#include "attn/core/error.h"

namespace attn::audio {

namespace {
constexpr const char* kOp = "speech data";
}

int64_t SpeechFeatures::clip_samples() const {
  return std::llround(clip_seconds * static_cast<double>(mel.sample_rate));
}
int64_t SpeechFeatures::frames() const { return 1 + clip_samples() / mel.hop_length; }
void SpeechFeatures::validate() const {
  mel.validate();
  ATTN_CHECK(clip_seconds >= 0.1 && clip_seconds <= 30, kOp, "clip_seconds " << clip_seconds << " outside 0.1..30");
  ATTN_CHECK(trim_db > 0 && trim_db <= 120, kOp, "trim_db " << trim_db << " outside (0, 120]");
  ATTN_CHECK(clip_samples() > mel.n_fft / 2, kOp,
             "clip_seconds " << clip_seconds << " is shorter than half an FFT window");
}

std::pair<int64_t, int64_t> speech_bounds(const float* x, int64_t n, int64_t block, double trim_db) {
  if (n <= 0) return {0, 0};
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> db(static_cast<size_t>(blocks));
  double top = -1e300;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t s = b * block, e = std::min(n, s + block);
    double acc = 0;
    for (int64_t i = s; i < e; ++i) acc += static_cast<double>(x[i]) * x[i];
    db[static_cast<size_t>(b)] = 10.0 * std::log10(acc / static_cast<double>(e - s) + 1e-20);
    top = std::max(top, db[static_cast<size_t>(b)]);
  }
  int64_t first = 0, last = blocks - 1;
  while (first < blocks && db[static_cast<size_t>(first)] < top - trim_db) ++first;
  while (last > first && db[static_cast<size_t>(last)] < top - trim_db) --last;
  return {first * block, std::min(n, (last + 1) * block)};
}

std::vector<float> fit_clip(const float* x, int64_t len, int64_t n, int64_t shift, double trim_db, int64_t block) {
  const auto [b, e] = speech_bounds(x, len, block, trim_db);
  const int64_t L = e - b;
  std::vector<float> clip(static_cast<size_t>(n), 0.f);
  if (L >= n) {
    const int64_t start = std::clamp<int64_t>(b + (L - n) / 2 - shift, b, e - n);
    std::copy(x + start, x + start + n, clip.begin());
  } else {
    const int64_t at = std::clamp<int64_t>((n - L) / 2 + shift, 0, n - L);
    std::copy(x + b, x + e, clip.begin() + at);
  }
  return clip;
}

void clip_features(const MelSpectrogram& mel, const std::vector<float>& clip, float* out) {
  const int64_t n = static_cast<int64_t>(clip.size());
  const std::vector<float> db = mel.log_mel(clip.data(), n);  // (n_mels, F)
  const int64_t M = mel.options().n_mels, F = mel.num_frames(n);
  double sum = 0, sq = 0;
  for (float v : db) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double count = static_cast<double>(db.size()), mean = sum / count;
  const double sd = std::sqrt(std::max(sq / count - mean * mean, 1e-6));
  for (int64_t t = 0; t < F; ++t)
    for (int64_t m = 0; m < M; ++m)
      out[t * M + m] = static_cast<float>((db[static_cast<size_t>(m * F + t)] - mean) / sd);
}

Tensor waveform_features(const Waveform& wave, const SpeechFeatures& f, const MelSpectrogram& mel) {
  const Waveform w = resample(wave, f.mel.sample_rate);
  ATTN_CHECK(!w.samples.empty(), kOp, "no samples");
  const int64_t block = f.mel.sample_rate / 100;
  std::vector<float> clip =
      fit_clip(w.samples.data(), static_cast<int64_t>(w.samples.size()), f.clip_samples(), 0, f.trim_db, block);
  Tensor out = Tensor::empty({1, f.frames(), f.mel.n_mels});
  clip_features(mel, clip, out.data());
  return out;
}

namespace {

std::vector<int16_t> to_pcm(const std::vector<float>& x, int64_t b, int64_t e) {
  std::vector<int16_t> out(static_cast<size_t>(e - b));
  for (int64_t i = b; i < e; ++i)
    out[static_cast<size_t>(i - b)] =
        static_cast<int16_t>(std::lround(std::clamp(x[static_cast<size_t>(i)], -1.f, 1.f) * 32767.f));
  return out;
}

// A synthesized word as an utterance: resampled, trimmed, normalized to a peak of 0.5 (the level is the
// augmentation's business).
Utterance make_utterance(const Waveform& synth, const std::string& voice, int64_t label, const SpeechCorpusOptions& o) {
  Waveform w = resample(synth, o.sample_rate);
  const auto [b, e] =
      speech_bounds(w.samples.data(), static_cast<int64_t>(w.samples.size()), o.sample_rate / 100, o.trim_db);
  float p = 0;
  for (int64_t i = b; i < e; ++i) p = std::max(p, std::fabs(w.samples[static_cast<size_t>(i)]));
  if (p > 0)
    for (float& s : w.samples) s *= 0.5f / p;
  return {to_pcm(w.samples, b, e), label, voice};
}

}  // namespace

SpeechCorpus synthesize_corpus(const SpeechCorpusOptions& o, std::ostream* log) {
  const auto& vocab = ktuberling_words();
  ATTN_CHECK(o.words >= 0 && o.words <= static_cast<int64_t>(vocab.size()), kOp,
             "words " << o.words << " outside 0.." << vocab.size());
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"espeak_per_word", o.espeak_per_word},
                                {"val_per_word", o.val_per_word},
                                {"flite_per_word", o.flite_per_word},
                                {"flite_test_per_word", o.flite_test_per_word}})
    ATTN_CHECK(v >= 0 && v <= 100000, kOp, name << " " << v << " outside 0..100000");
  ATTN_CHECK(o.espeak_per_word + o.flite_per_word > 0, kOp,
             "no training utterances (espeak_per_word and flite_per_word are 0)");
  ATTN_CHECK(o.heldout_every >= 2, kOp, "heldout_every " << o.heldout_every << " must be >= 2");
  const int64_t W = o.words > 0 ? o.words : static_cast<int64_t>(vocab.size());
  SpeechCorpus c;
  for (int64_t i = 0; i < W; ++i) c.labels.push_back(vocab[static_cast<size_t>(i)].label);

  const std::vector<std::string> accents = espeak_english_accents(), variants = espeak_variants();
  ATTN_CHECK(!accents.empty() && !variants.empty(), kOp, "eSpeak NG's English voices were not found (espeak-ng-data)");
  std::vector<std::string> train_variants;
  for (size_t i = 0; i < variants.size(); ++i)
    (static_cast<int64_t>(i) % o.heldout_every == o.heldout_every - 1 ? c.heldout_variants : train_variants)
        .push_back(variants[i]);
  for (const std::string& v : flite_voices())
    if (std::find(o.flite_test_voices.begin(), o.flite_test_voices.end(), v) == o.flite_test_voices.end())
      c.train_flite_voices.push_back(v);
  for (const std::string& v : o.flite_test_voices)
    ATTN_CHECK(
        std::find(flite_voices().begin(), flite_voices().end(), v) != flite_voices().end() || flite_voices().empty(),
        kOp, "no Flite voice '" << v << "' to hold out");

  Generator gen(o.seed, 77);
  auto espeak_voice = [&](const std::vector<std::string>& from) {
    SynthVoice v;
    v.engine = "espeak";
    v.name = accents[gen.randint(static_cast<uint32_t>(accents.size()))] + "+" +
             from[gen.randint(static_cast<uint32_t>(from.size()))];
    v.rate = static_cast<int>(gen.uniform(110.f, 240.f));
    v.pitch = static_cast<int>(gen.uniform(15.f, 85.f));
    v.range = static_cast<int>(gen.uniform(20.f, 100.f));
    return v;
  };
  auto flite_voice = [&](const std::string& name) {
    SynthVoice v;
    v.engine = "flite";
    v.name = name;
    v.rate = static_cast<int>(gen.uniform(130.f, 220.f));
    v.pitch = static_cast<int>(gen.uniform(35.f, 65.f));
    return v;
  };
  // Every job first (the draws in a fixed order), then the synthesis in two child processes.
  enum Split { kTrain, kVal, kFliteTest };
  struct Job {
    Split split;
    int64_t label;
  };
  std::vector<std::pair<std::string, SynthVoice>> jobs;
  std::vector<Job> meta;
  for (int64_t w = 0; w < W; ++w) {
    const std::string& text = vocab[static_cast<size_t>(w)].text;
    auto add = [&](Split split, const SynthVoice& v) {
      jobs.emplace_back(text, v);
      meta.push_back({split, w});
    };
    for (int64_t k = 0; k < o.espeak_per_word; ++k) add(kTrain, espeak_voice(train_variants));
    for (int64_t k = 0; k < o.val_per_word; ++k) add(kVal, espeak_voice(c.heldout_variants));
    for (const std::string& fv : c.train_flite_voices)
      for (int64_t k = 0; k < o.flite_per_word; ++k) add(kTrain, flite_voice(fv));
    for (const std::string& fv : o.flite_test_voices)
      for (int64_t k = 0; k < o.flite_test_per_word; ++k) add(kFliteTest, flite_voice(fv));
  }
  const std::vector<Waveform> waves = synthesize_all(jobs, 2);
  std::vector<Utterance> made(jobs.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < jobs.size(); ++i)
    if (!waves[i].samples.empty()) made[i] = make_utterance(waves[i], jobs[i].second.describe(), meta[i].label, o);
  int64_t failed = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (waves[i].samples.empty()) {
      ++failed;
      continue;
    }
    (meta[i].split == kTrain ? c.train : meta[i].split == kVal ? c.val : c.flite_test).push_back(std::move(made[i]));
  }
  c.failed = failed;
  if (log)
    *log << "speech: " << W << " words; train " << c.train.size() << " utterances (eSpeak NG: " << accents.size()
         << " accents x " << train_variants.size() << " variants; Flite: " << c.train_flite_voices.size()
         << " voices), validation " << c.val.size() << " (" << c.heldout_variants.size()
         << " held-out eSpeak NG variants), Flite test " << c.flite_test.size() << " (held-out voices:" <<
        [&] {
          std::string s;
          for (auto& v : o.flite_test_voices) s += " " + v;
          return s;
        }()
         << ")"
         << (failed ? "; " + std::to_string(failed) + " utterances the synthesizer crashed on, left out"
                    : std::string())
         << "\n";
  return c;
}

SpeechBatch make_speech_batch(const std::vector<Utterance>& data, const std::vector<int64_t>& idx,
                              const SpeechFeatures& f, const MelSpectrogram& mel, const SpeechAugment* aug,
                              uint64_t seed, uint64_t step, uint64_t first) {
  const int64_t B = static_cast<int64_t>(idx.size()), F = f.frames(), M = f.mel.n_mels, n = f.clip_samples();
  const int64_t block = f.mel.sample_rate / 100;
  SpeechBatch batch;
  batch.features = Tensor::empty({B, F, M});
  batch.labels.shape = {B};
  batch.labels.data.resize(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    ATTN_CHECK(idx[static_cast<size_t>(i)] >= 0 && idx[static_cast<size_t>(i)] < static_cast<int64_t>(data.size()), kOp,
               "index " << idx[static_cast<size_t>(i)] << " outside the " << data.size() << " utterances");
    batch.labels.data[static_cast<size_t>(i)] = data[static_cast<size_t>(idx[static_cast<size_t>(i)])].label;
  }
  float* out = batch.features.data();
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < B; ++i) {
    const Utterance& u = data[static_cast<size_t>(idx[static_cast<size_t>(i)])];
    std::vector<float> x(u.pcm.size());
    for (size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(u.pcm[k]) / 32768.f;
    if (x.empty()) x.assign(1, 0.f);
    std::vector<float> clip;
    if (!aug) {
      clip = fit_clip(x.data(), static_cast<int64_t>(x.size()), n, 0, f.trim_db, block);
    } else {
      Generator g(seed, step * 65536 + first + static_cast<uint64_t>(i));
      // speed: read the word at rate s (linear interpolation)
      const double s = 1.0 + g.uniform(static_cast<float>(-aug->speed), static_cast<float>(aug->speed));
      const int64_t len = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(x.size()) / s));
      std::vector<float> y(static_cast<size_t>(len));
      for (int64_t k = 0; k < len; ++k) {
        const double pos = static_cast<double>(k) * s;
        const int64_t j = static_cast<int64_t>(pos);
        const double fr = pos - static_cast<double>(j);
        const float a = x[static_cast<size_t>(std::min<int64_t>(j, static_cast<int64_t>(x.size()) - 1))];
        const float b = x[static_cast<size_t>(std::min<int64_t>(j + 1, static_cast<int64_t>(x.size()) - 1))];
        y[static_cast<size_t>(k)] = static_cast<float>(a + (b - a) * fr);
      }
      const int64_t shift = static_cast<int64_t>(g.uniform(-1.f, 1.f) * aug->shift_seconds * f.mel.sample_rate);
      clip = fit_clip(y.data(), len, n, shift, f.trim_db, block);
      // channel tilt
      const float a = g.uniform(static_cast<float>(-aug->tilt), static_cast<float>(aug->tilt));
      for (int64_t k = n - 1; k > 0; --k) clip[static_cast<size_t>(k)] -= a * clip[static_cast<size_t>(k - 1)];
      // noise at a drawn SNR, against the power of the word itself
      double ps = 0;
      int64_t voiced = 0;
      for (float v : clip)
        if (v != 0.f) {
          ps += static_cast<double>(v) * v;
          ++voiced;
        }
      ps = voiced ? ps / static_cast<double>(voiced) : 1e-6;
      const bool noisy = g.uniform() < aug->noise_prob;
      const double snr =
          noisy ? g.uniform(static_cast<float>(aug->snr_db_min), static_cast<float>(aug->snr_db_max)) : 60.0;
      const double sd = std::sqrt(ps / std::pow(10.0, snr / 10.0));
      const bool brown = g.uniform() < 0.5f;
      double state = 0;
      const double leak = 0.98, brown_gain = std::sqrt(1 - leak * leak);
      for (float& v : clip) {
        double z = g.normal();
        if (brown) {
          state = leak * state + brown_gain * z;
          z = state;
        }
        v += static_cast<float>(sd * z);
      }
    }
    float* o = out + i * F * M;
    clip_features(mel, clip, o);
    if (aug) {
      Generator g(seed + 1, step * 65536 + first + static_cast<uint64_t>(i));
      for (int64_t k = 0; k < aug->time_masks; ++k) {
        const int64_t w = g.randint(static_cast<uint32_t>(aug->time_mask_frames + 1));
        const int64_t t0 = g.randint(static_cast<uint32_t>(std::max<int64_t>(1, F - w)));
        for (int64_t t = t0; t < std::min(F, t0 + w); ++t) std::fill(o + t * M, o + (t + 1) * M, 0.f);
      }
      for (int64_t k = 0; k < aug->freq_masks; ++k) {
        const int64_t w = g.randint(static_cast<uint32_t>(aug->freq_mask_bins + 1));
        const int64_t m0 = g.randint(static_cast<uint32_t>(std::max<int64_t>(1, M - w)));
        for (int64_t t = 0; t < F; ++t) std::fill(o + t * M + m0, o + t * M + std::min(M, m0 + w), 0.f);
      }
    }
  }
  return batch;
}

}  // namespace attn::audio
