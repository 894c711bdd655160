// attn train vit — train a Vision Transformer (attn/models/vit.h) on Fashion-MNIST and checkpoint it.
//
// The defaults are the shipped models/vit-fashion-mnist (README: Vision Transformer, with the runs that chose
// them): patches of 7x7 (16 tokens + CLS), 4 layers, 4 heads, 64 wide, 22 epochs, horizontal flips only —
// ~7.5 minutes on 2 cores, test accuracy 89%. A random crop (--pad 1 or 2) and 4x4 patches learn more
// slowly per minute here.
//
// The loop, one step at a time (the recipe of DeiT / "ViT for small data sets", scaled down):
//   1. lr ← warmup_cosine(step + 1)               linear warmup, then a half cosine down to --min-lr
//   2. a batch: the next --batch images of this epoch's shuffled order (a Generator seeded by seed and the
//      epoch), augmented (random crop of the image padded by --pad pixels, horizontal flip) by a
//      Generator seeded by seed and the step
//   3. loss ← label-smoothed cross-entropy of ViT(x); backward() fills every .grad
//   4. clip_grad_norm_(--clip), AdamW step (weight decay on the weight matrices only), zero_grad
//   5. at the end of every epoch: loss and accuracy on the validation images (the last --val training
//      images, never trained on); every --checkpoint-every steps and at the end: a checkpoint
// At the end: accuracy on the 10,000 test images, per class, and the confusion matrix (eval.json).
//
// Every random draw is a function of (seed, epoch) or (seed, step), so --resume continues with exactly
// the batches and augmentations the run would have had without stopping (dropout, off by default, is the
// exception: its generators are not saved).
//
// The checkpoint folder (--out DIR) is a Hugging Face ViT folder (attn classify and load_vit open it),
// each file written atomically:
//   model.safetensors          the weights (ViTForImageClassification's names)
//   preprocessor_config.json   the normalization (mean, std of the training images)
//   optimizer.safetensors      both AdamW groups' state, metadata "step"
//   config.json                the ViT config + "attn_train" (settings and step): written last, so it
//                              names a step whose other files are already on disk
//   metrics.jsonl, loss.svg, eval.json
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/fashion_mnist.h"
#include "attn/models/vit.h"
#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/train/metrics.h"
#include "attn/train/progress.h"
#include "attn/viz/svg_plot.h"
#include "train_common.h"
#include "train_vit.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::cli {

namespace {

constexpr const char* kOp = "attn train vit";

struct ViTSettings {
  std::string data = data::kFashionMnistDir, out = "out/vit";
  int64_t image = 28, patch = 7, embd = 64, layers = 4, heads = 4, mlp = 0;  // mlp 0 = 4 · embd
  int64_t batch = 128, epochs = 22, pad = 0, val = 5000, checkpoint_every = 500, train_images = 0;
  bool hflip = true;
  float lr = 2e-3f, min_lr = 1e-5f, weight_decay = 0.05f, clip = 1.f, label_smoothing = 0.1f, dropout = 0.f;
  float warmup_epochs = 0.3f;
  uint64_t seed = 1;
  bool resume = false;
  double time_limit_min = 0;
  int64_t stop_at = 0;
  bool epochs_given = false, checkpoint_every_given = false;
};

json settings_json(const ViTSettings& s) {
  return {{"data", s.data},     {"batch", s.batch},         {"epochs", s.epochs},   {"lr", s.lr},
          {"min_lr", s.min_lr}, {"weight_decay", s.weight_decay}, {"clip", s.clip}, {"label_smoothing", s.label_smoothing},
          {"warmup_epochs", s.warmup_epochs}, {"pad", s.pad}, {"hflip", s.hflip}, {"val", s.val}, {"seed", s.seed},
          {"checkpoint_every", s.checkpoint_every}, {"train_images", s.train_images}};
}

void settings_from(const json& t, ViTSettings* s) {
  s->data = t.at("data").get<std::string>();
  s->batch = t.at("batch");
  if (!s->epochs_given) s->epochs = t.at("epochs");
  s->lr = t.at("lr");
  s->min_lr = t.at("min_lr");
  s->weight_decay = t.at("weight_decay");
  s->clip = t.at("clip");
  s->label_smoothing = t.at("label_smoothing");
  s->warmup_epochs = t.at("warmup_epochs");
  s->pad = t.at("pad");
  s->hflip = t.at("hflip");
  s->val = t.at("val");
  s->seed = t.at("seed");
  if (!s->checkpoint_every_given) s->checkpoint_every = t.at("checkpoint_every");
  s->train_images = t.value("train_images", int64_t{0});
}

// This epoch's order of the training images: a permutation from a Generator seeded by (seed, epoch).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Generator gen(seed + 1, static_cast<uint64_t>(epoch));
  gen.shuffle(order);
  return order;
}

int train_vit(ViTSettings s) {
  const fs::path dir = s.out;
  models::ViTConfig cfg;
  int64_t start = 0;
  if (s.resume) {
    const fs::path cfg_path = dir / "config.json";
    ATTN_CHECK(fs::exists(cfg_path), kOp, "--resume: no checkpoint in " << dir.string() << " (config.json missing)");
    const json saved = json::parse(read_text_file(cfg_path, kOp), nullptr, false);
    ATTN_CHECK(!saved.is_discarded() && saved.contains("attn_train"), kOp,
               cfg_path.string() << " is not an attn train vit checkpoint (no \"attn_train\")");
    try {
      settings_from(saved.at("attn_train").at("settings"), &s);
      start = saved.at("attn_train").at("step").get<int64_t>();
    } catch (const json::exception& e) {
      ATTN_FAIL(kOp, cfg_path.string() << ": " << e.what());
    }
  }

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

  const int64_t steps_per_epoch = (train.size() + s.batch - 1) / s.batch;
  const int64_t total = steps_per_epoch * s.epochs;
  const int64_t warmup = std::min<int64_t>(total, std::llround(s.warmup_epochs * steps_per_epoch));
  ATTN_CHECK(start <= total, kOp, "the checkpoint is at step " << start << ", past the " << total << " steps of --epochs "
                                                                << s.epochs);

  std::vector<Tensor> decay, no_decay;  // decay: Linear and Conv2d weights; never biases, norms, cls, positions
  split_weight_matrices(model->named_parameters(), &decay, &no_decay);
  TwoGroupAdamW opt(decay, no_decay, s.lr, 0.9f, 0.999f, s.weight_decay);

  const fs::path metrics_path = dir / "metrics.jsonl";
  std::vector<double> tx, ty, vx, vy;
  if (s.resume) {
    const int64_t opt_step = opt.load((dir / "optimizer.safetensors").string(), kOp);
    ATTN_CHECK(opt_step == start, kOp, "checkpoint files in " << dir.string() << " are from different steps (config.json says "
                                                              << start << ", optimizer " << opt_step
                                                              << "); the last save was interrupted");
    read_metrics(metrics_path, start, &tx, &ty, &vx, &vy);
    std::cout << "resuming " << dir.string() << " at step " << start << "\n";
  } else {
    fs::create_directories(dir);
    fs::remove(metrics_path);
  }
  train::MetricsLogger metrics(metrics_path.string());

  auto save_all = [&](int64_t step) {
    json extra = {{"attn_train", {{"format", "attn-vit-checkpoint"}, {"settings", settings_json(s)}, {"step", step},
                                  {"steps", total}}}};
    opt.save((dir / "optimizer.safetensors").string(), step);
    models::save_vit(dir.string(), *model, pp, "F32", extra.dump());  // config.json last
  };

  std::cout << "data: Fashion-MNIST (" << s.data << "): train " << train.size() << " / val " << val.size()
            << " images of " << cfg.image_size << "x" << cfg.image_size << ", " << cfg.num_labels << " classes\n"
            << "model: ViT " << cfg.num_hidden_layers << " layers, " << cfg.num_attention_heads << " heads, "
            << cfg.hidden_size << " wide, patches " << cfg.patch_size << "x" << cfg.patch_size << " (" << cfg.seq_len()
            << " tokens with CLS) — " << model->num_parameters() << " parameters\n"
            << "training: " << s.epochs << " epochs = " << total << " steps of " << s.batch << " images, AdamW lr " << s.lr
            << " (warmup " << warmup << " steps, cosine to " << s.min_lr << "), label smoothing " << s.label_smoothing
            << ", augmentation: crop pad " << s.pad << (s.hflip ? " + flip" : "") << ", out " << dir.string() << "\n"
            << std::flush;

  train::ProgressBar bar(total, "train", std::cerr);
  bar.unit("img").resume_from(start);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int64_t step = start;
  double last_val_acc = -1;
  bool stopped_early = false;
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  const data::Augment augment{s.pad, s.hflip};
  while (step < total) {
    const int64_t epoch = step / steps_per_epoch, i = step % steps_per_epoch;
    if (epoch != order_epoch) {
      order = epoch_order(train.size(), s.seed, epoch);
      order_epoch = epoch;
    }
    const float lr = nn::warmup_cosine(step + 1, s.lr, warmup, total, s.min_lr);
    opt.set_lr(lr);
    const int64_t b0 = i * s.batch, b1 = std::min(b0 + s.batch, train.size());
    std::vector<int64_t> idx(order.begin() + b0, order.begin() + b1);
    Generator aug_gen(s.seed + 2, static_cast<uint64_t>(step));
    data::ImageBatch b = data::make_image_batch(train, idx, pp.image_mean[0], pp.image_std[0], augment, &aug_gen);
    Tensor loss = model->loss(b.images, b.labels, s.label_smoothing);
    loss.backward();
    const float grad_norm = s.clip > 0 ? nn::clip_grad_norm_(model->parameters(), s.clip) : 0.f;
    opt.step();
    opt.zero_grad();
    ++step;

    const double l = loss.item();
    metrics.log({{"step", step}, {"split", "train"}, {"loss", l}, {"lr", lr}, {"grad_norm", grad_norm},
                 {"images_per_s", bar.items_per_second()}, {"elapsed_s", elapsed()}});
    tx.push_back(static_cast<double>(step));
    ty.push_back(l);
    std::vector<std::pair<std::string, double>> shown = {{"loss", l}};
    if (!val.labels.empty() && (step % steps_per_epoch == 0 || step == total)) {
      const models::ViTEvaluation r = models::evaluate_vit(*model, val, pp);
      last_val_acc = r.accuracy;
      metrics.log({{"step", step}, {"split", "val"}, {"loss", r.loss}, {"accuracy", r.accuracy}, {"epoch", step / steps_per_epoch},
                   {"elapsed_s", elapsed()}});
      vx.push_back(static_cast<double>(step));
      vy.push_back(r.loss);
    }
    if (last_val_acc >= 0) shown.emplace_back("val_acc", last_val_acc);
    bar.update(step, shown, b1 - b0);

    stopped_early = step < total && ((s.time_limit_min > 0 && elapsed() / 60.0 >= s.time_limit_min) || step == s.stop_at);
    if (step % s.checkpoint_every == 0 || step == total || stopped_early) save_all(step);
    if (stopped_early) break;
  }
  bar.finish();
  const double train_seconds = elapsed();

  viz::LinePlot plot("ViT training on Fashion-MNIST", "step", "loss (cross-entropy, label-smoothed in training)");
  plot.add_series("train", tx, ty);
  if (!vx.empty()) plot.add_series("validation", vx, vy);
  plot.save((dir / "loss.svg").string());

  if (stopped_early) {
    std::cout << "stopped at step " << step << " of " << total << "; continue with: attn train vit --out " << dir.string()
              << " --resume\n";
    return 0;
  }
  // ---- the test split ----
  const data::ImageDataset test = data::load_fashion_mnist("test", s.data);
  const models::ViTEvaluation r = models::evaluate_vit(*model, test, pp);
  json per_class = json::object();
  for (int64_t k = 0; k < cfg.num_labels; ++k) {
    int64_t n = 0;
    for (int64_t v : r.confusion[k]) n += v;
    per_class[cfg.label(k)] = n ? static_cast<double>(r.confusion[k][k]) / n : 0.0;
  }
  const json eval = {{"split", "test"}, {"images", test.size()}, {"accuracy", r.accuracy}, {"loss", r.loss},
                     {"per_class_accuracy", per_class}, {"confusion", r.confusion}, {"classes", cfg.id2label},
                     {"train_seconds_this_run", train_seconds}, {"steps", step}};
  viz::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  std::cout << std::fixed << std::setprecision(2) << "test accuracy " << 100.0 * r.accuracy << "% (" << test.size()
            << " images), loss " << std::setprecision(4) << r.loss << "; trained " << std::setprecision(1)
            << train_seconds / 60.0 << " min this run\n"
            << "model: " << dir.string() << " (attn classify --model " << dir.string() << " IMAGE.png)\n";
  return 0;
}

}  // namespace

TrainViT add_train_vit(CLI::App& train) {
  auto* vit = train.add_subcommand("vit", "Train a Vision Transformer on Fashion-MNIST (Debian's dataset-fashion-mnist)");
  auto s = std::make_shared<ViTSettings>();
  vit->add_option("--data", s->data, "Folder of the four Fashion-MNIST IDX files")->capture_default_str();
  vit->add_option("--out", s->out, "Checkpoint directory (a Hugging Face ViT folder)")->capture_default_str();
  vit->add_option("--patch", s->patch, "Patch size P (28 must be a multiple)")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--embd", s->embd, "Width D (divisible by --heads)")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--layers", s->layers, "Transformer layers")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--heads", s->heads, "Attention heads per layer")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--mlp", s->mlp, "MLP width (0 = 4 x --embd)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--dropout", s->dropout, "Dropout on the residual branches and attention weights")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  vit->add_option("--batch", s->batch, "Images per step")->capture_default_str()->check(CLI::PositiveNumber);
  auto* epochs = vit->add_option("--epochs", s->epochs, "Passes over the training images")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--lr", s->lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--min-lr", s->min_lr, "Learning rate at the end of the cosine")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--warmup-epochs", s->warmup_epochs, "Linear warmup, in epochs (fractions allowed)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--weight-decay", s->weight_decay, "AdamW decoupled weight decay (weight matrices only)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--label-smoothing", s->label_smoothing, "Label smoothing of the training loss")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  vit->add_option("--clip", s->clip, "Gradient norm clipping (0 = off)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--pad", s->pad, "Augmentation: random crop of the image padded by N pixels (0 = off)")->capture_default_str()->check(CLI::Range(0, 13));
  vit->add_option("--hflip", s->hflip, "Augmentation: horizontal flips (true/false)")->capture_default_str();
  vit->add_option("--val", s->val, "Training images held out for validation (the last N)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--train-images", s->train_images, "Train on the first N training images only (0 = all; quick looks, tests)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--seed", s->seed, "Seed of the weights, the data order and the augmentation")->capture_default_str();
  auto* ckpt = vit->add_option("--checkpoint-every", s->checkpoint_every, "Checkpoint every N steps (and at the end)")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_flag("--resume", s->resume, "Continue the run checkpointed in --out (its own settings; --epochs and --checkpoint-every may change)");
  vit->add_option("--time-limit-min", s->time_limit_min, "Stop cleanly (checkpoint) after N minutes (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--stop-at", s->stop_at, "Stop cleanly (checkpoint) after this step, as if interrupted (0 = none)")->capture_default_str()->check(CLI::NonNegativeNumber);
  return {vit, [=]() -> int {
            s->epochs_given = epochs->count() > 0;
            s->checkpoint_every_given = ckpt->count() > 0;
            return train_vit(*s);
          }};
}

}  // namespace attn::cli
