#include "attn/explain/vit_explain.h"

#include <algorithm>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {
constexpr const char* kOp = "explain (ViT)";
}

ViTTrace trace_vit(models::ViTForImageClassification& model, const Tensor& image, int64_t target) {
  const models::ViTConfig& c = model.config();
  Tensor x = image.dim() == 3 ? unsqueeze(image, 0) : image;
  ATTN_CHECK(x.dim() == 4 && x.size(0) == 1, kOp,
             "explain one image at a time: (1, C, H, W), got " << shape_str(image.shape()));
  nn::ModeGuard mode(model);
  model.eval();
  EnableGradGuard grad_on;
  models::ViTForwardOptions opts;
  opts.attention_grad = true;
  opts.output_hidden_states = true;
  models::ImageClassifierOutput out = model.forward(x.detach(), opts);

  ViTTrace t;
  t.logits = reshape(out.logits.detach(), {c.num_labels}).clone();
  const float* l = t.logits.data();
  t.predicted = std::max_element(l, l + c.num_labels) - l;
  t.target = target < 0 ? t.predicted : target;
  ATTN_CHECK(t.target < c.num_labels, kOp, "class " << target << " outside 0.." << c.num_labels - 1);

  // y = logits[0, target]; ∂y/∂ of every attention map and of the first and last hidden states.
  const Tensor y = sum(slice(out.logits, 1, t.target, t.target + 1));  // ()
  t.trace = trace_from_graph(y, out.attentions, out.hidden_states.front(), out.hidden_states.back(), /*query=*/0);
  return t;
}

std::vector<float> vit_patch_scores(const std::string& method, const ViTTrace& t, Generator* gen) {
  const int64_t N = t.trace.num_tokens() - 1;
  if (method == "random") {
    ATTN_CHECK(gen != nullptr, kOp, "the random baseline needs a Generator");
    return random_scores(N, *gen);
  }
  const Tensor s = patch_scores(scores(method, t.trace));
  return std::vector<float>(s.data(), s.data() + s.numel());
}

RemovalForward vit_removal_forward(models::ViTForImageClassification& model, const Tensor& image) {
  ATTN_CHECK(image.dim() == 4 && image.size(0) == 1, kOp, "one image (1, C, H, W), got " << shape_str(image.shape()));
  const Tensor one = image.detach();
  return [&model, one](const Tensor& removed) {
    NoGradGuard no_grad;
    const int64_t R = removed.size(0), n = one.numel();
    Tensor images = Tensor::empty({R, one.size(1), one.size(2), one.size(3)});  // (R, C, H, W): R copies
    for (int64_t r = 0; r < R; ++r) std::copy_n(one.data(), n, images.data() + r * n);
    models::ViTForwardOptions o;
    o.removed = removed;
    return model.forward(images, o).logits;
  };
}

std::vector<FaithfulnessSummary> vit_faithfulness(models::ViTForImageClassification& model,
                                                  const data::ImageDataset& data, const models::ImagePreprocess& pp,
                                                  const std::vector<std::string>& methods, int64_t count,
                                                  uint64_t seed) {
  ATTN_CHECK(count > 0 && count <= data.size(), kOp, "count " << count << " outside 1.." << data.size());
  ATTN_CHECK(!methods.empty(), kOp, "no methods given");
  nn::ModeGuard mode(model);
  model.eval();
  const int64_t T = model.config().seq_len();
  std::vector<int64_t> patches(static_cast<size_t>(T - 1));
  std::iota(patches.begin(), patches.end(), 1);  // every token but CLS
  std::vector<FaithfulnessSummary> out(methods.size());
  for (size_t m = 0; m < methods.size(); ++m) out[m].method = methods[m];
  Generator gen(seed, 11);
  for (int64_t i = 0; i < count; ++i) {
    const data::ImageBatch b = data::make_image_batch(data, {i}, pp.image_mean[0], pp.image_std[0]);
    const ViTTrace t = trace_vit(model, b.images);
    const RemovalForward forward = vit_removal_forward(model, b.images);
    for (size_t m = 0; m < methods.size(); ++m) {
      const std::vector<float> s = vit_patch_scores(methods[m], t, &gen);
      out[m].add(example_curves(forward, T, patches, s, b.labels[0], t.predicted));
    }
  }
  for (auto& s : out) s.finish();
  return out;
}

}  // namespace attn::explain
