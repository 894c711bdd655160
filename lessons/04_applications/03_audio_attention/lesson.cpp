// Lesson 04.03 — Attention that listens: speech as a sequence of moments.
//
// A recording is a long row of samples (16,000 a second); no model reads it like that. The log-mel spectrogram
// turns it into a picture — how much energy each band of pitch holds, every 10 ms — and a Transformer reads
// the picture's columns as tokens, exactly as a Vision Transformer reads patches. This lesson:
//   1. takes a real human recording from waveform to spectrogram to tokens, printing every shape;
//   2. trains a small Keyword Transformer (Berg et al. 2021) on synthesized voices for a few seconds;
//   3. shows where the shipped model's CLS token listens in a real recording, layer by layer;
//   4. lets Listen, Attend and Spell (Chan et al. 2016) spell a word and draws its alignment;
//   5. asks how far synthetic voices carry: accuracy on synthesizers vs on people.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "attn/audio/audio_io.h"
#include "attn/audio/features.h"
#include "attn/audio/speech_data.h"
#include "attn/audio/words.h"
#include "attn/autograd/autograd.h"
#include "attn/models/kwt.h"
#include "attn/models/las.h"
#include "attn/ops/ops.h"
#include "attn/trainers/audio.h"
#include "attn/viz/audio_figure.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

viz::AudioAttentionFigure figure_of(const Tensor& x, const audio::SpeechFeatures& f, const std::string& title) {
  return viz::spectrogram_figure(x.data(), f.frames(), f.mel.n_mels,
                                 static_cast<double>(f.mel.hop_length) / static_cast<double>(f.mel.sample_rate), title);
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Attention that listens: spectrograms as tokens, a keyword transformer, a speller's alignment");
  const std::string root = ATTN_SOURCE_DIR;

  // ------------------------------------------------------------------------------------------------
  L.step("From a waveform to tokens");
  L.say(
      "KTuberling, a KDE game for children, names its objects in a human voice; Debian's ktuberling-data ships\n"
      "the recordings. One of them, read with libsndfile, mixed down to mono and resampled with libsamplerate:");
  const std::string path = std::string(audio::kKtuberlingSounds) + "/en/umbrella.ogg";
  const audio::Waveform raw = audio::load_audio(path);
  const audio::Waveform wave = audio::resample(raw, 16000);
  std::cout << std::fixed << std::setprecision(2) << "  " << fs::path(path).filename().string() << ": "
            << raw.samples.size() << " samples at " << raw.sample_rate << " Hz (" << raw.seconds() << " s) -> "
            << wave.samples.size() << " samples at 16000 Hz\n";
  L.say(
      "\nThe log-mel spectrogram (FFTW; equal to torchaudio's MelSpectrogram + AmplitudeToDB): 25 ms windows every\n"
      "10 ms, the power of 257 frequency bins pooled into 40 bands spaced like human pitch perception (the mel\n"
      "scale), in decibels:");
  const audio::SpeechFeatures features;  // 16 kHz, 40 mels, words centred in 1.2 s
  const audio::MelSpectrogram mel(features.mel);
  const std::vector<float> db = mel.log_mel(wave.samples.data(), static_cast<int64_t>(wave.samples.size()));
  std::cout << "  log-mel of the whole recording: (n_mels, frames) = (" << features.mel.n_mels << ", "
            << mel.num_frames(static_cast<int64_t>(wave.samples.size())) << ")\n";
  const Tensor x = audio::waveform_features(wave, features, mel);
  std::cout << "  the model's input (silence trimmed, the word centred in " << features.clip_seconds
            << " s, standardized): " << shape_str(x.shape()) << " = (batch, frames, mels)\n";
  const models::LoadedKWT shipped = models::load_kwt(root + "/models/kwt-words");
  const models::KWTConfig& kc = shipped.model->config();
  std::cout << "  the Keyword Transformer's tokens: every " << kc.patch_frames << " frames (" << kc.patch_frames * 10
            << " ms) x " << kc.num_mel_bins() << " mels = " << kc.patch_frames * kc.num_mel_bins() << " numbers -> "
            << kc.num_patches() << " tokens + CLS = " << kc.seq_len() << " tokens of " << kc.hidden_size << "\n";
  viz::save_audio_attention(figure_of(x, features, "umbrella.ogg: the log-mel spectrogram a model reads"),
                            L.figure("spectrogram.png"));

  // ------------------------------------------------------------------------------------------------
  L.step("A Keyword Transformer trained here, on synthesized voices");
  L.say(
      "No recordings of people are used for training: eSpeak NG and Flite, two speech synthesizers, say the words\n"
      "in many voices (accents, pitch, speed), and augmentation (speed, shift, noise, SpecAugment) blurs what is\n"
      "synthetic about them. Here: the first 10 words, a 2-layer model, about twenty seconds.");
  trainers::AudioTrainOptions o;
  o.out = (fs::path(L.out_dir()) / "kwt-small").string();
  o.words = 10;
  o.espeak_per_word = 40;
  o.flite_per_word = 3;
  o.val_per_word = 10;
  o.embd = 48;
  o.layers = 2;
  o.heads = 4;
  o.batch = 64;
  o.epochs = 30;
  o.lr = 3e-3f;
  o.warmup_epochs = 0.5f;
  const auto t0 = std::chrono::steady_clock::now();
  const nlohmann::json eval = trainers::train_audio(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto pct = [](const nlohmann::json& e) { return 100.0 * e.at("accuracy").get<double>(); };
  std::cout << std::setprecision(1) << "  trained " << eval["steps"].get<int64_t>() << " steps in " << secs << " s\n"
            << "  accuracy on held-out eSpeak NG voices: " << pct(eval["val_espeak_heldout_variants"]) << "%\n"
            << "  accuracy on the held-out Flite voice:  " << pct(eval["test_flite_slt"]) << "%\n"
            << "  accuracy on the 10 human recordings:   " << pct(eval["test_real_recordings"]) << "% (chance 10%)\n";

  // ------------------------------------------------------------------------------------------------
  L.step("Where the shipped model listens");
  L.say(
      "models/kwt-words (4 layers, 72 words, 12 minutes of training). Row 0 of each layer's attention, averaged\n"
      "over heads, is where the CLS token gathers its evidence: one strip per layer under the spectrogram.");
  NoGradGuard ng;
  const models::KWTOutput out = shipped.model->forward(x, true);
  const Tensor p = softmax(out.logits, -1);
  std::vector<int64_t> order(static_cast<size_t>(kc.num_labels));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p.data()[a] > p.data()[b]; });
  std::cout << "  umbrella.ogg, the top 3 words:";
  for (int k = 0; k < 3; ++k)
    std::cout << " " << kc.label(order[static_cast<size_t>(k)]) << " "
              << 100.0 * p.data()[order[static_cast<size_t>(k)]] << "%";
  std::cout << "\n";
  viz::AudioAttentionFigure fig = figure_of(x, features, "umbrella.ogg: heard \"" + kc.label(order[0]) + "\"");
  fig.frames_per_column = kc.patch_frames;
  const double frame_s = 0.01;
  fig.rows = models::cls_attention_rows(out);
  for (size_t l = 0; l < fig.rows.size(); ++l) {
    const std::vector<float>& row = fig.rows[l];
    const int64_t peak = std::max_element(row.begin(), row.end()) - row.begin();
    std::cout << "  layer " << l << ": the CLS token listens most at t = " << std::setprecision(2)
              << static_cast<double>(peak * kc.patch_frames) * frame_s << " s\n";
    fig.row_labels.push_back("layer " + std::to_string(l));
  }
  fig.caption = "time (s) — strips: the CLS token's attention to each moment, mean over heads";
  viz::save_audio_attention(fig, L.figure("kwt_cls_attention.png"));

  // ------------------------------------------------------------------------------------------------
  L.step("Listen, Attend and Spell: an alignment between letters and sound");
  L.say(
      "The speller writes one letter at a time. Before each letter it attends over the listener's 30 steps of\n"
      "sound; its attention is location-aware (Chorowski et al. 2015): a convolution over where it looked for the\n"
      "previous letter is part of each score, so it can learn to walk through the word from left to right.");
  const std::string las_dir = root + "/models/las-words";
  const audio::Waveform pine =
      audio::resample(audio::load_audio(std::string(audio::kKtuberlingSounds) + "/en/pizzeria_pineapple.ogg"), 16000);
  const Tensor xp = audio::waveform_features(pine, features, mel);
  if (fs::exists(las_dir + "/config.json")) {
    const models::LoadedLAS las = models::load_las(las_dir);
    const models::LASDecoded d = las.model->greedy_decode(xp);
    const int64_t K = las.model->config().num_keys();
    std::cout << "  pizzeria_pineapple.ogg spelled: \"" << d.text[0]
              << "\"\n  where each letter looked (the key of its largest weight):";
    viz::AudioAttentionFigure af = figure_of(xp, features, "pizzeria_pineapple.ogg: spelled \"" + d.text[0] + "\"");
    af.frames_per_column = features.frames() / K;
    for (size_t i = 0; i * static_cast<size_t>(K) < d.alignment[0].size(); ++i) {
      const auto b = d.alignment[0].begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(K));
      std::cout << " " << (i < d.text[0].size() ? std::string(1, d.text[0][i]) : std::string("<eos>")) << "@"
                << std::max_element(b, b + K) - b;
      af.rows.emplace_back(b, b + K);
      af.row_labels.push_back(i < d.text[0].size() ? std::string(1, d.text[0][i]) : std::string("<eos>"));
    }
    std::cout << "\n";
    L.say(
        "Look at the figure before believing the textbook picture: this listener is bidirectional, so each of its\n"
        "steps has already heard the whole word, and a small speller trained on 72 words may read every letter from\n"
        "one place instead of walking along the sound. Whether the alignment walks or stays is something to check,\n"
        "not assume — the same question lesson 05.03 asks of attention maps in general.");
    af.caption = "time (s) — rows: each spelled letter's alignment over the sound";
    viz::save_audio_attention(af, L.figure("las_alignment.png"));
  } else {
    std::cout
        << "  (models/las-words is not there: train it with attn train audio --arch las --out models/las-words)\n";
  }

  // ------------------------------------------------------------------------------------------------
  L.step("How far do synthetic voices carry?");
  L.say(
      "The shipped model on all 72 human recordings, live, beside what it scored on synthesized voices it never\n"
      "heard (its eval.json):");
  std::vector<Tensor> feats;
  std::vector<int64_t> labels;
  for (const audio::Recording& r : audio::load_ktuberling_recordings(16000)) {
    feats.push_back(audio::waveform_features(r.wave, features, mel));
    labels.push_back(r.label);
  }
  const models::KWTEvaluation real = models::evaluate_kwt(*shipped.model, feats, labels);
  const nlohmann::json shipped_eval = nlohmann::json::parse([&] {
    std::ifstream in(root + "/models/kwt-words/eval.json");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }());
  std::cout << std::setprecision(1)
            << "  held-out eSpeak NG voices: " << pct(shipped_eval["val_espeak_heldout_variants"]) << "%\n"
            << "  held-out Flite voice:      " << pct(shipped_eval["test_flite_slt"]) << "%\n"
            << "  real recordings: top-1 " << 100.0 * real.accuracy << "%, top-5 " << 100.0 * real.top5
            << "% (chance 1.4%)\n";
  std::cout
      << "\nSynthesizers are easy for it; people are harder — a different voice, microphone and room — yet "
      << std::setprecision(0) << 100.0 * real.accuracy << "% of their words\n"
      << "are heard right without a single human recording in training. More voices and augmentation close the gap;\n"
      << "the explorer's Audio tab (attn explore) shows every recording.\n";
  return 0;
}
