// A CLIP-style dual encoder (attn/models/clip.h) trained from scratch on emoji and their English names
// (attn/data/emoji.h): the loop of `attn train clip`, as a library call.
//
// The data: ~3,600 emoji of Noto Color Emoji, 32×32, each with CLDR's name and keywords; variants (skin tones,
// genders) grouped, ~80% of the groups for training, 10% validation, 10% test (split_emoji).
//
// The loop (attn/trainers/epoch_loop.h, as `attn train vit`):
//   1. lr ← warmup_cosine(step + 1)
//   2. a batch of B emoji of this epoch's order; each picture shifted by up to `shift` pixels (white fill); each
//      emoji's text drawn: its name (with probability ½), else 1–3 of its keywords joined by spaces — words seen
//      in many combinations — and one time in four "a "/"an " in front, as people type (the draws from a
//      Generator seeded by seed and the step)
//   3. loss ← the symmetric InfoNCE of the B pairs (every other emoji of the batch is a negative)
//   4. clip_grad_norm_, AdamW (decay on weight matrices only), logit_scale ← min(logit_scale, ln 100)
//   5. each epoch: validation loss and recall@1 of the held-out names (image → text) as "accuracy"
// At the end: recall@1/5/10 both ways on the test emoji (never seen, under any variant: zero-shot), beside the
// random baseline k/N (eval.json).
//
// Every draw is a function of (seed, epoch) or (seed, step), so `resume` continues exactly. One process only: the
// InfoNCE loss of a batch is not a mean of per-item losses, so it cannot be split over ranks as the other trainers'.
//
// The folder (`out`): config.json (ClipConfig + "attn_train"; written last), model.safetensors, spm.model (the
// text tower's SentencePiece vocabulary, trained on the training split's names and keywords),
// optimizer.safetensors, metrics.jsonl, loss.svg, eval.json.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "attn/data/emoji.h"
#include "attn/trainers/parallel.h"
#include "attn/trainers/progress.h"

namespace attn::trainers {

struct ClipTrainOptions {
  std::string out = "out/clip", font = data::kNotoColorEmojiFont, cldr = data::kCldrCommonDir;
  int64_t image_size = 32, patch = 4, embd = 128, layers = 4, heads = 4;  // vision tower
  int64_t text_embd = 128, text_layers = 3, vocab = 1000;                  // text tower
  int64_t proj = 128;                                                      // the shared space
  int64_t batch = 128, epochs = 60, shift = 2, checkpoint_every = 500;
  float lr = 1e-3f, min_lr = 1e-5f, weight_decay = 0.1f, clip = 1.f, label_smoothing = 0.f, dropout = 0.f;
  float warmup_epochs = 2.f;
  float image_mean = 0.5f;  // pictures x = (pixel / 255 − mean) / 0.5 on every channel (1: white is 0)
  uint64_t seed = 1;
  bool resume = false;
  double time_limit_min = 0;
  int64_t stop_at = 0;
  int64_t limit = 0;  // use N emoji evenly spaced over all of them (0 = all): quick looks, tests
  bool epochs_given = false, checkpoint_every_given = false;
  std::ostream* log = nullptr;
  std::ostream* progress = nullptr;
  std::ostream* results = nullptr;
};

// Trains (or resumes), checkpoints into options.out and, when the run reaches its last step, scores the test
// emoji: returns eval.json's contents; a stopped run returns {"stopped_at", "steps"}. attn::Error for bad options,
// data or a checkpoint of another kind.
nlohmann::json train_clip(ClipTrainOptions options, const StepCallback& on_step = {});

// The text an emoji is trained with at one draw: its name, or 1–3 of its keywords (distinct, in a drawn order)
// joined by spaces; one time in four with "a " / "an " in front. Deterministic in `gen`.
std::string clip_training_text(const data::Emoji& e, Generator& gen);

}  // namespace attn::trainers
