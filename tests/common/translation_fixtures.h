// Tiny translation models for tests: a 60-piece shared vocabulary and a few-thousand-parameter model of any
// architecture (dropout off, fixed seed, so two constructions have the same weights).
#pragma once
#include <string>

#include "attn/data/subword_tokenizer.h"
#include "attn/models/translation_model.h"

namespace attn::testing {

data::SubwordTokenizer tiny_subwords();
models::TranslationModelOptions tiny_translation(const std::string& arch);

}  // namespace attn::testing
