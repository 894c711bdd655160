// Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words: Transformers for Image
// Recognition at Scale"): cut the image into P×P patches, treat each patch as a token, and classify with
// a Transformer encoder. Written with Hugging Face's ViTForImageClassification module tree and names, so
// a Hugging Face ViT folder loads as it is (load_vit), and our own folders are Hugging Face folders.
//
// Shape legend: B batch, C channels, H = W = image_size, P patch_size, N = (H / P)² patches, T = N + 1
// tokens (CLS first), D hidden_size, Hh heads, Dh = D / Hh, I intermediate_size, L layers, K num_labels.
//
//   patches  = image (B, C, H, W) cut into N patches of C·P·P pixels, row by row     (B, N, C·P·P)
//   x₀       = [cls ; patches · Wpᵀ + bp] + position_embeddings                       (B, T, D)
//              (Wp is the patch Conv2d's weight (D, C, P, P) seen as (D, C·P·P): a convolution with
//               stride = kernel = P is exactly one linear map per patch)
//   for each layer l (pre-LayerNorm, as ViT and Hugging Face write it):
//     a   = softmax(q kᵀ / √Dh) v,  q, k, v = query/key/value(layernorm_before(x))  every token sees every
//                                                                                  token: no mask
//     x   = x + attention.output.dense(merge_heads(a))
//     x   = x + output.dense(gelu(intermediate.dense(layernorm_after(x))))
//   logits = classifier(layernorm(x)[:, 0])                                          (B, K)  the CLS token
//
// Parameters (Hugging Face's names):
//   vit.embeddings.cls_token (1, 1, D), vit.embeddings.position_embeddings (1, T, D),
//   vit.embeddings.patch_embeddings.projection.weight (D, C, P, P) / .bias (D),
//   vit.encoder.layer.{l}.layernorm_before.weight/bias (D),
//   vit.encoder.layer.{l}.attention.attention.{query,key,value}.weight (D, D) / .bias (D),
//   vit.encoder.layer.{l}.attention.output.dense.weight (D, D) / .bias,
//   vit.encoder.layer.{l}.layernorm_after.weight/bias (D),
//   vit.encoder.layer.{l}.intermediate.dense.weight (I, D) / .bias (I),
//   vit.encoder.layer.{l}.output.dense.weight (D, I) / .bias (D),
//   vit.layernorm.weight/bias (D), classifier.weight (K, D) / .bias (K).
//
// Initialisation (Hugging Face's _init_weights): Linear and Conv2d weights ~ N(0, 0.02²) truncated at ±2σ,
// biases 0, LayerNorm 1 / 0, cls_token and position_embeddings ~ N(0, 0.02²) truncated.
//
// For explanation methods (attn/explain), forward() can hand back every layer's attention weights and the
// hidden states; with `attention_grad` the attention goes through the composed softmax(q kᵀ/√d) v path
// and the weights it returns are the ones the output was computed from, so after retain_grad() and
// backward() they carry ∂logit/∂A — what Chefer et al.'s relevance needs. Without it, training and
// inference use the fused kernel (attn/attention/flash.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attn/data/fashion_mnist.h"
#include "attn/nn/layers.h"
#include "attn/viz/image.h"

namespace attn::models {

struct ViTConfig {
  int64_t image_size = 28;
  int64_t patch_size = 4;
  int64_t num_channels = 1;
  int64_t hidden_size = 64;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t intermediate_size = 256;
  std::string hidden_act = "gelu";  // "gelu" (exact, erf) or "gelu_pytorch_tanh" / "gelu_new" (tanh)
  float layer_norm_eps = 1e-12f;    // Hugging Face's default
  float hidden_dropout_prob = 0.f;
  float attention_probs_dropout_prob = 0.f;
  float initializer_range = 0.02f;
  bool qkv_bias = true;
  int64_t num_labels = 10;
  std::vector<std::string> id2label;  // class names (empty: "LABEL_0", ...)

  int64_t grid() const { return image_size / patch_size; }  // patches per side
  int64_t num_patches() const { return grid() * grid(); }   // N
  int64_t seq_len() const { return num_patches() + 1; }     // T = N + 1 (CLS)
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::string label(int64_t k) const;
  // Throws attn::Error naming ViT and the field.
  void validate() const;
};

// How a picture becomes the model's input (Hugging Face's preprocessor_config.json for ViTImageProcessor):
//   x = (pixel · rescale_factor - image_mean[c]) / image_std[c], after resizing to height × width if
//   do_resize (bilinear; with do_resize off, another size is an error).
struct ImagePreprocess {
  int64_t height = 28, width = 28;
  bool do_resize = false;
  float rescale_factor = 1.f / 255.f;
  std::vector<float> image_mean = {0.2860f};  // one per channel
  std::vector<float> image_std = {0.3530f};
};

struct ImageClassifierOutput {
  Tensor logits;                      // (B, K)
  std::vector<Tensor> attentions;     // per layer (B, Hh, T, T), when asked for
  std::vector<Tensor> hidden_states;  // embeddings, then each layer's output: L + 1 tensors (B, T, D), when asked for
};

struct ViTForwardOptions {
  bool output_attentions = false;
  bool output_hidden_states = false;
  // attentions through the composed path, part of the graph (see the header comment); implies
  // output_attentions.
  bool attention_grad = false;
  // (B, T), 1 = removed: no token attends to a removed token, in any layer — for a ViT, the same as
  // leaving those patches out of the sequence (the perturbation tests of attn/explain). The CLS token
  // (column 0) cannot be removed. Undefined: every token takes part.
  Tensor removed;
};

// N(0, std²) truncated at ±2σ (torch.nn.init.trunc_normal_ with a = -2σ, b = 2σ), by rejection: the ViT's
// initialization, shared by the models built of its blocks (KWT, CLIP).
void trunc_normal_(Tensor& t, float std, Generator& gen);
// nn::Linear(in, out) with its weight drawn so and its bias zero.
std::shared_ptr<nn::Linear> make_vit_linear(int64_t in, int64_t out, float std, Generator& gen, bool bias = true);

// Conv2d(C, D, kernel_size = P, stride = P), the only convolution a ViT needs: one linear map per patch.
class PatchConv2d : public nn::Module {
 public:
  PatchConv2d(int64_t in_channels, int64_t out_channels, int64_t patch_size, Generator& gen, float init_std);
  // images (B, C, H, W), H and W multiples of P -> (B, N, D), patches row by row (conv output flattened).
  Tensor forward(const Tensor& images);
  std::string type_name() const override { return "Conv2d"; }

  int64_t in_channels, out_channels, patch_size;
  Tensor weight;  // (D, C, P, P)
  Tensor bias;    // (D)
};

// images (B, C, H, W) -> (B, N, C·P·P): patch (i, j) is token i·(W/P) + j, its pixels in (c, y, x) order.
Tensor patchify(const Tensor& images, int64_t patch_size);

class ViTPatchEmbeddings : public nn::Module {
 public:
  ViTPatchEmbeddings(const ViTConfig& c, Generator& gen);
  Tensor forward(const Tensor& images) { return projection->forward(images); }  // (B, N, D)
  std::string type_name() const override { return "ViTPatchEmbeddings"; }
  std::shared_ptr<PatchConv2d> projection;
};

class ViTEmbeddings : public nn::Module {
 public:
  ViTEmbeddings(const ViTConfig& c, Generator& gen);
  Tensor forward(const Tensor& images);  // (B, C, H, W) -> (B, T, D)
  std::string type_name() const override { return "ViTEmbeddings"; }
  Tensor cls_token;            // (1, 1, D)
  Tensor position_embeddings;  // (1, T, D)
  std::shared_ptr<ViTPatchEmbeddings> patch_embeddings;
  std::shared_ptr<nn::Dropout> dropout;
};

class ViTSelfAttention : public nn::Module {
 public:
  ViTSelfAttention(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  // x (B, T, D) -> context (B, T, D) (heads merged, before the output projection). weights: if not null,
  // receives (B, Hh, T, T); with grad_path they are the differentiable weights of the composed path.
  // removed (B, T): keys no query may attend to (1 = removed), or undefined.
  Tensor forward(const Tensor& x, Tensor* weights = nullptr, bool grad_path = false, const Tensor& removed = Tensor());
  std::string type_name() const override { return "ViTSelfAttention"; }
  int64_t num_heads, head_dim;
  float dropout_p;
  std::shared_ptr<nn::Linear> query, key, value;

 private:
  Generator dropout_gen_;
};

class ViTSelfOutput : public nn::Module {  // attention.output: the projection back to the residual stream
 public:
  ViTSelfOutput(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  Tensor forward(const Tensor& x) { return dropout->forward(dense->forward(x)); }
  std::string type_name() const override { return "ViTSelfOutput"; }
  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::Dropout> dropout;
};

class ViTAttention : public nn::Module {
 public:
  ViTAttention(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  Tensor forward(const Tensor& x, Tensor* weights = nullptr, bool grad_path = false, const Tensor& removed = Tensor()) {
    return output->forward(attention->forward(x, weights, grad_path, removed));
  }
  std::string type_name() const override { return "ViTAttention"; }
  std::shared_ptr<ViTSelfAttention> attention;
  std::shared_ptr<ViTSelfOutput> output;
};

class ViTIntermediate : public nn::Module {
 public:
  ViTIntermediate(const ViTConfig& c, Generator& gen);
  Tensor forward(const Tensor& x);  // gelu(dense(x)): (B, T, D) -> (B, T, I)
  std::string type_name() const override { return "ViTIntermediate"; }
  std::string approximate;  // "none" or "tanh"
  std::shared_ptr<nn::Linear> dense;
};

class ViTOutput : public nn::Module {
 public:
  ViTOutput(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  // dropout(dense(h)) + residual: (B, T, I), (B, T, D) -> (B, T, D)
  Tensor forward(const Tensor& h, const Tensor& residual) { return dropout->forward(dense->forward(h)) + residual; }
  std::string type_name() const override { return "ViTOutput"; }
  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::Dropout> dropout;
};

class ViTLayer : public nn::Module {
 public:
  ViTLayer(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  // (B, T, D) -> same
  Tensor forward(const Tensor& x, Tensor* weights = nullptr, bool grad_path = false, const Tensor& removed = Tensor());
  std::string type_name() const override { return "ViTLayer"; }
  std::shared_ptr<nn::LayerNorm> layernorm_before, layernorm_after;
  std::shared_ptr<ViTAttention> attention;
  std::shared_ptr<ViTIntermediate> intermediate;
  std::shared_ptr<ViTOutput> output;
};

class ViTModel : public nn::Module {
 public:
  ViTModel(const ViTConfig& c, Generator& gen, uint64_t dropout_seed);
  std::string type_name() const override { return "ViTModel"; }
  std::shared_ptr<ViTEmbeddings> embeddings;
  std::vector<std::shared_ptr<ViTLayer>> layer;  // registered as encoder.layer.{l}
  std::shared_ptr<nn::LayerNorm> layernorm;
};

class ViTForImageClassification : public nn::Module {
 public:
  ViTForImageClassification(const ViTConfig& config, Generator& gen, uint64_t dropout_seed = 0);

  // images (B, C, image_size, image_size) -> logits (B, K). Throws attn::Error for another shape.
  Tensor forward(const Tensor& images);
  ImageClassifierOutput forward(const Tensor& images, const ViTForwardOptions& options);
  // Mean cross-entropy against labels (B) in [0, K), with label smoothing ε.
  Tensor loss(const Tensor& images, const IndexTensor& labels, float label_smoothing = 0.f);

  const ViTConfig& config() const { return config_; }
  std::string type_name() const override { return "ViTForImageClassification"; }

  std::shared_ptr<ViTModel> vit;
  std::shared_ptr<nn::Linear> classifier;

 private:
  void check_images(const Tensor& images) const;
  ViTConfig config_;
};

// Loss and accuracy over the first `limit` images of `data` (-1: all), in batches of 500 normalized with
// pp's mean and std of channel 0, without gradients, in eval mode (the caller's mode comes back).
struct ViTEvaluation {
  double loss = 0, accuracy = 0;                // mean cross-entropy (unsmoothed), fraction correct
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
};
ViTEvaluation evaluate_vit(ViTForImageClassification& model, const data::ImageDataset& data, const ImagePreprocess& pp,
                           int64_t limit = -1);

// ---- folders: Hugging Face's layout --------------------------------------------------------------------
//   config.json               ViTConfig (model_type "vit", architectures ["ViTForImageClassification"], id2label)
//   preprocessor_config.json  ImagePreprocess (ViTImageProcessor)
//   model.safetensors         the weights (F32, or F16/BF16, widened to float32 on loading)
// Loading accepts Hugging Face's own folders: the "vit." prefix, and a pooler the classifier does not use.
struct LoadedViT {
  std::unique_ptr<ViTForImageClassification> model;
  ImagePreprocess preprocess;
  std::string dir;
};
LoadedViT load_vit(const std::string& dir);
// Writes the three files atomically; dtype "F32", "F16" or "BF16". `extra_config` (JSON object text,
// may be empty) is merged into config.json (how the model was trained).
// `weights_metadata` goes into model.safetensors' metadata (a training run's "step").
void save_vit(const std::string& dir, const ViTForImageClassification& model, const ImagePreprocess& preprocess,
              const std::string& dtype = "F32", const std::string& extra_config = "",
              const std::map<std::string, std::string>& weights_metadata = {});

// A picture as the model's input (1, C, H, W): grey = 0.299 R + 0.587 G + 0.114 B (ITU-R 601, as PIL's "L")
// for one channel, else R, G, B; resized bilinearly (half-pixel centres) if preprocess.do_resize, else it
// must already be height × width (attn::Error naming `what` otherwise).
Tensor image_to_tensor(const viz::Image& image, const ImagePreprocess& preprocess, int64_t channels,
                       const std::string& what = "image");
// And back: the model's input (1, C, H, W) or (C, H, W) as the picture it read, the normalization undone and
// rounded to bytes (grey for one channel) — what `attn classify --save-png` writes and the explorer shows.
viz::Image tensor_to_image(const Tensor& x, const ImagePreprocess& preprocess);

}  // namespace attn::models
