// Live cross-check of the log-mel spectrogram (attn/audio/features.h) against torchaudio's MelSpectrogram +
// AmplitudeToDB (tests/torch/audio_ref.py, float64): synthesized speech, a real KTuberling recording and
// white noise, under the audio models' options and under others (another FFT size, more mels, no centring,
// no top_db floor). The decibels must agree within 1e-4 dB, the power within 1e-6 relative.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "attn/audio/audio_io.h"
#include "attn/audio/features.h"
#include "attn/audio/synth.h"
#include "attn/audio/words.h"
#include "torch_check.h"

namespace attn::testing {
namespace {

using json = nlohmann::json;

struct MelCase {
  std::string name;
  audio::MelOptions options;
  std::string source;  // "espeak", "ktuberling", "noise"
};

std::vector<MelCase> mel_cases() {
  std::vector<MelCase> c;
  c.push_back({"speech_default", {}, "espeak"});
  audio::MelOptions o;
  o.n_fft = 400;
  o.win_length = 400;
  o.n_mels = 64;
  o.f_min = 0;
  o.f_max = 8000;
  c.push_back({"speech_400_64mels", o, "espeak"});
  audio::MelOptions nc;
  nc.center = false;
  nc.top_db = 0;
  nc.hop_length = 128;
  c.push_back({"noise_uncentred_no_floor", nc, "noise"});
  if (std::filesystem::is_directory(std::string(audio::kKtuberlingSounds) + "/en"))
    c.push_back({"real_recording", {}, "ktuberling"});
  return c;
}

audio::Waveform source_wave(const std::string& source) {
  if (source == "espeak") return audio::resample(audio::synthesize("umbrella", {"espeak", "en-us+f2"}), 16000);
  if (source == "ktuberling") return audio::load_ktuberling_recordings(16000)[5].wave;
  audio::Waveform w;
  Generator gen(7);
  Tensor n = Tensor::randn({8000}, gen);
  w.samples.assign(n.data(), n.data() + 8000);
  for (float& s : w.samples) s *= 0.1f;
  return w;
}

const TorchResults& crosscheck() {
  static const TorchResults r = [] {
    TorchExchange x;
    for (const MelCase& mc : mel_cases()) {
      const audio::Waveform w = source_wave(mc.source);
      audio::MelSpectrogram mel(mc.options);
      const int64_t n = static_cast<int64_t>(w.samples.size()), frames = mel.num_frames(n);
      const std::vector<double> power = mel.mel_power(w.samples.data(), n);
      const std::vector<float> db = mel.log_mel(w.samples.data(), n);
      Tensor wave = Tensor::empty({n}), p = Tensor::empty({mc.options.n_mels, frames}),
             d = Tensor::empty({mc.options.n_mels, frames});
      std::copy(w.samples.begin(), w.samples.end(), wave.data());
      for (size_t i = 0; i < power.size(); ++i) p.data()[i] = static_cast<float>(power[i]);
      std::copy(db.begin(), db.end(), d.data());
      x.put(mc.name + "/wave", wave);
      x.put(mc.name + "/mel", p);
      x.put(mc.name + "/db", d);
      const audio::MelOptions& o = mc.options;
      x.cases.push_back({{"name", mc.name},
                         {"options",
                          {{"sample_rate", o.sample_rate},
                           {"n_fft", o.n_fft},
                           {"win_length", o.win_length},
                           {"hop_length", o.hop_length},
                           {"f_min", o.f_min},
                           {"f_max", o.f_max},
                           {"n_mels", o.n_mels},
                           {"top_db", o.top_db},
                           {"center", o.center}}}});
    }
    return run_reference("audio_vs_torch", "audio_ref.py", x);
  }();
  return r;
}

class MelVsTorchaudio : public ::testing::TestWithParam<MelCase> {};

TEST_P(MelVsTorchaudio, PowerAndDecibelsMatch) {
  const TorchResults& r = crosscheck();
  const std::string& name = GetParam().name;
  expect_case_within(r, name, 1e-4, 2, {"mel"});
  if (r.error.empty() && r.cases().contains(name) && r.cases()[name].contains("mel")) {
    // float32 storage of the power: relative 1e-6 of the largest value.
    EXPECT_LE(r.cases()[name]["mel"].get<double>(), 1e-6) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Audio, MelVsTorchaudio, ::testing::ValuesIn(mel_cases()),
                         [](const auto& info) { return gtest_name(info.param.name); });

}  // namespace
}  // namespace attn::testing
