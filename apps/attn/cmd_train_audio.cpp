// attn train audio — a spoken-word recognizer (attn/models/kwt.h) trained on synthesized speech and tested on
// KTuberling's human recordings. The loop, its defaults and the checkpoint folder are the library's:
// attn/trainers/audio.h. This file parses the options.
#include <iostream>
#include <memory>

#include "attn/trainers/audio.h"
#include "data_parallel_flags.h"
#include "train_audio.h"

namespace attn::cli {

TrainAudio add_train_audio(CLI::App& train) {
  auto* a = train.add_subcommand("audio",
                                 "Train a spoken-word recognizer on synthesized voices (eSpeak NG, Flite); "
                                 "tested on real recordings (Debian's ktuberling-data)");
  auto s = std::make_shared<trainers::AudioTrainOptions>();
  auto dp = std::make_shared<DataParallelFlags>();
  auto* arch =
      a->add_option("--arch", s->arch,
                    "kwt: Keyword Transformer (a word out of 72); las: Listen, Attend and Spell (spells the word)")
          ->capture_default_str()
          ->check(CLI::IsMember({"kwt", "las"}));
  a->add_option("--out", s->out, "Checkpoint directory")->capture_default_str();
  a->add_option("--recordings", s->recordings, "KTuberling's sounds folder (the real test recordings under en/)")
      ->capture_default_str();
  a->add_option("--patch-frames", s->patch_frames,
                "Spectrogram frames (10 ms each) per token (las: stacked before the listener)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  a->add_option("--n-mels", s->n_mels, "Mel bins per frame")->capture_default_str()->check(CLI::Range(8, 128));
  a->add_option("--clip-seconds", s->clip_seconds, "Input length: every word centred in this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.3, 5.0));
  a->add_option("--embd", s->embd, "kwt: width D (divisible by --heads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  a->add_option("--layers", s->layers, "Transformer layers")->capture_default_str()->check(CLI::PositiveNumber);
  a->add_option("--heads", s->heads, "Attention heads per layer")->capture_default_str()->check(CLI::PositiveNumber);
  a->add_option("--mlp", s->mlp, "MLP width (0 = 4 x --embd)")->capture_default_str()->check(CLI::NonNegativeNumber);
  a->add_option("--listener-hidden", s->listener_hidden, "las: hidden size of the listener's BiGRUs, per direction")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  a->add_option("--speller-hidden", s->speller_hidden, "las: hidden size of the speller's GRU")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  a->add_option("--pyramid-levels", s->pyramid_levels,
                "las: pyramid levels (each halves the time steps the speller attends to)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4));
  a->add_option("--location-filters", s->location_filters,
                "las: filters over the previous alignment (0 = plain additive attention)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--dropout", s->dropout, "Dropout on the residual branches and attention weights")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  a->add_option("--batch", s->batch, "Utterances per step")->capture_default_str()->check(CLI::PositiveNumber);
  auto* epochs = a->add_option("--epochs", s->epochs, "Passes over the training utterances")
                     ->capture_default_str()
                     ->check(CLI::PositiveNumber);
  a->add_option("--lr", s->lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  a->add_option("--min-lr", s->min_lr, "Learning rate at the end of the cosine")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--warmup-epochs", s->warmup_epochs, "Linear warmup, in epochs (fractions allowed)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--weight-decay", s->weight_decay, "AdamW decoupled weight decay (weight matrices only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--label-smoothing", s->label_smoothing, "Label smoothing of the training loss")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  a->add_option("--clip", s->clip, "Gradient norm clipping (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--words", s->words, "Only the first N words of the vocabulary (0 = all 72; quick looks, tests)")
      ->capture_default_str()
      ->check(CLI::Range(0, 72));
  a->add_option("--espeak-per-word", s->espeak_per_word, "Training utterances per word from eSpeak NG")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  a->add_option("--flite-per-word", s->flite_per_word, "Training utterances per word from each training Flite voice")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  a->add_option("--val-per-word", s->val_per_word, "Validation utterances per word (held-out eSpeak NG variants)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  a->add_option("--augment", s->augment, "Augmentation: speed, shift, channel tilt, noise, SpecAugment (true/false)")
      ->capture_default_str();
  a->add_option("--seed", s->seed, "Seed of the weights, the corpus, the data order and the augmentation")
      ->capture_default_str();
  auto* ckpt = a->add_option("--checkpoint-every", s->checkpoint_every, "Checkpoint every N steps (and at the end)")
                   ->capture_default_str()
                   ->check(CLI::PositiveNumber);
  a->add_flag("--resume", s->resume,
              "Continue the run checkpointed in --out (its own settings; --epochs and --checkpoint-every may change)");
  a->add_option("--time-limit-min", s->time_limit_min, "Stop cleanly (checkpoint) after N minutes (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  a->add_option("--stop-at", s->stop_at, "Stop cleanly (checkpoint) after this step, as if interrupted (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_data_parallel_flags(a, dp.get());
  return {a, [=]() -> int {
            s->epochs_given = epochs->count() > 0;
            s->arch_given = arch->count() > 0;
            s->checkpoint_every_given = ckpt->count() > 0;
            s->log = &std::cout;
            s->progress = &std::cerr;
            s->results = &std::cout;
            return train_on_ranks(*s, *dp, "attn train audio", [](trainers::AudioTrainOptions& o) {
              const nlohmann::json eval = trainers::train_audio(o);
              if (!eval.contains("stopped_at"))
                std::cout << "model: " << o.out << " (attn listen --model " << o.out << " FILE.wav)\n";
              return 0;
            });
          }};
}

}  // namespace attn::cli
