// `attn explain --translation DIR --text "Der Hund bellt."`: which source tokens each target token of the
// translation rests on, by Chefer et al.'s relevance for an encoder-decoder (attn/explain/seq2seq_explain.h:
// row t of R^ts for the logit of the token written at t), beside the raw cross-attention of the last decoder
// layer (mean of heads) — the alignment picture everyone draws.
//
//   every target token: its top source tokens by each, as shares of the row's total (a table)
//   --position t:        that token only, every source token ranked, and its relevance to the target prefix
//   --json FILE:         the explained rows of R^ts and R^tt, the raw cross-attention, the tokens
//
// Transformer models only (arch "transformer"); an RNN model, an empty text or a position that is not one
// of the translation's is an error naming it (exit status 2); a folder that cannot be loaded, 1.
//
// `attn explain --dates N [--steps S]`: real sentences have no gold alignment, the dates task has one
// (data/dates_task.h: "the 3rd of March 2021" -> "2021-03-03", each output digit from known source
// characters). A small Transformer (2 + 2 layers, d_model 64, 4 heads, pre-LN) is trained for S steps on
// fresh dates, then on N other fresh dates every map is graded by alignment_accuracy — how often a target
// character's largest source score is one of its gold characters: the raw cross-attention of each layer
// (mean of heads) and their mean, the gradient-weighted Ā = E_h[(∇A ⊙ A)⁺] of each layer alone, and the
// relevance R^ts (each row from the trace of its own gold character's logit).
#pragma once
#include <cstdint>
#include <string>

namespace attn::cli {

struct TranslationExplainOptions {
  std::string model;      // an `attn train translate` folder
  std::string text;       // the German sentence
  int64_t position = -1;  // -1: every target token
  int64_t top = 3;        // source tokens shown per target token in the table
  int64_t beam = 1;       // how the translation is made (1: greedy)
  std::string json_path;
  std::string out;     // --out (a ViT's figure): not for a translation, an error when given
  bool extra = false;  // --gpt or --faithfulness given too: an error
};

int explain_translation(const TranslationExplainOptions& options);

struct DatesExplainOptions {
  int64_t dates = 300;   // graded dates
  int64_t steps = 1500;  // training steps of 64 dates
  uint64_t seed = 1;     // weights, training and graded dates
  std::string json_path;
};

int explain_dates(const DatesExplainOptions& options);

}  // namespace attn::cli
