// attn train clip — train a CLIP-style dual encoder (attn/models/clip.h) on emoji and their English names and
// checkpoint it.
//
// The loop, its defaults and the checkpoint folder are the library's: attn/trainers/clip.h. This file parses the
// options.
#include <iostream>
#include <memory>

#include "attn/trainers/clip.h"
#include "train_clip.h"

namespace attn::cli {

TrainClip add_train_clip(CLI::App& train) {
  auto* app = train.add_subcommand(
      "clip",
      "Train a CLIP-style image+text dual encoder on emoji (Debian's fonts-noto-color-emoji) and their English "
      "names (unicode-cldr-core)");
  auto s = std::make_shared<trainers::ClipTrainOptions>();
  app->add_option("--out", s->out, "Checkpoint directory")->capture_default_str();
  app->add_option("--font", s->font, "The colour emoji font")->capture_default_str();
  app->add_option("--cldr", s->cldr, "CLDR's common/ folder (annotations/en.xml, annotationsDerived/en.xml)")
      ->capture_default_str();
  app->add_option("--image-size", s->image_size, "Pictures are N x N")->capture_default_str()->check(CLI::Range(8, 128));
  app->add_option("--patch", s->patch, "Vision: patch size P")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--embd", s->embd, "Vision: width")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--layers", s->layers, "Vision: Transformer layers")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--heads", s->heads, "Attention heads per layer (both towers)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--text-embd", s->text_embd, "Text: width")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--text-layers", s->text_layers, "Text: Transformer layers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--vocab", s->vocab, "Text: SentencePiece vocabulary size")
      ->capture_default_str()
      ->check(CLI::Range(16, 32000));
  app->add_option("--proj", s->proj, "Width of the shared image-text space")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--dropout", s->dropout, "Dropout on residual branches and attention weights")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  app->add_option("--batch", s->batch, "Pairs per step (each picture's negatives are the other B - 1 texts)")
      ->capture_default_str()
      ->check(CLI::Range(2, 4096));
  auto* epochs = app->add_option("--epochs", s->epochs, "Passes over the training emoji")
                     ->capture_default_str()
                     ->check(CLI::PositiveNumber);
  app->add_option("--lr", s->lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--min-lr", s->min_lr, "Learning rate at the end of the cosine")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--warmup-epochs", s->warmup_epochs, "Linear warmup, in epochs")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--weight-decay", s->weight_decay, "AdamW decoupled weight decay (weight matrices only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--clip", s->clip, "Gradient norm clipping (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--shift", s->shift, "Augmentation: move each picture by up to N pixels (white fill)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--image-mean", s->image_mean,
                  "Pictures are (pixel/255 - mean) / 0.5 per channel (0.5: white is 1; 1: white is 0)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--limit", s->limit, "Use N emoji spread over all of them (0 = all; quick looks, tests)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--seed", s->seed, "Seed of the weights, the data order and the augmentation")->capture_default_str();
  auto* ckpt = app->add_option("--checkpoint-every", s->checkpoint_every, "Checkpoint every N steps (and at the end)")
                   ->capture_default_str()
                   ->check(CLI::PositiveNumber);
  app->add_flag("--resume", s->resume,
                "Continue the run checkpointed in --out (its own settings; --epochs and --checkpoint-every may change)");
  app->add_option("--time-limit-min", s->time_limit_min, "Stop cleanly (checkpoint) after N minutes (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--stop-at", s->stop_at, "Stop cleanly (checkpoint) after this step, as if interrupted (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  return {app, [=]() -> int {
            s->epochs_given = epochs->count() > 0;
            s->checkpoint_every_given = ckpt->count() > 0;
            s->log = &std::cout;
            s->progress = &std::cerr;
            s->results = &std::cout;
            const nlohmann::json eval = trainers::train_clip(*s);
            if (!eval.contains("stopped_at"))
              std::cout << "model: " << s->out << " (attn search --model " << s->out << " \"a happy cat\")\n";
            return 0;
          }};
}

}  // namespace attn::cli
