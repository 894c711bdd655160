// The loop of `attn train vit` (attn/trainers/vit.h); the command (apps/attn/cmd_train_vit.cpp) parses its options.
#include "attn/trainers/vit.h"
#include "attn/io/atomic_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>
#include <optional>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/models/vit.h"
#include "attn/nn/optim.h"
#include "attn/train/metrics.h"
#include "attn/trainers/common.h"
#include "attn/trainers/epoch_loop.h"
#include "attn/viz/svg_plot.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::trainers {

namespace {

constexpr const char* kOp = "train vit";
using ViTSettings = ViTTrainOptions;

json settings_json(const ViTSettings& s) {
  json j = epoch_settings_json(s);
  j.update({{"data", s.data}, {"pad", s.pad}, {"hflip", s.hflip}, {"val", s.val}, {"train_images", s.train_images}});
  return j;
}

void settings_from(const json& t, ViTSettings* s) {
  s->data = t.at("data").get<std::string>();
  epoch_settings_from(t, s);
  s->pad = t.at("pad");
  s->hflip = t.at("hflip");
  s->val = t.at("val");
  s->train_images = t.value("train_images", int64_t{0});
}

// Every option in its range, named as the command's flag (the Python keyword is the same name with '_').
void check_options(const ViTSettings& s) {
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--patch", s.patch},
                                {"--embd", s.embd},
                                {"--layers", s.layers},
                                {"--heads", s.heads},
                                {"--batch", s.batch},
                                {"--epochs", s.epochs},
                                {"--checkpoint-every", s.checkpoint_every}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--mlp", s.mlp},
                                {"--val", s.val},
                                {"--train-images", s.train_images},
                                {"--test-images", s.test_images},
                                {"--stop-at", s.stop_at}})
    ATTN_CHECK(v >= 0, kOp, name << " must be >= 0, got " << v);
  ATTN_CHECK(s.pad >= 0 && s.pad <= 13, kOp, "--pad " << s.pad << " outside 0..13");
  ATTN_CHECK(s.embd % s.heads == 0, kOp, "--embd " << s.embd << " must be divisible by --heads " << s.heads);
  check_epoch_options(s, kOp);
}

}  // namespace

json train_vit(ViTSettings s, const StepCallback& on_step) {
  check_options(s);
  Ranks& ranks = s.ranks ? *s.ranks : one_process();
  const bool lead = ranks.lead();
  std::ostream& log = s.log ? *s.log : null_stream();
  std::ostream& progress = s.progress ? *s.progress : null_stream();
  std::ostream& results = s.results ? *s.results : null_stream();
  const fs::path dir = s.out;
  models::ViTConfig cfg;
  int64_t start = 0;
  if (s.resume) start = resume_settings(dir, kOp, "attn train vit", &s, settings_from);

  // ---- data ----
  data::ImageDataset all_train = data::load_fashion_mnist("train", s.data);
  ATTN_CHECK(s.val >= 0 && s.val < all_train.size(), kOp,
             "--val " << s.val << " must leave training images (there are " << all_train.size() << ")");
  const int64_t n_train = all_train.size() - s.val;
  ATTN_CHECK(s.train_images >= 0 && s.train_images <= n_train, kOp,
             "--train-images " << s.train_images << " outside 0.." << n_train << " (0 = all)");
  const data::ImageDataset train = all_train.subset(0, s.train_images > 0 ? s.train_images : n_train);
  const data::ImageDataset val = all_train.subset(all_train.size() - s.val, all_train.size());
  all_train = data::ImageDataset();
  models::ImagePreprocess pp;
  pp.height = pp.width = train.height;

  // ---- model ----
  std::unique_ptr<models::ViTForImageClassification> model;
  if (s.resume) {
    models::LoadedViT loaded = models::load_vit(dir.string());
    model = std::move(loaded.model);
    pp = loaded.preprocess;
    cfg = model->config();
  } else {
    cfg.image_size = train.height;
    cfg.patch_size = s.patch;
    cfg.num_channels = train.channels;
    cfg.hidden_size = s.embd;
    cfg.num_hidden_layers = s.layers;
    cfg.num_attention_heads = s.heads;
    cfg.intermediate_size = s.mlp > 0 ? s.mlp : 4 * s.embd;
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = s.dropout;
    cfg.num_labels = static_cast<int64_t>(train.classes.size());
    cfg.id2label = train.classes;
    pp.image_mean = {data::kFashionMnistMean};
    pp.image_std = {data::kFashionMnistStd};
    Generator init(s.seed);
    model = std::make_unique<models::ViTForImageClassification>(cfg, init, s.seed);
  }
  ATTN_CHECK(train.height == cfg.image_size && train.width == cfg.image_size, kOp,
             "the images are " << train.height << "x" << train.width << " but the model reads " << cfg.image_size);
  model->train();
  // Every rank must run the same model on the same data (a mismatch would compute nonsense or wait forever).
  ranks.check_same("the number of training images", train.size());
  ranks.check_same("the number of parameters", model->num_parameters());
  ranks.check_same("the step to resume at", start);

  const int64_t steps_per_epoch = (train.size() + s.batch - 1) / s.batch;
  const int64_t total = steps_per_epoch * s.epochs;
  const int64_t warmup = std::min<int64_t>(total, std::llround(s.warmup_epochs * steps_per_epoch));
  ATTN_CHECK(start <= total, kOp,
             "the checkpoint is at step " << start << ", past the " << total << " steps of --epochs " << s.epochs);

  std::vector<Tensor> decay, no_decay;  // decay: Linear and Conv2d weights; never biases, norms, cls, positions
  split_weight_matrices(model->named_parameters(), &decay, &no_decay);
  const std::unique_ptr<Update> opt =
      ranks.update(decay, no_decay, s.lr, {0.9f, 0.999f, 1e-8f, s.weight_decay}, model->parameters());

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
    remove_stale_temporaries(dir);  // what a killed save left behind
    metrics.emplace(metrics_path.string());
  }

  auto save_all = [&](int64_t step) {
    json extra = {
        {"attn_train",
         {{"format", "attn-vit-checkpoint"}, {"settings", settings_json(s)}, {"step", step}, {"steps", total}}}};
    // As attn train gpt's checkpoints (apps/attn/cmd_train.cpp, save_all): the previous optimizer file kept
    // until the weights of the new step are on disk, so a kill at any moment leaves a matching pair.
    if (lead) keep_previous_optimizer(dir);
    opt->save((dir / "optimizer.safetensors").string(), step);  // every rank: the state may be sharded
    if (lead)
      models::save_vit(dir.string(), *model, pp, "F32", extra.dump(), {{"step", std::to_string(step)}});  // config last
  };

  log << "data: Fashion-MNIST (" << s.data << "): train " << train.size() << " / val " << val.size() << " images of "
      << cfg.image_size << "x" << cfg.image_size << ", " << cfg.num_labels << " classes\n"
      << "model: ViT " << cfg.num_hidden_layers << " layers, " << cfg.num_attention_heads << " heads, "
      << cfg.hidden_size << " wide, patches " << cfg.patch_size << "x" << cfg.patch_size << " (" << cfg.seq_len()
      << " tokens with CLS) — " << model->num_parameters() << " parameters\n"
      << "training: " << s.epochs << " epochs = " << total << " steps of " << s.batch << " images, AdamW lr " << s.lr
      << " (warmup " << warmup << " steps, cosine to " << s.min_lr << "), label smoothing " << s.label_smoothing
      << ", augmentation: crop pad " << s.pad << (s.hflip ? " + flip" : "") << ", out " << dir.string() << "\n";
  if (ranks.size() > 1) log << ranks.describe() << "\n";
  log << std::flush;

  EpochSchedule sched;
  sched.n_train = train.size(), sched.batch = s.batch;
  sched.steps_per_epoch = steps_per_epoch, sched.total = total, sched.warmup = warmup, sched.start = start;
  sched.seed = s.seed, sched.lr = s.lr, sched.min_lr = s.min_lr, sched.clip = s.clip;
  sched.checkpoint_every = s.checkpoint_every, sched.stop_at = s.stop_at, sched.time_limit_min = s.time_limit_min;
  sched.unit = "img", sched.rate_name = "images_per_s";
  const data::Augment augment{s.pad, s.hflip};
  EpochHooks hooks;
  hooks.loss = [&](int64_t step, const std::vector<int64_t>& batch, int64_t first, int64_t count) {
    // The whole batch drawn (its augmentation one stream, as on one process), this rank's rows kept.
    Generator aug_gen(s.seed + 2, static_cast<uint64_t>(step));
    data::ImageBatch b = data::make_image_batch(train, batch, pp.image_mean[0], pp.image_std[0], augment, &aug_gen);
    if (count < static_cast<int64_t>(batch.size())) b = data::image_batch_rows(b, first, count);
    return model->loss(b.images, b.labels, s.label_smoothing);
  };
  if (!val.labels.empty())
    hooks.validate = [&] {
      const models::ViTEvaluation r = models::evaluate_vit(*model, val, pp);
      return Validation{r.loss, r.accuracy, {}};
    };
  hooks.save = save_all;
  hooks.on_step = on_step;
  const EpochLoopResult run =
      run_epoch_loop(sched, hooks, *opt, ranks, metrics ? &*metrics : nullptr, progress, curves);
  const int64_t step = run.step;
  const bool stopped_early = run.stopped_early;
  const double train_seconds = run.seconds;
  if (!lead) return {{"rank", ranks.rank()}, {"steps", step}};  // rank 0 draws, scores and writes the rest

  viz::LinePlot plot("ViT training on Fashion-MNIST", "step", "loss (cross-entropy, label-smoothed in training)");
  plot.add_series("train", curves.train_x, curves.train_y);
  if (!curves.val_x.empty()) plot.add_series("validation", curves.val_x, curves.val_y);
  plot.save((dir / "loss.svg").string());

  if (stopped_early) {
    results << "stopped at step " << step << " of " << total << "; continue with: attn train vit --out " << dir.string()
            << " --resume\n";
    return {{"stopped_at", step}, {"steps", total}};
  }
  // ---- the test split ----
  data::ImageDataset test = data::load_fashion_mnist("test", s.data);
  if (s.test_images > 0 && s.test_images < test.size()) test = test.subset(0, s.test_images);
  const models::ViTEvaluation r = models::evaluate_vit(*model, test, pp);
  json per_class = json::object();
  for (int64_t k = 0; k < cfg.num_labels; ++k) {
    int64_t n = 0;
    for (int64_t v : r.confusion[k]) n += v;
    per_class[cfg.label(k)] = n ? static_cast<double>(r.confusion[k][k]) / n : 0.0;
  }
  const json eval = {{"split", "test"},
                     {"images", test.size()},
                     {"accuracy", r.accuracy},
                     {"loss", r.loss},
                     {"per_class_accuracy", per_class},
                     {"confusion", r.confusion},
                     {"classes", cfg.id2label},
                     {"train_seconds_this_run", train_seconds},
                     {"steps", step}};
  io::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  results << std::fixed << std::setprecision(2) << "test accuracy " << 100.0 * r.accuracy << "% (" << test.size()
          << " images), loss " << std::setprecision(4) << r.loss << "; trained " << std::setprecision(1)
          << train_seconds / 60.0 << " min this run\n";
  return eval;
}

}  // namespace attn::trainers
