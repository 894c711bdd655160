// German→English translation training on Debian's trans-de-en: the loop of `attn train translate`, as a
// library call (the command, the Python module's explore_attention.train_translation and any C++ program).
//
// The pipeline (attn/data/translation_corpus.h, subword_tokenizer.h, translation_batches.h):
//   1. the dictionary's example sentences, cleaned and split by group (train / validation / test), and its
//      other aligned entries (headwords, idioms, short sentences) as training-only phrase pairs, none equal
//      to a held-out sentence;
//   2. a shared SentencePiece BPE vocabulary trained on the training sentences of both languages;
//   3. teacher-forced training with Adam, gradient clipping, dropout, batches of similar lengths (capped in
//      pairs and, with batch_tokens, in padded tokens); each epoch is every sentence pair plus the next
//      `phrases` phrase pairs; validation loss every epoch; the checkpoint keeps the best epoch, or the
//      average of the last `average_last` epochs when that validates better (models/translation_model.h);
//   4. at the end, the test split translated greedily and with beam search, scored with corpus BLEU
//      (13a tokens) and chrF, overall and by source length, written to eval.json.
//
// Architectures (models/translation_model.h): gru (no attention), bahdanau, luong-dot, luong-general,
// luong-concat (a bidirectional GRU encoder and a GRU decoder) and transformer (shared embeddings,
// sinusoidal positions, label smoothing, Adam (0.9, 0.98, 1e-9) on the Noam or a cosine schedule).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "attn/data/translation_corpus.h"
#include "attn/models/translation_model.h"
#include "attn/trainers/parallel.h"
#include "attn/trainers/progress.h"

namespace attn::trainers {

// Off by default: measured at 85 minutes (README, Translation), 32,000 phrase pairs an epoch left the validation
// loss per pass over the sentences unchanged and the test BLEU lower, while making each epoch 50% longer.
constexpr int64_t kDefaultPhrasesPerEpoch = 0;
constexpr double kDefaultTranslationMinutes = 18;  // the default command ends (and evaluates) within 20 minutes

struct TranslationTrainOptions {
  models::TranslationModelOptions model;  // arch, sizes, dropout, seed
  std::string out;                        // the model folder to write (required)
  std::string data = data::kTransDeEnPath;
  int64_t vocab = 4000, batch = 256, epochs = 0, max_tokens = 64;  // epochs 0: 60 transformer, 7 RNN
  float lr = 0, clip = 1.f, label_smoothing = 0.1f;                // lr 0: 2e-3 (the transformer's peak)
  double time_limit_min = kDefaultTranslationMinutes;              // 0 = no limit
  int64_t eval_sentences = 0;                                      // test sentences scored at the end (0 = all)
  int64_t warmup = 300;                                            // transformer: warmup steps
  // Transformer learning rate: "noam" (warmup, then ∝ 1/√step, going on from `init`'s step count) or "cosine"
  // (warmup, then a half cosine to 0 at the end of the run's budget: epochs or time_limit_min).
  std::string schedule = "noam";
  std::optional<float> dropout;  // with `init`: replaces the folder's dropout (model.dropout otherwise)
  int64_t beam = 5;              // beam size of the test evaluation (greedy is always scored too)
  float length_penalty = models::kDefaultLengthPenalty;  // beam search's GNMT α
  int64_t phrases = -1;  // dictionary phrase pairs per epoch beside every sentence (-1: the default, 0: none)
  // At most this many padded tokens per batch (0: `batch` pairs only): about 60 sentence pairs, or 250 phrase
  // pairs, whose 64-pair batches cost a step each for a quarter of the tokens.
  int64_t batch_tokens = 1536;
  int64_t average_last = 0;          // average the weights of the last K epochs (0 / 1: off)
  // BPE-dropout (Provilkov et al. 2020): each epoch the training pairs, both sides, are encoded afresh with each
  // BPE merge skipped with this probability (0: off; the paper's 0.1); validation and test keep the plain encoding.
  float bpe_dropout = 0.f;
  std::string init;                  // continue from this model folder's weights, vocabulary and sizes
  std::ostream* log = nullptr;       // what the run says (data, model, each epoch, the test scores); nullptr: quiet
  std::ostream* progress = nullptr;  // a progress bar per epoch; nullptr: none
  std::ostream* results = nullptr;   // the test scores and the first five translations; nullptr: not printed
  // The ranks of an `mpirun -np N` run (attn/trainers/parallel.h; from attn/dist); nullptr: one process. Rank 0
  // writes the folder and uses the three streams above; the others should pass nullptr for them.
  Ranks* ranks = nullptr;
};

// Trains, keeps the best checkpoint in options.out (config.json, model.safetensors, spm.model, metrics.jsonl,
// loss.svg) and scores it on the test split; returns eval.json's contents. `on_step` may stop the run early.
// attn::Error for bad options or data.
nlohmann::json train_translation(TranslationTrainOptions options, const StepCallback& on_step = {});

// A split (`pairs`, its first `limit`; 0 = all) translated greedily and, when beam > 1, with beam search,
// scored with corpus BLEU (13a) and chrF overall and by source length; written to `log` when given, and
// returned as {"sentences", "greedy", "beam", "examples"} (the first five translations beside their references).
nlohmann::json evaluate_translation(models::TranslationModel& model, const std::vector<data::SentencePair>& pairs,
                                    int64_t limit, int64_t batch, int64_t beam, float length_penalty,
                                    const std::string& split = "test", std::ostream* log = nullptr);

}  // namespace attn::trainers
