#include "attn/explore/image_view.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/faithfulness.h"
#include "attn/explain/relevance.h"
#include "attn/explain/topk.h"
#include "attn/explain/vit_explain.h"
#include "attn/explore/curves_json.h"
#include "attn/explore/explorer.h"
#include "attn/explore/http_error.h"
#include "attn/ops/ops.h"
#include "attn/viz/image.h"

namespace attn::explore {

using nlohmann::json;

namespace {

constexpr int64_t kTop = 5;                // classes listed with their probabilities
constexpr int64_t kMaxGalleryCount = 256;  // pictures per gallery request

std::string b64_floats(const std::vector<float>& v) { return base64_encode(v.data(), v.size() * sizeof(float)); }

}  // namespace

ImageExplorer::ImageExplorer(models::LoadedViT vit, std::string name, std::string path, data::ImageDataset test,
                             std::string test_name)
    : vit_(std::move(vit)),
      name_(std::move(name)),
      path_(std::move(path)),
      test_(std::move(test)),
      test_name_(std::move(test_name)) {
  ATTN_CHECK(vit_.model != nullptr, "attn explore", "no ViT model given");
  ATTN_CHECK(test_.size() == 0 || test_.channels == config().num_channels, "attn explore",
             test_name_ << " has " << test_.channels << "-channel pictures but " << name_ << " reads "
                        << config().num_channels);
  vit_.model->eval();
}

json ImageExplorer::info() const {
  const models::ViTConfig& c = config();
  json classes = json::array();
  for (int64_t k = 0; k < c.num_labels; ++k) classes.push_back(c.label(k));
  std::vector<std::string> methods = explain::kMethods;
  return {{"name", name_},
          {"path", path_},
          {"image_size", c.image_size},
          {"patch_size", c.patch_size},
          {"grid", c.grid()},
          {"channels", c.num_channels},
          {"n_layer", c.num_hidden_layers},
          {"n_head", c.num_attention_heads},
          {"hidden_size", c.hidden_size},
          {"n_params", vit_.model->num_parameters()},
          {"resizes", vit_.preprocess.do_resize},
          {"classes", classes},
          {"methods", methods},
          {"test", test_.size() > 0 ? json{{"name", test_name_}, {"size", test_.size()}} : json(nullptr)}};
}

json ImageExplorer::gallery(int64_t offset, int64_t count) const {
  if (test_.size() == 0)
    fail(404, "no test pictures are loaded (install Debian's dataset-fashion-mnist: scripts/setup.sh)");
  if (offset < 0 || offset >= test_.size())
    fail(400, "'offset' = " + std::to_string(offset) + " is out of range [0, " + std::to_string(test_.size()) + ")");
  if (count < 1 || count > kMaxGalleryCount)
    fail(400, "'count' = " + std::to_string(count) + " is out of range [1, " + std::to_string(kMaxGalleryCount) + "]");
  count = std::min(count, test_.size() - offset);
  const auto n = static_cast<size_t>(count * test_.image_numel());
  std::vector<int64_t> labels(test_.labels.begin() + offset, test_.labels.begin() + offset + count);
  return {{"offset", offset},       {"count", count},
          {"total", test_.size()},  {"channels", test_.channels},
          {"height", test_.height}, {"width", test_.width},
          {"labels", labels},       {"pixels", base64_encode(test_.image(offset), n)},
          {"encoding", "u8-base64"}};
}

json ImageExplorer::explain_test(int64_t index, int64_t target) {
  if (test_.size() == 0)
    fail(404, "no test pictures are loaded (install Debian's dataset-fashion-mnist: scripts/setup.sh)");
  if (index < 0 || index >= test_.size())
    fail(400, "'index' = " + std::to_string(index) + " is out of range [0, " + std::to_string(test_.size()) + ")");
  const viz::Image picture =
      viz::grey_image(test_.image(index), static_cast<int>(test_.width), static_cast<int>(test_.height));
  const std::string source = test_name_ + " test picture " + std::to_string(index);
  const Tensor x = models::image_to_tensor(picture, vit_.preprocess, config().num_channels, source);  // (1, C, H, W)
  json r = explain(x, test_.labels[static_cast<size_t>(index)], target, source);
  r["index"] = index;
  return r;
}

json ImageExplorer::explain_png(const std::string& png, int64_t target, int64_t max_pixels) {
  int64_t w = 0, h = 0;
  if (!viz::png_size(png, &w, &h))
    fail(400, "the request body is not a PNG picture (it must start with the PNG signature)");
  if (w <= 0 || h <= 0 || w * h > max_pixels)
    fail(413, "the PNG is " + std::to_string(w) + "x" + std::to_string(h) + " pixels; the limit is " +
                  std::to_string(max_pixels) + " pixels");
  viz::Image picture;
  try {
    picture = viz::decode_png(png);
  } catch (const Error& e) {
    fail(400, std::string("the PNG could not be read: ") + e.what());
  }
  // Any size is read: resized (bilinearly) to what the model reads, even by a model that does not resize its own
  // input, as the explorer is for looking at pictures, not for benchmarking.
  models::ImagePreprocess pp = vit_.preprocess;
  pp.do_resize = true;
  const Tensor x = models::image_to_tensor(picture, pp, config().num_channels, "the uploaded PNG");
  const bool resized = w != pp.width || h != pp.height;
  return explain(x, -1, target,
                 "uploaded PNG (" + std::to_string(w) + "x" + std::to_string(h) +
                     (resized ? ", resized to " + std::to_string(pp.width) + "x" + std::to_string(pp.height) : "") +
                     ")");
}

// x (1, C, H, W) normalized; label < 0: none known (the prediction stands in for the perturbation tests).
json ImageExplorer::explain(const Tensor& x, int64_t label, int64_t target, const std::string& source) {
  const models::ViTConfig& c = config();
  const int64_t K = c.num_labels, L = c.num_hidden_layers, H = c.num_attention_heads, T = c.seq_len(), N = T - 1;
  if (target >= K) fail(400, "'class' = " + std::to_string(target) + " is out of range [0, " + std::to_string(K) + ")");

  // One forward through the composed attention path and one backward from logits[target].
  const explain::ViTTrace t = explain::trace_vit(*vit_.model, x, target);
  json top = json::array();
  for (const explain::TokenProbability& p :
       explain::topk_probabilities(std::span<const float>(t.logits.data(), static_cast<size_t>(K)), kTop))
    top.push_back({{"class", p.id}, {"name", c.label(p.id)}, {"p", p.p}});

  // attention (L, H, N): row 0 (CLS) of each layer's (1, H, T, T), without the CLS column.
  std::vector<float> att(static_cast<size_t>(L * H * N));
  for (int64_t l = 0; l < L; ++l) {
    const float* a = t.trace.attentions[static_cast<size_t>(l)].data();
    for (int64_t hd = 0; hd < H; ++hd) std::copy_n(a + hd * T * T + 1, N, att.data() + (l * H + hd) * N);
  }

  // Every method's patch map, and its perturbation curves on this picture (42 masked forwards each).
  const explain::RemovalForward forward = explain::vit_removal_forward(*vit_.model, x);
  std::vector<int64_t> patches(static_cast<size_t>(N));
  std::iota(patches.begin(), patches.end(), 1);  // every token but CLS
  const int64_t judged = label >= 0 ? label : t.predicted;
  json maps = json::object();
  std::vector<std::pair<std::string, std::vector<float>>> rankings;
  for (const std::string& m : explain::kMethods) {
    rankings.emplace_back(m, explain::vit_patch_scores(m, t));
    maps[m] = b64_floats(rankings.back().second);
  }
  const json curves = perturbation_curves_json(forward, T, patches, rankings, judged, t.target);

  // The picture as the model read it: (H, W, 3) bytes.
  const viz::Image seen = models::tensor_to_image(x, vit_.preprocess);
  std::string rgb;
  rgb.reserve(seen.pixels.size() * 3);
  for (const viz::Rgb& p : seen.pixels) rgb += {static_cast<char>(p.r), static_cast<char>(p.g), static_cast<char>(p.b)};

  return {{"source", source},
          {"label", label >= 0 ? json(label) : json(nullptr)},
          {"label_name", label >= 0 ? json(c.label(label)) : json(nullptr)},
          {"predicted", t.predicted},
          {"target", t.target},
          {"top", top},
          {"image", {{"width", seen.width}, {"height", seen.height}, {"rgb", base64_encode(rgb.data(), rgb.size())}}},
          {"grid", c.grid()},
          {"n_layer", L},
          {"n_head", H},
          {"attention", b64_floats(att)},
          {"methods", explain::kMethods},
          {"maps", maps},
          {"fractions", perturbation_fractions_json()},
          {"curves", curves},
          {"judged_against", label >= 0 ? "label" : "prediction"},
          {"encoding", "f32-base64"}};
}

}  // namespace attn::explore
