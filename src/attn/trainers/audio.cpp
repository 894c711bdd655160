// The loop of `attn train audio` (attn/trainers/audio.h); the command (apps/attn/cmd_train_audio.cpp) parses its
// options.
#include "attn/trainers/audio.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>
#include <optional>

#include "attn/audio/speech_data.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/models/kwt.h"
#include "attn/models/las.h"
#include "attn/nn/optim.h"
#include "attn/train/metrics.h"
#include "attn/trainers/common.h"
#include "attn/trainers/epoch_loop.h"
#include "attn/viz/svg_plot.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::trainers {

namespace {

constexpr const char* kOp = "train audio";

json settings_json(const AudioTrainOptions& s) {
  json j = epoch_settings_json(s);
  j.update({{"arch", s.arch},
            {"words", s.words},
            {"espeak_per_word", s.espeak_per_word},
            {"flite_per_word", s.flite_per_word},
            {"val_per_word", s.val_per_word},
            {"augment", s.augment},
            {"recordings", s.recordings}});
  return j;
}

void settings_from(const json& t, AudioTrainOptions* s) {
  const std::string arch = t.at("arch").get<std::string>();
  ATTN_CHECK(!s->arch_given || s->arch == arch, kOp,
             "--arch " << s->arch << " given, but the checkpoint in " << s->out << " is not a " << s->arch
                       << " model (it is " << arch << ")");
  s->arch = arch;
  epoch_settings_from(t, s);
  s->words = t.at("words");
  s->espeak_per_word = t.at("espeak_per_word");
  s->flite_per_word = t.at("flite_per_word");
  s->val_per_word = t.at("val_per_word");
  s->augment = t.at("augment");
  s->recordings = t.at("recordings").get<std::string>();
}

void check_options(const AudioTrainOptions& s) {
  ATTN_CHECK(s.arch == "kwt" || s.arch == "las", kOp, "--arch must be kwt or las, got '" << s.arch << "'");
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--patch-frames", s.patch_frames},
                                {"--embd", s.embd},
                                {"--layers", s.layers},
                                {"--heads", s.heads},
                                {"--batch", s.batch},
                                {"--epochs", s.epochs},
                                {"--checkpoint-every", s.checkpoint_every},
                                {"--n-mels", s.n_mels}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--mlp", s.mlp},
                                {"--words", s.words},
                                {"--espeak-per-word", s.espeak_per_word},
                                {"--flite-per-word", s.flite_per_word},
                                {"--val-per-word", s.val_per_word},
                                {"--stop-at", s.stop_at}})
    ATTN_CHECK(v >= 0, kOp, name << " must be >= 0, got " << v);
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--listener-hidden", s.listener_hidden},
                                {"--speller-hidden", s.speller_hidden}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  ATTN_CHECK(s.pyramid_levels >= 0 && s.pyramid_levels <= 4, kOp,
             "--pyramid-levels " << s.pyramid_levels << " outside 0..4");
  ATTN_CHECK(s.location_filters >= 0, kOp, "--location-filters must be >= 0, got " << s.location_filters);
  ATTN_CHECK(s.embd % s.heads == 0, kOp, "--embd " << s.embd << " must be divisible by --heads " << s.heads);
  ATTN_CHECK(s.clip_seconds >= 0.3 && s.clip_seconds <= 5, kOp,
             "--clip-seconds " << s.clip_seconds << " outside 0.3..5");
  check_epoch_options(s, kOp);
}

json evaluation_json(const models::KWTEvaluation& r) {
  return {{"accuracy", r.accuracy}, {"top5", r.top5}, {"loss", r.loss}, {"count", r.count}, {"predicted", r.predicted}};
}

// The two architectures behind the few calls the loop makes.
struct AudioModel {
  std::unique_ptr<models::KWTForKeywordSpotting> kwt;
  std::unique_ptr<models::LASForSpelling> las;

  nn::Module& module() { return kwt ? static_cast<nn::Module&>(*kwt) : static_cast<nn::Module&>(*las); }
  const audio::SpeechFeatures& features() const { return kwt ? kwt->config().features : las->config().features; }
  const std::vector<std::string>& labels() const { return kwt ? kwt->config().id2label : las->config().id2label; }
  Tensor loss(const audio::SpeechBatch& b, float smoothing) {
    if (kwt) return kwt->loss(b.features, b.labels, smoothing);
    std::vector<std::string> texts;
    for (int64_t l : b.labels.data) texts.push_back(las->config().texts.at(static_cast<size_t>(l)));
    return las->loss(b.features, las->encode(texts), smoothing);
  }
  // {"accuracy", ...}: KWT top-1/top-5; LAS word accuracy (exact spelling) and character error rate.
  json evaluate(const std::vector<audio::Utterance>& data, const audio::MelSpectrogram& mel) {
    if (kwt) return evaluation_json(models::evaluate_kwt(*kwt, data, mel));
    return las_json(models::evaluate_las(*las, data, mel));
  }
  json evaluate(const std::vector<Tensor>& feats, const std::vector<int64_t>& labels) {
    if (kwt) return evaluation_json(models::evaluate_kwt(*kwt, feats, labels));
    return las_json(models::evaluate_las(*las, feats, labels));
  }
  void save(const fs::path& dir, const std::string& extra, int64_t step) {
    const std::map<std::string, std::string> meta = {{"step", std::to_string(step)}};
    if (kwt) models::save_kwt(dir.string(), *kwt, "F32", extra, meta);
    else models::save_las(dir.string(), *las, extra, meta);
  }
  static json las_json(const models::LASEvaluation& r) {
    return {
        {"accuracy", r.word_accuracy}, {"cer", r.cer}, {"loss", r.loss}, {"count", r.count}, {"spelled", r.spelled}};
  }
};

}  // namespace

json train_audio(AudioTrainOptions s, const StepCallback& on_step) {
  check_options(s);
  Ranks& ranks = s.ranks ? *s.ranks : one_process();
  const bool lead = ranks.lead();
  std::ostream& log = s.log ? *s.log : null_stream();
  std::ostream& progress = s.progress ? *s.progress : null_stream();
  std::ostream& results = s.results ? *s.results : null_stream();
  const fs::path dir = s.out;
  int64_t start = 0;
  if (s.resume) start = resume_settings(dir, kOp, "attn train audio", &s, settings_from);

  // ---- model ----
  AudioModel model;
  const auto& words = audio::ktuberling_words();
  if (s.resume) {
    if (models::audio_model_architecture(dir.string()) == "kwt")
      model.kwt = std::move(models::load_kwt(dir.string()).model);
    else model.las = std::move(models::load_las(dir.string()).model);
  } else {
    audio::SpeechFeatures features;
    features.mel.n_mels = s.n_mels;
    features.clip_seconds = s.clip_seconds;
    const int64_t K = s.words > 0 ? std::min<int64_t>(s.words, static_cast<int64_t>(words.size()))
                                  : static_cast<int64_t>(words.size());
    std::vector<std::string> labels, texts;
    for (int64_t k = 0; k < K; ++k) {
      labels.push_back(words[static_cast<size_t>(k)].label);
      std::string t = words[static_cast<size_t>(k)].text;  // spelled in lower case ("UFO" -> "ufo")
      for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      texts.push_back(t);
    }
    Generator init(s.seed);
    if (s.arch == "kwt") {
      models::KWTConfig c;
      c.features = features;
      c.patch_frames = s.patch_frames;
      c.hidden_size = s.embd;
      c.num_hidden_layers = s.layers;
      c.num_attention_heads = s.heads;
      c.intermediate_size = s.mlp > 0 ? s.mlp : 4 * s.embd;
      c.hidden_dropout_prob = c.attention_probs_dropout_prob = s.dropout;
      c.num_labels = K;
      c.id2label = labels;
      model.kwt = std::make_unique<models::KWTForKeywordSpotting>(c, init, s.seed);
    } else {
      models::LASConfig c;
      c.features = features;
      c.stack_frames = s.patch_frames;
      c.pyramid_levels = s.pyramid_levels;
      c.listener_hidden = s.listener_hidden;
      c.speller_hidden = s.speller_hidden;
      c.location_filters = s.location_filters;
      c.id2label = labels;
      c.texts = texts;
      model.las = std::make_unique<models::LASForSpelling>(c, init);
    }
  }
  ATTN_CHECK((model.kwt ? "kwt" : "las") == s.arch, kOp,
             "the checkpoint in " << dir.string() << " is not a " << s.arch << " model");
  const audio::SpeechFeatures& features = model.features();
  const int64_t num_labels = static_cast<int64_t>(model.labels().size());
  model.module().train();

  // ---- data ----
  const auto t_data = std::chrono::steady_clock::now();
  audio::SpeechCorpusOptions co;
  co.sample_rate = features.mel.sample_rate;
  co.words = s.words;
  co.espeak_per_word = s.espeak_per_word;
  co.flite_per_word = s.flite_per_word;
  co.val_per_word = s.val_per_word;
  co.seed = s.seed;
  const audio::SpeechCorpus corpus = audio::synthesize_corpus(co, &log);
  ATTN_CHECK(static_cast<int64_t>(corpus.labels.size()) == num_labels, kOp,
             "the model names " << num_labels << " words but the corpus has " << corpus.labels.size());
  log << "synthesized in " << std::fixed << std::setprecision(1)
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_data).count() << " s\n"
      << std::defaultfloat;
  const audio::MelSpectrogram mel(features.mel);

  const int64_t n_train = static_cast<int64_t>(corpus.train.size());
  // Every rank synthesized the same corpus and holds the same model (a mismatch would compute nonsense or hang).
  ranks.check_same("the number of training utterances", n_train);
  if (ranks.size() > 1) {  // and the same sounds: the synthesizers are deterministic
    uint64_t h = fingerprint(nullptr, 0);
    for (const audio::Utterance& u : corpus.train) h = fingerprint(u.pcm.data(), u.pcm.size() * sizeof(u.pcm[0]), h);
    ranks.check_same("the synthesized training corpus (a hash of its samples)", static_cast<int64_t>(h));
  }
  ranks.check_same("the number of parameters", model.module().num_parameters());
  ranks.check_same("the step to resume at", start);
  const int64_t steps_per_epoch = (n_train + s.batch - 1) / s.batch;
  const int64_t total = steps_per_epoch * s.epochs;
  const int64_t warmup = std::min<int64_t>(total, std::llround(s.warmup_epochs * steps_per_epoch));
  ATTN_CHECK(start <= total, kOp,
             "the checkpoint is at step " << start << ", past the " << total << " steps of --epochs " << s.epochs);

  std::vector<Tensor> decay, no_decay;
  split_weight_matrices(model.module().named_parameters(), &decay, &no_decay);
  const std::unique_ptr<Update> opt =
      ranks.update(decay, no_decay, s.lr, {0.9f, 0.999f, 1e-8f, s.weight_decay}, model.module().parameters());

  const fs::path metrics_path = dir / "metrics.jsonl";
  LossCurves curves;  // read back from metrics.jsonl on --resume (by rank 0, which draws loss.svg)
  if (s.resume) {
    start = lead ? resume_optimizer(dir, start, *opt, kOp, log, &curves.train_x, &curves.train_y, &curves.val_x,
                                    &curves.val_y)
                 : resume_optimizer(dir, start, *opt, kOp, log, nullptr, nullptr, nullptr, nullptr);
  } else if (lead) {
    fs::create_directories(dir);
    fs::remove(metrics_path);
  }
  std::optional<train::MetricsLogger> metrics;
  if (lead) {
    remove_stale_temporaries(dir);
    metrics.emplace(metrics_path.string());
  }

  auto save_all = [&](int64_t step) {
    json extra = {
        {"attn_train",
         {{"format", "attn-audio-checkpoint"}, {"settings", settings_json(s)}, {"step", step}, {"steps", total}}}};
    if (lead) keep_previous_optimizer(dir);
    opt->save((dir / "optimizer.safetensors").string(), step);  // every rank: the state may be sharded
    if (lead) model.save(dir, extra.dump(), step);              // config.json last
  };

  if (model.kwt) {
    const models::KWTConfig& cfg = model.kwt->config();
    log << "model: KWT " << cfg.num_hidden_layers << " layers, " << cfg.num_attention_heads << " heads, "
        << cfg.hidden_size << " wide; " << cfg.num_frames() << " frames x " << cfg.num_mel_bins() << " mels, "
        << cfg.patch_frames << " frames per token (" << cfg.seq_len() << " tokens with CLS) — "
        << model.kwt->num_parameters() << " parameters\n";
  } else {
    const models::LASConfig& cfg = model.las->config();
    log << "model: Listen, Attend and Spell — listener: " << cfg.pyramid_levels + 1 << " BiGRU layers of "
        << cfg.listener_hidden << " per direction over " << cfg.features.frames() << " frames (" << cfg.stack_frames
        << " stacked, " << cfg.pyramid_levels << " pyramid levels: " << cfg.num_keys() << " keys); speller: GRU "
        << cfg.speller_hidden << ", " << (cfg.location_filters > 0 ? "location-aware" : "additive") << " attention — "
        << model.las->num_parameters() << " parameters\n";
  }
  log << "training: " << s.epochs << " epochs = " << total << " steps of " << s.batch << " utterances, AdamW lr "
      << s.lr << " (warmup " << warmup << " steps, cosine to " << s.min_lr << "), label smoothing " << s.label_smoothing
      << ", augmentation " << (s.augment ? "speed, shift, tilt, noise, SpecAugment" : "off") << ", out " << dir.string()
      << "\n";
  if (ranks.size() > 1) log << ranks.describe() << "\n";
  log << std::flush;

  EpochSchedule sched;
  sched.n_train = n_train, sched.batch = s.batch;
  sched.steps_per_epoch = steps_per_epoch, sched.total = total, sched.warmup = warmup, sched.start = start;
  sched.seed = s.seed, sched.lr = s.lr, sched.min_lr = s.min_lr, sched.clip = s.clip;
  sched.checkpoint_every = s.checkpoint_every, sched.stop_at = s.stop_at, sched.time_limit_min = s.time_limit_min;
  sched.unit = "utt", sched.rate_name = "utterances_per_s";
  const audio::SpeechAugment augment;
  EpochHooks hooks;
  hooks.loss = [&](int64_t step, const std::vector<int64_t>& batch, int64_t first, int64_t count) {
    const std::vector<int64_t> idx(batch.begin() + first, batch.begin() + first + count);  // this rank's share
    const audio::SpeechBatch b =
        audio::make_speech_batch(corpus.train, idx, features, mel, s.augment ? &augment : nullptr, s.seed + 2,
                                 static_cast<uint64_t>(step), static_cast<uint64_t>(first));
    return model.loss(b, s.label_smoothing);
  };
  if (model.las)  // the speller's loss is a mean over the characters of the words and their end marks
    hooks.units = [&](const std::vector<int64_t>& items) {
      int64_t n = 0;
      for (int64_t i : items)
        n += static_cast<int64_t>(
                 model.las->config().texts.at(static_cast<size_t>(corpus.train[static_cast<size_t>(i)].label)).size()) +
             1;
      return n;
    };
  if (!corpus.val.empty())
    hooks.validate = [&] {
      const json r = model.evaluate(corpus.val, mel);
      Validation v{r.at("loss").get<double>(), r.at("accuracy").get<double>(), {}};
      for (const char* k : {"top5", "cer"})
        if (r.contains(k)) v.extra.emplace_back(k, r[k].get<double>());
      return v;
    };
  hooks.save = save_all;
  hooks.on_step = on_step;
  const EpochLoopResult run =
      run_epoch_loop(sched, hooks, *opt, ranks, metrics ? &*metrics : nullptr, progress, curves);
  const int64_t step = run.step;
  const bool stopped_early = run.stopped_early;
  const double train_seconds = run.seconds;
  if (!lead) return {{"rank", ranks.rank()}, {"steps", step}};  // rank 0 draws, scores and writes the rest

  viz::LinePlot plot(
      model.kwt ? "Keyword Transformer on synthesized speech" : "Listen, Attend and Spell on synthesized speech",
      "step", "loss (cross-entropy, label-smoothed in training)");
  plot.add_series("train", curves.train_x, curves.train_y);
  if (!curves.val_x.empty()) plot.add_series("validation (held-out eSpeak NG variants)", curves.val_x, curves.val_y);
  plot.save((dir / "loss.svg").string());

  if (stopped_early) {
    results << "stopped at step " << step << " of " << total << "; continue with: attn train audio --out "
            << dir.string() << " --resume\n";
    return {{"stopped_at", step}, {"steps", total}};
  }

  // ---- the three test sets ----
  json eval = {
      {"architecture", s.arch}, {"steps", step}, {"train_seconds_this_run", train_seconds}, {"labels", model.labels()}};
  if (!corpus.val.empty()) eval["val_espeak_heldout_variants"] = model.evaluate(corpus.val, mel);
  if (!corpus.flite_test.empty()) eval["test_flite_slt"] = model.evaluate(corpus.flite_test, mel);
  const std::vector<audio::Recording> real = audio::load_ktuberling_recordings(features.mel.sample_rate, s.recordings);
  std::vector<Tensor> feats;
  std::vector<int64_t> labels;
  std::vector<std::string> files;
  for (const audio::Recording& r : real) {
    if (r.label >= num_labels) continue;
    feats.push_back(audio::waveform_features(r.wave, features, mel));
    labels.push_back(r.label);
    files.push_back(fs::path(r.path).filename().string());
  }
  json rr = model.evaluate(feats, labels);
  json per_file = json::array();
  for (size_t k = 0; k < feats.size(); ++k) {
    json one = {{"file", files[k]}, {"word", model.labels()[static_cast<size_t>(labels[k])]}};
    if (model.kwt) {
      one["heard"] = model.labels()[rr["predicted"][k].get<size_t>()];
    } else {
      one["spelled"] = rr["spelled"][k];
      one["reference"] = model.las->config().texts[static_cast<size_t>(labels[k])];
    }
    per_file.push_back(one);
  }
  for (json* e : {&rr, eval.contains("val_espeak_heldout_variants") ? &eval["val_espeak_heldout_variants"] : nullptr,
                  eval.contains("test_flite_slt") ? &eval["test_flite_slt"] : nullptr})
    if (e) {  // each real recording's answer is listed per file below; the synthetic sets' are not kept
      e->erase("spelled");
      e->erase("predicted");
    }
  eval["test_real_recordings"] = rr;
  eval["real_recordings"] = per_file;
  io::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  auto pct = [](const json& e, const char* k) { return 100.0 * e.at(k).get<double>(); };
  results << std::fixed << std::setprecision(1);
  const char* top1 = model.kwt ? "top-1 " : "words spelled right ";
  auto line = [&](const json& e) {
    results << top1 << pct(e, "accuracy") << "%";
    if (e.contains("top5")) results << ", top-5 " << pct(e, "top5") << "%";
    if (e.contains("cer")) results << ", character error rate " << pct(e, "cer") << "%";
  };
  if (eval.contains("val_espeak_heldout_variants")) {
    results << "held-out eSpeak NG variants: ";
    line(eval["val_espeak_heldout_variants"]);
    results << "\n";
  }
  if (eval.contains("test_flite_slt")) {
    results << "held-out Flite voice (slt): ";
    line(eval["test_flite_slt"]);
    results << "\n";
  }
  results << "real recordings (" << rr["count"].get<int64_t>() << " people's words): ";
  line(rr);
  results << (model.kwt ? " (chance " + std::to_string(100.0 / static_cast<double>(num_labels)).substr(0, 4) + "%)"
                        : std::string())
          << "; trained " << train_seconds / 60.0 << " min this run\n";
  return eval;
}

}  // namespace attn::trainers
