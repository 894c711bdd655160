// attn listen — which word a speech model (attn train audio) hears in a recording: a Keyword Transformer's top
// words, or how Listen, Attend and Spell spells it.
//
//   attn listen --model models/kwt-words word.wav                  the top 5 words with their probabilities
//   attn listen --model models/kwt-words word.ogg --figure f.png   and where it listened (attn/viz/audio_figure.h)
//   attn listen --model models/las-words word.ogg --figure f.png   the spelling, and each letter's alignment
//   attn listen ... --json                                         as JSON
//
// Any file libsndfile reads (WAV, OGG/Vorbis, FLAC, ...), any rate and channel count: mixed down to mono and
// resampled to the model's rate; the word is found by trimming silence and centred in the model's clip (a
// longer recording keeps its middle). A missing, empty, non-audio, silent or over-long (--max-seconds) file is an
// error naming it, exit status 2; a model folder that cannot be loaded, status 1.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/audio/audio_io.h"
#include "attn/audio/speech_data.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/kwt.h"
#include "attn/models/las.h"
#include "attn/ops/ops.h"
#include "attn/viz/audio_figure.h"
#include "commands.h"
#include "data_root.h"

using namespace attn;
using nlohmann::json;

namespace {

struct ListenOptions {
  std::string model = cli::data_root() + "/models/kwt-words", file, figure;
  int64_t top = 5;
  double max_seconds = 60;
  bool json_out = false;
};

audio::Waveform read_recording(const ListenOptions& o) {
  audio::LoadOptions lo;
  lo.max_seconds = o.max_seconds;
  return audio::load_audio(o.file, lo);
}

// The figure's spectrogram: the model's input (1, F, M).
viz::AudioAttentionFigure figure_of(const Tensor& x, const audio::SpeechFeatures& f) {
  return viz::spectrogram_figure(x.data(), f.frames(), f.mel.n_mels,
                                 static_cast<double>(f.mel.hop_length) / static_cast<double>(f.mel.sample_rate));
}

int listen_kwt(const ListenOptions& o, models::KWTForKeywordSpotting& model) {
  const models::KWTConfig& c = model.config();
  const audio::Waveform wave = read_recording(o);
  const audio::MelSpectrogram mel(c.features.mel);
  const Tensor x = audio::waveform_features(wave, c.features, mel);  // (1, F, M)
  NoGradGuard no_grad;
  const models::KWTOutput out = model.forward(x, !o.figure.empty());
  const Tensor probs = softmax(out.logits, -1);  // (1, K)
  const float* p = probs.data();
  std::vector<int64_t> order(static_cast<size_t>(c.num_labels));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  order.resize(static_cast<size_t>(std::min(o.top, c.num_labels)));
  if (!o.figure.empty()) {
    viz::AudioAttentionFigure f = figure_of(x, c.features);
    f.frames_per_column = c.patch_frames;
    f.rows = models::cls_attention_rows(out);
    for (size_t l = 0; l < f.rows.size(); ++l) f.row_labels.push_back("layer " + std::to_string(l + 1));
    f.caption = "time (s) — strips: the CLS token's attention to each moment, mean over heads";
    std::ostringstream title;
    title << std::filesystem::path(o.file).filename().string() << ": heard \"" << c.label(order[0]) << "\" ("
          << std::fixed << std::setprecision(0) << 100.0 * p[order[0]] << "%)";
    f.title = title.str();
    viz::save_audio_attention(f, o.figure);
  }
  if (o.json_out) {
    json top = json::array();
    for (int64_t k : order) top.push_back({{"class", k}, {"word", c.label(k)}, {"probability", p[k]}});
    std::cout << json{{"file", o.file},
                      {"model", o.model},
                      {"architecture", "kwt"},
                      {"seconds", wave.seconds()},
                      {"top", top}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << o.file << " (" << std::fixed << std::setprecision(2) << wave.seconds() << " s)\n";
    for (int64_t k : order)
      std::cout << "  " << std::fixed << std::setprecision(1) << std::setw(5) << 100.0 * p[k] << "%  " << c.label(k)
                << "\n";
  }
  if (!o.figure.empty()) std::cout << "figure: " << o.figure << "\n";
  return 0;
}

int listen_las(const ListenOptions& o, models::LASForSpelling& model) {
  const models::LASConfig& c = model.config();
  const audio::Waveform wave = read_recording(o);
  const audio::MelSpectrogram mel(c.features.mel);
  const Tensor x = audio::waveform_features(wave, c.features, mel);  // (1, F, M)
  const models::LASDecoded d = model.greedy_decode(x);
  const std::string& text = d.text[0];
  const int64_t T = c.num_keys();
  if (!o.figure.empty()) {
    viz::AudioAttentionFigure f = figure_of(x, c.features);
    f.frames_per_column = c.features.frames() / T;
    const std::vector<float>& a = d.alignment[0];  // (letters + 1) x T
    for (size_t i = 0; i * static_cast<size_t>(T) < a.size(); ++i) {
      f.rows.emplace_back(a.begin() + static_cast<std::ptrdiff_t>(i) * T,
                          a.begin() + static_cast<std::ptrdiff_t>(i + 1) * T);
      f.row_labels.push_back(i < text.size() ? (text[i] == ' ' ? std::string("space") : std::string(1, text[i]))
                                             : std::string("<eos>"));
    }
    f.caption = "time (s) — rows: each spelled letter's alignment over the sound (location-aware attention)";
    f.title = std::filesystem::path(o.file).filename().string() + ": spelled \"" + text + "\"";
    viz::save_audio_attention(f, o.figure);
  }
  if (o.json_out) {
    std::cout << json{{"file", o.file},
                      {"model", o.model},
                      {"architecture", "las"},
                      {"seconds", wave.seconds()},
                      {"text", text},
                      {"known_word", std::find(c.texts.begin(), c.texts.end(), text) != c.texts.end()}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << o.file << " (" << std::fixed << std::setprecision(2) << wave.seconds() << " s)\n  spelled: " << text
              << "\n";
  }
  if (!o.figure.empty()) std::cout << "figure: " << o.figure << "\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(listen, "Recognize a spoken word in a WAV/OGG recording with a model of attn train audio") {
  auto o = std::make_shared<ListenOptions>();
  sub.add_option("--model", o->model, "Model folder of attn train audio (kwt or las)")->capture_default_str();
  sub.add_option("file", o->file, "The recording (WAV, OGG, FLAC, ...; any rate, mono or stereo)")->required();
  sub.add_option("--top", o->top, "How many words to list")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--figure", o->figure, "Also draw the spectrogram and where the model listened (.png or .svg)");
  sub.add_option("--max-seconds", o->max_seconds, "Refuse recordings longer than this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_flag("--json", o->json_out, "Print JSON instead of a table");
  return [o]() -> int {
    // The model folder: a failure to load it is not the user's recording (status 1, as attn classify).
    models::LoadedKWT kwt;
    models::LoadedLAS las;
    try {
      if (models::audio_model_architecture(o->model) == "kwt") kwt = models::load_kwt(o->model);
      else las = models::load_las(o->model);
    } catch (const Error& e) {
      std::cerr << "attn: error: " << e.what() << "\n";
      return 1;
    }
    try {
      return kwt.model ? listen_kwt(*o, *kwt.model) : listen_las(*o, *las.model);
    } catch (const Error& e) {
      std::cerr << "attn: error: " << e.what() << "\n";
      return 2;
    }
  };
}
