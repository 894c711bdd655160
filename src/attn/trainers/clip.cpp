// The loop of `attn train clip` (attn/trainers/clip.h); the command (apps/attn/cmd_train_clip.cpp) parses its options.
#include "attn/trainers/clip.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <optional>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/models/clip.h"
#include "attn/train/metrics.h"
#include "attn/trainers/common.h"
#include "attn/trainers/epoch_loop.h"
#include "attn/viz/svg_plot.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::trainers {

namespace {

constexpr const char* kOp = "train clip";
using ClipSettings = ClipTrainOptions;

json settings_json(const ClipSettings& s) {
  json j = epoch_settings_json(s);
  j.update({{"font", s.font}, {"cldr", s.cldr}, {"shift", s.shift}, {"limit", s.limit}});
  return j;
}

void settings_from(const json& t, ClipSettings* s) {
  epoch_settings_from(t, s);
  s->font = t.at("font").get<std::string>();
  s->cldr = t.at("cldr").get<std::string>();
  s->shift = t.at("shift");
  s->limit = t.at("limit");
}

void check_options(const ClipSettings& s) {
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--image-size", s.image_size},
                                {"--patch", s.patch},
                                {"--embd", s.embd},
                                {"--layers", s.layers},
                                {"--heads", s.heads},
                                {"--text-embd", s.text_embd},
                                {"--text-layers", s.text_layers},
                                {"--proj", s.proj},
                                {"--epochs", s.epochs},
                                {"--checkpoint-every", s.checkpoint_every}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  ATTN_CHECK(s.image_mean >= 0 && s.image_mean <= 1, kOp, "--image-mean " << s.image_mean << " outside 0..1");
  ATTN_CHECK(s.batch >= 2, kOp, "--batch must be at least 2 (a contrastive batch needs negatives), got " << s.batch);
  ATTN_CHECK(s.vocab >= 16 && s.vocab <= 32000, kOp, "--vocab " << s.vocab << " outside 16..32000");
  ATTN_CHECK(s.image_size % s.patch == 0, kOp, "--image-size " << s.image_size << " is not a multiple of --patch " << s.patch);
  ATTN_CHECK(s.embd % s.heads == 0 && s.text_embd % s.heads == 0, kOp,
             "--embd " << s.embd << " and --text-embd " << s.text_embd << " must be divisible by --heads " << s.heads);
  ATTN_CHECK(s.shift >= 0 && s.shift < s.image_size / 2, kOp, "--shift " << s.shift << " outside 0.." << s.image_size / 2 - 1);
  for (const auto& [name, v] :
       {std::pair<const char*, int64_t>{"--limit", s.limit}, {"--stop-at", s.stop_at}})
    ATTN_CHECK(v >= 0, kOp, name << " must be >= 0, got " << v);
  check_epoch_options(s, kOp);
}

std::vector<std::string> names_of(const data::EmojiSet& set, const std::vector<int64_t>& ids) {
  std::vector<std::string> out;
  for (int64_t i : ids) out.push_back(set.emoji[i].name);
  return out;
}

}  // namespace

std::string clip_training_text(const data::Emoji& e, Generator& gen) {
  const bool name = gen.randint(2) == 0 || e.keywords.empty();
  std::vector<std::string> k = e.keywords;
  gen.shuffle(k);
  std::string out = name ? e.name : k[0];
  if (!name) {
    const size_t n = std::min<size_t>(k.size(), 1 + gen.randint(3));
    for (size_t i = 1; i < n; ++i) out += " " + k[i];
  }
  // One text in four as a person would type it: "a cat face", "an apple" (CLIP's prompts were "a photo of a ...").
  if (gen.randint(4) == 0) out = (std::string("aeiou").find(out[0]) != std::string::npos ? "an " : "a ") + out;
  return out;
}

json train_clip(ClipSettings s, const StepCallback& on_step) {
  check_options(s);
  std::ostream& log = s.log ? *s.log : null_stream();
  std::ostream& progress = s.progress ? *s.progress : null_stream();
  std::ostream& results = s.results ? *s.results : null_stream();
  const fs::path dir = s.out;
  int64_t start = 0;
  if (s.resume) start = resume_settings(dir, kOp, "attn train clip", &s, settings_from);

  // ---- data ----
  std::unique_ptr<models::ClipModel> model;
  std::optional<data::SubwordTokenizer> tok;
  std::optional<models::LoadedClip> loaded;
  if (s.resume) {
    loaded.emplace(models::load_clip(dir.string()));
    model = std::move(loaded->model);
    tok = loaded->tokenizer;
    s.image_size = model->config().image_size;
  }
  data::EmojiOptions eo;
  eo.font = s.font, eo.cldr_dir = s.cldr, eo.size = s.image_size, eo.limit = s.limit;
  const data::EmojiSet set = data::load_emoji(eo);
  const data::EmojiSplits split = data::split_emoji(set);
  ATTN_CHECK(static_cast<int64_t>(split.train.size()) >= s.batch, kOp,
             "only " << split.train.size() << " training emoji for --batch " << s.batch);
  if (!tok) {
    // The vocabulary: the training split's names and keywords, lower-cased (as clip_tokenize reads texts).
    std::vector<std::string> text;
    for (int64_t i : split.train) {
      text.push_back(models::clip_normalize(set.emoji[i].name));
      for (const std::string& k : set.emoji[i].keywords) text.push_back(models::clip_normalize(k));
    }
    data::SubwordOptions so;
    so.vocab_size = s.vocab;
    tok = data::SubwordTokenizer::train(text, so);
  }

  // ---- model ----
  if (!model) {
    models::ClipConfig c;
    c.image_size = s.image_size, c.patch_size = s.patch;
    c.vision_hidden_size = s.embd, c.vision_layers = s.layers, c.vision_heads = s.heads;
    c.vision_intermediate_size = 4 * s.embd;
    c.vocab_size = tok->vocab_size();
    c.text_hidden_size = s.text_embd, c.text_layers = s.text_layers, c.text_heads = s.heads;
    c.text_intermediate_size = 4 * s.text_embd;
    c.projection_dim = s.proj;
    c.dropout = s.dropout;
    c.image_mean.assign(3, s.image_mean);
    Generator init(s.seed);
    model = std::make_unique<models::ClipModel>(c, init, s.seed);
  }
  const models::ClipConfig& cfg = model->config();
  model->train();

  const int64_t n_train = static_cast<int64_t>(split.train.size());
  const int64_t steps_per_epoch = (n_train + s.batch - 1) / s.batch;
  const int64_t total = steps_per_epoch * s.epochs;
  const int64_t warmup = std::min<int64_t>(total, std::llround(s.warmup_epochs * steps_per_epoch));
  ATTN_CHECK(start <= total, kOp,
             "the checkpoint is at step " << start << ", past the " << total << " steps of --epochs " << s.epochs);

  std::vector<Tensor> decay, no_decay;  // decay: the weight matrices; never biases, norms, embeddings' positions, τ
  split_weight_matrices(model->named_parameters(), &decay, &no_decay);
  const std::unique_ptr<Update> opt =
      one_process().update(decay, no_decay, s.lr, {0.9f, 0.98f, 1e-6f, s.weight_decay}, model->parameters());

  const fs::path metrics_path = dir / "metrics.jsonl";
  LossCurves curves;
  if (s.resume) {
    start = resume_optimizer(dir, start, *opt, kOp, log, &curves.train_x, &curves.train_y, &curves.val_x,
                             &curves.val_y);
  } else {
    fs::create_directories(dir);
    fs::remove(metrics_path);
  }
  remove_stale_temporaries(dir);
  train::MetricsLogger metrics(metrics_path.string());

  auto save_all = [&](int64_t step) {
    model->clamp_logit_scale();
    const json extra = {
        {"attn_train",
         {{"format", "attn-clip-checkpoint"}, {"settings", settings_json(s)}, {"step", step}, {"steps", total}}}};
    keep_previous_optimizer(dir);
    opt->save((dir / "optimizer.safetensors").string(), step);
    models::save_clip(dir.string(), *model, *tok, "F32", extra.dump(), {{"step", std::to_string(step)}});
  };

  log << "data: " << set.size() << " emoji of " << s.font << " named by " << s.cldr << ": train " << split.train.size()
      << " / val " << split.val.size() << " / test " << split.test.size() << " (variants grouped), " << cfg.image_size
      << "x" << cfg.image_size << " RGB; text: " << tok->vocab_size() << " subwords\n"
      << "model: CLIP, ViT " << cfg.vision_layers << "x" << cfg.vision_hidden_size << " (patches " << cfg.patch_size
      << "x" << cfg.patch_size << ") + text Transformer " << cfg.text_layers << "x" << cfg.text_hidden_size
      << " -> " << cfg.projection_dim << "-d space, " << model->num_parameters() << " parameters\n"
      << "training: " << s.epochs << " epochs = " << total << " steps of " << s.batch << " pairs, AdamW lr " << s.lr
      << " (warmup " << warmup << " steps, cosine to " << s.min_lr << "), shift " << s.shift << ", out "
      << dir.string() << "\n"
      << std::flush;

  EpochSchedule sched;
  sched.n_train = n_train, sched.batch = s.batch;
  sched.steps_per_epoch = steps_per_epoch, sched.total = total, sched.warmup = warmup, sched.start = start;
  sched.seed = s.seed, sched.lr = s.lr, sched.min_lr = s.min_lr, sched.clip = s.clip;
  sched.checkpoint_every = s.checkpoint_every, sched.stop_at = s.stop_at, sched.time_limit_min = s.time_limit_min;
  sched.unit = "pair", sched.rate_name = "pairs_per_s";
  EpochHooks hooks;
  hooks.loss = [&](int64_t step, const std::vector<int64_t>& batch, int64_t, int64_t) {
    model->clamp_logit_scale();  // the previous step's update clipped (the paper clips after each step)
    Generator gen(s.seed + 2, static_cast<uint64_t>(step));
    std::vector<int64_t> ids;
    std::vector<std::string> texts;
    for (int64_t b : batch) {
      ids.push_back(split.train[b]);
      texts.push_back(clip_training_text(set.emoji[split.train[b]], gen));
    }
    const Tensor images = models::clip_images(set.images, ids, cfg, s.shift, &gen);
    return model->loss(images, models::clip_tokenize(*tok, texts, cfg.max_position_embeddings));
  };
  const std::vector<std::string> val_names = names_of(set, split.val);
  if (!split.val.empty())
    hooks.validate = [&] {
      const models::ClipRetrieval r = models::evaluate_clip(*model, *tok, set.images, split.val, val_names);
      return Validation{r.loss,
                        r.image_to_text[0],
                        {{"text_to_image_r1", r.text_to_image[0]}, {"temperature_inverse", model->temperature_inverse()}}};
    };
  hooks.save = save_all;
  hooks.on_step = on_step;
  const EpochLoopResult run = run_epoch_loop(sched, hooks, *opt, one_process(), &metrics, progress, curves);

  viz::LinePlot plot("CLIP training on emoji", "step", "loss (symmetric InfoNCE)");
  plot.add_series("train", curves.train_x, curves.train_y);
  if (!curves.val_x.empty()) plot.add_series("validation", curves.val_x, curves.val_y);
  plot.save((dir / "loss.svg").string());
  if (run.stopped_early) {
    results << "stopped at step " << run.step << " of " << total << "; continue with: attn train clip --out "
            << dir.string() << " --resume\n";
    return {{"stopped_at", run.step}, {"steps", total}};
  }

  // ---- the test emoji: retrieval among them, by their names ----
  json eval = {{"split", "test"}, {"steps", run.step}, {"train_seconds_this_run", run.seconds}};
  if (!split.test.empty()) {
    const std::vector<std::string> test_names = names_of(set, split.test);
    const models::ClipRetrieval r = models::evaluate_clip(*model, *tok, set.images, split.test, test_names);
    const double n = static_cast<double>(r.count);
    json examples = json::array();
    for (size_t i = 0; i < std::min<size_t>(10, split.test.size()); ++i)
      examples.push_back({{"emoji", set.emoji[split.test[i]].text},
                          {"name", test_names[i]},
                          {"best_text", test_names[r.best_text[i]]}});
    eval.update({{"emoji", r.count},
                 {"loss", r.loss},
                 {"image_to_text", {{"r1", r.image_to_text[0]}, {"r5", r.image_to_text[1]}, {"r10", r.image_to_text[2]}}},
                 {"text_to_image", {{"r1", r.text_to_image[0]}, {"r5", r.text_to_image[1]}, {"r10", r.text_to_image[2]}}},
                 {"random", {{"r1", 1 / n}, {"r5", std::min(1.0, 5 / n)}, {"r10", std::min(1.0, 10 / n)}}},
                 {"temperature_inverse", model->temperature_inverse()},
                 {"examples", examples}});
    results << std::fixed << std::setprecision(1) << "test (" << r.count
            << " emoji never seen in training): image->text recall@1/5/10 " << 100 * r.image_to_text[0] << "% / "
            << 100 * r.image_to_text[1] << "% / " << 100 * r.image_to_text[2] << "%, text->image "
            << 100 * r.text_to_image[0] << "% / " << 100 * r.text_to_image[1] << "% / " << 100 * r.text_to_image[2]
            << "% (random: " << 100 / n << "% / " << std::min(100.0, 500 / n) << "% / " << std::min(100.0, 1000 / n)
            << "%)\n";
  }
  io::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  return eval;
}

}  // namespace attn::trainers
