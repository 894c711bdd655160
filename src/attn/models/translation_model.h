// A German→English translation model as `attn train translate` writes it and `attn translate`, the
// lessons and the explorer read it: one of six architectures, its shared SentencePiece vocabulary, and
// the directory layout
//
//   DIR/config.json        {"arch": ..., "model": {sizes}, "train": {how it was trained}}
//   DIR/model.safetensors  the weights (parameter names as in the model classes)
//   DIR/spm.model          the subword vocabulary (data/subword_tokenizer.h)
//
// Architectures:
//   gru             Seq2Seq without attention — one fixed vector between encoder and decoder (Cho et al. 2014)
//   bahdanau        Seq2Seq with additive attention from the previous decoder state (Bahdanau et al. 2015)
//   luong-dot, luong-general, luong-concat   multiplicative scores from the current state (Luong et al. 2015)
//   transformer     encoder-decoder of self- and cross-attention (Vaswani et al. 2017), shared embeddings
//
// Sentences are encoded as subwords + </s>; decoding is greedy or beam search (beam_search.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attn/data/subword_tokenizer.h"
#include "attn/io/safetensors.h"
#include "attn/models/seq2seq.h"
#include "attn/models/transformer.h"

namespace attn::models {

// "gru", "bahdanau", "luong-dot", "luong-general", "luong-concat", "transformer".
const std::vector<std::string>& translation_archs();
// The attention an architecture uses: "none", "additive", "dot", "general", "concat" or "self+cross";
// throws attn::Error naming the known ones for anything else.
std::string translation_attention(const std::string& arch);

struct TranslationModelOptions {
  std::string arch = "bahdanau";
  int64_t embed = 256;                      // embedding size; the Transformer's d_model
  int64_t hidden = 256;                     // GRU hidden size
  int64_t layers = 2, heads = 4, ff = 512;  // Transformer: layers per side, heads, feed-forward width
  int64_t max_len = 144;                    // Transformer: positions (longest source or target)
  bool norm_first = true;                   // Transformer: pre-LN (stable at higher learning rates) or post-LN
  float dropout = 0.3f;
  uint64_t seed = 1;  // weights, and the dropout masks' streams
};

class TranslationModel {
 public:
  TranslationModel(const TranslationModelOptions& options, data::SubwordTokenizer tokenizer);
  // Reads DIR's three files; throws attn::Error naming the file that is missing or malformed.
  static TranslationModel load(const std::string& dir);
  // Writes the three files (each atomically). train_json: a JSON object stored under "train" ("{}" for none);
  // dtype: how the weights are stored (F16/BF16 halve a shipped model; loading widens them to float32).
  void save(const std::string& dir, const std::string& train_json = "{}",
            io::StoreDtype dtype = io::StoreDtype::F32) const;
  // Loads weights from a model.safetensors of this architecture and size (strict: every name, every shape).
  void load_weights(const std::string& path);

  const std::string& arch() const { return arch_; }
  const TranslationModelOptions& options() const { return options_; }
  // Sets every dropout probability of the network (each nn::Dropout and each attention's dropout on its
  // weights) to p, in [0, 1): continuing a model with more or less regularization (attn train translate --init).
  void set_dropout(float p);
  const data::SubwordTokenizer& tokenizer() const { return tok_; }
  nn::Module& module();
  Seq2Seq* rnn() { return rnn_.get(); }             // null for the transformer
  Transformer* transformer() { return tf_.get(); }  // null for the RNNs

  // Teacher forcing: src (B, S), tgt_in (B, T) -> logits (B, T, V).
  Tensor logits(const IndexTensor& src, const IndexTensor& tgt_in);
  // Token ids of each row of a padded batch (B, S): greedy (beam = 1) or beam search, one row at a time,
  // with GNMT's length penalty α (beam_search.h).
  std::vector<std::vector<int64_t>> translate_ids(const IndexTensor& src, int64_t max_len, int64_t beam = 1,
                                                  float length_penalty = kDefaultLengthPenalty);
  // Sentences in, sentences out: batches of similar length, at most 2·S + 10 tokens each.
  std::vector<std::string> translate(const std::vector<std::string>& sources, int64_t batch = 64, int64_t beam = 1,
                                     float length_penalty = kDefaultLengthPenalty);

  // What the decoder attended to while writing its translation of `source`: the translation is made
  // (greedy or beam), then fed back under teacher forcing, which reproduces the decoder's steps.
  struct Attention {
    std::string translation;
    std::vector<std::string> source_tokens, target_tokens;  // subword pieces, each side ending in </s>
    Tensor cross;  // (L, H, T, S): per layer and head (the RNNs: L = H = 1); undefined for gru
    std::vector<Tensor> encoder_self, decoder_self;  // transformer only: (H, S, S), (H, T, T) per layer
  };
  Attention attention(const std::string& source, int64_t beam = 1, float length_penalty = kDefaultLengthPenalty);

 private:
  std::string arch_;
  data::SubwordTokenizer tok_;
  TranslationModelOptions options_;
  std::unique_ptr<Seq2Seq> rnn_;
  std::unique_ptr<Transformer> tf_;
};

}  // namespace attn::models
