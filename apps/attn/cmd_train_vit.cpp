// attn train vit — train a Vision Transformer (attn/models/vit.h) on Fashion-MNIST and checkpoint it.
//
// The loop, its defaults (the shipped models/vit-fashion-mnist) and the checkpoint folder are the library's:
// attn/trainers/vit.h. This file parses the options.
#include <iostream>
#include <memory>

#include "attn/trainers/vit.h"
#include "data_parallel_flags.h"
#include "train_vit.h"

namespace attn::cli {

TrainViT add_train_vit(CLI::App& train) {
  auto* vit =
      train.add_subcommand("vit", "Train a Vision Transformer on Fashion-MNIST (Debian's dataset-fashion-mnist)");
  auto s = std::make_shared<trainers::ViTTrainOptions>();
  auto dp = std::make_shared<DataParallelFlags>();
  vit->add_option("--data", s->data, "Folder of the four Fashion-MNIST IDX files")->capture_default_str();
  vit->add_option("--out", s->out, "Checkpoint directory (a Hugging Face ViT folder)")->capture_default_str();
  vit->add_option("--patch", s->patch, "Patch size P (28 must be a multiple)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  vit->add_option("--embd", s->embd, "Width D (divisible by --heads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  vit->add_option("--layers", s->layers, "Transformer layers")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--heads", s->heads, "Attention heads per layer")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--mlp", s->mlp, "MLP width (0 = 4 x --embd)")->capture_default_str()->check(CLI::NonNegativeNumber);
  vit->add_option("--dropout", s->dropout, "Dropout on the residual branches and attention weights")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  vit->add_option("--batch", s->batch, "Images per step")->capture_default_str()->check(CLI::PositiveNumber);
  auto* epochs = vit->add_option("--epochs", s->epochs, "Passes over the training images")
                     ->capture_default_str()
                     ->check(CLI::PositiveNumber);
  vit->add_option("--lr", s->lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  vit->add_option("--min-lr", s->min_lr, "Learning rate at the end of the cosine")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--warmup-epochs", s->warmup_epochs, "Linear warmup, in epochs (fractions allowed)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--weight-decay", s->weight_decay, "AdamW decoupled weight decay (weight matrices only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--label-smoothing", s->label_smoothing, "Label smoothing of the training loss")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  vit->add_option("--clip", s->clip, "Gradient norm clipping (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--pad", s->pad, "Augmentation: random crop of the image padded by N pixels (0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 13));
  vit->add_option("--hflip", s->hflip, "Augmentation: horizontal flips (true/false)")->capture_default_str();
  vit->add_option("--val", s->val, "Training images held out for validation (the last N)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--train-images", s->train_images,
                  "Train on the first N training images only (0 = all; quick looks, tests)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--test-images", s->test_images,
                  "Score the first N test images at the end (0 = all 10,000; quick looks, tests)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--seed", s->seed, "Seed of the weights, the data order and the augmentation")->capture_default_str();
  auto* ckpt = vit->add_option("--checkpoint-every", s->checkpoint_every, "Checkpoint every N steps (and at the end)")
                   ->capture_default_str()
                   ->check(CLI::PositiveNumber);
  vit->add_flag(
      "--resume", s->resume,
      "Continue the run checkpointed in --out (its own settings; --epochs and --checkpoint-every may change)");
  vit->add_option("--time-limit-min", s->time_limit_min, "Stop cleanly (checkpoint) after N minutes (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  vit->add_option("--stop-at", s->stop_at, "Stop cleanly (checkpoint) after this step, as if interrupted (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_data_parallel_flags(vit, dp.get());
  return {vit, [=]() -> int {
            s->epochs_given = epochs->count() > 0;
            s->checkpoint_every_given = ckpt->count() > 0;
            s->log = &std::cout;
            s->progress = &std::cerr;
            s->results = &std::cout;
            return train_on_ranks(*s, *dp, "attn train vit", [](trainers::ViTTrainOptions& o) {
              const nlohmann::json eval = trainers::train_vit(o);
              if (!eval.contains("stopped_at"))
                std::cout << "model: " << o.out << " (attn classify --model " << o.out << " IMAGE.png)\n";
              return 0;
            });
          }};
}

}  // namespace attn::cli
