// The models: a GPT (an `attn train gpt` folder or a Hugging Face GPT-2 folder), the German→English
// translation models, and the Vision Transformer — loaded from their folders, run, and their attention read.
// Long calls (generation, translation, forward passes) release the GIL.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/data/char_tokenizer.h"
#include "attn/data/emoji.h"
#include "attn/explain/clip_explain.h"
#include "attn/explain/vit_explain.h"
#include "attn/models/clip.h"
#include "attn/models/gpt_loader.h"
#include "attn/models/translation_model.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "convert.h"

namespace attn::python {

std::string repo_root() {
  const char* env = std::getenv("ATTN_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(ATTN_SOURCE_DIR);
}

namespace {

// (T) or (B, T) token ids -> (B, T).
IndexTensor batch_ids(py::handle ids, const char* arg) {
  IndexTensor t = to_index(ids, arg);
  if (t.dim() == 1) t.shape = {1, t.shape[0]};
  if (t.dim() != 2) throw py::value_error(std::string(arg) + ": expected token ids of shape (T) or (B, T)");
  if (t.numel() == 0) throw py::value_error(std::string(arg) + " is empty");
  return t;
}

struct PyGPT {
  std::shared_ptr<models::LoadedGPT> loaded;
  std::shared_ptr<data::CharTokenizer> chars;  // set for a model made here by GPT.from_text (it can be saved)
  models::GPT& model() { return *loaded->model; }

  std::vector<int64_t> encode(const std::string& text) const {
    std::vector<int64_t> ids = loaded->tokenizer.encode(text);
    return ids;
  }
  std::string decode(const std::vector<int64_t>& ids) const {
    const int64_t V = loaded->model->config().vocab_size;
    std::string out;
    for (int64_t id : ids) {
      if (id < 0 || id >= V)
        throw py::value_error("decode: id " + std::to_string(id) + " is outside the vocabulary [0, " +
                              std::to_string(V) + ")");
      out += loaded->tokenizer.bytes(id);
    }
    return out;
  }
};

// The model's forward pass without gradients, the GIL released: logits, and every layer's attention if asked.
models::GPTOutput gpt_forward(PyGPT& g, const IndexTensor& ids, bool record_attention) {
  py::gil_scoped_release nogil;
  NoGradGuard no_grad;
  return g.model().forward(ids, record_attention);
}

// Token ids and their next-token targets, (T) or (B, T) each, of the same shape.
std::pair<IndexTensor, IndexTensor> ids_and_targets(py::handle ids, py::handle targets) {
  IndexTensor x = batch_ids(ids, "ids"), y = batch_ids(targets, "targets");
  if (x.shape != y.shape) throw py::value_error("targets must have the shape of ids");
  return {std::move(x), std::move(y)};
}

py::dict gpt_config(const models::GPTConfig& c) {
  py::dict d;
  d["vocab_size"] = c.vocab_size;
  d["n_layer"] = c.n_layer;
  d["n_head"] = c.n_head;
  d["n_embd"] = c.n_embd;
  d["block_size"] = c.block_size;
  d["n_kv_head"] = c.kv_heads();
  d["rope"] = c.rope;
  return d;
}

struct PyViT {
  std::shared_ptr<models::LoadedViT> loaded;
};

// Pixels (H, W) grey (when `grey` is allowed) or (H, W, 3) RGB, 0..255 -> a picture of bytes.
viz::Image picture_of(py::handle pixels, bool grey) {
  py::array a = py::module_::import("numpy").attr("asarray")(pixels);
  if (!(grey && a.ndim() == 2) && !(a.ndim() == 3 && a.shape(2) == 3))
    throw py::value_error(grey ? "pixels: expected (H, W) grey or (H, W, 3) RGB values in 0..255"
                               : "pixels: expected (H, W, 3) RGB values in 0..255");
  auto px = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  viz::Image img;
  img.height = static_cast<int>(a.shape(0));
  img.width = static_cast<int>(a.shape(1));
  img.pixels.resize(static_cast<size_t>(img.height) * img.width);
  const float* p = px.data();
  auto byte = [](float x) { return static_cast<uint8_t>(std::clamp(x, 0.f, 255.f) + 0.5f); };
  for (size_t i = 0; i < img.pixels.size(); ++i) {
    if (a.ndim() == 2) img.pixels[i] = {byte(p[i]), byte(p[i]), byte(p[i])};
    else img.pixels[i] = {byte(p[3 * i]), byte(p[3 * i + 1]), byte(p[3 * i + 2])};
  }
  return img;
}

// Pixels (H, W) grey or (H, W, 3) RGB, 0..255 -> the model's normalized input (1, C, H, W).
Tensor preprocess_pixels(const PyViT& v, py::handle pixels) {
  return models::image_to_tensor(picture_of(pixels, true), v.loaded->preprocess,
                                 v.loaded->model->config().num_channels, "pixels");
}

struct PyClip {
  std::shared_ptr<models::LoadedClip> loaded;
  std::shared_ptr<data::EmojiSet> emoji;  // drawn on the first search, at the model's size
  Tensor image_embeds;                    // (N, E) of `emoji`
};

// Pixels (H, W, 3) 0..255, any size -> the model's normalized input (1, 3, S, S), resized bilinearly.
Tensor clip_pixels(const PyClip& c, py::handle pixels) {
  return models::image_to_tensor(picture_of(pixels, false), models::clip_preprocess(c.loaded->model->config()), 3,
                                 "pixels");
}

py::array_t<float> grid_array(const std::vector<float>& v, int64_t g) {
  py::array_t<float> a({g, g});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

}  // namespace

void bind_models(py::module_& m) {
  py::class_<PyGPT>(m, "GPT", R"doc(
A GPT (GPT-2's architecture; options RoPE and grouped-query attention) with its tokenizer.
GPT.load(dir) opens an `attn train gpt` folder or a Hugging Face GPT-2 folder (config.json + model.safetensors).
)doc")
      .def_static(
          "load",
          [](const std::string& dir) {
            models::LoadedGPT g;
            {
              py::gil_scoped_release nogil;
              g = models::load_gpt(dir, repo_root());
            }
            return PyGPT{std::make_shared<models::LoadedGPT>(std::move(g)), nullptr};
          },
          py::arg("dir"))
      .def_static(
          "from_text",
          [](const std::string& text, int64_t n_layer, int64_t n_head, int64_t n_embd, int64_t block_size,
             int64_t n_kv_head, bool rope, float dropout, uint64_t seed) {
            if (text.empty()) throw py::value_error("text is empty: the character vocabulary comes from it");
            auto chars = std::make_shared<data::CharTokenizer>(data::CharTokenizer::from_text(text));
            models::GPTConfig c;
            c.vocab_size = chars->vocab_size();
            c.n_layer = n_layer;
            c.n_head = n_head;
            c.n_embd = n_embd;
            c.block_size = block_size;
            c.n_kv_head = n_kv_head;
            c.rope = rope;
            c.dropout = dropout;
            c.validate();
            Generator gen(seed);
            auto loaded = std::make_shared<models::LoadedGPT>();
            loaded->model = std::make_unique<models::GPT>(c, gen, seed);
            loaded->tokenizer = models::char_text_tokenizer(chars);
            loaded->format = "attn";
            return PyGPT{loaded, chars};
          },
          py::arg("text"), py::arg("n_layer") = 2, py::arg("n_head") = 4, py::arg("n_embd") = 64,
          py::arg("block_size") = 64, py::arg("n_kv_head") = 0, py::arg("rope") = false, py::arg("dropout") = 0.f,
          py::arg("seed") = 0,
          "A new character-level GPT (GPT-2's init, seeded) whose vocabulary is the characters of `text`; in training "
          "mode. Train it with loss_tensor + AdamW, or explore_attention.train.train_gpt; save it with save(dir)")
      .def(
          "save",
          [](PyGPT& g, const std::string& dir, const std::string& train_json, int64_t step) {
            if (!g.chars) throw py::value_error("save: only a GPT made by GPT.from_text can be saved from Python");
            py::gil_scoped_release nogil;
            models::save_char_gpt(dir, g.model(), *g.chars, train_json, step);
            g.loaded->dir = dir;
          },
          py::arg("dir"), py::arg("train_json") = "{}", py::arg("step") = 0,
          "Writes an `attn train gpt` folder (config.json, model.safetensors, tokenizer.json): GPT.load, `attn "
          "generate` "
          "and the explorer open it")
      .def(
          "loss_tensor",
          [](PyGPT& g, py::handle ids, py::handle targets) {
            const auto [x, y] = ids_and_targets(ids, targets);
            py::gil_scoped_release nogil;
            return g.model().loss(x, y);
          },
          py::arg("ids"), py::arg("targets"),
          "The mean next-token cross-entropy as a Tensor with its graph: loss.backward() fills the parameters' .grad "
          "(dropout follows module.train() / module.eval())")
      .def_static(
          "default_dir", []() { return models::default_gpt_dir(repo_root()); },
          "The folder the explorer opens by default (models/gpt-words, else models/gpt-moby-dick)")
      .def_property_readonly("config", [](PyGPT& g) { return gpt_config(g.model().config()); })
      .def_property_readonly("tokenizer_kind", [](const PyGPT& g) { return g.loaded->tokenizer.kind; })
      .def_property_readonly("dir", [](const PyGPT& g) { return g.loaded->dir; })
      .def_property_readonly(
          "module",
          [](PyGPT& g) {
            return std::shared_ptr<nn::Module>(g.loaded, g.loaded->model.get());  // shares ownership with this GPT
          },
          "The model as a Module (named_parameters, state_dict with GPT-2's names)")
      .def("encode", &PyGPT::encode, py::arg("text"), "Text -> token ids")
      .def("decode", &PyGPT::decode, py::arg("ids"), "Token ids -> text")
      .def(
          "tokens",
          [](const PyGPT& g, const std::string& text) {
            std::vector<std::string> labels;
            for (int64_t id : g.loaded->tokenizer.encode(text)) labels.push_back(g.loaded->tokenizer.label(id));
            return labels;
          },
          py::arg("text"), "Each token of `text` as a label")
      .def(
          "forward",
          [](PyGPT& g, py::handle ids, bool output_attentions) -> py::object {
            const models::GPTOutput out = gpt_forward(g, batch_ids(ids, "ids"), output_attentions);
            if (!output_attentions) return py::cast(out.logits);
            return py::make_tuple(out.logits, out.attentions);
          },
          py::arg("ids"), py::arg("output_attentions") = false,
          "ids (T) or (B, T) -> logits (B, T, V); with output_attentions also a list of (B, H, T, T), one per layer")
      .def(
          "attentions",
          [](PyGPT& g, const std::string& text) {
            IndexTensor x(g.encode(text));
            if (x.numel() == 0) throw py::value_error("text encodes to no tokens");
            x.shape = {1, x.numel()};
            const models::GPTOutput out = gpt_forward(g, x, true);
            std::vector<Tensor> per_layer;
            for (const Tensor& a : out.attentions) per_layer.push_back(attn::squeeze(a, 0));  // (H, T, T)
            return per_layer;
          },
          py::arg("text"), "Every layer's attention on `text`: a list of (H, T, T)")
      .def(
          "loss",
          [](PyGPT& g, py::handle ids, py::handle targets) {
            const auto [x, y] = ids_and_targets(ids, targets);
            NoGradGuard no_grad;
            py::gil_scoped_release nogil;
            return g.model().loss(x, y).item();
          },
          py::arg("ids"), py::arg("targets"), "Mean next-token cross-entropy (targets -100 ignored)")
      .def(
          "generate",
          [](PyGPT& g, const std::string& prompt, int64_t max_new_tokens, float temperature, int64_t top_k, float top_p,
             uint64_t seed) {
            if (max_new_tokens < 0) throw py::value_error("max_new_tokens must be >= 0");
            std::vector<int64_t> ids = g.encode(prompt);
            if (ids.empty()) throw py::value_error("prompt encodes to no tokens");
            models::GenerateOptions o;
            o.with_temperature(temperature).with_top_k(top_k).with_top_p(top_p).with_seed(seed);
            std::vector<int64_t> out;
            {
              py::gil_scoped_release nogil;
              out = g.model().generate(ids, max_new_tokens, o);
            }
            return g.decode(out);
          },
          py::arg("prompt"), py::arg("max_new_tokens") = 50, py::arg("temperature") = 1.f, py::arg("top_k") = 0,
          py::arg("top_p") = 1.f, py::arg("seed") = 0,
          "The text that follows `prompt` (temperature 0 = greedy), with a KV cache");

  py::class_<models::TranslationModel, std::shared_ptr<models::TranslationModel>>(m, "TranslationModel", R"doc(
A German→English translation model folder (`attn train translate`): a GRU encoder-decoder with or without
attention, or a Transformer. TranslationModel.load("models/translate-transformer").
)doc")
      .def_static(
          "load",
          [](const std::string& dir) {
            py::gil_scoped_release nogil;
            return std::make_shared<models::TranslationModel>(models::TranslationModel::load(dir));
          },
          py::arg("dir"))
      .def_property_readonly("arch", &models::TranslationModel::arch)
      .def_property_readonly(
          "module",
          [](std::shared_ptr<models::TranslationModel> t) { return std::shared_ptr<nn::Module>(t, &t->module()); })
      .def(
          "translate",
          [](models::TranslationModel& t, py::object sources, int64_t beam, float length_penalty) -> py::object {
            if (beam < 1) throw py::value_error("beam must be >= 1");
            const bool one = py::isinstance<py::str>(sources);
            std::vector<std::string> in =
                one ? std::vector<std::string>{sources.cast<std::string>()} : sources.cast<std::vector<std::string>>();
            std::vector<std::string> out;
            {
              py::gil_scoped_release nogil;
              out = t.translate(in, 64, beam, length_penalty);
            }
            if (one) return py::str(out.at(0));
            return py::cast(out);
          },
          py::arg("sources"), py::arg("beam") = 1, py::arg("length_penalty") = models::kDefaultLengthPenalty,
          "A German sentence (or a list) -> its English translation(s); beam > 1: beam search")
      .def(
          "attention",
          [](models::TranslationModel& t, const std::string& source, int64_t beam) {
            models::TranslationModel::Attention a;
            {
              py::gil_scoped_release nogil;
              a = t.attention(source, beam);
            }
            py::dict d;
            d["translation"] = a.translation;
            d["source_tokens"] = a.source_tokens;
            d["target_tokens"] = a.target_tokens;
            d["cross"] = a.cross.defined() ? py::cast(a.cross) : py::none();
            d["encoder_self"] = a.encoder_self;
            d["decoder_self"] = a.decoder_self;
            return d;
          },
          py::arg("source"), py::arg("beam") = 1,
          "{translation, source_tokens, target_tokens, cross (L, H, T, S), encoder_self [(H, S, S)], decoder_self "
          "[(H, T, T)]}");

  py::class_<PyViT>(m, "ViT", R"doc(
A Vision Transformer (Hugging Face's ViTForImageClassification layout): ViT.load("models/vit-fashion-mnist").
preprocess(pixels) turns 0..255 pixels into the normalized input (1, C, H, W); forward / predict / attentions take it.
)doc")
      .def_static(
          "load",
          [](const std::string& dir) {
            models::LoadedViT v;
            {
              py::gil_scoped_release nogil;
              v = models::load_vit(dir);
            }
            return PyViT{std::make_shared<models::LoadedViT>(std::move(v))};
          },
          py::arg("dir"))
      .def_property_readonly("labels",
                             [](const PyViT& v) {
                               std::vector<std::string> names;
                               const auto& c = v.loaded->model->config();
                               for (int64_t k = 0; k < c.num_labels; ++k) names.push_back(c.label(k));
                               return names;
                             })
      .def_property_readonly(
          "config",
          [](const PyViT& v) {
            const auto& c = v.loaded->model->config();
            py::dict d;
            d["image_size"] = c.image_size;
            d["patch_size"] = c.patch_size;
            d["num_channels"] = c.num_channels;
            d["hidden_size"] = c.hidden_size;
            d["num_hidden_layers"] = c.num_hidden_layers;
            d["num_attention_heads"] = c.num_attention_heads;
            d["intermediate_size"] = c.intermediate_size;
            d["num_labels"] = c.num_labels;
            return d;
          },
          "Its sizes, with Hugging Face's config.json names")
      .def_property_readonly("module",
                             [](PyViT& v) { return std::shared_ptr<nn::Module>(v.loaded, v.loaded->model.get()); })
      .def("preprocess", &preprocess_pixels, py::arg("pixels"))
      .def(
          "forward",
          [](PyViT& v, py::handle images, bool output_attentions) -> py::object {
            Tensor x = to_tensor(images, "images");
            check_rank(x, {4}, "images", "(B, C, H, W)");
            models::ViTForwardOptions o;
            o.output_attentions = output_attentions;
            models::ImageClassifierOutput out;
            {
              py::gil_scoped_release nogil;
              NoGradGuard no_grad;
              out = v.loaded->model->forward(x, o);
            }
            if (!output_attentions) return py::cast(out.logits);
            return py::make_tuple(out.logits, out.attentions);
          },
          py::arg("images"), py::arg("output_attentions") = false,
          "images (B, C, H, W), normalized -> logits (B, K); with output_attentions also [(B, H, T, T)] per layer")
      .def(
          "explain",
          [](PyViT& v, py::handle image, const std::string& method, int64_t target) {
            Tensor x = to_tensor(image, "image");
            check_rank(x, {3, 4}, "image", "(1, C, H, W) or (C, H, W), normalized");
            if (x.dim() == 4 && x.size(0) != 1) throw py::value_error("image: one picture at a time (batch of 1)");
            explain::ViTTrace t;
            std::vector<float> scores;
            {
              py::gil_scoped_release nogil;
              t = explain::trace_vit(*v.loaded->model, x, target);
              Generator gen(1);
              scores = explain::vit_patch_scores(method, t, &gen);
            }
            const int64_t g = v.loaded->model->config().grid();
            py::array_t<float> grid({g, g});
            std::copy(scores.begin(), scores.end(), grid.mutable_data());
            py::dict d;
            d["scores"] = grid;
            d["predicted"] = t.predicted;
            d["target"] = t.target;
            return d;
          },
          py::arg("image"), py::arg("method") = "relevance", py::arg("target") = -1,
          "One score per patch, (grid, grid), for the class `target` (-1: the predicted one). Methods: raw_attention, "
          "rollout, flow, grad_x_input, grad_cam, relevance (Chefer et al.), random")
      .def(
          "faithfulness",
          [](PyViT& v, py::handle pixels, py::handle labels, std::vector<std::string> methods, uint64_t seed) {
            py::array a = py::module_::import("numpy").attr("asarray")(pixels);
            if (a.ndim() != 3) throw py::value_error("pixels: expected (N, H, W) grey pictures with values 0..255");
            auto px = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
            data::ImageDataset d;
            d.channels = 1;
            d.height = a.shape(1);
            d.width = a.shape(2);
            d.pixels.assign(px.data(), px.data() + px.size());
            d.labels = to_index(labels, "labels").data;
            if (d.size() != a.shape(0))
              throw py::value_error("labels: one per picture (" + std::to_string(a.shape(0)) + ")");
            const int64_t K = v.loaded->model->config().num_labels;
            for (int64_t y : d.labels)
              if (y < 0 || y >= K)
                throw py::value_error("labels: " + std::to_string(y) + " is not a class 0.." + std::to_string(K - 1));
            std::vector<explain::FaithfulnessSummary> out;
            {
              py::gil_scoped_release nogil;
              out = explain::vit_faithfulness(*v.loaded->model, d, v.loaded->preprocess, methods, d.size(), seed);
            }
            std::vector<py::dict> rows;
            for (const explain::FaithfulnessSummary& f : out) {
              py::dict r;
              r["method"] = f.method;
              r["examples"] = f.examples;
              r["positive_auc"] = f.positive_auc;
              r["negative_auc"] = f.negative_auc;
              r["deletion_auc"] = f.deletion_auc;
              r["insertion_auc"] = f.insertion_auc;
              r["positive"] = f.positive;
              r["negative"] = f.negative;
              rows.push_back(r);
            }
            return rows;
          },
          py::arg("pixels"), py::arg("labels"), py::arg("methods"), py::arg("seed") = 1,
          "The perturbation tests (attn explain --faithfulness) on these pictures (N, H, W) 0..255 with their true "
          "labels "
          "(N): each method explains the model's own prediction; the accuracy curves "
          "as the most (positive) or least (negative) relevant patches are removed, and their areas. A faithful map "
          "has a "
          "low positive and a high negative area");

  py::class_<PyClip>(m, "CLIP", R"doc(
A CLIP-style image+text dual encoder (attn train clip): CLIP.load("models/clip-emoji"). search("a happy cat") finds
emoji by words; image_features / text_features are the unit embeddings whose dot products are cosine similarities;
explain(pixels, words) says which patches made a picture match the words (Chefer et al.'s relevance).
)doc")
      .def_static(
          "load",
          [](const std::string& dir) {
            models::LoadedClip c;
            {
              py::gil_scoped_release nogil;
              c = models::load_clip(dir);
            }
            return PyClip{std::make_shared<models::LoadedClip>(std::move(c)), nullptr, Tensor()};
          },
          py::arg("dir"))
      .def_property_readonly(
          "config",
          [](const PyClip& c) {
            const models::ClipConfig& k = c.loaded->model->config();
            py::dict d;
            d["image_size"] = k.image_size;
            d["patch_size"] = k.patch_size;
            d["projection_dim"] = k.projection_dim;
            d["vision_layers"] = k.vision_layers;
            d["text_layers"] = k.text_layers;
            d["vocab_size"] = k.vocab_size;
            d["temperature_inverse"] = c.loaded->model->temperature_inverse();
            return d;
          },
          "Its sizes, and exp(logit_scale)")
      .def_property_readonly("module",
                             [](PyClip& c) { return std::shared_ptr<nn::Module>(c.loaded, c.loaded->model.get()); })
      .def("preprocess", &clip_pixels, py::arg("pixels"),
           "Pixels (H, W, 3) 0..255, any size -> the normalized input (1, 3, S, S)")
      .def(
          "image_features",
          [](PyClip& c, py::handle images) {
            Tensor x = to_tensor(images, "images");
            check_rank(x, {4}, "images", "(B, 3, S, S), normalized");
            py::gil_scoped_release nogil;
            NoGradGuard no_grad;
            c.loaded->model->eval();
            return c.loaded->model->get_image_features(x);
          },
          py::arg("images"), "(B, 3, S, S) normalized -> (B, E) unit rows")
      .def(
          "text_features",
          [](PyClip& c, const std::vector<std::string>& texts) {
            py::gil_scoped_release nogil;
            return models::clip_text_embeddings(*c.loaded->model, c.loaded->tokenizer, texts);
          },
          py::arg("texts"), "A list of texts -> (B, E) unit rows")
      .def(
          "search",
          [](PyClip& c, const std::string& words, int64_t k, const std::string& split) {
            if (k < 1) throw py::value_error("k must be >= 1");
            if (split != "all" && split != "train" && split != "val" && split != "test")
              throw py::value_error("split must be all, train, val or test, got '" + split + "'");
            std::vector<std::pair<int64_t, float>> best;
            {
              py::gil_scoped_release nogil;
              if (!c.emoji) {
                data::EmojiOptions eo;
                eo.size = c.loaded->model->config().image_size;
                c.emoji = std::make_shared<data::EmojiSet>(data::load_emoji(eo));
                c.image_embeds = models::clip_image_embeddings(*c.loaded->model, c.emoji->images,
                                                               data::emoji_split(*c.emoji, {}, "all"));
              }
              const Tensor t = models::clip_text_embeddings(*c.loaded->model, c.loaded->tokenizer, {words});
              best = models::clip_nearest(c.image_embeds, t, data::emoji_split(*c.emoji, data::split_emoji(*c.emoji), split), k);
            }
            std::vector<py::dict> out;
            const int64_t S = c.emoji->images.height;
            for (const auto& [e, similarity] : best) {
              py::dict d;
              d["index"] = e;
              d["emoji"] = c.emoji->emoji[e].text;
              d["name"] = c.emoji->emoji[e].name;
              d["similarity"] = similarity;
              py::array_t<uint8_t> px({S, S, int64_t{3}});
              const uint8_t* src = c.emoji->images.image(e);
              for (int64_t y = 0; y < S * S; ++y)
                for (int64_t ch = 0; ch < 3; ++ch) px.mutable_data()[y * 3 + ch] = src[ch * S * S + y];
              d["pixels"] = px;
              out.push_back(d);
            }
            return out;
          },
          py::arg("words"), py::arg("k") = 10, py::arg("split") = "all",
          "The k emoji (of Debian's fonts-noto-color-emoji) nearest the words: [{index, emoji, name, similarity, "
          "pixels (S, S, 3)}], best first; split: all, or the training run's train / val / test")
      .def(
          "explain",
          [](PyClip& c, py::handle pixels, const std::string& words) {
            const Tensor x = clip_pixels(c, pixels);
            explain::ClipExplanation e;
            {
              py::gil_scoped_release nogil;
              e = explain::explain_clip(*c.loaded->model, c.loaded->tokenizer, x, words);
            }
            py::dict d;
            d["similarity"] = e.similarity;
            d["image_relevance"] = grid_array(e.image_relevance, e.grid);
            d["image_attention"] = grid_array(e.image_attention, e.grid);
            d["tokens"] = e.tokens;
            d["text_relevance"] = e.text_relevance;
            d["text_attention"] = e.text_attention;
            d["words"] = e.words;
            std::vector<py::array_t<float>> per_word;
            for (const auto& r : e.word_relevance) per_word.push_back(grid_array(r, e.grid));
            d["word_relevance"] = per_word;
            d["word_similarity"] = e.word_similarity;
            return d;
          },
          py::arg("pixels"), py::arg("words"),
          "Why a picture (H, W, 3) 0..255 matches the words: the cosine, Chefer et al.'s relevance and the raw attention "
          "over the patches (grid, grid), each word's own relevance, each token's relevance in the text tower");
}

}  // namespace attn::python
