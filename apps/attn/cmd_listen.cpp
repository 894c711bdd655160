// attn listen — which word a spoken-word model (attn train audio) hears in a recording.
//
//   attn listen --model models/kwt-words word.wav                  the top 5 words with their probabilities
//   attn listen --model models/kwt-words word.ogg --figure f.png   and where it listened (attn/viz/audio_figure.h)
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
#include "attn/ops/ops.h"
#include "attn/viz/audio_figure.h"
#include "commands.h"
#include "data_root.h"
#include "vit_command.h"

using namespace attn;
using nlohmann::json;

ATTN_COMMAND(listen, "Recognize a spoken word in a WAV/OGG recording with a model of attn train audio") {
  struct Opts {
    std::string model = cli::data_root() + "/models/kwt-words", file, figure;
    int64_t top = 5;
    double max_seconds = 60;
    bool json_out = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "Model folder (config.json + model.safetensors of attn train audio)")->capture_default_str();
  sub.add_option("file", o->file, "The recording (WAV, OGG, FLAC, ...; any rate, mono or stereo)")->required();
  sub.add_option("--top", o->top, "How many words to list")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--figure", o->figure, "Also draw the spectrogram and where the model listened (.png or .svg)");
  sub.add_option("--max-seconds", o->max_seconds, "Refuse recordings longer than this")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_flag("--json", o->json_out, "Print JSON instead of a table");
  return [o]() -> int {
    return cli::run_with_kwt(o->model, [&](models::LoadedKWT& kwt) -> int {
      const models::KWTConfig& c = kwt.model->config();
      audio::LoadOptions lo;
      lo.max_seconds = o->max_seconds;
      const audio::Waveform wave = audio::load_audio(o->file, lo);
      const audio::MelSpectrogram mel(c.features.mel);
      const Tensor x = audio::waveform_features(wave, c.features, mel);  // (1, F, M)
      NoGradGuard no_grad;
      const models::KWTOutput out = kwt.model->forward(x, !o->figure.empty());
      const Tensor probs = softmax(out.logits, -1);  // (1, K)
      const float* p = probs.data();
      std::vector<int64_t> order(static_cast<size_t>(c.num_labels));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
      order.resize(static_cast<size_t>(std::min(o->top, c.num_labels)));
      if (!o->figure.empty()) {
        viz::AudioAttentionFigure f;
        f.n_mels = c.num_mel_bins();
        f.frames = c.num_frames();
        f.seconds_per_frame = static_cast<double>(c.features.mel.hop_length) / static_cast<double>(c.features.mel.sample_rate);
        f.frames_per_token = c.patch_frames;
        f.spectrogram.resize(static_cast<size_t>(f.n_mels * f.frames));
        for (int64_t t = 0; t < f.frames; ++t)
          for (int64_t m = 0; m < f.n_mels; ++m) f.spectrogram[static_cast<size_t>(m * f.frames + t)] = x.data()[t * f.n_mels + m];
        const int64_t T = c.seq_len(), H = c.num_attention_heads;
        for (const Tensor& a : out.attentions) {  // (1, H, T, T): row 0 is the CLS token's
          std::vector<float> row(static_cast<size_t>(T - 1), 0.f);
          for (int64_t h = 0; h < H; ++h)
            for (int64_t k = 1; k < T; ++k) row[static_cast<size_t>(k - 1)] += a.data()[h * T * T + k] / static_cast<float>(H);
          f.cls_attention.push_back(std::move(row));
        }
        std::ostringstream title;
        title << std::filesystem::path(o->file).filename().string() << ": heard \"" << c.label(order[0]) << "\" ("
              << std::fixed << std::setprecision(0) << 100.0 * p[order[0]] << "%)";
        f.title = title.str();
        viz::save_audio_attention(f, o->figure);
      }
      if (o->json_out) {
        json top = json::array();
        for (int64_t k : order) top.push_back({{"class", k}, {"word", c.label(k)}, {"probability", p[k]}});
        std::cout << json{{"file", o->file}, {"model", o->model}, {"seconds", wave.seconds()}, {"top", top}}.dump(2) << "\n";
      } else {
        std::cout << o->file << " (" << std::fixed << std::setprecision(2) << wave.seconds() << " s)\n";
        for (int64_t k : order)
          std::cout << "  " << std::fixed << std::setprecision(1) << std::setw(5) << 100.0 * p[k] << "%  " << c.label(k) << "\n";
      }
      if (!o->figure.empty()) std::cout << "figure: " << o->figure << "\n";
      return 0;
    });
  };
}
