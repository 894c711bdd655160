// Spoken-word recognition trained on synthesized voices and tested on people: the loop of
// `attn train audio`, as a library call.
//
// Data (attn/audio/speech_data.h): the 72 words KTuberling's children hear, synthesized at the start of every
// run (the same corpus for the same seed: tens of seconds) by eSpeak NG (8 English accents × the variants
// not held out, random rate, pitch and range) and by the Flite voices not held out; validation: eSpeak NG
// variants never trained on; tests: the held-out Flite voice (slt) and the 72 human recordings of
// ktuberling-data.
//
// Architectures: --arch kwt, the Keyword Transformer (attn/models/kwt.h): 2 frames of 40 mels per token, 4 layers
// of 96 wide with 4 heads, a word out of 72; --arch las, Listen, Attend and Spell (attn/models/las.h): a pyramidal
// BiGRU listener and a speller with location-aware attention that spells the word letter by letter (scored by
// its character error rate and the words spelled exactly).
//
// The loop, one step at a time (as attn/trainers/vit.h):
//   1. lr ← warmup_cosine(step + 1)
//   2. a batch: the next `batch` utterances of this epoch's shuffled order (Generator(seed, epoch)),
//      each augmented from Generator(seed, step, i): speed, shift, channel tilt, noise, SpecAugment
//   3. label-smoothed cross-entropy; backward; clip_grad_norm_; AdamW (decay on matrices only)
//   4. every epoch: validation loss and accuracy; every `checkpoint_every` steps and at the end: a checkpoint
// At the end: eval.json with top-1/top-5 accuracy on validation, the Flite test voice and the real recordings,
// and what the model heard in each real recording.
//
// The folder `out` (files written atomically): model.safetensors, optimizer.safetensors, config.json (the
// KWT's config + "attn_train": settings and step, written last), metrics.jsonl, loss.svg, eval.json.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "attn/audio/words.h"
#include "attn/trainers/parallel.h"
#include "attn/trainers/progress.h"

namespace attn::trainers {

struct AudioTrainOptions {
  std::string arch = "kwt", out = "out/kwt", recordings = audio::kKtuberlingSounds;
  int64_t patch_frames = 2, embd = 96, layers = 4, heads = 4, mlp = 0;  // mlp 0 = 4 · embd
  int64_t n_mels = 40;
  // --arch las: the listener's hidden size per direction, the speller's, the pyramid levels (each halves the
  // time steps) and the location filters of the attention (0: plain additive attention). --patch-frames is
  // the frames stacked before the listener.
  int64_t listener_hidden = 96, speller_hidden = 128, pyramid_levels = 1, location_filters = 8;
  double clip_seconds = 1.2;
  int64_t batch = 128, epochs = 20, checkpoint_every = 500;
  int64_t words = 0, espeak_per_word = 150, flite_per_word = 10, val_per_word = 10;
  bool augment = true;
  float lr = 1e-3f, min_lr = 1e-5f, weight_decay = 0.05f, clip = 1.f, label_smoothing = 0.1f, dropout = 0.f;
  float warmup_epochs = 1.f;
  uint64_t seed = 1;
  bool resume = false;
  double time_limit_min = 0;
  int64_t stop_at = 0;
  bool epochs_given = false, checkpoint_every_given = false;
  bool arch_given = false;  // with resume: --arch was given, and must name the checkpoint's architecture
  std::ostream* log = nullptr;
  std::ostream* progress = nullptr;
  std::ostream* results = nullptr;
  // The ranks of an `mpirun -np N` run (attn/trainers/parallel.h; from attn/dist); nullptr: one process. Rank 0
  // writes the folder and uses the three streams above; the others should pass nullptr for them.
  Ranks* ranks = nullptr;
};

// Trains (or resumes) and, at the last step, scores the three test sets: returns eval.json's contents; a run
// stopped early returns {"stopped_at": step, "steps": total}. attn::Error for bad options or data.
nlohmann::json train_audio(AudioTrainOptions options, const StepCallback& on_step = {});

}  // namespace attn::trainers
