// Interventions on a GPT: switch heads off, read what each layer would predict, move activations from one
// prompt into another. Where attention maps show where a model looks, these show what a part *does*: the
// change in the model's output when the part is altered. All run without gradients, in eval mode (the mode
// found is restored), through the hook points of models::GPTHooks (TransformerLens's names).
//
// 1. Ablation — replace an activation and measure the damage (Olsson et al. 2022; Wang et al. 2022):
//
//      loss(text) = mean over t = 0 .. T-2 of −log p(ids[t+1] | ids[0..t])          (nats per token)
//      Δloss(part) = loss with the part ablated − loss of the intact model
//
//    The part is a head h of layer l (its output z_h = A_h v_h, (T, Dh), before attn.c_proj) or an MLP
//    (its output m, (T, C), before the residual add). Three replacements:
//      zero      z_h := 0                     the head's term z_h W_Oʰ leaves the stream (c_proj's bias stays)
//      mean      z_h[t] := mean_t' z_h[t']    the head's average output on this text: its position-specific
//                                             information is removed, its constant offset kept
//      resample  z_h[t] := z_h'[t]            the head's output on the same tokens shuffled (a fixed
//                                             permutation from `seed`): other input with the same words
//                                             (Chan et al. 2022's resampling ablation, without a data set)
//    A grid ablates every head (and every MLP) alone and draws Δloss per (layer, head). It is batched: the
//    copies of the text for layer l start at block l from the intact run's stream (everything below is
//    unchanged), one copy per head, so a grid costs about L/2 forwards of a batch of H + 1 sequences.
//
// 2. Logit lens (nostalgebraist 2020) — decode each layer's residual stream as if it were the last:
//
//      lens_l = softmax(ln_f(x_l) · wteᵀ)      x_l = the input of block l (x_0 = embeddings), x_L = the output
//
//    Row L is exactly the model's prediction (tested). The top-k tokens per (layer, position), and the rank
//    of the token that actually comes next (0 = the lens's first choice), show where a prediction forms.
//
// 3. Activation patching (Meng et al. 2022's causal tracing; Wang et al. 2022) — two prompts of equal token
//    length, a clean one ("The Eiffel Tower is in the city of") and a corrupted one that changes the answer
//    ("The Colosseum is in the city of"). Run the corrupted prompt, but copy one activation from the clean
//    run, and read p(target) at the last position (target: the clean prompt's predicted next token unless
//    given). If that one activation restores the clean answer, it carries the information that differs.
//      resid (L+1, T)  block l's input at position t (row L: the stream before ln_f)
//      mlp   (L, T)    the MLP output of layer l at position t
//      heads (L, H)    head h's output z_h at every position
//    recovered = (p_patched − p_corrupt) / (p_clean − p_corrupt) is 1 where the patch restores the clean
//    prediction fully and 0 where it does nothing. Patching clean into clean changes nothing (tested); a
//    patch of block 0's input at the one position where the prompts differ restores everything (the rest
//    of the two inputs is identical).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/models/gpt.h"

namespace attn::explain {

struct HeadRef {
  int64_t layer = 0, head = 0;
};

struct AblationSpec {
  std::vector<HeadRef> heads;   // heads to ablate together
  std::vector<int64_t> mlps;    // layers whose MLP output is ablated
  std::string method = "zero";  // "zero", "mean" or "resample"
  uint64_t seed = 0;            // resample: the permutation of the text the replacements come from
};

// A token's probability in the intact and the ablated model's next-token distribution at one position.
struct TokenShift {
  int64_t id = 0;
  double p = 0, p_ablated = 0;
};

struct AblationResult {
  double loss = 0, loss_ablated = 0;         // mean next-token cross-entropy over the T-1 predictions
  std::vector<float> token_loss;             // (T-1): −log p(ids[t+1]) of the intact model
  std::vector<float> token_loss_ablated;     // (T-1): the same with the ablation
  std::vector<float> kl;                     // (T): KL(p ‖ p_ablated) of each position's next-token distribution
  int64_t position = 0;                      // where the top-k lists are read
  std::vector<TokenShift> top, top_ablated;  // the k most likely tokens there, intact and ablated
};

// ids: 2 <= T <= block_size. position: where the top-k lists are read (-1: the last). Throws attn::Error
// naming a head, layer or method out of range.
AblationResult ablate(models::GPT& model, const std::vector<int64_t>& ids, const AblationSpec& spec,
                      int64_t position = -1, int64_t k = 10);

// The hooks ablate() runs with, for a caller that wants another output of the ablated model (the explorer
// draws the attention maps after an ablation, beside the intact ones). Built from one intact forward on
// `ids` (and one on the shuffled text, for resample), in eval mode without gradients; hooks() stays valid
// while this object lives and applies to forwards of these same ids (B = 1). Checks as ablate().
class AblationHooks {
 public:
  AblationHooks(models::GPT& model, const std::vector<int64_t>& ids, const AblationSpec& spec);
  const models::GPTHooks& hooks() const { return hooks_; }
  const Tensor& intact_logits() const;  // (1, T, V), from the intact forward

 private:
  struct State;
  std::shared_ptr<State> s_;
  models::GPTHooks hooks_;
};

struct AblationGrid {
  double loss = 0;    // the intact model's loss on the text
  Tensor head_delta;  // (L, H): Δloss when that head alone is ablated
  Tensor mlp_delta;   // (L): Δloss when that MLP alone is ablated
};
// Every head alone, and every MLP alone (see above). method/seed as AblationSpec.
AblationGrid ablation_grid(models::GPT& model, const std::vector<int64_t>& ids, const std::string& method = "zero",
                           uint64_t seed = 0);

struct LogitLens {
  int64_t k = 0;
  Tensor top_ids;      // (L+1, T, k) as floats (exact for ids below 2^24): the lens's top-k tokens
  Tensor top_probs;    // (L+1, T, k)
  Tensor target_rank;  // (L+1, T-1): rank of ids[t+1] in lens_l at position t (0 = top)
  Tensor target_prob;  // (L+1, T-1): its probability
};
// ids: 1 <= T <= block_size; k >= 1 (clamped to V).
LogitLens logit_lens(models::GPT& model, const std::vector<int64_t>& ids, int64_t k = 5);

struct PatchingResult {
  int64_t target = 0;  // the token whose probability is read at the last position
  double p_clean = 0, p_corrupt = 0;
  Tensor resid;  // (L+1, T): p(target) with block l's input at position t from the clean run
  Tensor mlp;    // (L, T): ... the MLP output of layer l at position t
  Tensor heads;  // (L, H): ... head h's output at every position
};
// clean and corrupt: the same length T, 1 <= T <= block_size. target < 0: the clean run's most likely next
// token. Throws attn::Error naming the two lengths when they differ.
PatchingResult activation_patching(models::GPT& model, const std::vector<int64_t>& clean,
                                   const std::vector<int64_t>& corrupt, int64_t target = -1);

// What the batched sweeps cost, in floating-point operations (multiply-adds counted as 2), for a caller
// that must refuse a request that would run for minutes (the explorer answers 413 above a budget). A block
// costs about 2·(12·C² + 2·T·C) per token (the four projections and the MLP, then q·kᵀ and A·v), the
// unembedding 2·C·V per token:
//   grid      Σ_l (L − l)·(H + 1)·T token-blocks, plus (H + 1)·L·T unembedded tokens
//   patching  Σ_l (L − l)·(2T + H)·T token-blocks, plus (L + 1)·T + 2·L·T + L·H last positions unembedded
double ablation_grid_flops(const models::GPTConfig& c, int64_t T);
double activation_patching_flops(const models::GPTConfig& c, int64_t T);

}  // namespace attn::explain
