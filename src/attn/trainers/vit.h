// A Vision Transformer (attn/models/vit.h) trained on Fashion-MNIST: the loop of `attn train vit`, as a
// library call (the command, the Python module's explore_attention.train_vit and any C++ program).
//
// The defaults are the shipped models/vit-fashion-mnist (README: Vision Transformer, with the runs that chose
// them): patches of 7x7 (16 tokens + CLS), 4 layers, 4 heads, 64 wide, 22 epochs, horizontal flips only —
// ~7.5 minutes on 2 cores, test accuracy 89%. A random crop (pad 1 or 2) and 4x4 patches learn more
// slowly per minute here.
//
// The loop, one step at a time (the recipe of DeiT / "ViT for small data sets", scaled down):
//   1. lr ← warmup_cosine(step + 1)               linear warmup, then a half cosine down to min_lr
//   2. a batch: the next `batch` images of this epoch's shuffled order (a Generator seeded by seed and the
//      epoch), augmented (random crop of the image padded by `pad` pixels, horizontal flip) by a
//      Generator seeded by seed and the step
//   3. loss ← label-smoothed cross-entropy of ViT(x); backward() fills every .grad
//   4. clip_grad_norm_(clip), AdamW step (weight decay on the weight matrices only), zero_grad
//   5. at the end of every epoch: loss and accuracy on the validation images (the last `val` training
//      images, never trained on); every `checkpoint_every` steps and at the end: a checkpoint
// At the end: accuracy on the 10,000 test images, per class, and the confusion matrix (eval.json).
//
// Every random draw is a function of (seed, epoch) or (seed, step), so `resume` continues with exactly
// the batches and augmentations the run would have had without stopping (dropout, off by default, is the
// exception: its generators are not saved).
//
// The checkpoint folder (`out`) is a Hugging Face ViT folder (attn classify and load_vit open it),
// each file written atomically:
//   model.safetensors          the weights (ViTForImageClassification's names)
//   preprocessor_config.json   the normalization (mean, std of the training images)
//   optimizer.safetensors      both AdamW groups' state, metadata "step"
//   config.json                the ViT config + "attn_train" (settings and step): written last, so it
//                              names a step whose other files are already on disk
//   metrics.jsonl, loss.svg, eval.json
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "attn/data/fashion_mnist.h"
#include "attn/trainers/parallel.h"
#include "attn/trainers/progress.h"

namespace attn::trainers {

struct ViTTrainOptions {
  std::string data = data::kFashionMnistDir, out = "out/vit";
  int64_t patch = 7, embd = 64, layers = 4, heads = 4, mlp = 0;  // mlp 0 = 4 · embd
  int64_t batch = 128, epochs = 22, pad = 0, val = 5000, checkpoint_every = 500, train_images = 0;
  int64_t test_images = 0;  // score the first N test images at the end (0 = all 10,000)
  bool hflip = true;
  float lr = 2e-3f, min_lr = 1e-5f, weight_decay = 0.05f, clip = 1.f, label_smoothing = 0.1f, dropout = 0.f;
  float warmup_epochs = 0.3f;
  uint64_t seed = 1;
  bool resume = false;        // continue the run checkpointed in `out`, with its own settings
  double time_limit_min = 0;  // stop cleanly (checkpointed) after N minutes (0 = none)
  int64_t stop_at = 0;        // stop cleanly after this step, as if interrupted (0 = none)
  // With resume: whether epochs / checkpoint_every were given (else the checkpoint's are kept).
  bool epochs_given = false, checkpoint_every_given = false;
  std::ostream* log = nullptr;       // what the run says (data, model, schedule); nullptr: quiet
  std::ostream* progress = nullptr;  // the progress bar; nullptr: none
  std::ostream* results = nullptr;   // the test accuracy, or where a stopped run can resume; nullptr: not printed
  // The ranks of an `mpirun -np N` run (attn/trainers/parallel.h; from attn/dist); nullptr: one process. Rank 0
  // writes the folder and uses the three streams above; the others should pass nullptr for them.
  Ranks* ranks = nullptr;
};

// Trains (or resumes), checkpoints into options.out and, when the run reaches its last step, scores the test
// images: returns eval.json's contents; a run stopped early (time limit, stop_at, or on_step returning false)
// returns {"stopped_at": step, "steps": total} and can be resumed. attn::Error for bad options or data.
nlohmann::json train_vit(ViTTrainOptions options, const StepCallback& on_step = {});

}  // namespace attn::trainers
