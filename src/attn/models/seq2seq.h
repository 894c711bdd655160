// A GRU encoder-decoder with attention — the model attention was invented for (Bahdanau et al. 2014),
// and its multiplicative cousins (Luong et al. 2015) — plus the no-attention baseline it replaced
// (Cho et al. 2014), all behind one config switch.
//
// Shape legend: B batch, S source length, T target length, E embed_dim, H hidden_dim, V vocabulary.
//
// Encoder: embeddings -> bidirectional GRU -> memory m_j = W_m [h→_j; h←_j]  (B, S, H);
//          initial decoder state s_0 = tanh(W_s [h→_S; h←_1])                 (B, H)
// Decoder, one step (y = previous target token, e(y) its embedding):
//   attention = "none" (Cho et al.): the whole source squeezed into one fixed vector c = s_0:
//       s_t = GRU([e(y); c], s_{t-1})
//       o_t = tanh(W_o [s_t; c])
//   attention = "additive" (Bahdanau): the previous state s_{t-1} asks the memory for a context:
//       a_t = softmax_j(v_aᵀ tanh(W_a s_{t-1} + U_a m_j)),  c_t = Σ_j a_tj m_j
//       s_t = GRU([e(y); c_t], s_{t-1})
//       o_t = tanh(W_o [s_t; c_t])
//   attention = "dot" | "general" | "concat" (Luong): the new state asks; "input feeding" passes the
//   previous attentional vector õ_{t-1} into the GRU:
//       s_t = GRU([e(y); õ_{t-1}], s_{t-1})
//       a_t = softmax_j(score(s_t, m_j)),  c_t = Σ_j a_tj m_j
//       õ_t = tanh(W_o [s_t; c_t])
//   logits_t = W_v o_t  (V)
// Padded source positions (pad_id) are masked out of every softmax.
// Regularization (training mode only): dropout with probability `dropout` on both embeddings and on the
// output vector o_t (õ_t) before W_v — the places Luong et al. put it; 0 turns it off.
// Decoding: greedy, or beam search with length normalization (beam_search.h, shared with the Transformer).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "attn/attention/scoring.h"
#include "attn/models/beam_search.h"
#include "attn/nn/layers.h"
#include "attn/nn/rnn.h"

namespace attn::models {

struct Seq2SeqConfig {
  int64_t src_vocab = 0, tgt_vocab = 0;
  int64_t embed_dim = 32, hidden_dim = 64;
  std::string attention = "additive";  // "none" | "additive" | "dot" | "general" | "concat"
  int64_t pad_id = 0, bos_id = 1, eos_id = 2;
  float dropout = 0.f;        // on the embeddings and on o_t, in training mode
  uint64_t dropout_seed = 0;  // the masks' stream (nn::Dropout), independent of the weights' generator
};

struct Seq2SeqOutput {
  Tensor logits;     // (B, T, V)
  Tensor attention;  // (B, T, S); undefined for attention = "none"
};

struct Decoded {
  std::vector<std::vector<int64_t>> tokens;  // per sequence, without BOS, up to and excluding EOS
  Tensor attention;                          // (B, T, S) over the steps taken; undefined for "none"
};

class Seq2Seq : public nn::Module {
 public:
  Seq2Seq(const Seq2SeqConfig& config, Generator& gen);

  // Teacher forcing: src (B, S) padded with pad_id; tgt_in (B, T) = [BOS, y_1, …, y_{T-1}].
  Seq2SeqOutput forward(const IndexTensor& src, const IndexTensor& tgt_in);
  // Greedy decoding (no gradients), at most max_len tokens per sequence.
  Decoded greedy_decode(const IndexTensor& src, int64_t max_len);
  // Beam search for one source (1, S); the n-best list, best first (options.use_cache is ignored). Its
  // attention is that of forward() on [BOS] + tokens: teacher forcing reproduces the decoder's steps.
  std::vector<Hypothesis> beam_search(const IndexTensor& src, const BeamSearchOptions& options = BeamSearchOptions());

  const Seq2SeqConfig& config() const { return config_; }
  std::string type_name() const override { return "Seq2Seq"; }

 private:
  struct Memory {
    Tensor memory;  // (B, S, H)
    Tensor keys;    // (B, S, ·): the attention's key-side projection of memory, once per sentence
    Tensor mask;    // (B, S): 1 = real token, 0 = padding
    Tensor s0;      // (B, H)
  };
  struct StepOut {
    Tensor logits, state, feed, weights;  // (B, V), (B, H), (B, H), (B, S) or undefined
  };
  Memory encode(const IndexTensor& src);
  StepOut step(const IndexTensor& y_prev, const Tensor& state, const Tensor& feed, const Memory& m);

  Seq2SeqConfig config_;
  std::shared_ptr<nn::Embedding> src_embed_, tgt_embed_;
  std::shared_ptr<nn::GRU> encoder_;
  std::shared_ptr<nn::Linear> memory_proj_, bridge_;
  std::shared_ptr<nn::GRUCell> decoder_;
  std::shared_ptr<nn::AdditiveAttention> additive_;
  std::shared_ptr<nn::LuongAttention> luong_;
  std::shared_ptr<nn::Linear> combine_, out_;
  std::shared_ptr<nn::Dropout> embed_drop_, out_drop_;
};

}  // namespace attn::models
