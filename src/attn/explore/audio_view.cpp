// The Audio tab's analyses (attn/explore/audio_view.h).
#include "attn/explore/audio_view.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/audio/speech_data.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explore/explorer.h"
#include "attn/explore/http_error.h"
#include "attn/ops/ops.h"
#include "attn/viz/audio_figure.h"

namespace attn::explore {

using nlohmann::json;

namespace {
constexpr int64_t kTop = 5;
std::string b64_floats(const float* p, size_t n) { return base64_encode(p, n * sizeof(float)); }
}  // namespace

AudioExplorer::AudioExplorer(models::LoadedKWT kwt, models::LoadedLAS las, const std::string& recordings)
    : kwt_(std::move(kwt)), las_(std::move(las)) {
  ATTN_CHECK(kwt_.model || las_.model, "attn explore", "the Audio tab needs a KWT or a LAS model");
  ATTN_CHECK(!kwt_.model || !las_.model ||
                 kwt_.model->config().features.mel.sample_rate == las_.model->config().features.mel.sample_rate,
             "attn explore", "the KWT and the LAS model hear at different sample rates");
  mel_ = std::make_unique<audio::MelSpectrogram>(features().mel);
  if (std::filesystem::is_directory(std::filesystem::path(recordings) / "en"))
    recordings_ = audio::load_ktuberling_recordings(features().mel.sample_rate, recordings);
}

const audio::SpeechFeatures& AudioExplorer::features() const {
  return kwt_.model ? kwt_.model->config().features : las_.model->config().features;
}

json AudioExplorer::info() const {
  json kwt = nullptr, las = nullptr;
  if (kwt_.model) {
    const models::KWTConfig& c = kwt_.model->config();
    kwt = {{"name", std::filesystem::path(kwt_.dir).filename().string()},
           {"path", kwt_.dir},
           {"words", c.id2label},
           {"n_layer", c.num_hidden_layers},
           {"n_head", c.num_attention_heads},
           {"tokens", c.num_patches()},
           {"frames_per_token", c.patch_frames},
           {"n_params", kwt_.model->num_parameters()}};
  }
  if (las_.model) {
    const models::LASConfig& c = las_.model->config();
    las = {{"name", std::filesystem::path(las_.dir).filename().string()},
           {"path", las_.dir},
           {"words", c.texts},
           {"keys", c.num_keys()},
           {"frames_per_key", c.features.frames() / c.num_keys()},
           {"n_params", las_.model->num_parameters()}};
  }
  return {{"kwt", kwt}, {"las", las}, {"recordings", recordings_.size()}, {"sample_rate", features().mel.sample_rate}};
}

json AudioExplorer::recordings() const {
  json list = json::array();
  const auto& words = audio::ktuberling_words();
  for (size_t i = 0; i < recordings_.size(); ++i)
    list.push_back({{"index", i},
                    {"file", std::filesystem::path(recordings_[i].path).filename().string()},
                    {"word", words[static_cast<size_t>(recordings_[i].label)].label},
                    {"seconds", recordings_[i].wave.seconds()}});
  return {{"recordings", list}, {"source", "KTuberling's English recordings (Debian's ktuberling-data)"}};
}

json AudioExplorer::analyze_recording(int64_t index) {
  if (recordings_.empty()) fail(404, "no recordings (install Debian's ktuberling-data): upload a WAV or OGG instead");
  if (index < 0 || index >= static_cast<int64_t>(recordings_.size()))
    fail(400, "index " + std::to_string(index) + " outside 0.." + std::to_string(recordings_.size() - 1));
  const audio::Recording& r = recordings_[static_cast<size_t>(index)];
  return analyze(r.wave, std::filesystem::path(r.path).filename().string(), r.label);
}

json AudioExplorer::analyze_upload(const std::string& bytes, double max_seconds) {
  audio::Waveform w;
  try {
    audio::LoadOptions o;
    o.max_seconds = max_seconds;
    w = audio::resample(audio::load_audio_bytes(bytes, "the uploaded file", o), features().mel.sample_rate);
  } catch (const Error& e) {
    fail(400, e.what());
  }
  return analyze(w, "uploaded recording", -1);
}

json AudioExplorer::analyze(const audio::Waveform& wave, const std::string& source, int64_t label) {
  const audio::SpeechFeatures& f = features();
  const Tensor x = audio::waveform_features(wave, f, *mel_);  // (1, F, M)
  const int64_t F = f.frames(), M = f.mel.n_mels;
  const std::vector<float> spec =  // (M, F): a picture with time to the right
      viz::spectrogram_figure(x.data(), F, M,
                              static_cast<double>(f.mel.hop_length) / static_cast<double>(f.mel.sample_rate))
          .spectrogram;
  const std::string wav = audio::wav_bytes(wave);
  json out = {
      {"source", source},
      {"seconds", wave.seconds()},
      {"sample_rate", wave.sample_rate},
      {"wav", base64_encode(wav.data(), wav.size())},
      {"spectrogram",
       {{"n_mels", M},
        {"frames", F},
        {"seconds_per_frame", static_cast<double>(f.mel.hop_length) / static_cast<double>(f.mel.sample_rate)},
        {"values", b64_floats(spec.data(), spec.size())}}},
      {"label", label >= 0 ? json(audio::ktuberling_words()[static_cast<size_t>(label)].label) : json(nullptr)}};
  NoGradGuard ng;
  if (kwt_.model) {
    const models::KWTConfig& c = kwt_.model->config();
    const models::KWTOutput o = kwt_.model->forward(x, true);
    const Tensor p = softmax(o.logits, -1);
    std::vector<int64_t> order(static_cast<size_t>(c.num_labels));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p.data()[a] > p.data()[b]; });
    json top = json::array();
    for (int64_t i = 0; i < std::min(kTop, c.num_labels); ++i)
      top.push_back(
          {{"word", c.label(order[static_cast<size_t>(i)])}, {"probability", p.data()[order[static_cast<size_t>(i)]]}});
    const int64_t L = c.num_hidden_layers, H = c.num_attention_heads, T = c.seq_len(), N = T - 1;
    std::vector<float> cls(static_cast<size_t>(L * H * N));  // (L, H, N): row 0 of each head, CLS itself left out
    for (int64_t l = 0; l < L; ++l)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t k = 0; k < N; ++k)
          cls[static_cast<size_t>((l * H + h) * N + k)] =
              o.attentions[static_cast<size_t>(l)].data()[h * T * T + 1 + k];
    out["kwt"] = {{"top", top},
                  {"n_layer", L},
                  {"n_head", H},
                  {"tokens", N},
                  {"frames_per_token", c.patch_frames},
                  {"cls_attention", b64_floats(cls.data(), cls.size())}};
  }
  if (las_.model) {
    const models::LASConfig& c = las_.model->config();
    const models::LASDecoded d = las_.model->greedy_decode(x);
    const int64_t T = c.num_keys();
    out["las"] = {{"text", d.text[0]},
                  {"known_word", std::find(c.texts.begin(), c.texts.end(), d.text[0]) != c.texts.end()},
                  {"reference", label >= 0 && label < static_cast<int64_t>(c.texts.size())
                                    ? json(c.texts[static_cast<size_t>(label)])
                                    : json(nullptr)},
                  {"keys", T},
                  {"frames_per_key", F / T},
                  {"rows", static_cast<int64_t>(d.alignment[0].size()) / T},
                  {"alignment", b64_floats(d.alignment[0].data(), d.alignment[0].size())}};
  }
  return out;
}

}  // namespace attn::explore
