// Recurrent layers: GRUCell, LSTMCell (one time step) and GRU, LSTM (whole sequences, stacked, optionally
// bidirectional), with torch.nn's parameter names, layouts and gate order — a state dict copied from
// torch.nn.GRU / torch.nn.LSTM loads here and gives the same outputs.
//
// Shape legend: T time steps, B batch, I input_size, H hidden_size, L num_layers, D directions (1 or 2),
// G gates per cell (3 for GRU, 4 for LSTM).
//
// GRU (Cho et al. 2014), gates stacked in the order r, z, n along the rows of weight_ih (3H, I):
//   r  = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
//   z  = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
//   n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     candidate (note: r gates W_hn h + b_hn, not h)
//   h' = (1 - z) ⊙ n + z ⊙ h
//
// LSTM (Hochreiter & Schmidhuber 1997), gates stacked in the order i, f, g, o (weight_ih (4H, I)):
//   i  = σ(W_ii x + b_ii + W_hi h + b_hi)              input gate
//   f  = σ(W_if x + b_if + W_hf h + b_hf)              forget gate
//   g  = tanh(W_ig x + b_ig + W_hg h + b_hg)           cell candidate
//   o  = σ(W_io x + b_io + W_ho h + b_ho)              output gate
//   c' = f ⊙ c + i ⊙ g
//   h' = o ⊙ tanh(c')
//
// Every parameter starts as U(-1/√H, 1/√H), drawn in registration order, as torch does.
//
// Multi-layer, bidirectional layers (GRU, LSTM): layer 0 reads the input; layer l > 0 reads layer l-1's
// output (T, B, D·H) (after dropout in training mode). The reverse direction runs t = T-1 … 0 over the
// same input and its outputs are placed back at their time step, so output[t] = [h_fwd(t), h_bwd(t)].
// Parameters per layer l and direction: weight_ih_l{l}, weight_hh_l{l}, bias_ih_l{l}, bias_hh_l{l}, and
// the same with the suffix "_reverse" for the backward direction.
//
// Everything is composed from differentiable ops, so backpropagation through time needs no extra code.
//
// Layout: the stacked weight (G·H, in) is viewed as G matrices (G, H, in), and a projection of x (N, in)
// yields a gate-major (G, N, H) tensor — each gate one contiguous block, so picking a gate is a cheap
// slice along dim 0. The values are exactly torch's: row g·H + j of the weight feeds unit j of gate g.
// For speed the input projection W_ih x + b_ih of all T steps is computed before the time loop (one
// GEMM per gate over T·B rows); only the recurrent projection W_hh h + b_hh runs inside it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/nn/module.h"

namespace attn::nn {

// ---- functional cells (the readable reference) ----------------------------------------------------
// x (B, I), h/c (B, H), weights (G·H, I) and (G·H, H), biases (G·H) or undefined. Return h' (B, H).
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& weight_ih, const Tensor& weight_hh,
                const Tensor& bias_ih = Tensor(), const Tensor& bias_hh = Tensor());
struct LSTMState {
  Tensor h;  // (B, H)
  Tensor c;  // (B, H)
};
LSTMState lstm_cell(const Tensor& x, const LSTMState& state, const Tensor& weight_ih, const Tensor& weight_hh,
                    const Tensor& bias_ih = Tensor(), const Tensor& bias_hh = Tensor());

// x (N, in) @ weight (G·H, in)ᵀ + bias (G·H), returned gate-major: (G, N, H).
Tensor gate_projection(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t gates);
// The cell updates given the input projection gi = gate_projection(x, W_ih, b_ih, G) (G, B, H).
Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& weight_hh, const Tensor& bias_hh);
LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const Tensor& weight_hh, const Tensor& bias_hh);

// ---- cells ----------------------------------------------------------------------------------------

class GRUCell : public Module {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, Generator& gen, bool bias = true);
  // input (B, I) or unbatched (I); hx (B, H) or (H), zeros when undefined. Returns h' of hx's shape.
  Tensor forward(const Tensor& input, const Tensor& hx = Tensor());
  std::string type_name() const override { return "GRUCell"; }
  std::string extra_repr() const override;

  int64_t input_size, hidden_size;
  Tensor weight_ih;  // (3H, I)  rows [W_ir; W_iz; W_in]
  Tensor weight_hh;  // (3H, H)  rows [W_hr; W_hz; W_hn]
  Tensor bias_ih;    // (3H), undefined when bias = false
  Tensor bias_hh;    // (3H)
};

class LSTMCell : public Module {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, Generator& gen, bool bias = true);
  // input (B, I) or (I); hx, cx (B, H) or (H), zeros when undefined. Returns {h', c'}.
  LSTMState forward(const Tensor& input, const Tensor& hx = Tensor(), const Tensor& cx = Tensor());
  std::string type_name() const override { return "LSTMCell"; }
  std::string extra_repr() const override;

  int64_t input_size, hidden_size;
  Tensor weight_ih;  // (4H, I)  rows [W_ii; W_if; W_ig; W_io]
  Tensor weight_hh;  // (4H, H)
  Tensor bias_ih;    // (4H), undefined when bias = false
  Tensor bias_hh;    // (4H)
};

// ---- sequence layers ------------------------------------------------------------------------------

// torch.nn.GRU / LSTM keyword arguments, as a fluent options struct:
//   GRU gru(16, 32, gen, RNNOptions().num_layers(2).bidirectional(true).batch_first(true));
struct RNNOptions {
  RNNOptions& num_layers(int64_t v) {
    num_layers_ = v;
    return *this;
  }
  RNNOptions& bias(bool v) {
    bias_ = v;
    return *this;
  }
  // input/output (B, T, ·) instead of (T, B, ·); h_n stays (L·D, B, H) as in torch
  RNNOptions& batch_first(bool v) {
    batch_first_ = v;
    return *this;
  }
  // dropout on every layer's output except the last, in training mode
  RNNOptions& dropout(float v) {
    dropout_ = v;
    return *this;
  }
  RNNOptions& bidirectional(bool v) {
    bidirectional_ = v;
    return *this;
  }
  int64_t num_layers() const { return num_layers_; }
  bool bias() const { return bias_; }
  bool batch_first() const { return batch_first_; }
  float dropout() const { return dropout_; }
  bool bidirectional() const { return bidirectional_; }

 private:
  int64_t num_layers_ = 1;
  bool bias_ = true;
  bool batch_first_ = false;
  float dropout_ = 0.f;
  bool bidirectional_ = false;
};

struct GRUOutput {
  Tensor output;  // (T, B, D·H), or (B, T, D·H) with batch_first, or (T, D·H) unbatched
  Tensor h_n;     // (L·D, B, H): final hidden state of each layer and direction, or (L·D, H) unbatched
};

struct LSTMOutput {
  Tensor output;  // (T, B, D·H)
  Tensor h_n;     // (L·D, B, H)
  Tensor c_n;     // (L·D, B, H)
};

// Shared machinery of GRU and LSTM: parameters per layer and direction, and the time loop.
class RNNBase : public Module {
 public:
  int64_t input_size, hidden_size, num_layers;
  bool bias, batch_first, bidirectional;
  float dropout;

  int64_t num_directions() const { return bidirectional ? 2 : 1; }
  // The four parameters of layer `layer` and direction `direction` (0 forward, 1 reverse).
  struct LayerWeights {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  };
  const LayerWeights& weights(int64_t layer, int64_t direction) const;
  // The generator of the between-layer dropout masks (settable, like Dropout's).
  Generator& generator() { return dropout_gen_; }
  std::string extra_repr() const override;

 protected:
  RNNBase(int64_t gates, int64_t input_size, int64_t hidden_size, Generator& gen, const RNNOptions& options,
          const char* name);
  // Runs every layer and direction. x (T, B, I); h0/c0 (L·D, B, H) or undefined; c0 only for LSTM.
  // Fills output (T, B, D·H), h_n, c_n. With `lengths` (B values in [1, T]), sequence b stops at
  // lengths[b]: its state is held past the end, its padded outputs are 0 and the reverse direction
  // starts at its last real step — what torch's pack_padded_sequence gives.
  void run(const Tensor& input, const Tensor& h0, const Tensor& c0, Tensor& output, Tensor& h_n, Tensor& c_n,
           const std::vector<int64_t>& lengths = {});

 private:
  int64_t gates_;
  const char* name_;
  std::vector<LayerWeights> weights_;  // index layer·D + direction
  Generator dropout_gen_;
};

class GRU : public RNNBase {
 public:
  GRU(int64_t input_size, int64_t hidden_size, Generator& gen, const RNNOptions& options = RNNOptions());
  // input (T, B, I) [(B, T, I) with batch_first] or unbatched (T, I); h0 (L·D, B, H) or undefined (zeros).
  // lengths: optional real length of each batch element (padded sequences; see RNNBase::run).
  GRUOutput forward(const Tensor& input, const Tensor& h0 = Tensor(), const std::vector<int64_t>& lengths = {});
  std::string type_name() const override { return "GRU"; }
};

class LSTM : public RNNBase {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, Generator& gen, const RNNOptions& options = RNNOptions());
  // input as for GRU; h0, c0 (L·D, B, H) or undefined (zeros).
  LSTMOutput forward(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor(),
                     const std::vector<int64_t>& lengths = {});
  std::string type_name() const override { return "LSTM"; }
};

}  // namespace attn::nn
