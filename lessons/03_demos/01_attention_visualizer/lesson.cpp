// Lesson 03.01 — An attention visualizer: the head view, the model view and the neuron view of one sentence.
//
// BertViz (Vig 2019) drew attention three ways, and the Attention Explorer draws them the same way. This
// lesson makes each one from the library, as figures, then writes the explorer's page for the same sentence
// as one standalone HTML file (`attn viz`) that opens offline:
//   1. the head view: every head of one layer, as T × T matrices;
//   2. the model view: every layer × head at once, small multiples;
//   3. the neuron view: where one attention row comes from, q ⊙ k dimension by dimension;
//   4. the standalone page.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/explain/neuron_view.h"
#include "attn/models/gpt_loader.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  Lesson L(argc, argv, "An attention visualizer: head, model and neuron views of a sentence");
  const std::string model_dir = (fs::path(ATTN_SOURCE_DIR) / "models/gpt-words").string();
  models::LoadedGPT g = models::load_gpt(model_dir, ATTN_SOURCE_DIR);
  models::GPT& gpt = *g.model;
  const models::GPTConfig& c = gpt.config();
  const std::string text = " The whale, the whale! said Ahab, and the crew looked at the whale";
  const std::vector<int64_t> ids = g.tokenizer.encode(text);
  const auto T = static_cast<int64_t>(ids.size());
  std::vector<std::string> tokens;
  for (int64_t id : ids) tokens.push_back(g.tokenizer.label(id));

  // ------------------------------------------------------------------------------------------------
  L.step("Record the attention");
  L.say(
      "One forward pass with record_attention = true gives each layer's weights, (1, H, T, T): row i is\n"
      "query i's softmax over the keys 0..i (a causal model sees no later token).");
  std::vector<Tensor> att;
  {
    NoGradGuard ng;
    const models::GPTOutput out = gpt.forward(IndexTensor(ids, {1, T}), true);
    for (const Tensor& a : out.attentions) att.push_back(reshape(a, {c.n_head, T, T}));
  }
  double worst_row = 0;
  for (const Tensor& a : att)
    for (int64_t r = 0; r < c.n_head * T; ++r) {
      double s = 0;
      for (int64_t j = 0; j < T; ++j) s += a.data()[r * T + j];
      worst_row = std::max(worst_row, std::abs(s - 1.0));
    }
  std::cout << "\n  \"" << text << "\": " << T << " tokens, " << c.n_layer << " layers × " << c.n_head << " heads\n"
            << "  every row sums to 1 (largest deviation " << std::scientific << std::setprecision(1) << worst_row
            << std::defaultfloat << ")\n";

  // ------------------------------------------------------------------------------------------------
  L.step("The head view: one layer, every head");
  L.say(
      "Heads of one layer side by side, on one colour scale. A shifted diagonal is a previous-token head;\n"
      "a bright first column a head parked on the first token (an attention sink); a diagonal a head that\n"
      "looks at itself.");
  const int64_t layer = std::min<int64_t>(1, c.n_layer - 1);
  viz::HeatmapGrid(att[static_cast<size_t>(layer)])
      .title("layer " + std::to_string(layer) + ": every head")
      .labels(tokens)
      .unit_range()
      .colorbar_label("attention weight")
      .save_png(L.figure("head_view.png"));
  // Which head of the layer is most "previous-token": mean of A[i, i-1].
  int64_t prev_head = 0;
  double prev_best = -1;
  for (int64_t h = 0; h < c.n_head; ++h) {
    double s = 0;
    for (int64_t i = 1; i < T; ++i) s += att[static_cast<size_t>(layer)].data()[(h * T + i) * T + i - 1];
    s /= static_cast<double>(T - 1);
    if (s > prev_best) prev_best = s, prev_head = h;
  }
  std::cout << "\n  layer " << layer << ", head " << prev_head << " puts " << std::fixed << std::setprecision(2)
            << prev_best << " of each row on the previous token on average\n";

  // ------------------------------------------------------------------------------------------------
  L.step("The model view: every layer and head");
  Tensor all = Tensor::empty({c.n_layer, c.n_head, T, T});
  for (int64_t l = 0; l < c.n_layer; ++l)
    std::copy_n(att[static_cast<size_t>(l)].data(), c.n_head * T * T, all.data() + l * c.n_head * T * T);
  viz::HeatmapGrid(all)
      .title("every layer (rows) and head (columns)")
      .unit_range()
      .colorbar_label("attention weight")
      .panel_size(90)
      .save_png(L.figure("model_view.png"));
  L.say(
      "Early layers tend to look locally (diagonals); later ones reach back to words that matter for what\n"
      "comes next — here the earlier \"whale\"s, when the sentence says \"the\" again.");

  // ------------------------------------------------------------------------------------------------
  L.step("The neuron view: where one row comes from");
  L.say(
      "For head h and query i:  qk_j = q_i ⊙ k_j (each dimension's share),  s_j = Σ_d qk_j[d] / √Dh,\n"
      "a_j = softmax(s)_j. GPT::queries_and_keys gives q and k as the model computed them.");
  const int64_t query = T - 1;
  const auto [q, k] = gpt.queries_and_keys(IndexTensor(ids, {1, T}), layer);
  const explain::NeuronView nv = explain::neuron_view(q, k, prev_head, query);
  double diff = 0;
  for (int64_t j = 0; j <= query; ++j)
    diff = std::max(diff, std::abs(nv.weights[static_cast<size_t>(j)] -
                                   att[static_cast<size_t>(layer)].data()[(prev_head * T + query) * T + j]));
  std::cout << "\n  layer " << layer << " head " << prev_head << ", query '" << tokens[static_cast<size_t>(query)]
            << "': softmax(q·k/√Dh) reproduces the recorded row (largest difference " << std::scientific
            << std::setprecision(1) << diff << std::defaultfloat << ")\n";
  const auto top = std::max_element(nv.weights.begin(), nv.weights.end()) - nv.weights.begin();
  std::cout << "  its largest weight: key " << top << " '" << tokens[static_cast<size_t>(top)] << "' (" << std::fixed
            << std::setprecision(2) << nv.weights[static_cast<size_t>(top)] << ")\n";
  const int64_t Dh = c.head_dim(), keys = static_cast<int64_t>(nv.qk.size());
  std::vector<float> qk;
  for (const auto& row : nv.qk) qk.insert(qk.end(), row.begin(), row.end());
  std::vector<std::string> key_labels(tokens.begin(), tokens.begin() + keys);
  for (int64_t j = 0; j < keys; ++j) {
    std::ostringstream w;
    w << key_labels[static_cast<size_t>(j)] << " (" << std::fixed << std::setprecision(2)
      << nv.weights[static_cast<size_t>(j)] << ")";
    key_labels[static_cast<size_t>(j)] = w.str();
  }
  float lim = 1e-6f;
  for (float v : qk) lim = std::max(lim, std::abs(v));
  viz::Heatmap(qk, keys, Dh)
      .title("neuron view: q ⊙ k per dimension, query '" + tokens[static_cast<size_t>(query)] + "' (key: weight)")
      .row_labels(key_labels)
      .row_title("key (attention weight)")
      .col_title("dimension of the head")
      .colormap(viz::Colormap::RdBu)
      .range(-lim, lim)
      .annotate(viz::Annotate::Off)
      .max_label_chars(24)
      .save_png(L.figure("neuron_view.png"));
  L.say("A few dimensions carry most of each score: red cells push a key up, blue ones down.");

  // ------------------------------------------------------------------------------------------------
  L.step("The whole explorer as one standalone page");
  L.say(
      "`attn viz --model DIR --text \"...\" --out page.html` answers every request the explorer's page would\n"
      "make for this one text, and inlines the answers into the page: it opens offline, from disk.");
  const fs::path attn_bin = fs::absolute(fs::path(argv[0])).parent_path().parent_path().parent_path() / "attn";
  const std::string page = (fs::path(L.out_dir()) / "attention_visualizer.html").string();
  if (!fs::exists(attn_bin)) {
    std::cout << "  (" << attn_bin.string() << " is not built: run scripts/build.sh to write the page)\n";
    return 0;
  }
  const std::string cmd = "'" + attn_bin.string() + "' viz --model '" + model_dir + "' --text '" + text + "' --out '" +
                          page + "' > /dev/null";
  const int rc = std::system(cmd.c_str());
  if (rc != 0 || !fs::exists(page)) {
    std::cerr << "attn viz failed (exit " << rc << "): " << cmd << "\n";
    return 1;
  }
  std::cout << "\n  [page] " << page << " (" << fs::file_size(page) / 1024 << " KiB): open it in a browser\n";
  return 0;
}
