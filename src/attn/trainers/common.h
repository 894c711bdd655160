// What the training loops share (attn train gpt, attn/trainers/vit.h): two AdamW parameter groups saved as one
// file, a Generator's state as JSON, and the metrics log read back on resuming.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/nn/module.h"
#include "attn/nn/optim.h"
#include "attn/trainers/parallel.h"

namespace attn::trainers {

// The whole file as bytes; attn::Error naming `op` and the path when it cannot be read.
std::string read_text_file(const std::filesystem::path& p, const char* op);

// Two AdamW groups, as GPT-2 and ViT train: weight decay on the matrices only (`decay`), never on biases,
// LayerNorm gains or embeddings that the caller puts in `no_decay`. Saved as one safetensors file with
// "decay." / "no_decay." prefixes and the step in its metadata.
struct TwoGroupAdamW {
  std::unique_ptr<nn::AdamW> decay, no_decay;
  TwoGroupAdamW(const std::vector<Tensor>& decay_params, const std::vector<Tensor>& no_decay_params, float lr,
                float beta1, float beta2, float weight_decay, float eps = 1e-8f);
  void set_lr(float lr) {
    decay->set_lr(lr);
    no_decay->set_lr(lr);
  }
  void step() {
    decay->step();
    no_decay->step();
  }
  void zero_grad() {
    decay->zero_grad();
    no_decay->zero_grad();
  }
  // `extra` goes into the file's metadata beside "step" (a trainer's state that must match these moments).
  void save(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra = {}) const;
  // Returns the step (and, with `metadata`, the file's metadata); attn::Error naming `op` otherwise.
  int64_t load(const std::string& path, const char* op, std::map<std::string, std::string>* metadata = nullptr);
};

// The ViT's (and most vision models') split: `decay` gets the weight matrices of Linear and Conv2d layers
// (names ending in ".weight", 2+ dims), `no_decay` everything else — biases, LayerNorm gains, the CLS token
// and the position embeddings.
void split_weight_matrices(const nn::NamedTensors& named, std::vector<Tensor>* decay, std::vector<Tensor>* no_decay);

// The "step" in a safetensors file's metadata (a checkpoint's weights or optimizer state); -1 when the file is
// missing, unreadable or says none.
int64_t checkpoint_step(const std::string& path);

// A checkpoint's optimizer state is optimizer.safetensors; before a new one is written the last one is renamed
// to optimizer.prev.safetensors (rename(2): atomic), so that a run killed between writing the optimizer state and
// the weights still leaves a pair of the same step. keep_previous_optimizer does the rename before a save;
// optimizer_for_step finds, on --resume, the file whose metadata step is `step` (the weights'): its path, or "".
void keep_previous_optimizer(const std::filesystem::path& dir);
std::string optimizer_for_step(const std::filesystem::path& dir, int64_t step);

// Removes "<name>.tmp.<pid>" files in `dir` left by a process that no longer runs (a killed save: see
// io/atomic_file.h); returns how many. Called when a training run starts in its folder.
int remove_stale_temporaries(const std::filesystem::path& dir);

// The Generator's full state; the spare normal is stored as its bit pattern so it round-trips exactly.
nlohmann::json rng_json(const Generator& g);
Generator::State rng_state_from(const nlohmann::json& j);

// This epoch's order of n training items: a permutation from a Generator seeded by (seed + 1, epoch), so a
// resumed run sees the order it would have seen (attn train vit, attn train audio).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// --resume, first half: the "attn_train" object that a training loop wrote into `dir`/config.json (its
// "settings" and "step"); attn::Error tagged `op` naming the file when it is missing or not such a checkpoint.
// `what` names the kind in the message ("attn train vit").
nlohmann::json read_train_state(const std::filesystem::path& dir, const char* op, const char* what);
// The same, read back into a trainer's options: `from(state["settings"], options)` (a json::exception becomes an
// attn::Error naming config.json); returns the checkpoint's step.
template <typename Options, typename From>
int64_t resume_settings(const std::filesystem::path& dir, const char* op, const char* what, Options* options,
                        From&& from) {
  const nlohmann::json state = read_train_state(dir, op, what);
  try {
    from(state.at("settings"), options);
    return state.at("step").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    detail::throw_error(op, (dir / "config.json").string() + ": " + e.what());
  }
}

// --resume, second half: the weights' step (from model.safetensors' metadata; `config_step` for folders from
// before the weights named it), the optimizer state of that step loaded into `opt`, the metrics log read back up
// to it (not when `tx` is null: a rank other than 0, which neither draws loss.svg nor rewrites the log). Returns
// the step to resume at; attn::Error tagged `op` when no optimizer file matches the weights.
int64_t resume_optimizer(const std::filesystem::path& dir, int64_t config_step, Update& opt, const char* op,
                         std::ostream& log, std::vector<double>* tx, std::vector<double>* ty, std::vector<double>* vx,
                         std::vector<double>* vy);

// metrics.jsonl as (step, loss) series per split ("train" / "val"); lines past `keep_until_step` (when
// >= 0) are dropped and the file rewritten (resuming from a checkpoint older than the last logged step).
void read_metrics(const std::filesystem::path& path, int64_t keep_until_step, std::vector<double>* tx,
                  std::vector<double>* ty, std::vector<double>* vx, std::vector<double>* vy);

}  // namespace attn::trainers
