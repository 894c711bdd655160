// attn explain — which patches a Vision Transformer's prediction rests on, by every attribution method of
// attn/explain, and how faithful each method is.
//
//   attn explain --test-image 0 --out out/explain.png           one picture, a panel per method
//   attn explain --test-image 0 --class 3 --out out/explain.svg  ... explaining class 3 instead of the prediction
//   attn explain --faithfulness 500 --json out/faithfulness.json the perturbation tests on 500 test images
//
// --model defaults to the shipped models/vit-fashion-mnist. Bad input (an image index or class out of range,
// an unknown method, a model without attention) is an error naming it, exit status 2.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/core/error.h"
#include "attn/data/fashion_mnist.h"
#include "attn/explain/vit_explain.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "attn/viz/image_maps.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "vit_command.h"

using namespace attn;
using nlohmann::json;

namespace {

constexpr const char* kOp = "attn explain";

std::string percent(double v, int digits = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << 100.0 * v;
  return s.str();
}

}  // namespace

ATTN_COMMAND(explain, "Explain a Vision Transformer's prediction: attention maps, rollout, flow, gradients, relevance, faithfulness") {
  struct Opts {
    std::string model = std::string(ATTN_SOURCE_DIR) + "/models/vit-fashion-mnist", out, json_path, data = data::kFashionMnistDir;
    std::vector<std::string> methods;
    int64_t test_image = 0, target = -1, faithfulness = 0;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "ViT folder")->capture_default_str();
  sub.add_option("--test-image", o->test_image, "Fashion-MNIST test image to explain")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--class", o->target, "Class to explain (-1: the predicted one)")->capture_default_str();
  sub.add_option("--method", o->methods, "Methods (default: all): raw_attention rollout flow grad_x_input grad_cam relevance random");
  sub.add_option("--out", o->out, "Figure of the maps (.png or .svg)");
  sub.add_option("--faithfulness", o->faithfulness, "Run the perturbation tests on the first N test images instead")->check(CLI::PositiveNumber);
  sub.add_option("--json", o->json_path, "Also write the scores / the faithfulness table as JSON");
  sub.add_option("--data", o->data, "Folder of the Fashion-MNIST files")->capture_default_str();
  sub.add_option("--seed", o->seed, "Seed of the random baseline")->capture_default_str();
  return [o]() -> int {
    return cli::run_with_vit(o->model, [&](models::LoadedViT& vit) -> int {
      const models::ViTConfig& c = vit.model->config();
      ATTN_CHECK(c.num_channels == 1, kOp, "explaining Fashion-MNIST images needs a one-channel model");
      std::vector<std::string> methods = o->methods;
      if (methods.empty()) {
        methods = explain::kMethods;
        if (o->faithfulness > 0) methods.push_back("random");
      }
      for (const std::string& m : methods)
        ATTN_CHECK(m == "random" || std::find(explain::kMethods.begin(), explain::kMethods.end(), m) != explain::kMethods.end(),
                   kOp, "unknown method \"" << m << "\"");
      const data::ImageDataset test = data::load_fashion_mnist("test", o->data);

      if (o->faithfulness > 0) {
        ATTN_CHECK(o->faithfulness <= test.size(), kOp, "--faithfulness " << o->faithfulness << " is more than the "
                                                                          << test.size() << " test images");
        const auto t0 = std::chrono::steady_clock::now();
        const auto rows = explain::vit_faithfulness(*vit.model, test, vit.preprocess, methods, o->faithfulness, o->seed);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "faithfulness of each method on the first " << o->faithfulness << " Fashion-MNIST test images ("
                  << o->model << "), " << std::fixed << std::setprecision(0) << secs << " s\n"
                  << "patches removed = left out of attention; positive/negative: accuracy averaged over 0-90% removed;\n"
                  << "deletion/insertion: area under p(predicted class) as the most relevant go / come back\n\n"
                  << "| method | positive (lower is better) | negative (higher is better) | deletion (lower) | insertion (higher) |\n"
                  << "|---|---|---|---|---|\n";
        json table = json::array();
        for (const auto& r : rows) {
          std::cout << "| " << r.method << " | " << percent(r.positive_auc) << " | " << percent(r.negative_auc) << " | "
                    << std::setprecision(3) << r.deletion_auc << " | " << r.insertion_auc << " |\n";
          table.push_back({{"method", r.method}, {"positive_auc", r.positive_auc}, {"negative_auc", r.negative_auc},
                           {"deletion_auc", r.deletion_auc}, {"insertion_auc", r.insertion_auc},
                           {"positive", r.positive}, {"negative", r.negative}, {"deletion", r.deletion},
                           {"insertion", r.insertion}});
        }
        if (!o->json_path.empty())
          viz::write_file_atomic(o->json_path, json({{"model", o->model}, {"images", o->faithfulness}, {"seconds", secs},
                                                     {"perturbation_fractions", explain::kPerturbationFractions},
                                                     {"deletion_fractions", explain::kDeletionFractions},
                                                     {"methods", table}}).dump(2) + "\n");
        return 0;
      }

      ATTN_CHECK(o->test_image < test.size(), kOp, "--test-image " << o->test_image << " outside 0.." << test.size() - 1);
      ATTN_CHECK(o->target < c.num_labels, kOp, "--class " << o->target << " outside 0.." << c.num_labels - 1);
      const data::ImageBatch b =
          data::make_image_batch(test, {o->test_image}, vit.preprocess.image_mean[0], vit.preprocess.image_std[0]);
      const explain::ViTTrace t = explain::trace_vit(*vit.model, b.images, o->target);
      const Tensor probs = softmax(t.logits, -1);
      std::ostringstream title;
      title << "test image " << o->test_image << ": " << c.label(b.labels[0]) << "; predicted " << c.label(t.predicted)
            << " (" << percent(probs.data()[t.predicted]) << "%); explaining " << c.label(t.target);
      std::cout << title.str() << "\n";
      viz::ImageMapsFigure fig(viz::grey_image(test.image(o->test_image), static_cast<int>(test.width), static_cast<int>(test.height)), c.grid(), title.str());
      json scores = json::object();
      Generator gen(o->seed, 11);
      for (const std::string& m : methods) {
        const std::vector<float> s = explain::vit_patch_scores(m, t, &gen);
        fig.add(m, s);
        scores[m] = s;
        const int64_t best = std::max_element(s.begin(), s.end()) - s.begin();
        std::cout << "  " << std::left << std::setw(14) << m << " top patch: row " << best / c.grid() << ", column "
                  << best % c.grid() << "\n";
      }
      if (!o->out.empty()) {
        fig.save(o->out);
        std::cout << "figure: " << o->out << "\n";
      }
      if (!o->json_path.empty())
        viz::write_file_atomic(o->json_path, json({{"model", o->model}, {"test_image", o->test_image},
                                                   {"label", b.labels[0]}, {"predicted", t.predicted},
                                                   {"explained", t.target}, {"grid", c.grid()}, {"scores", scores}})
                                                     .dump(2) + "\n");
      return 0;
    });
  };
}
