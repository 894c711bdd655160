// The audio layer (attn/audio): reading and resampling sound, the log-mel spectrogram's properties (its values
// are checked against torchaudio in tests/torch/test_audio_vs_torch.cpp), synthesis, the KTuberling
// recordings, the corpus and its batches — and every kind of bad input the issue names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "attn/audio/audio_io.h"
#include "attn/audio/features.h"
#include "attn/audio/speech_data.h"
#include "attn/audio/synth.h"
#include "attn/audio/words.h"
#include "attn/core/error.h"
#include "test_util.h"

namespace attn::audio {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

// A PCM-16 WAV file written byte by byte (RIFF header + interleaved samples), so the tests can make stereo,
// odd rates and broken files without going through the code under test.
std::string wav_file_bytes(const std::vector<std::vector<float>>& channels, int rate) {
  const uint16_t nch = static_cast<uint16_t>(channels.size());
  const uint32_t frames = static_cast<uint32_t>(channels[0].size()), data_bytes = frames * nch * 2;
  std::string b;
  auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); };
  b += "RIFF";
  u32(36 + data_bytes);
  b += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(nch);
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate) * nch * 2);
  u16(static_cast<uint16_t>(nch * 2));
  u16(16);
  b += "data";
  u32(data_bytes);
  for (uint32_t i = 0; i < frames; ++i)
    for (uint16_t c = 0; c < nch; ++c)
      u16(static_cast<uint16_t>(static_cast<int16_t>(std::lround(channels[c][i] * 32767.f))));
  return b;
}

std::string write(const std::string& name, const std::string& bytes) {
  const std::string p = testing::scratch_dir("audio") + "/" + name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::vector<float> tone(double hz, int rate, double seconds, float amp = 0.5f) {
  std::vector<float> x(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = amp * static_cast<float>(std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / rate));
  return x;
}

// |DFT| of x at frequency hz, normalized by length: ~amp/2 for a tone of that frequency.
double dft_magnitude(const std::vector<float>& x, double hz, int rate) {
  double re = 0, im = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ph = 2 * std::numbers::pi * hz * static_cast<double>(i) / rate;
    re += x[i] * std::cos(ph);
    im -= x[i] * std::sin(ph);
  }
  return std::sqrt(re * re + im * im) / static_cast<double>(x.size());
}

TEST(AudioIo, WavRoundTripKeepsTheSamplesTo16Bits) {
  Waveform w;
  w.sample_rate = 16000;
  w.samples = tone(300, 16000, 0.25);
  const std::string p = testing::scratch_dir("audio") + "/round.wav";
  save_wav(p, w);
  const Waveform r = load_audio(p);
  ASSERT_EQ(r.sample_rate, 16000);
  ASSERT_EQ(r.samples.size(), w.samples.size());
  for (size_t i = 0; i < w.samples.size(); ++i) ASSERT_NEAR(r.samples[i], w.samples[i], 1.0 / 32767 + 1e-6) << i;
  EXPECT_EQ(load_audio_bytes(wav_bytes(w), "memory").samples, r.samples);
}

TEST(AudioIo, StereoIsMixedDownToTheMeanOfItsChannels) {
  const std::vector<float> left = tone(200, 8000, 0.1, 0.6f), right(left.size(), 0.2f);
  const Waveform w = load_audio(write("stereo.wav", wav_file_bytes({left, right}, 8000)));
  ASSERT_EQ(w.samples.size(), left.size());
  for (size_t i = 0; i < left.size(); i += 37) EXPECT_NEAR(w.samples[i], (left[i] + right[i]) / 2, 2e-4) << i;
}

TEST(AudioIo, AFloatFileLouderThanFullScaleIsScaledDownToIt) {
  // A 32-bit float WAV holding 1e30 and -3e30 (what fuzz_audio found): the shape is kept, the peak becomes 1.
  std::string b = wav_file_bytes({{0.f, 0.f}}, 8000);  // a PCM header to patch: format 3 (float), 32 bits
  const std::vector<float> samples = {1e30f, -3e30f, 0.5e30f, 0.f};
  b = b.substr(0, 44);
  const uint16_t fmt = 3, bits = 32, align = 4;
  const uint32_t rate = 8000, bytes_per_s = 8000 * 4, data = static_cast<uint32_t>(samples.size() * 4),
                 riff = 36 + data;
  std::memcpy(&b[4], &riff, 4);
  std::memcpy(&b[20], &fmt, 2);
  std::memcpy(&b[24], &rate, 4);
  std::memcpy(&b[28], &bytes_per_s, 4);
  std::memcpy(&b[32], &align, 2);
  std::memcpy(&b[34], &bits, 2);
  std::memcpy(&b[40], &data, 4);
  b.append(reinterpret_cast<const char*>(samples.data()), data);
  const Waveform w = load_audio_bytes(b, "loud.wav");
  ASSERT_EQ(w.samples.size(), 4u);
  EXPECT_NEAR(w.samples[0], 1.f / 3, 1e-6);
  EXPECT_NEAR(w.samples[1], -1.f, 1e-6);
  EXPECT_NEAR(w.samples[2], 0.5f / 3, 1e-6);
}

TEST(AudioIo, EightAndNinetySixKilohertzAreResampledKeepingTheirPitch) {
  for (int rate : {8000, 96000}) {
    const Waveform in =
        load_audio(write("tone" + std::to_string(rate) + ".wav", wav_file_bytes({tone(440, rate, 0.5)}, rate)));
    const Waveform out = resample(in, 16000);
    EXPECT_EQ(out.sample_rate, 16000);
    EXPECT_NEAR(static_cast<double>(out.samples.size()), 8000.0, 20.0) << rate;
    EXPECT_NEAR(dft_magnitude(out.samples, 440, 16000), 0.25, 0.02) << rate;  // the tone is where it was
    EXPECT_LT(dft_magnitude(out.samples, 880, 16000), 0.01) << rate;          // and nowhere else
  }
}

TEST(AudioIo, BadFilesAreErrorsThatNameThem) {
  EXPECT_NE(error_of([] { load_audio("/nonexistent/x.wav"); }).find("/nonexistent/x.wav: no such file"),
            std::string::npos);
  const std::string empty = write("empty.wav", "");
  EXPECT_NE(error_of([&] { load_audio(empty); }).find(empty + ": not a sound file"), std::string::npos);
  const std::string text = write("text.wav", "this is not a sound file at all, just words\n");
  EXPECT_NE(error_of([&] { load_audio(text); }).find("not a sound file"), std::string::npos);
  const std::string good = wav_file_bytes({tone(300, 16000, 0.5)}, 16000);
  const std::string header_only = write("header_only.wav", good.substr(0, 44));
  EXPECT_NE(error_of([&] { load_audio(header_only); }).find(header_only), std::string::npos);
  const std::string cut = write("cut.wav", good.substr(0, 44 + 1000));  // the header promises 16,000 bytes
  EXPECT_EQ(load_audio(cut).samples.size(), 500u);                      // what is there is read
  const std::string silent = write("silent.wav", wav_file_bytes({std::vector<float>(8000, 0.f)}, 16000));
  EXPECT_NE(error_of([&] { load_audio(silent); }).find("silent"), std::string::npos);
  LoadOptions allow;
  allow.allow_silent = true;
  EXPECT_EQ(load_audio(silent, allow).samples.size(), 8000u);
  LoadOptions short_limit;
  short_limit.max_seconds = 0.1;
  const std::string half_second = write("half_second.wav", good);
  EXPECT_NE(error_of([&] { load_audio(half_second, short_limit); }).find("0.5 s long, more than the 0.1 s allowed"),
            std::string::npos);
  // An hour-long recording (at 1 kHz, 7.2 MB): refused from its header, before its samples are read.
  const std::string hour = write("hour.wav", wav_file_bytes({std::vector<float>(3600 * 1000, 0.1f)}, 1000));
  EXPECT_NE(error_of([&] { load_audio(hour); }).find("3600.0 s long, more than the 60.0 s allowed"), std::string::npos);
  fs::remove(hour);
  EXPECT_NE(error_of([] { load_audio("/tmp"); }).find("is a folder"), std::string::npos);
  EXPECT_NE(error_of([] { load_audio_bytes("", "upload.wav"); }).find("upload.wav: empty"), std::string::npos);
  EXPECT_NE(error_of([] { load_audio_bytes("RIFF....WAVEjunk", "upload.wav"); }).find("upload.wav"), std::string::npos);
}

TEST(MelSpectrogram, FramesAndAToneInItsMelBin) {
  MelSpectrogram mel;
  EXPECT_EQ(mel.num_frames(16000), 101);
  EXPECT_EQ(mel.num_frames(19200), 121);
  const std::vector<float> x = tone(1000, 16000, 0.5);
  const std::vector<double> p = mel.mel_power(x.data(), static_cast<int64_t>(x.size()));
  const int64_t F = mel.num_frames(static_cast<int64_t>(x.size())), M = 40, t = F / 2;
  int64_t best = 0;
  for (int64_t m = 1; m < M; ++m)
    if (p[static_cast<size_t>(m * F + t)] > p[static_cast<size_t>(best * F + t)]) best = m;
  // The triangles' centres, in mel: m_min + (m + 1) (m_max - m_min) / (M + 1); 1000 Hz is nearest filter:
  const double m1k = hz_to_mel(1000), lo = hz_to_mel(20), hi = hz_to_mel(7600);
  const int64_t expect = std::lround((m1k - lo) / (hi - lo) * (M + 1)) - 1;
  EXPECT_EQ(best, expect);
  EXPECT_NEAR(mel_to_hz(hz_to_mel(1234.5)), 1234.5, 1e-9);
  const std::vector<float> db = mel.log_mel(x.data(), static_cast<int64_t>(x.size()));
  const float top = *std::max_element(db.begin(), db.end());
  EXPECT_GE(*std::min_element(db.begin(), db.end()), top - 80.f - 1e-4f);  // the top_db floor
}

TEST(MelSpectrogram, BadOptionsAreNamed) {
  MelOptions o;
  o.win_length = 1024;
  EXPECT_NE(error_of([&] { MelSpectrogram m(o); }).find("win_length 1024"), std::string::npos);
  o = {};
  o.f_max = 9000;
  EXPECT_NE(error_of([&] { MelSpectrogram m(o); }).find("f_max"), std::string::npos);
  MelSpectrogram m;
  const std::vector<float> x(100, 0.1f);
  EXPECT_NE(error_of([&] { m.log_mel(x.data(), 100); }).find("reflection padding"), std::string::npos);
}

TEST(SpeechData, TrimFindsTheWordAndTheClipCentresIt) {
  std::vector<float> x(16000, 0.f);
  const std::vector<float> burst = tone(500, 16000, 0.2);
  std::copy(burst.begin(), burst.end(), x.begin() + 3000);  // 3000 .. 6200
  const auto [b, e] = speech_bounds(x.data(), 16000, 160, 40);
  EXPECT_NEAR(static_cast<double>(b), 3000, 160);
  EXPECT_NEAR(static_cast<double>(e), 6200, 160);
  const std::vector<float> clip = fit_clip(x.data(), 16000, 8000, 0, 40, 160);
  ASSERT_EQ(clip.size(), 8000u);
  const auto [cb, ce] = speech_bounds(clip.data(), 8000, 160, 40);
  EXPECT_NEAR(static_cast<double>(cb + ce) / 2, 4000, 200);  // centred
  const std::vector<float> shifted = fit_clip(x.data(), 16000, 8000, 1000, 40, 160);
  const auto [sb, se] = speech_bounds(shifted.data(), 8000, 160, 40);
  EXPECT_NEAR(static_cast<double>(sb + se) / 2, 5000, 200);
}

TEST(Synthesis, BothSynthesizersSpeakAndUnknownVoicesAreNamed) {
  const Waveform e = synthesize("umbrella", {"espeak", "en-us+f3"});
  EXPECT_EQ(e.sample_rate, 22050);
  EXPECT_GT(e.seconds(), 0.3);
  EXPECT_GT(peak(e), 0.05f);
  for (const std::string& v : flite_voices()) {
    const Waveform f = synthesize("umbrella", {"flite", v});
    EXPECT_GT(f.seconds(), 0.3) << v;
    EXPECT_EQ(f.sample_rate, v == "kal" ? 8000 : 16000) << v;
  }
  EXPECT_NE(error_of([] { synthesize("x", {"flite", "nobody"}); }).find("no Flite voice 'nobody'"), std::string::npos);
  EXPECT_NE(error_of([] {
              synthesize("x", {"espeak", "xx-nowhere"});
            }).find("eSpeak NG has no voice"),
            std::string::npos);
  EXPECT_NE(error_of([] { synthesize("x", {"sam", "x"}); }).find("no synthesizer 'sam'"), std::string::npos);
  EXPECT_GE(espeak_english_accents().size(), 5u);
  EXPECT_GE(espeak_variants().size(), 20u);
}

TEST(Synthesis, ManyInChildProcessesMatchOneByOneAndSurviveACrash) {
  std::vector<std::pair<std::string, SynthVoice>> jobs = {
      {"ball", {"espeak", "en+m1"}}, {"tomato", {"flite", "kal16"}}, {"hat", {"espeak", "en-us+f2", 200}}};
  // eSpeak NG 1.51 dies on this one (a bug of its own); whatever it does, the jobs after it must come back.
  jobs.push_back({"cyclist", {"espeak", "en-us+Demonic", 118, 26, 92}});
  jobs.push_back({"onion", {"espeak", "en+m3"}});
  jobs.push_back({"pear", {"nobody", "x"}});  // fails: comes back empty
  const std::vector<Waveform> all = synthesize_all(jobs, 2);
  ASSERT_EQ(all.size(), jobs.size());
  for (size_t i : {0u, 1u, 2u, 4u}) {
    const Waveform one = synthesize(jobs[i].first, jobs[i].second);
    ASSERT_EQ(all[i].samples.size(), one.samples.size()) << i;
    EXPECT_EQ(all[i].sample_rate, one.sample_rate) << i;
    for (size_t k = 0; k < one.samples.size(); k += 101)
      ASSERT_NEAR(all[i].samples[k], one.samples[k], 1.0 / 32767) << i;
  }
  EXPECT_TRUE(all[5].samples.empty());
}

TEST(Words, SeventyTwoWordsAndTheirRecordings) {
  const auto& w = ktuberling_words();
  ASSERT_EQ(w.size(), 72u);
  for (size_t i = 1; i < w.size(); ++i) EXPECT_LT(w[i - 1].label, w[i].label);
  EXPECT_EQ(w[static_cast<size_t>(word_id("sphynx"))].text, "sphinx");
  EXPECT_EQ(w[static_cast<size_t>(word_id("palmtree"))].stem, "egypt_palmtree");
  EXPECT_EQ(word_id("giraffe"), -1);
  const std::vector<Recording> r = load_ktuberling_recordings(16000);
  ASSERT_EQ(r.size(), 72u);
  for (const Recording& rec : r) {
    EXPECT_EQ(rec.wave.sample_rate, 16000);
    EXPECT_GT(rec.wave.seconds(), 0.5) << rec.path;
    EXPECT_LT(rec.wave.seconds(), 2.0) << rec.path;
  }
  // The same file from bytes (an upload) reads the same.
  std::ifstream in(r[0].path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(resample(load_audio_bytes(bytes, "upload.ogg"), 16000).samples, r[0].wave.samples);
  const std::string missing = error_of([] { load_ktuberling_recordings(16000, "/nonexistent"); });
  EXPECT_NE(missing.find("ktuberling-data"), std::string::npos) << missing;
}

TEST(SpeechData, CorpusIsRepeatableAndBatchesAugmentByStep) {
  SpeechCorpusOptions o;
  o.words = 3;
  o.espeak_per_word = 4;
  o.val_per_word = 2;
  o.flite_per_word = 1;
  o.flite_test_per_word = 1;
  const SpeechCorpus a = synthesize_corpus(o), b = synthesize_corpus(o);
  EXPECT_EQ(a.labels.size(), 3u);
  EXPECT_EQ(a.train.size() + static_cast<size_t>(a.failed), 3u * (4 + a.train_flite_voices.size()));
  EXPECT_EQ(a.val.size(), 6u);
  EXPECT_EQ(a.flite_test.size(), 3u);
  EXPECT_EQ(a.train_flite_voices.size(), 4u);  // all but slt
  ASSERT_EQ(a.train.size(), b.train.size());
  for (size_t i = 0; i < a.train.size(); ++i) {
    EXPECT_EQ(a.train[i].pcm, b.train[i].pcm) << i;
    EXPECT_EQ(a.train[i].voice, b.train[i].voice) << i;
  }
  for (const Utterance& u : a.val) {  // validation voices are held-out variants only
    bool heldout = false;
    for (const std::string& v : a.heldout_variants) heldout |= u.voice.find("+" + v + " rate") != std::string::npos;
    EXPECT_TRUE(heldout) << u.voice;
  }
  SpeechFeatures f;
  MelSpectrogram mel(f.mel);
  const std::vector<int64_t> idx = {0, 1, 2};
  const SpeechBatch plain = make_speech_batch(a.train, idx, f, mel);
  ASSERT_EQ(plain.features.shape(), (Shape{3, 121, 40}));
  EXPECT_EQ(plain.labels.data, (std::vector<int64_t>{a.train[0].label, a.train[1].label, a.train[2].label}));
  // Without augmentation an utterance's features are those of waveform_features (what attn listen computes).
  Waveform w;
  w.sample_rate = 16000;
  for (int16_t s : a.train[1].pcm) w.samples.push_back(static_cast<float>(s) / 32768.f);
  const Tensor one = waveform_features(w, f, mel);
  for (int64_t i = 0; i < 121 * 40; ++i) ASSERT_NEAR(one.data()[i], plain.features.data()[121 * 40 + i], 1e-5) << i;
  const SpeechAugment aug;
  const SpeechBatch s1 = make_speech_batch(a.train, idx, f, mel, &aug, 5, 1),
                    s1b = make_speech_batch(a.train, idx, f, mel, &aug, 5, 1);
  const SpeechBatch s2 = make_speech_batch(a.train, idx, f, mel, &aug, 5, 2);
  EXPECT_EQ(std::memcmp(s1.features.data(), s1b.features.data(), sizeof(float) * 3 * 121 * 40), 0);
  EXPECT_NE(std::memcmp(s1.features.data(), s2.features.data(), sizeof(float) * 3 * 121 * 40), 0);
  EXPECT_NE(std::memcmp(s1.features.data(), plain.features.data(), sizeof(float) * 3 * 121 * 40), 0);
}

}  // namespace
}  // namespace attn::audio
