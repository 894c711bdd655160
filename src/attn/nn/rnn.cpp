#include "attn/nn/rnn.h"

#include <cmath>
#include <sstream>

#include "attn/core/error.h"
#include "attn/nn/init.h"
#include "attn/ops/ops.h"

namespace attn::nn {

// ---- functional cells -----------------------------------------------------------------------------

Tensor gate_projection(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t gates) {
  ATTN_CHECK(
      weight.defined() && weight.dim() == 2 && weight.size(0) % gates == 0, "gate_projection",
      "weight must be (" << gates << "·H, in), got " << (weight.defined() ? shape_str(weight.shape()) : "undefined"));
  const int64_t H = weight.size(0) / gates;
  Tensor w = reshape(weight, {gates, H, weight.size(1)});    // (G, H, in): gate g's rows, a view
  Tensor y = matmul(x, w, false, true);                      // (N, in) @ (G, H, in)ᵀ -> (G, N, H)
  if (bias.defined()) y = y + reshape(bias, {gates, 1, H});  // + b_g, broadcast over the N rows
  return y;                                                  // (G, N, H)
}

namespace {
// Gate g of a gate-major (G, B, H) tensor, as (B, H).
Tensor gate(const Tensor& gates, int64_t g) {
  return reshape(slice(gates, 0, g, g + 1), {gates.size(1), gates.size(2)});
}
}  // namespace

Tensor gru_step(const Tensor& gi, const Tensor& h, const Tensor& weight_hh, const Tensor& bias_hh) {
  Tensor gh = gate_projection(h, weight_hh, bias_hh, 3);  // (3, B, H) = [W_hr h + b_hr; W_hz h + b_hz; W_hn h + b_hn]
  // r and z share one sigmoid over the first two gates.
  Tensor rz = sigmoid(slice(gi, 0, 0, 2) + slice(gh, 0, 0, 2));  // (2, B, H)
  Tensor r = gate(rz, 0);                                        // (B, H)
  Tensor z = gate(rz, 1);                                        // (B, H)
  Tensor n = tanh(gate(gi, 2) + r * gate(gh, 2));                // (B, H)
  // h' = (1 - z) ⊙ n + z ⊙ h, written as n + z ⊙ (h - n): one op fewer, same value.
  return n + z * (h - n);  // (B, H)
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& weight_ih, const Tensor& weight_hh,
                const Tensor& bias_ih, const Tensor& bias_hh) {
  return gru_step(gate_projection(x, weight_ih, bias_ih, 3), h, weight_hh, bias_hh);
}

LSTMState lstm_step(const Tensor& gi, const LSTMState& state, const Tensor& weight_hh, const Tensor& bias_hh) {
  Tensor gates = gi + gate_projection(state.h, weight_hh, bias_hh, 4);  // (4, B, H) pre-activations of i, f, g, o
  Tensor in_forget = sigmoid(slice(gates, 0, 0, 2));                    // (2, B, H)
  Tensor i = gate(in_forget, 0);                                        // (B, H)
  Tensor f = gate(in_forget, 1);                                        // (B, H)
  Tensor g = tanh(gate(gates, 2));                                      // (B, H)
  Tensor o = sigmoid(gate(gates, 3));                                   // (B, H)
  Tensor c = f * state.c + i * g;                                       // (B, H)
  return {o * tanh(c), c};
}

LSTMState lstm_cell(const Tensor& x, const LSTMState& state, const Tensor& weight_ih, const Tensor& weight_hh,
                    const Tensor& bias_ih, const Tensor& bias_hh) {
  return lstm_step(gate_projection(x, weight_ih, bias_ih, 4), state, weight_hh, bias_hh);
}

// ---- cells ----------------------------------------------------------------------------------------

namespace {

// Registers weight_ih{suffix}, weight_hh{suffix}, bias_ih{suffix}, bias_hh{suffix}, all U(-1/√H, 1/√H),
// drawn in that order (torch's reset_parameters walks self.parameters()).
void make_rnn_weights(Module& m, const std::string& suffix, int64_t gate_rows, int64_t in, int64_t H, bool bias,
                      Generator& gen, Tensor& w_ih, Tensor& w_hh, Tensor& b_ih, Tensor& b_hh) {
  const float bound = H > 0 ? 1.f / std::sqrt(static_cast<float>(H)) : 0.f;
  auto make = [&](const std::string& name, const Shape& shape) {
    Tensor t = Tensor::empty(shape);
    init::uniform_(t, -bound, bound, gen);
    return m.register_parameter(name + suffix, t);
  };
  w_ih = make("weight_ih", {gate_rows, in});  // (G·H, I)
  w_hh = make("weight_hh", {gate_rows, H});   // (G·H, H)
  if (bias) {
    b_ih = make("bias_ih", {gate_rows});  // (G·H)
    b_hh = make("bias_hh", {gate_rows});  // (G·H)
  }
}

// A cell's input (B, I) or (I) and states (B, H) or (H): checks them and returns batched views.
struct CellArgs {
  Tensor x;                   // (B, I)
  std::vector<Tensor> state;  // each (B, H)
  bool unbatched;
};

CellArgs cell_args(const char* op, const Tensor& input, std::vector<Tensor> state, int64_t I, int64_t H) {
  ATTN_CHECK(input.defined() && (input.dim() == 1 || input.dim() == 2), op,
             "input must be (B, " << I << ") or (" << I << "), got "
                                  << (input.defined() ? shape_str(input.shape()) : "undefined"));
  ATTN_CHECK(input.size(-1) == I, op,
             "input " << shape_str(input.shape()) << " has " << input.size(-1) << " features, expected " << I);
  CellArgs a;
  a.unbatched = input.dim() == 1;
  a.x = a.unbatched ? unsqueeze(input, 0) : input;
  const int64_t B = a.x.size(0);
  for (Tensor& s : state) {
    if (!s.defined()) {
      s = Tensor::zeros({B, H});
      continue;
    }
    const Shape want = a.unbatched ? Shape{H} : Shape{B, H};
    ATTN_CHECK(s.shape() == want, op,
               "hidden state has shape " << shape_str(s.shape()) << ", expected " << shape_str(want));
    if (a.unbatched) s = unsqueeze(s, 0);
  }
  a.state = std::move(state);
  return a;
}

std::string cell_repr(int64_t I, int64_t H, bool bias) {
  std::ostringstream os;
  os << I << ", " << H;
  if (!bias) os << ", bias=False";
  return os.str();
}

}  // namespace

GRUCell::GRUCell(int64_t in, int64_t hidden, Generator& gen, bool bias) : input_size(in), hidden_size(hidden) {
  ATTN_CHECK(in > 0 && hidden > 0, "GRUCell", "sizes must be positive, got (" << in << ", " << hidden << ")");
  make_rnn_weights(*this, "", 3 * hidden, in, hidden, bias, gen, weight_ih, weight_hh, bias_ih, bias_hh);
}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) {
  CellArgs a = cell_args("GRUCell", input, {hx}, input_size, hidden_size);
  Tensor h = gru_cell(a.x, a.state[0], weight_ih, weight_hh, bias_ih, bias_hh);  // (B, H)
  return a.unbatched ? squeeze(h, 0) : h;
}

std::string GRUCell::extra_repr() const { return cell_repr(input_size, hidden_size, bias_ih.defined()); }

LSTMCell::LSTMCell(int64_t in, int64_t hidden, Generator& gen, bool bias) : input_size(in), hidden_size(hidden) {
  ATTN_CHECK(in > 0 && hidden > 0, "LSTMCell", "sizes must be positive, got (" << in << ", " << hidden << ")");
  make_rnn_weights(*this, "", 4 * hidden, in, hidden, bias, gen, weight_ih, weight_hh, bias_ih, bias_hh);
}

LSTMState LSTMCell::forward(const Tensor& input, const Tensor& hx, const Tensor& cx) {
  CellArgs a = cell_args("LSTMCell", input, {hx, cx}, input_size, hidden_size);
  LSTMState s = lstm_cell(a.x, {a.state[0], a.state[1]}, weight_ih, weight_hh, bias_ih, bias_hh);
  if (a.unbatched) return {squeeze(s.h, 0), squeeze(s.c, 0)};
  return s;
}

std::string LSTMCell::extra_repr() const { return cell_repr(input_size, hidden_size, bias_ih.defined()); }

// ---- sequence layers ------------------------------------------------------------------------------

RNNBase::RNNBase(int64_t gates, int64_t in, int64_t hidden, Generator& gen, const RNNOptions& o, const char* name)
    : input_size(in),
      hidden_size(hidden),
      num_layers(o.num_layers()),
      bias(o.bias()),
      batch_first(o.batch_first()),
      bidirectional(o.bidirectional()),
      dropout(o.dropout()),
      gates_(gates),
      name_(name) {
  ATTN_CHECK(in > 0 && hidden > 0, name, "sizes must be positive, got (" << in << ", " << hidden << ")");
  ATTN_CHECK(num_layers >= 1, name, "num_layers must be at least 1, got " << num_layers);
  ATTN_CHECK(dropout >= 0.f && dropout <= 1.f, name, "dropout must be in [0, 1], got " << dropout);
  const int64_t D = num_directions();
  for (int64_t l = 0; l < num_layers; ++l) {
    const int64_t layer_in = l == 0 ? in : D * hidden;  // layer l > 0 reads (T, B, D·H)
    for (int64_t d = 0; d < D; ++d) {
      LayerWeights w;
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      make_rnn_weights(*this, suffix, gates * hidden, layer_in, hidden, bias, gen, w.weight_ih, w.weight_hh, w.bias_ih,
                       w.bias_hh);
      weights_.push_back(w);
    }
  }
}

const RNNBase::LayerWeights& RNNBase::weights(int64_t layer, int64_t direction) const {
  ATTN_CHECK(layer >= 0 && layer < num_layers && direction >= 0 && direction < num_directions(), name_,
             "no weights for layer " << layer << ", direction " << direction);
  return weights_[layer * num_directions() + direction];
}

std::string RNNBase::extra_repr() const {
  std::ostringstream os;
  os << input_size << ", " << hidden_size;
  if (num_layers != 1) os << ", num_layers=" << num_layers;
  if (!bias) os << ", bias=False";
  if (batch_first) os << ", batch_first=True";
  if (dropout != 0.f) os << ", dropout=" << dropout;
  if (bidirectional) os << ", bidirectional=True";
  return os.str();
}

void RNNBase::run(const Tensor& x, const Tensor& h0, const Tensor& c0, Tensor& output, Tensor& h_n, Tensor& c_n,
                  const std::vector<int64_t>& lengths) {
  const bool lstm = gates_ == 4;
  const int64_t T = x.size(0), B = x.size(1), H = hidden_size, D = num_directions();
  ATTN_CHECK(T >= 1, name_, "input has no time steps");
  ATTN_CHECK(x.size(2) == input_size, name_,
             "input " << shape_str(x.shape()) << " has " << x.size(2) << " features, expected " << input_size);
  const Shape state_shape{num_layers * D, B, H};
  for (const Tensor* s : {&h0, &c0})
    if (s->defined())
      ATTN_CHECK(
          s->shape() == state_shape, name_,
          "initial state has shape " << shape_str(s->shape()) << ", expected (L·D, B, H) = " << shape_str(state_shape));
  // With lengths: alive[t] (B, 1) is 1 while t < lengths[b]; padded steps keep the previous state.
  std::vector<Tensor> alive;
  if (!lengths.empty()) {
    ATTN_CHECK(static_cast<int64_t>(lengths.size()) == B, name_, lengths.size() << " lengths for a batch of " << B);
    for (int64_t t = 0; t < T; ++t) {
      Tensor a = Tensor::empty({B, 1});
      for (int64_t b = 0; b < B; ++b) {
        ATTN_CHECK(lengths[b] >= 1 && lengths[b] <= T, name_,
                   "length " << lengths[b] << " of sequence " << b << " is outside [1, " << T << "]");
        a.data()[b] = t < lengths[b] ? 1.f : 0.f;
      }
      alive.push_back(a);
    }
  }
  // Initial state of layer-direction k: (B, H), from h0[k] or zeros.
  auto initial = [&](const Tensor& s0, int64_t k) {
    return s0.defined() ? reshape(slice(s0, 0, k, k + 1), {B, H}) : Tensor::zeros({B, H});
  };

  Tensor layer_input = x;              // (T, B, I) for layer 0, then (T, B, D·H)
  std::vector<Tensor> h_last, c_last;  // each (B, H), in the order layer·D + direction
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<Tensor> dir_outputs;  // each (T, B, H)
    for (int64_t d = 0; d < D; ++d) {
      const LayerWeights& w = weights(l, d);
      // Input projection of all T steps at once (one GEMM per gate over T·B rows), then time-major so
      // that step t is one contiguous (G, B, H) block.
      Tensor gi_all = gate_projection(reshape(layer_input, {T * B, layer_input.size(2)}), w.weight_ih, w.bias_ih,
                                      gates_);                             // (G, T·B, H)
      gi_all = permute(reshape(gi_all, {gates_, T, B, H}), {1, 0, 2, 3});  // (T, G, B, H)
      Tensor h = initial(h0, l * D + d);                                   // (B, H)
      Tensor c = lstm ? initial(c0, l * D + d) : Tensor();                 // (B, H)
      std::vector<Tensor> outs(T);                                         // h at each time step, (B, H)
      for (int64_t s = 0; s < T; ++s) {
        const int64_t t = d == 0 ? s : T - 1 - s;                         // the reverse direction walks time backwards
        Tensor gi = reshape(slice(gi_all, 0, t, t + 1), {gates_, B, H});  // (G, B, H)
        Tensor h_new, c_new;
        if (lstm) {
          LSTMState st = lstm_step(gi, {h, c}, w.weight_hh, w.bias_hh);
          h_new = st.h;
          c_new = st.c;
        } else {
          h_new = gru_step(gi, h, w.weight_hh, w.bias_hh);
        }
        if (alive.empty()) {
          h = h_new;
          c = c_new;
          outs[t] = h;
        } else {  // past its end a sequence keeps its state and outputs zeros
          h = where(alive[t], h_new, h);
          if (lstm) c = where(alive[t], c_new, c);
          outs[t] = h_new * alive[t];
        }
      }
      dir_outputs.push_back(stack(outs, 0));  // (T, B, H)
      h_last.push_back(h);
      if (lstm) c_last.push_back(c);
    }
    Tensor layer_out = D == 1 ? dir_outputs[0] : concat(dir_outputs, 2);  // (T, B, D·H)
    if (l + 1 < num_layers && dropout > 0.f && is_training())
      layer_out = attn::dropout(layer_out, dropout, true, &dropout_gen_);
    layer_input = layer_out;
  }
  output = layer_input;    // (T, B, D·H): the last layer's output
  h_n = stack(h_last, 0);  // (L·D, B, H)
  if (lstm) c_n = stack(c_last, 0);
}

namespace {
// Brings input and states to the (T, B, ·) / (L·D, B, H) layout `run` expects.
struct SeqArgs {
  Tensor x;
  bool unbatched;
};

SeqArgs seq_args(const char* op, const Tensor& input, bool batch_first, std::vector<Tensor*> states) {
  ATTN_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3), op,
             "input must be (T, B, I), (B, T, I) with batch_first, or unbatched (T, I); got "
                 << (input.defined() ? shape_str(input.shape()) : "undefined"));
  SeqArgs a;
  a.unbatched = input.dim() == 2;
  if (a.unbatched) {
    a.x = unsqueeze(input, 1);  // (T, 1, I)
    for (Tensor* s : states)
      if (s->defined()) {
        ATTN_CHECK(s->dim() == 2, op, "unbatched input needs (L·D, H) initial states, got " << shape_str(s->shape()));
        *s = unsqueeze(*s, 1);  // (L·D, 1, H)
      }
  } else {
    a.x = batch_first ? transpose(input, 0, 1) : input;  // (T, B, I)
  }
  return a;
}

Tensor seq_output(const Tensor& out, bool unbatched, bool batch_first) {
  if (unbatched) return squeeze(out, 1);  // (T, D·H)
  return batch_first ? transpose(out, 0, 1) : out;
}
}  // namespace

GRU::GRU(int64_t in, int64_t hidden, Generator& gen, const RNNOptions& options)
    : RNNBase(3, in, hidden, gen, options, "GRU") {}

GRUOutput GRU::forward(const Tensor& input, const Tensor& h0_in, const std::vector<int64_t>& lengths) {
  Tensor h0 = h0_in;
  SeqArgs a = seq_args("GRU", input, batch_first, {&h0});
  Tensor out, h_n, c_n;
  run(a.x, h0, Tensor(), out, h_n, c_n, lengths);
  return {seq_output(out, a.unbatched, batch_first), a.unbatched ? squeeze(h_n, 1) : h_n};
}

LSTM::LSTM(int64_t in, int64_t hidden, Generator& gen, const RNNOptions& options)
    : RNNBase(4, in, hidden, gen, options, "LSTM") {}

LSTMOutput LSTM::forward(const Tensor& input, const Tensor& h0_in, const Tensor& c0_in,
                         const std::vector<int64_t>& lengths) {
  Tensor h0 = h0_in, c0 = c0_in;
  SeqArgs a = seq_args("LSTM", input, batch_first, {&h0, &c0});
  Tensor out, h_n, c_n;
  run(a.x, h0, c0, out, h_n, c_n, lengths);
  if (a.unbatched) return {seq_output(out, true, batch_first), squeeze(h_n, 1), squeeze(c_n, 1)};
  return {seq_output(out, false, batch_first), h_n, c_n};
}

}  // namespace attn::nn
