// Lesson 05.03 — Attention explainability: which pictures of attention can be trusted?
//
// "The model looked here" is the most common claim made with attention maps — and the least checked.
// This lesson puts six ways of turning a Vision Transformer's computation into a per-patch map side by
// side (attn/explain), then tests them the way Chefer et al. (2021) and Petsiuk et al. (2018) did: take
// away the patches a method calls important and see whether the prediction falls. A method whose maps
// are faithful makes accuracy collapse when its top patches go (positive perturbation) and hold when its
// bottom patches go (negative perturbation); a random ranking is the baseline every method must beat.
//   1. the six methods on one image, as formulas and as a figure;
//   2. the perturbation test, by hand, on that image;
//   3. the faithfulness table on 40 test images, and what it says;
//   4. the same six methods on a sentence: which letters made the character GPT predict its next one, and
//      the same table on 12 windows of Moby-Dick the GPT never trained on.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>

#include "attn/core/rng.h"
#include "attn/data/fashion_mnist.h"
#include "attn/data/text_corpus.h"
#include "attn/explain/gpt_explain.h"
#include "attn/explain/vit_explain.h"
#include "attn/models/gpt_loader.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "attn/viz/image_maps.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Attention explainability: six attribution methods and how faithful each one is");
  const data::ImageDataset test = data::load_fashion_mnist("test");
  models::LoadedViT m = models::load_vit((fs::path(ATTN_SOURCE_DIR) / "models/vit-fashion-mnist").string());
  models::ViTForImageClassification& vit = *m.model;
  const models::ViTConfig& c = vit.config();
  const float mean = m.preprocess.image_mean[0], std_ = m.preprocess.image_std[0];

  // ------------------------------------------------------------------------------------------------
  L.step("Six maps of one prediction");
  L.say(
      "For the CLS token's prediction y (a class logit), one score per patch j:\n"
      "  raw attention   Ā_L[0, j]: the last layer's attention, heads averaged (what BertViz draws)\n"
      "  rollout         R[0, j], R = Â_L ⋯ Â_1, Â = rownorm(½Ā + ½I)           (Abnar & Zuidema 2020)\n"
      "  flow            max-flow from patch j to the output through the layers   (Abnar & Zuidema 2020)\n"
      "  grad x input    Σ_d x_jd ∂y/∂x_jd on the input embeddings              (Shrikumar et al. 2016)\n"
      "  Grad-CAM        ReLU(Σ_d α_d h_jd), α = token-mean of ∂y/∂h, last layer  (Selvaraju et al. 2017)\n"
      "  relevance       R ← R + E_h[(∇A ⊙ A)⁺] R, layer by layer from R = I     (Chefer et al. 2021)");
  const int64_t idx = 0;
  const data::ImageBatch one = data::make_image_batch(test, {idx}, mean, std_);
  const explain::ViTTrace t = explain::trace_vit(vit, one.images);
  std::cout << "\n  test image " << idx << ": " << test.classes[test.labels[idx]] << ", predicted "
            << c.label(t.predicted) << "\n";
  const viz::Image picture =
      viz::grey_image(test.image(idx), static_cast<int>(test.width), static_cast<int>(test.height));
  viz::ImageMapsFigure fig(picture, c.grid(),
                           "test image 0 (" + test.classes[test.labels[idx]] + "): six maps of the same prediction");
  std::vector<std::vector<float>> maps;
  for (const std::string& method : explain::kMethods) {
    maps.push_back(explain::vit_patch_scores(method, t));
    fig.add(method, maps.back());
    const auto best = std::max_element(maps.back().begin(), maps.back().end()) - maps.back().begin();
    std::cout << "  " << std::left << std::setw(14) << method << std::right << " top patch: row " << best / c.grid()
              << ", column " << best % c.grid() << "\n";
  }
  fig.save(L.figure("six_maps.png"));
  fig.save(L.figure("six_maps.svg"));
  L.say(
      "\nThe maps disagree. Attention-only maps (raw, rollout, flow) cannot say *for which class* a patch\n"
      "matters: they are the same whatever y is. The gradient-based ones can — and can be negative.");

  // ------------------------------------------------------------------------------------------------
  L.step("The perturbation test, by hand");
  L.say(
      "Remove the k highest-scoring patches (no token may attend to them any more: for a ViT that is the\n"
      "same as leaving them out of the sequence) and ask the model again. Here with raw attention's ranking\n"
      "and with relevance's, on this one image:");
  const int64_t T = c.seq_len();
  std::vector<int64_t> patches(static_cast<size_t>(T - 1));
  std::iota(patches.begin(), patches.end(), 1);
  std::cout << "  removed   " << std::setw(16) << "raw attention" << std::setw(16) << "relevance"
            << "   (p of " << c.label(t.predicted) << ")\n";
  const std::vector<double> fractions = {0.0, 0.1, 0.2, 0.3, 0.5};
  const explain::RemovalForward ask = explain::vit_removal_forward(vit, one.images);  // the image, R times
  std::vector<Tensor> probs;
  for (size_t mi : {size_t{0}, size_t{5}})
    probs.push_back(softmax(ask(explain::removal_masks(T, patches, maps[mi], fractions)), -1));
  for (size_t f = 0; f < fractions.size(); ++f)
    std::cout << "  " << std::setw(5) << static_cast<int>(fractions[f] * 100) << "%   " << std::fixed
              << std::setprecision(3) << std::setw(16) << probs[0].data()[f * c.num_labels + t.predicted]
              << std::setw(16) << probs[1].data()[f * c.num_labels + t.predicted] << "\n";

  // ------------------------------------------------------------------------------------------------
  L.step("Faithfulness, measured on 40 test images");
  L.say(
      "positive: accuracy averaged while 0..90% of the patches go, most relevant first (lower = better);\n"
      "negative: the same, least relevant first (higher = better); deletion / insertion: area under the\n"
      "predicted class's probability as the most relevant patches go / come back (lower / higher = better).\n"
      "`attn explain --faithfulness 1000` runs the same on more images.");
  std::vector<std::string> methods = explain::kMethods;
  methods.push_back("random");
  const auto rows = explain::vit_faithfulness(vit, test, m.preprocess, methods, 40, 1);
  std::cout << "\n  " << std::left << std::setw(14) << "method" << std::right << std::setw(10) << "positive"
            << std::setw(10) << "negative" << std::setw(10) << "deletion" << std::setw(11) << "insertion\n";
  for (const auto& r : rows)
    std::cout << "  " << std::left << std::setw(14) << r.method << std::right << std::fixed << std::setprecision(1)
              << std::setw(10) << 100 * r.positive_auc << std::setw(10) << 100 * r.negative_auc << std::setprecision(3)
              << std::setw(10) << r.deletion_auc << std::setw(10) << r.insertion_auc << "\n";
  auto find = [&](const std::string& name) {
    return *std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.method == name; });
  };
  const auto& raw = find("raw_attention");
  const auto& rel = find("relevance");
  const auto& rnd = find("random");
  std::cout << "\n  relevance " << (rel.positive_auc < raw.positive_auc ? "beats" : "does not beat")
            << " raw attention on the positive test (" << std::setprecision(1) << 100 * rel.positive_auc << " vs "
            << 100 * raw.positive_auc << "); raw attention "
            << (raw.positive_auc < rnd.positive_auc ? "beats" : "does not beat") << " random ("
            << 100 * rnd.positive_auc << ").\n";
  L.say(
      "Read the table, not the pictures: a map that looks sharp can still point at patches the model does\n"
      "not need. On 40 images the numbers move by a few points between runs of different images; the table\n"
      "in docs/results/explain.json uses 1000.");

  // ------------------------------------------------------------------------------------------------
  L.step("The same methods on a sentence");
  L.say(
      "Nothing above is special to pictures. For a GPT the prediction is the next token, the query is the\n"
      "last position q = T-1, and every method scores the T tokens of the context (explain/gpt_explain.h).\n"
      "The character-level Moby-Dick GPT, asked to continue a sentence:");
  models::LoadedGPT g =
      models::load_gpt((fs::path(ATTN_SOURCE_DIR) / "models/gpt-moby-dick").string(), ATTN_SOURCE_DIR);
  models::GPT& gpt = *g.model;
  const std::string sentence = "I thought I would sail about a little and see the watery part of the wor";
  const std::vector<int64_t> ids = g.tokenizer.encode(sentence);
  const explain::GPTTrace gt = explain::trace_gpt(gpt, ids);
  std::cout << "\n  \"" << sentence << "\" -> predicted next: '" << g.tokenizer.label(gt.predicted) << "'\n"
            << "  the five context characters each method ranks highest (position: character):\n";
  for (const std::string& method : explain::kMethods) {
    const std::vector<float> sc = explain::gpt_candidate_scores(method, gt);  // tokens 0 .. T-2
    std::vector<int64_t> order(sc.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sc[a] > sc[b]; });
    std::cout << "  " << std::left << std::setw(14) << method << std::right;
    for (size_t k = 0; k < 5 && k < order.size(); ++k)
      std::cout << "  " << std::setw(2) << order[k] << ":'" << g.tokenizer.label(ids[order[k]]) << "'";
    std::cout << "\n";
  }
  L.say(
      "\nA next letter mostly depends on the letters just before it (the end of \"wor\"): methods that find the\n"
      "end of the context are reading the model; methods that point at the first character are reading its\n"
      "attention sink — a token many heads park their weight on, whatever the text says.");
  const data::TextCorpus corpus = data::TextCorpus::load(data::moby_dick_path(ATTN_SOURCE_DIR), 0.1);
  const std::vector<int64_t> held_out = g.tokenizer.encode(corpus.tokenizer().decode(corpus.val()));
  const auto grows = explain::gpt_faithfulness(gpt, held_out, methods, 12, 48, 1);
  std::cout << "\n  12 windows of 48 characters from the held-out tenth of Moby-Dick (few: a quick look):\n  "
            << std::left << std::setw(18) << "method" << std::right << std::setw(10) << "positive" << std::setw(10)
            << "negative" << std::setw(10) << "deletion" << std::setw(11) << "insertion\n";
  for (const auto& r : grows)
    std::cout << "  " << std::left << std::setw(18) << ("gpt " + r.method) << std::right << std::fixed
              << std::setprecision(1) << std::setw(10) << 100 * r.positive_auc << std::setw(10) << 100 * r.negative_auc
              << std::setprecision(3) << std::setw(10) << r.deletion_auc << std::setw(10) << r.insertion_auc << "\n";
  L.say(
      "Accuracy here is the next character of the real text. `attn explain --gpt --faithfulness 200` runs\n"
      "the same on more windows.");
  return 0;
}
