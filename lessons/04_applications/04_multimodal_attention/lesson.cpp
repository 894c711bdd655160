// Lesson 04.04 — Multimodal attention: pictures and words in one space.
//
// Attention does not care where its queries and keys come from: words can query image patches (cross-attention,
// the captioners of Xu et al. 2015 and every vision-language model since), and two encoders — one for pictures, one
// for words — can be trained so that a picture and its caption land on the same point of a shared space (CLIP,
// Radford et al. 2021). This lesson:
//   1. cross-attention between modalities by hand: colour words query the patches of a real emoji;
//   2. the dual encoder's similarity matrix: a small CLIP trained here on emoji and their English names, the
//      diagonal of "this picture goes with this name" appearing as the symmetric InfoNCE loss falls;
//   3. zero-shot: the trained model on emoji it never saw, against chance; the shipped model's searches;
//   4. which patches each word picks: gradient-weighted relevance through the dual encoder.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/attention/sdpa.h"
#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/data/emoji.h"
#include "attn/explain/clip_explain.h"
#include "attn/models/clip.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "attn/trainers/clip.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/image_maps.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

viz::Image picture_of(const data::ImageDataset& d, int64_t i) {
  const uint8_t* p = d.image(i);
  const int64_t n = d.height * d.width;
  viz::Image img;
  img.width = static_cast<int>(d.width), img.height = static_cast<int>(d.height);
  for (int64_t k = 0; k < n; ++k) img.pixels.push_back({p[k], p[n + k], p[2 * n + k]});
  return img;
}

int64_t find_emoji(const data::EmojiSet& s, const std::string& name) {
  for (int64_t i = 0; i < s.size(); ++i)
    if (s.emoji[i].name == name) return i;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Multimodal attention: words querying pixels, a CLIP trained on emoji, zero-shot search");
  data::EmojiOptions eo;
  eo.size = 32;
  const data::EmojiSet all = data::load_emoji(eo);

  // ------------------------------------------------------------------------------------------------
  L.step("Cross-attention between modalities, by hand");
  L.say(
      "The pictures: Noto Color Emoji (Debian's fonts-noto-color-emoji), the words: Unicode CLDR's English names\n"
      "(unicode-cldr-core). Take one picture, cut it into 8x8 patches of 4x4 pixels — 64 keys — and describe each\n"
      "patch by its mean colour: a key k_j = (R, G, B) - 0.5. Three words become queries in the same three numbers:\n"
      "'red' = (1, -1, -1), 'green' = (-1, 1, -1), 'blue' = (-1, -1, 1). Attention of each word over the patches is\n"
      "softmax(q K^T * 8): the same scaled_dot_product_attention every model here uses, queries from words, keys\n"
      "from pixels.");
  const int64_t flag = find_emoji(all, "flag: France");
  const int64_t pick = flag >= 0 ? flag : 0;
  const int64_t S = 32, G = 8, P = 4;
  std::vector<float> keys(static_cast<size_t>(G * G * 3), 0.f);
  const uint8_t* px = all.images.image(pick);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x)
        keys[((y / P) * G + x / P) * 3 + c] += px[(c * S + y) * S + x] / 255.f / (P * P);
  for (float& k : keys) k -= 0.5f;
  const Tensor K = Tensor::from_vector(keys, {1, 1, G * G, 3});
  const Tensor Q = Tensor::from_vector({1, -1, -1, -1, 1, -1, -1, -1, 1}, {1, 1, 3, 3});
  SdpaOptions so;
  so.scale = 8.f;
  so.need_weights = true;
  const AttentionOutput a = scaled_dot_product_attention(Q, K, K, so);  // weights (1, 1, 3, 64)
  const char* colour[3] = {"red", "green", "blue"};
  std::cout << "  picture: " << all.emoji[pick].text << " " << all.emoji[pick].name << ", keys "
            << shape_str(K.shape()) << ", queries " << shape_str(Q.shape()) << " -> weights "
            << shape_str(a.weights.shape()) << "\n";
  viz::ImageMapsFigure cross(picture_of(all.images, pick), G, "words (queries) attending over patches (keys)");
  for (int64_t w = 0; w < 3; ++w) {
    const float* row = a.weights.data() + w * G * G;
    std::vector<float> r(row, row + G * G);
    double left = 0, middle = 0, right = 0;  // the flag's three bands: columns 0-2, 3-4, 5-7
    for (int64_t j = 0; j < G * G; ++j) (j % G < 3 ? left : j % G < 5 ? middle : right) += r[j];
    std::cout << "  '" << colour[w] << "' puts " << std::fixed << std::setprecision(0) << 100 * left << "% / "
              << 100 * middle << "% / " << 100 * right << "% of its attention on the left / middle / right of the flag\n";
    cross.add(std::string("'") + colour[w] + "'", r);
  }
  cross.save(L.figure("cross_attention.png"));
  L.say(
      "\n'blue' reads the left band and 'red' the right one: attention found where each word is in the picture,\n"
      "with nothing learnt — the queries and keys were written by hand in one shared space. 'green' has nothing to\n"
      "find, yet its weights still sum to 1: softmax puts them on the patches least unlike green. Attention always\n"
      "attends somewhere; a map alone does not say that the thing is there. Learning such a space from pictures\n"
      "and their names is what a dual encoder does.");

  // ------------------------------------------------------------------------------------------------
  L.step("A dual encoder trained here: the similarity matrix");
  L.say(
      "CLIP: a ViT encodes the picture, a Transformer encodes the words, each ends in a projection to a shared\n"
      "space and a unit vector. For a batch of B matching pairs, the B x B matrix of cosine similarities times a\n"
      "learned 1/temperature is read row by row (each picture picks its name among the batch's B names) and\n"
      "column by column (each name picks its picture): the symmetric InfoNCE loss, cross-entropy with the right\n"
      "answers on the diagonal.");
  eo.size = 16;
  eo.limit = 900;  // spread over every kind of emoji
  const data::EmojiSet small = data::load_emoji(eo);
  const data::EmojiSplits split = data::split_emoji(small);
  std::vector<std::string> text;
  for (int64_t i : split.train) {  // lower-cased, as the text tower reads them
    text.push_back(models::clip_normalize(small.emoji[i].name));
    for (const std::string& k : small.emoji[i].keywords) text.push_back(models::clip_normalize(k));
  }
  data::SubwordOptions sw;
  sw.vocab_size = 500;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(text, sw);
  models::ClipConfig cfg;
  cfg.image_size = 16, cfg.patch_size = 4;
  cfg.vision_hidden_size = 64, cfg.vision_layers = 2, cfg.vision_heads = 4, cfg.vision_intermediate_size = 256;
  cfg.vocab_size = tok.vocab_size();
  cfg.text_hidden_size = 64, cfg.text_layers = 2, cfg.text_heads = 4, cfg.text_intermediate_size = 256;
  cfg.projection_dim = 64;
  cfg.image_mean = {1.f, 1.f, 1.f};  // white as 0: at this size it learns faster (at 32x32, models/clip-emoji did not)
  Generator gen(3);
  models::ClipModel clip(cfg, gen);
  std::cout << "  " << split.train.size() << " training emoji (16x16) and names, " << split.val.size() + split.test.size()
            << " held out with all their variants; " << clip.num_parameters() << " parameters\n";
  std::vector<int64_t> view(split.train.begin(), split.train.begin() + 8);  // one fixed batch to watch
  std::vector<std::string> view_names;
  for (int64_t i : view) view_names.push_back(small.emoji[i].name);
  auto similarity = [&] {
    NoGradGuard ng;
    clip.eval();
    const Tensor s = matmul(models::clip_image_embeddings(clip, small.images, view),
                            models::clip_text_embeddings(clip, tok, view_names), false, true);
    clip.train();
    return s;
  };
  const Tensor before = similarity();
  std::vector<Tensor> params = clip.parameters();
  // CLIP's AdamW: β₂ 0.98 and ε 1e-6 (Radford et al., appendix F), kinder to a loss this flat at the start.
  nn::AdamW opt(params, nn::AdamWOptions(2e-3f).betas(0.9f, 0.98f).eps(1e-6f).weight_decay(0.1f));
  std::vector<int64_t> order = split.train;
  const int64_t batch = 64, epochs = 60;
  const int64_t steps_per_epoch = static_cast<int64_t>(split.train.size()) / batch, steps = epochs * steps_per_epoch;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    if (s % steps_per_epoch == 0) gen.shuffle(order);
    opt.set_lr(nn::warmup_cosine(s + 1, 2e-3f, steps_per_epoch, steps, 1e-5f));
    const int64_t first = (s % steps_per_epoch) * batch;
    std::vector<int64_t> idx(order.begin() + first, order.begin() + first + batch);
    std::vector<std::string> names;  // each emoji's name or 1-3 of its keywords (trainers/clip.h)
    for (int64_t i : idx) names.push_back(trainers::clip_training_text(small.emoji[i], gen));
    Tensor loss = clip.loss(models::clip_images(small.images, idx, cfg, 1, &gen),
                            models::clip_tokenize(tok, names, cfg.max_position_embeddings));
    loss.backward();
    nn::clip_grad_norm_(params, 1.f);  // a batch of near-identical embeddings can send one huge step
    opt.step();
    opt.zero_grad();
    clip.clamp_logit_scale();
    if ((s + 1) % (12 * steps_per_epoch) == 0)
      std::cout << "  step " << s + 1 << "  loss " << std::setprecision(3) << loss.item() << " (chance: ln " << batch
                << " = " << std::log(static_cast<double>(batch)) << ")\n";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "  trained " << steps << " steps in " << std::setprecision(1) << secs << " s\n";
  const Tensor after = similarity();
  auto diagonal_wins = [](const Tensor& s) {
    int64_t n = 0, B = s.size(0);
    for (int64_t i = 0; i < B; ++i) {
      const float* row = s.data() + i * B;
      n += std::max_element(row, row + B) - row == i;
    }
    return n;
  };
  std::cout << "  8 training pictures x their 8 names: the row's best name is its own for " << diagonal_wins(before)
            << " of 8 before training, " << diagonal_wins(after) << " of 8 after\n";
  L.say(
      "\nOne line matters more than it looks: clip_grad_norm_. Without it this run collapses — every picture and every\n"
      "name land on one point, and the loss sits at exactly ln 64. That is a trap of the contrastive loss: when all\n"
      "embeddings agree, each picture's gradient is the mean of identical name vectors minus its own, zero, so\n"
      "nothing moves them apart again. At the start the embeddings are nearly alike (mostly white pictures,\n"
      "one </s> token pooled), and one large step can push them there.");
  viz::Heatmap(after)
      .title("cosine similarity, 8 training pictures x their names")
      .row_labels(view_names)
      .col_labels(view_names)
      .row_title("picture")
      .col_title("name")
      .mark_row_argmax()
      .save_png(L.figure("similarity_matrix.png"));

  // ------------------------------------------------------------------------------------------------
  L.step("Zero-shot: emoji the model never saw");
  L.say(
      "The held-out emoji were never trained on, under any skin tone or gender: their names are new phrases made of\n"
      "words seen elsewhere ('cat' from 'cat face', 'crying' from 'crying face'). Each held-out picture ranks all the\n"
      "held-out names; recall@k is how often its own name is among the k best.");
  std::vector<int64_t> held = split.val;
  held.insert(held.end(), split.test.begin(), split.test.end());
  std::vector<std::string> held_names;
  for (int64_t i : held) held_names.push_back(small.emoji[i].name);
  const models::ClipRetrieval r = models::evaluate_clip(clip, tok, small.images, held, held_names);
  const double n = static_cast<double>(r.count);
  std::cout << "  " << r.count << " held-out emoji: image->name recall@1 " << std::setprecision(1)
            << 100 * r.image_to_text[0] << "%, @10 " << 100 * r.image_to_text[2] << "% (chance " << 100 / n << "%, "
            << 1000 / n << "%)\n";
  const fs::path shipped = fs::path(ATTN_SOURCE_DIR) / "models/clip-emoji";
  if (fs::exists(shipped / "config.json")) {
    models::LoadedClip m = models::load_clip(shipped.string());
    std::ifstream in(shipped / "eval.json");
    const nlohmann::json e = nlohmann::json::parse(in, nullptr, false);
    if (!e.is_discarded() && e.contains("image_to_text"))
      std::cout << "  models/clip-emoji (trained longer, 32x32): on its " << e.value("emoji", 0)
                << " test emoji, image->name recall@1 " << 100 * e["image_to_text"].value("r1", 0.0) << "%, @10 "
                << 100 * e["image_to_text"].value("r10", 0.0) << "% (its eval.json)\n";
    eo.size = m.model->config().image_size;
    eo.limit = 0;
    const data::EmojiSet full = data::load_emoji(eo);
    const Tensor images = models::clip_image_embeddings(*m.model, full.images, [&] {
      std::vector<int64_t> v(static_cast<size_t>(full.size()));
      std::iota(v.begin(), v.end(), int64_t{0});
      return v;
    }());
    for (const char* q : {"a happy cat", "red heart", "rocket"}) {
      const Tensor s = matmul(images, m.model->get_text_features(models::clip_tokenize(
                                          m.tokenizer, {q}, m.model->config().max_position_embeddings)),
                              false, true);
      std::vector<int64_t> order(static_cast<size_t>(full.size()));
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                        [&](int64_t x, int64_t y) { return s.data()[x] > s.data()[y]; });
      std::cout << "  \"" << q << "\":";
      for (int k = 0; k < 5; ++k) std::cout << "  " << full.emoji[order[k]].text;
      std::cout << "   (best: " << full.emoji[order[0]].name << ")\n";
    }
  }

  // ------------------------------------------------------------------------------------------------
  L.step("Which patches does each word pick?");
  L.say(
      "The score to explain is the cosine y between the picture and the words. Chefer et al.'s relevance follows\n"
      "y's gradient through every attention map of the vision tower (R <- R + E_h[(dy/dA * A)+] R, lesson 05.03)\n"
      "and reads the CLS row: the patches that made this picture match these words. Each word alone gives its own\n"
      "map.");
  const int64_t heart = find_emoji(small, "red heart") >= 0 ? find_emoji(small, "red heart") : split.train[0];
  const explain::ClipExplanation why =
      explain::explain_clip(clip, tok, models::clip_images(small.images, {heart}, cfg), small.emoji[heart].name);
  std::cout << "  " << small.emoji[heart].text << " \"" << small.emoji[heart].name << "\": cosine "
            << std::setprecision(2) << why.similarity << "; each word alone:";
  for (size_t w = 0; w < why.words.size(); ++w) std::cout << " '" << why.words[w] << "' " << why.word_similarity[w];
  std::cout << "\n";
  viz::ImageMapsFigure fig(picture_of(small.images, heart), why.grid, "\"" + small.emoji[heart].name + "\"");
  fig.add("relevance", why.image_relevance).add("attention (last)", why.image_attention);
  for (size_t w = 0; w < why.words.size(); ++w) fig.add("'" + why.words[w] + "'", why.word_relevance[w]);
  fig.save(L.figure("word_relevance.png"));
  L.say(
      "\nTrain it yourself: attn train clip --out out/clip (about 15 minutes here), then attn search \"a happy cat\"\n"
      "--explain why.png, or open the Multimodal tab of attn explore.");
  return 0;
}
