// Listen, Attend and Spell (attn/models/las.h).
#include "attn/models/las.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "attn/attention/scoring.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"
#include "attn/io/safetensors.h"
#include "attn/models/kwt.h"
#include "attn/models/model_folder.h"
#include "attn/nn/checkpoint.h"
#include "attn/ops/ops.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace attn::models {

namespace {
constexpr const char* kOp = "LAS";
}

int64_t LASConfig::num_keys() const {
  int64_t t = features.frames() / stack_frames;
  for (int64_t p = 0; p < pyramid_levels; ++p) t /= 2;
  return t;
}

void LASConfig::validate() const {
  features.validate();
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"stack_frames", stack_frames},
                                {"listener_hidden", listener_hidden},
                                {"speller_hidden", speller_hidden},
                                {"embedding", embedding},
                                {"attention_dim", attention_dim},
                                {"max_letters", max_letters}})
    ATTN_CHECK(v > 0, kOp, name << " must be positive, got " << v);
  ATTN_CHECK(pyramid_levels >= 0 && pyramid_levels <= 4, kOp, "pyramid_levels " << pyramid_levels << " outside 0..4");
  ATTN_CHECK(location_filters >= 0 && location_width >= 1 && location_width % 2 == 1, kOp,
             "location_filters must be >= 0 and location_width odd and positive, got " << location_filters << ", "
                                                                                       << location_width);
  ATTN_CHECK(num_keys() >= 1, kOp,
             features.frames() << " frames leave no encoder step after stacking " << stack_frames << " and "
                               << pyramid_levels << " pyramid levels");
  ATTN_CHECK(!alphabet.empty(), kOp, "the alphabet is empty");
  ATTN_CHECK(texts.size() == id2label.size(), kOp, texts.size() << " spellings for " << id2label.size() << " words");
}

// ---- listener ----

LASListener::LASListener(const LASConfig& c, Generator& gen) : stack_frames(c.stack_frames) {
  auto layers = register_module("layer", std::make_shared<nn::Module>());
  const nn::RNNOptions o = nn::RNNOptions().batch_first(true).bidirectional(true);
  const int64_t H = c.listener_hidden;
  layer.push_back(
      layers->register_module("0", std::make_shared<nn::GRU>(c.stack_frames * c.features.mel.n_mels, H, gen, o)));
  for (int64_t p = 1; p <= c.pyramid_levels; ++p)
    layer.push_back(layers->register_module(std::to_string(p), std::make_shared<nn::GRU>(4 * H, H, gen, o)));
}

Tensor LASListener::forward(const Tensor& features) {
  const int64_t B = features.size(0), M = features.size(2);
  const int64_t unit = stack_frames << (layer.size() - 1);  // frames per key
  const int64_t F = features.size(1) / unit * unit;
  Tensor x = F == features.size(1) ? features : slice(features, 1, 0, F);
  x = reshape(x, {B, F / stack_frames, stack_frames * M});  // (B, F/k, k·M)
  Tensor h = layer[0]->forward(x).output;                   // (B, F/k, 2H)
  for (size_t p = 1; p < layer.size(); ++p) {
    const int64_t T = h.size(1), D = h.size(2);
    h = layer[p]->forward(reshape(h, {B, T / 2, 2 * D})).output;  // neighbours side by side, then a BiGRU
  }
  return h;  // (B, T, 2H)
}

// ---- attention ----

LocationAwareAttention::LocationAwareAttention(const LASConfig& c, Generator& gen) : width(c.location_width) {
  const int64_t A = c.attention_dim;
  query = register_module("query", std::make_shared<nn::Linear>(c.speller_hidden, A, gen, false));
  key = register_module("key", std::make_shared<nn::Linear>(2 * c.listener_hidden, A, gen, true));
  if (c.location_filters > 0) {
    location_conv = register_module("location_conv",
                                    std::make_shared<nn::Linear>(c.location_width, c.location_filters, gen, false));
    location = register_module("location", std::make_shared<nn::Linear>(c.location_filters, A, gen, false));
  }
  v = register_parameter("v", Tensor::empty({A}));
  const float bound = 1.f / std::sqrt(static_cast<float>(A));
  for (int64_t i = 0; i < A; ++i) v.data()[i] = gen.uniform(-bound, bound);
}

Tensor LocationAwareAttention::forward(const Tensor& s, const Tensor& keys_projected, const Tensor& previous) {
  const int64_t B = keys_projected.size(0), T = keys_projected.size(1), A = keys_projected.size(2);
  Tensor e = keys_projected + reshape(query->forward(s), {B, 1, A});  // W s_i + V h_j + b   (B, T, A)
  if (location) {
    // f_i = F * α_{i-1}: the previous alignment, zero-padded, seen through windows of r keys (B, T, r)
    const int64_t left = width / 2;
    const Tensor padded = concat({Tensor::zeros({B, left}), previous, Tensor::zeros({B, width - 1 - left})}, 1);
    std::vector<Tensor> shifted;
    for (int64_t d = 0; d < width; ++d) shifted.push_back(slice(padded, 1, d, d + T));
    const Tensor windows = stack(shifted, 2);                    // (B, T, r)
    e = e + location->forward(location_conv->forward(windows));  // + U f_ij
  }
  return softmax(matmul(tanh(e), v), 1);  // wᵀ tanh(...) -> (B, T)
}

// ---- the model ----

LASForSpelling::LASForSpelling(const LASConfig& config, Generator& gen) : config_(config) {
  config_.validate();
  const LASConfig& c = config_;
  listener = register_module("listener", std::make_shared<LASListener>(c, gen));
  auto speller = register_module("speller", std::make_shared<nn::Module>());
  embedding = speller->register_module("embedding", std::make_shared<nn::Embedding>(c.vocab(), c.embedding, gen));
  cell = speller->register_module(
      "cell", std::make_shared<nn::GRUCell>(c.embedding + 2 * c.listener_hidden, c.speller_hidden, gen));
  attention = speller->register_module("attention", std::make_shared<LocationAwareAttention>(c, gen));
  character_distribution = speller->register_module(
      "character_distribution", std::make_shared<nn::Linear>(c.speller_hidden + 2 * c.listener_hidden, c.vocab(), gen));
}

IndexTensor LASForSpelling::encode(const std::vector<std::string>& texts) const {
  size_t longest = 0;
  for (const std::string& t : texts) longest = std::max(longest, t.size());
  const int64_t B = static_cast<int64_t>(texts.size()), L = static_cast<int64_t>(longest) + 1;
  IndexTensor out(std::vector<int64_t>(static_cast<size_t>(B * L), -100), {B, L});
  for (int64_t b = 0; b < B; ++b) {
    const std::string& t = texts[static_cast<size_t>(b)];
    for (size_t i = 0; i < t.size(); ++i) {
      const size_t at = config_.alphabet.find(t[i]);
      ATTN_CHECK(at != std::string::npos, kOp,
                 "'" << t << "' has a letter outside the alphabet \"" << config_.alphabet << "\"");
      out.data[static_cast<size_t>(b * L) + i] = 2 + static_cast<int64_t>(at);
    }
    out.data[static_cast<size_t>(b * L) + t.size()] = kEos;
  }
  return out;
}

namespace {

void check_features(const LASConfig& c, const Tensor& features) {
  ATTN_CHECK(features.defined() && features.dim() == 3 && features.size(1) == c.features.frames() &&
                 features.size(2) == c.features.mel.n_mels,
             kOp,
             "features must be (B, " << c.features.frames() << ", " << c.features.mel.n_mels << "), got "
                                     << (features.defined() ? shape_str(features.shape()) : std::string("undefined")));
}

Tensor context_of(const Tensor& alignment, const Tensor& h) {  // Σ_j α_ij h_j: (B, T), (B, T, 2H) -> (B, 2H)
  return squeeze(matmul(unsqueeze(alignment, 1), h), 1);
}

}  // namespace

Tensor LASForSpelling::forward(const Tensor& features, const IndexTensor& targets, std::vector<Tensor>* alignments) {
  check_features(config_, features);
  ATTN_CHECK(targets.dim() == 2 && targets.shape[0] == features.size(0), kOp,
             "targets must be (B, L) with B = " << features.size(0));
  const int64_t B = targets.shape[0], L = targets.shape[1], T = config_.num_keys();
  // Inputs: <sos>, then each true letter (teacher forcing); past a word's end the input does not matter.
  IndexTensor inputs(std::vector<int64_t>(static_cast<size_t>(B * L), kEos), {B, L});
  for (int64_t b = 0; b < B; ++b) {
    inputs.data[static_cast<size_t>(b * L)] = kSos;
    for (int64_t i = 1; i < L; ++i) {
      const int64_t prev = targets.data[static_cast<size_t>(b * L + i - 1)];
      if (prev >= 0) inputs.data[static_cast<size_t>(b * L + i)] = prev;
    }
  }
  const Tensor h = listener->forward(features);    // (B, T, 2H)
  const Tensor keys = attention->key->forward(h);  // (B, T, A), once per utterance
  const Tensor emb = embedding->forward(inputs);   // (B, L, E)
  Tensor s = Tensor::zeros({B, config_.speller_hidden});
  Tensor c = Tensor::zeros({B, h.size(2)});
  Tensor alpha = Tensor::zeros({B, T});
  std::vector<Tensor> logits;
  for (int64_t i = 0; i < L; ++i) {
    s = cell->forward(concat({squeeze(slice(emb, 1, i, i + 1), 1), c}, 1),
                      s);                                                  // s_i = GRU([y_{i-1}; c_{i-1}], s_{i-1})
    alpha = attention->forward(s, keys, alpha);                            // α_i (B, T)
    c = context_of(alpha, h);                                              // c_i (B, 2H)
    logits.push_back(character_distribution->forward(concat({s, c}, 1)));  // (B, V)
    if (alignments) alignments->push_back(alpha);
  }
  return stack(logits, 1);  // (B, L, V)
}

Tensor LASForSpelling::loss(const Tensor& features, const IndexTensor& targets, float label_smoothing) {
  const Tensor logits = forward(features, targets);
  const int64_t B = targets.shape[0], L = targets.shape[1];
  IndexTensor flat(targets.data, {B * L});
  return cross_entropy(reshape(logits, {B * L, config_.vocab()}), flat,
                       CrossEntropyOptions().smoothing(label_smoothing));
}

LASDecoded LASForSpelling::greedy_decode(const Tensor& features) {
  check_features(config_, features);
  NoGradGuard ng;
  const int64_t B = features.size(0), T = config_.num_keys(), V = config_.vocab();
  const Tensor h = listener->forward(features);
  const Tensor keys = attention->key->forward(h);
  Tensor s = Tensor::zeros({B, config_.speller_hidden});
  Tensor c = Tensor::zeros({B, h.size(2)});
  Tensor alpha = Tensor::zeros({B, T});
  std::vector<int64_t> prev(static_cast<size_t>(B), kSos);
  std::vector<bool> done(static_cast<size_t>(B), false);
  LASDecoded out;
  out.text.assign(static_cast<size_t>(B), "");
  out.alignment.assign(static_cast<size_t>(B), {});
  for (int64_t i = 0; i <= config_.max_letters; ++i) {
    const Tensor e = embedding->forward(IndexTensor(prev, {B}));  // (B, E)
    s = cell->forward(concat({e, c}, 1), s);
    alpha = attention->forward(s, keys, alpha);
    c = context_of(alpha, h);
    const Tensor logits = character_distribution->forward(concat({s, c}, 1));  // (B, V)
    bool all = true;
    for (int64_t b = 0; b < B; ++b) {
      if (done[static_cast<size_t>(b)]) continue;
      const float* row = logits.data() + b * V;
      int64_t best = kEos;  // <sos> is never a letter: the argmax over <eos> and the alphabet
      for (int64_t v = kEos; v < V; ++v)
        if (row[v] > row[best]) best = v;
      auto& a = out.alignment[static_cast<size_t>(b)];
      a.insert(a.end(), alpha.data() + b * T, alpha.data() + (b + 1) * T);
      if (best == kEos || i == config_.max_letters) {
        done[static_cast<size_t>(b)] = true;
      } else {
        out.text[static_cast<size_t>(b)] += config_.alphabet[static_cast<size_t>(best - 2)];
        prev[static_cast<size_t>(b)] = best;
        all = false;
      }
    }
    if (all) break;
  }
  return out;
}

int64_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<int64_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diag = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

namespace {

void score(LASForSpelling& model, const Tensor& features, const std::vector<int64_t>& labels, LASEvaluation* r,
           int64_t* errors, int64_t* chars, double* loss_sum) {
  const LASConfig& c = model.config();
  std::vector<std::string> refs;
  for (int64_t l : labels) refs.push_back(c.texts.at(static_cast<size_t>(l)));
  const LASDecoded d = model.greedy_decode(features);
  for (size_t i = 0; i < refs.size(); ++i) {
    *errors += edit_distance(d.text[i], refs[i]);
    *chars += static_cast<int64_t>(refs[i].size());
    r->word_accuracy += d.text[i] == refs[i];
    r->spelled.push_back(d.text[i]);
  }
  NoGradGuard ng;
  *loss_sum += model.loss(features, model.encode(refs)).item() * static_cast<double>(refs.size());
  r->count += static_cast<int64_t>(refs.size());
}

LASEvaluation finish(LASEvaluation r, int64_t errors, int64_t chars, double loss_sum) {
  r.cer = chars ? static_cast<double>(errors) / static_cast<double>(chars) : 0.0;
  if (r.count) {
    r.word_accuracy /= static_cast<double>(r.count);
    r.loss = loss_sum / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace

LASEvaluation evaluate_las(LASForSpelling& model, const std::vector<audio::Utterance>& data,
                           const audio::MelSpectrogram& mel) {
  ATTN_CHECK(!data.empty(), kOp, "nothing to evaluate");
  nn::ModeGuard mode(model);
  model.eval();
  LASEvaluation r;
  int64_t errors = 0, chars = 0;
  double loss_sum = 0;
  const int64_t n = static_cast<int64_t>(data.size()), chunk = 256;
  for (int64_t s = 0; s < n; s += chunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(chunk, n - s)));
    std::iota(idx.begin(), idx.end(), s);
    const audio::SpeechBatch b = audio::make_speech_batch(data, idx, model.config().features, mel);
    score(model, b.features, b.labels.data, &r, &errors, &chars, &loss_sum);
  }
  return finish(std::move(r), errors, chars, loss_sum);
}

LASEvaluation evaluate_las(LASForSpelling& model, const std::vector<Tensor>& features,
                           const std::vector<int64_t>& labels) {
  ATTN_CHECK(!features.empty() && features.size() == labels.size(), kOp,
             features.size() << " inputs for " << labels.size() << " labels");
  nn::ModeGuard mode(model);
  model.eval();
  LASEvaluation r;
  int64_t errors = 0, chars = 0;
  double loss_sum = 0;
  score(model, concat(features, 0), labels, &r, &errors, &chars, &loss_sum);
  return finish(std::move(r), errors, chars, loss_sum);
}

// ---- folders ----

namespace {

json config_json(const LASConfig& c) {
  return {{"model_type", "las"},
          {"architecture", "las"},
          {"architectures", {"LASForSpelling"}},
          {"features", speech_features_json(c.features)},
          {"stack_frames", c.stack_frames},
          {"pyramid_levels", c.pyramid_levels},
          {"listener_hidden", c.listener_hidden},
          {"speller_hidden", c.speller_hidden},
          {"embedding", c.embedding},
          {"attention_dim", c.attention_dim},
          {"location_filters", c.location_filters},
          {"location_width", c.location_width},
          {"max_letters", c.max_letters},
          {"alphabet", c.alphabet},
          {"id2label", c.id2label},
          {"texts", c.texts}};
}

LASConfig config_from(const json& j, const std::string& path) {
  return parse_folder_config<LASConfig>(kOp, path, [&](LASConfig& c) {
    ATTN_CHECK(j.value("architecture", std::string()) == "las", kOp,
               path << ": architecture is '" << j.value("architecture", std::string("(none)")) << "', not las");
    c.features = speech_features_from_json(j.at("features"), path);
    c.stack_frames = j.at("stack_frames");
    c.pyramid_levels = j.at("pyramid_levels");
    c.listener_hidden = j.at("listener_hidden");
    c.speller_hidden = j.at("speller_hidden");
    c.embedding = j.at("embedding");
    c.attention_dim = j.at("attention_dim");
    c.location_filters = j.at("location_filters");
    c.location_width = j.at("location_width");
    c.max_letters = j.at("max_letters");
    c.alphabet = j.at("alphabet").get<std::string>();
    c.id2label = j.at("id2label").get<std::vector<std::string>>();
    c.texts = j.at("texts").get<std::vector<std::string>>();
  });
}

}  // namespace

LoadedLAS load_las(const std::string& dir) {
  const LASConfig c =
      config_from(read_folder_config(dir, kOp, "LAS", "train one with: attn train audio --arch las --out DIR"),
                  (fs::path(dir) / "config.json").string());
  LoadedLAS out;
  out.dir = dir;
  Generator gen(0);
  out.model = std::make_unique<LASForSpelling>(c, gen);
  load_folder_weights(*out.model, dir, kOp);
  return out;
}

void save_las(const std::string& dir, const LASForSpelling& model, const std::string& extra_config,
              const std::map<std::string, std::string>& weights_metadata) {
  save_folder(dir, model, config_json(model.config()), extra_config, io::StoreDtype::F32, weights_metadata, kOp);
}

std::string audio_model_architecture(const std::string& dir) {
  const json j = read_folder_config(dir, "audio model", "audio", "train one with: attn train audio --out DIR");
  const std::string a = j.value("architecture", std::string());
  ATTN_CHECK(a == "kwt" || a == "las", "audio model",
             (fs::path(dir) / "config.json").string() << ": architecture '" << a << "' is neither kwt nor las");
  return a;
}

}  // namespace attn::models
