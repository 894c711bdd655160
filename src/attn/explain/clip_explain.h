// What a CLIP-style dual encoder (attn/models/clip.h) matches between a picture and words: the explained score is
// their cosine similarity y = ĩ · t̃, and Chefer et al.'s gradient-weighted relevance (relevance.h) is taken on
// each tower with the other tower's embedding held fixed:
//
//   image side   y = ĩ(x) · t̃      R over the vision tower's layers, the CLS row, the CLS itself dropped: which
//                                  patches made the picture match the words                       (grid × grid)
//   text side    y = ĩ · t̃(w)      R over the text tower's layers, the </s> row: which tokens made the words match
//                                  the picture                                                    (L tokens)
//   per word     for each word w of the text alone: y_w = ĩ(x) · t̃("w"), and the image side's relevance for it —
//                the patches each word picks (Chefer et al. 2021 explain CLIP so, with one phrase at a time)
//
// beside the raw attention of the last layer (CLS row / </s> row, mean of the heads), the picture everyone draws.
#pragma once
#include <string>
#include <vector>

#include "attn/data/subword_tokenizer.h"
#include "attn/models/clip.h"

namespace attn::explain {

struct ClipExplanation {
  float similarity = 0;                // ĩ · t̃
  int64_t grid = 0;                    // patches per side
  std::vector<float> image_relevance;  // (grid·grid), row by row
  std::vector<float> image_attention;  // (grid·grid): the last layer's CLS row, mean of heads
  std::vector<std::string> tokens;     // "<s>", the pieces ("▁red", "▁heart"), "</s>"
  std::vector<float> text_relevance;   // per token
  std::vector<float> text_attention;   // per token: the last layer's </s> row, mean of heads
  std::vector<std::string> words;      // the text's words (split at spaces, lower-cased)
  std::vector<float> word_similarity;  // ĩ · t̃("w") per word
  std::vector<std::vector<float>> word_relevance;  // per word: (grid·grid)
};

// image (1, C, S, S) or (C, S, S), normalized as the model reads it; text: words (not empty). The model's .grad
// are not touched; its mode is restored. attn::Error for another shape or an empty text.
ClipExplanation explain_clip(models::ClipModel& model, const data::SubwordTokenizer& tok, const Tensor& image,
                             const std::string& text);

}  // namespace attn::explain
