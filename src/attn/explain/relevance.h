// Attribution: how much each input token (a word, an image patch) mattered for one prediction.
//
// Every method here gives one score per input token for the row of a query token q — the token whose
// output makes the prediction: the CLS token (q = 0) of a ViT, the last position of a GPT. Shapes: T tokens,
// H heads, L layers, D width; attentions are each layer's (1, H, T, T) or (H, T, T) weights, batch 1.
//
//   raw attention   a_j = Ā_l[q, j],  Ā_l = mean over heads of layer l            (the picture everyone draws)
//   rollout         a_j = R[q, j],  R = Â_{L-1} ⋯ Â_0,  Â = rownorm(½Ā + ½I)       (Abnar & Zuidema 2020; rollout.h)
//   flow            a_j = max-flow from input token j to q through the layered graph with capacities Â  (flow.h)
//   gradient×input  a_j = Σ_d x_{j,d} · ∂y/∂x_{j,d},  x = the input embeddings       (Shrikumar et al. 2016;
//                   (B, T, D) = hidden state 0                                        Simonyan et al. 2014)
//   Grad-CAM        a_j = ReLU(Σ_d α_d h_{j,d}),  α_d = (1/T) Σ_t ∂y/∂h_{t,d},  h = the last block's
//                   output tokens (Selvaraju et al. 2017, the tokens taking the place of a CNN's feature map)
//   relevance       R = I;  for each layer l, bottom first:  Ā_l = E_h[(∇A_l ⊙ A_l)⁺],  R ← R + Ā_l · R
//                   a_j = R[q, j]   (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for
//                   Interpreting Bi-Modal and Encoder-Decoder Transformers", ICCV, eq. 5-6; ∇A = ∂y/∂A)
//
// y is the explained score: the logit of the chosen class (ViT) or next token (GPT). The gradient methods
// need one backward pass from y with the attentions in the graph (the composed softmax(q kᵀ/√d) v path:
// ViTForwardOptions::attention_grad) and retain_grad() on the attentions and hidden states.
//
// For a ViT the CLS token itself (j = 0) is not part of the image: patch_scores() drops it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::explain {

// The methods by name, in the order tables list them.
inline const std::vector<std::string> kMethods = {"raw_attention", "rollout",  "flow",
                                                  "grad_x_input",  "grad_cam", "relevance"};

// What one forward + backward pass recorded, for one input (batch 1) and one explained score y.
struct Trace {
  std::vector<Tensor> attentions;       // per layer (1, H, T, T)
  std::vector<Tensor> attention_grads;  // ∂y/∂A, same shapes (empty: no gradient methods)
  Tensor input_embeddings, input_grad;  // (1, T, D) hidden state 0 and ∂y/∂ of it
  Tensor last_hidden, last_grad;        // (1, T, D) the last block's output and ∂y/∂ of it
  int64_t query = 0;                    // q: the token whose output is explained
  int64_t num_tokens() const;
};

// One backward pass from the explained score y (a scalar in the graph of a forward that kept its attentions
// in the graph: the composed path) to every attention map (L × (1, H, T, T)), the input embeddings x₀ and the
// last block's output h_L (both (1, T, D)), filling a Trace for query position `query`. The parameters' .grad
// are not touched (grad(), not backward()). What trace_vit and trace_gpt share.
Trace trace_from_graph(const Tensor& y, const std::vector<Tensor>& attentions, const Tensor& input_embeddings,
                       const Tensor& last_hidden, int64_t query);

// Each returns (T) scores for the row of trace.query. layer < 0 counts from the end (raw attention: the
// last layer by default).
Tensor raw_attention(const Trace& trace, int64_t layer = -1);
Tensor rollout_scores(const Trace& trace);
Tensor gradient_x_input(const Trace& trace);
Tensor grad_cam(const Trace& trace);
// Chefer et al.'s R (T, T) for self-attention; relevance_scores takes its row q.
Tensor relevance_matrix(const Trace& trace);
Tensor relevance_scores(const Trace& trace);
// Any method of kMethods by name (flow included); attn::Error for an unknown name or a gradient method on a
// trace without gradients.
Tensor scores(const std::string& method, const Trace& trace);

// One example's layer of attention as (H, T, T), detached: (1, H, T, T) and (H, T, T) are accepted (the
// batch-1 recordings every method reads); attn::Error naming `what` otherwise.
Tensor attention_heads(const Tensor& attention, const char* what = "attention");

// Drops the first `skip` tokens (the CLS token of a ViT) and returns the rest, (T) -> (T - skip).
Tensor patch_scores(const Tensor& token_scores, int64_t skip = 1);

}  // namespace attn::explain
