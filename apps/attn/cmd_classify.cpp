// attn classify — what a Vision Transformer (attn train vit, or a Hugging Face ViT folder) sees in a picture.
//
//   attn classify --model models/vit-fashion-mnist shoe.png          a PNG (any size if the model resizes)
//   attn classify --model models/vit-fashion-mnist --test-image 0    Fashion-MNIST's test image 0 (and its label)
//   attn classify ... --save-png out.png                             the picture as the model read it
//
// Prints the top classes with their probabilities (--top, --json). Bad input — a missing or corrupt PNG, a
// picture of the wrong size for a model that does not resize, an image index out of range — is an error
// naming it, with exit status 2.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/fashion_mnist.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "attn/viz/image.h"
#include "commands.h"
#include "data_root.h"
#include "vit_command.h"

using namespace attn;
using nlohmann::json;

ATTN_COMMAND(classify, "Classify a picture with a Vision Transformer (attn train vit, or a Hugging Face ViT folder)") {
  struct Opts {
    std::string model = cli::data_root() + "/models/vit-fashion-mnist", image, save_png, data = data::kFashionMnistDir;
    int64_t test_image = -1, top = 5;
    bool json_out = false;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "ViT folder (config.json, preprocessor_config.json, model.safetensors)")
      ->capture_default_str();
  sub.add_option("image", o->image, "PNG picture to classify");
  sub.add_option("--test-image", o->test_image, "Classify Fashion-MNIST's test image N instead (0-9999)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--data", o->data, "Folder of the Fashion-MNIST files (for --test-image)")->capture_default_str();
  sub.add_option("--top", o->top, "How many classes to list")->capture_default_str()->check(CLI::PositiveNumber);
  sub.add_option("--save-png", o->save_png, "Also write the picture as the model read it (after any resize)");
  sub.add_flag("--json", o->json_out, "Print JSON instead of a table");
  return [o]() -> int {
    return cli::run_with_vit(o->model, [&](models::LoadedViT& vit) -> int {
      ATTN_CHECK(o->image.empty() != (o->test_image < 0), "attn classify",
                 "give a PNG or --test-image N (one of them)");
      const models::ViTConfig& c = vit.model->config();
      viz::Image picture;
      int64_t label = -1;
      std::string source = o->image;
      if (o->test_image >= 0) {
        const data::ImageDataset test = data::load_fashion_mnist("test", o->data);
        ATTN_CHECK(o->test_image < test.size(), "attn classify",
                   "--test-image " << o->test_image << " outside 0.." << test.size() - 1);
        picture =
            viz::grey_image(test.image(o->test_image), static_cast<int>(test.width), static_cast<int>(test.height));
        label = test.labels[o->test_image];
        source = "Fashion-MNIST test image " + std::to_string(o->test_image);
      } else {
        picture = viz::read_png(o->image);
      }
      const Tensor x = models::image_to_tensor(picture, vit.preprocess, c.num_channels, source);  // (1, C, H, W)
      NoGradGuard no_grad;
      const Tensor probs = softmax(vit.model->forward(x), -1);  // (1, K)
      const float* p = probs.data();
      std::vector<int64_t> order(static_cast<size_t>(c.num_labels));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
      order.resize(static_cast<size_t>(std::min(o->top, c.num_labels)));
      if (!o->save_png.empty()) {
        viz::write_png(o->save_png, models::tensor_to_image(x, vit.preprocess));  // the picture as the model read it
      }
      if (o->json_out) {
        json top = json::array();
        for (int64_t k : order) top.push_back({{"class", k}, {"label", c.label(k)}, {"probability", p[k]}});
        json out = {{"source", source}, {"model", o->model}, {"top", top}};
        if (label >= 0) out["true_label"] = {{"class", label}, {"label", c.label(label)}};
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << source << (label >= 0 ? " (true class: " + c.label(label) + ")" : std::string()) << "\n";
        for (int64_t k : order)
          std::cout << "  " << std::fixed << std::setprecision(1) << std::setw(5) << 100.0 * p[k] << "%  " << c.label(k)
                    << "\n";
      }
      return 0;
    });
  };
}
