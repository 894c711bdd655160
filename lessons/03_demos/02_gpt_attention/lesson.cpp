// Lesson 03.02 — Looking inside a GPT: induction heads, the logit lens, activation patching.
//
// Attention maps show where a head looks. This lesson asks what heads *do*, with the three tools of
// mechanistic interpretability that the Attention Explorer's Interventions view runs in the browser
// (attn/explain/interventions.h), on the project's word-level GPT (models/gpt-words: GPT-2's byte-level
// BPE re-trained on Moby-Dick and the State of the Union addresses):
//   1. the model and its tokens;
//   2. find the heads: previous-token and induction scores on a repeated random sequence;
//   3. switch the induction heads off and watch in-context copying fail (and the grid of every head);
//   4. the logit lens: what each layer would predict;
//   5. activation patching: where the answer of a prompt lives, position by position and head by head.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/explain/head_types.h"
#include "attn/explain/interventions.h"
#include "attn/models/gpt_loader.h"
#include "attn/ops/ops.h"
#include "attn/viz/heatmap.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

double mean_range(const std::vector<float>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Looking inside a GPT: induction heads, the logit lens and activation patching");
  models::LoadedGPT g = models::load_gpt((fs::path(ATTN_SOURCE_DIR) / "models/gpt-words").string(), ATTN_SOURCE_DIR);
  models::GPT& gpt = *g.model;
  const models::GPTConfig& c = gpt.config();
  auto label = [&](int64_t id) { return g.tokenizer.label(id); };
  auto labels = [&](const std::vector<int64_t>& ids) {
    std::vector<std::string> out;
    for (int64_t id : ids) out.push_back(label(id));
    return out;
  };

  // ------------------------------------------------------------------------------------------------
  L.step("The model and its tokens");
  L.say("A GPT of " + std::to_string(c.n_layer) + " layers × " + std::to_string(c.n_head) + " heads, " +
        std::to_string(c.n_embd) + " wide, context " + std::to_string(c.block_size) + ", vocabulary " +
        std::to_string(c.vocab_size) +
        " byte-level BPE tokens learnt from its corpus (attn train gpt\n"
        "--tokenizer bpe). Common words are one token, rarer ones a few:");
  const std::string sentence = " Call me Ishmael. The Congress of the United States shall assemble";
  const std::vector<int64_t> sent_ids = g.tokenizer.encode(sentence);
  std::cout << "\n ";
  for (int64_t id : sent_ids) std::cout << " [" << label(id) << "]";
  std::cout << "\n  " << sentence.size() << " characters -> " << sent_ids.size() << " tokens\n";

  // ------------------------------------------------------------------------------------------------
  L.step("Find the heads: a repeated random sequence");
  L.say(
      "n random tokens, then the same n again. On the second copy a model that has learnt to copy can\n"
      "predict every token: it finds the earlier occurrence of the current token and reads the token that\n"
      "followed it. Two heads together do that (Olsson et al. 2022): a previous-token head writes \"the\n"
      "token before me was X\" into each position, and an induction head in a later layer, at the current\n"
      "token X, attends to the position *after* X's earlier occurrence. The scores (explain/head_types.h):\n"
      "  previous_token = mean_i A[i, i-1]      induction = mean over the second copy of A[i, i-n+1]");
  const int64_t n = 40;
  const std::vector<int64_t> probe =
      explain::repeated_random_tokens(n, c.vocab_size);  // the probe of /api/head_types (seed 1234)
  const auto T = static_cast<int64_t>(probe.size());
  std::vector<Tensor> att;
  {
    NoGradGuard ng;
    const models::GPTOutput out = gpt.forward(IndexTensor(probe, {1, T}), true);
    for (const Tensor& a : out.attentions) att.push_back(reshape(a, {c.n_head, T, T}));
  }
  struct Best {
    double score = -1;
    int64_t layer = 0, head = 0;
  } best_induction, best_previous;
  std::vector<explain::HeadRef> induction_heads;
  std::vector<float> induction_grid(static_cast<size_t>(c.n_layer * c.n_head));
  std::cout << "\n  layer  head  previous  induction\n";
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const auto scores = explain::head_type_scores(att[static_cast<size_t>(l)], n);
    for (int64_t h = 0; h < c.n_head; ++h) {
      const auto& s = scores[static_cast<size_t>(h)];
      induction_grid[static_cast<size_t>(l * c.n_head + h)] = static_cast<float>(s.induction);
      if (s.induction > best_induction.score) best_induction = {s.induction, l, h};
      if (s.previous_token > best_previous.score) best_previous = {s.previous_token, l, h};
      if (s.induction >= explain::kHeadTypeThreshold) induction_heads.push_back({l, h});
      if (s.induction >= 0.2 || s.previous_token >= 0.4)
        std::cout << "  " << std::setw(5) << l << std::setw(6) << h << std::fixed << std::setprecision(2)
                  << std::setw(10) << s.previous_token << std::setw(11) << s.induction << "\n";
    }
  }
  std::cout << "\n  best induction head: layer " << best_induction.layer << ", head " << best_induction.head
            << " (induction score " << std::setprecision(2) << best_induction.score << ")\n"
            << "  best previous-token head: layer " << best_previous.layer << ", head " << best_previous.head
            << " (previous-token score " << best_previous.score << ")\n"
            << "  heads with induction >= 0.4: " << induction_heads.size() << "\n";
  viz::Heatmap(induction_grid, c.n_layer, c.n_head)
      .title("induction score of every head (repeated random tokens, n = " + std::to_string(n) + ")")
      .row_title("layer")
      .col_title("head")
      .unit_range()
      .colorbar_label("induction score")
      .save_png(L.figure("induction_scores.png"));
  const Tensor& ind = att[static_cast<size_t>(best_induction.layer)];
  std::vector<float> ind_matrix(ind.data() + best_induction.head * T * T,
                                ind.data() + (best_induction.head + 1) * T * T);
  viz::Heatmap(ind_matrix, T, T)
      .title("layer " + std::to_string(best_induction.layer) + " head " + std::to_string(best_induction.head) +
             ": the stripe n - 1 below the diagonal is induction")
      .row_title("query")
      .col_title("key")
      .unit_range()
      .save_png(L.figure("induction_head.png"));
  L.say(
      "\nIn the figure the second half's rows light up one column to the right of the first copy's diagonal:\n"
      "query i looks at key i - n + 1, the token that followed the earlier occurrence of token i.");

  // ------------------------------------------------------------------------------------------------
  L.step("Switch the induction heads off");
  L.say(
      "The loss per token on the probe: the first copy is random (nothing to predict from), the second is\n"
      "a copy. Zero-ablating a head sets its output z = A v to 0 before attn.c_proj — the model without\n"
      "that head's term in the residual stream.");
  explain::AblationSpec spec;
  spec.heads = induction_heads.empty() ? std::vector<explain::HeadRef>{{best_induction.layer, best_induction.head}}
                                       : induction_heads;
  const explain::AblationResult ab = explain::ablate(gpt, probe, spec);
  // token_loss[t] predicts token t+1: first copy t+1 in [1, n), second copy t+1 in [n+1, 2n) (token n
  // itself, the first repeat, cannot be known).
  const double first_copy = mean_range(ab.token_loss, 0, static_cast<size_t>(n - 1));
  const double second_copy = mean_range(ab.token_loss, static_cast<size_t>(n), static_cast<size_t>(T - 1));
  const double second_ablated = mean_range(ab.token_loss_ablated, static_cast<size_t>(n), static_cast<size_t>(T - 1));
  std::cout << std::fixed << std::setprecision(2) << "\n  loss on the first copy:                     " << first_copy
            << " nats/token\n  loss on the second copy:                    " << second_copy << "\n  second copy, "
            << spec.heads.size() << " induction head(s) ablated:     " << second_ablated << "\n";
  L.say("\nWhich heads matter most for the whole probe? Every head alone, ablated (one batched pass per layer):");
  const explain::AblationGrid grid = explain::ablation_grid(gpt, probe, "zero");
  int64_t worst = 0;
  for (int64_t i = 1; i < grid.head_delta.numel(); ++i)
    if (grid.head_delta.data()[i] > grid.head_delta.data()[worst]) worst = i;
  std::cout << "  the head whose ablation costs most: layer " << worst / c.n_head << ", head " << worst % c.n_head
            << " (+" << std::setprecision(3) << grid.head_delta.data()[worst] << " nats/token; its induction score "
            << std::setprecision(2) << induction_grid[static_cast<size_t>(worst)] << ")\n";
  viz::Heatmap(grid.head_delta)
      .title("loss increase when one head is zero-ablated (repeated random tokens)")
      .row_title("layer")
      .col_title("head")
      .colormap(viz::Colormap::Blues)
      .colorbar_label("Δ loss (nats/token)")
      .save_png(L.figure("ablation_grid.png"));

  // ------------------------------------------------------------------------------------------------
  L.step("The logit lens: what each layer would predict");
  L.say(
      "Decode the residual stream after each block as if it were the last: softmax(ln_f(x_l) · wteᵀ)\n"
      "(nostalgebraist 2020). Row 0 is the embeddings alone (a bigram guess at best); the last row is the\n"
      "model. The rank of the token that really comes next shows where the prediction forms.");
  const explain::LogitLens lens = explain::logit_lens(gpt, sent_ids, 3);
  const auto S = static_cast<int64_t>(sent_ids.size());
  const int64_t R = lens.top_ids.size(0);
  std::cout << "\n  top-1 guess of each layer (columns: the last 6 positions, the token that follows in brackets)\n";
  std::cout << "  " << std::setw(12) << "";
  for (int64_t t = S - 7; t < S - 1; ++t) {
    std::string head = "[";  // appended, not "[" + …: GCC 12 warns falsely on that
    head += label(sent_ids[static_cast<size_t>(t + 1)]);
    head += "]";
    std::cout << std::setw(13) << head;
  }
  std::cout << "\n";
  for (int64_t r = 0; r < R; ++r) {
    std::string name = "embeddings";
    if (r > 0) name = "block ", name += std::to_string(r - 1);
    std::cout << "  " << std::setw(12) << name;
    for (int64_t t = S - 7; t < S - 1; ++t)
      std::cout << std::setw(13) << label(static_cast<int64_t>(lens.top_ids.at({r, t, 0})));
    std::cout << "\n";
  }
  // The check: the last row is the model's own prediction.
  {
    NoGradGuard ng;
    const Tensor logits = gpt.forward(IndexTensor(sent_ids, {1, S}));
    const int64_t V = c.vocab_size;
    bool same = true;
    for (int64_t t = 0; t < S; ++t) {
      const float* row = logits.data() + t * V;
      same = same && std::max_element(row, row + V) - row == static_cast<int64_t>(lens.top_ids.at({R - 1, t, 0}));
    }
    std::cout << "\n  last lens row equals the model's argmax at every position: " << (same ? "yes" : "NO") << "\n";
  }
  std::vector<float> log_rank(static_cast<size_t>(lens.target_rank.numel()));
  for (size_t i = 0; i < log_rank.size(); ++i) log_rank[i] = std::log10(1.f + lens.target_rank.data()[i]);
  std::vector<std::string> rows = {"embeddings"};
  for (int64_t l = 0; l < c.n_layer; ++l) rows.push_back("block " + std::to_string(l));
  std::vector<std::string> next_tokens = labels(std::vector<int64_t>(sent_ids.begin() + 1, sent_ids.end()));
  viz::Heatmap(log_rank, R, S - 1)
      .title("logit lens: log10(1 + rank) of the true next token (0 = the layer's first choice)")
      .row_labels(rows)
      .col_labels(next_tokens)
      .col_title("next token")
      .colormap(viz::Colormap::Blues)
      .colorbar_label("log10(1 + rank)")
      .save_png(L.figure("logit_lens.png"));
  std::cout << "  mean rank of the next token: embeddings " << std::setprecision(0) << std::fixed
            << mean_range(std::vector<float>(lens.target_rank.data(), lens.target_rank.data() + (S - 1)), 0,
                          static_cast<size_t>(S - 1))
            << ", last layer "
            << mean_range(std::vector<float>(lens.target_rank.data() + (R - 1) * (S - 1),
                                             lens.target_rank.data() + R * (S - 1)),
                          0, static_cast<size_t>(S - 1))
            << "\n";

  // ------------------------------------------------------------------------------------------------
  L.step("Activation patching: where does the answer live?");
  L.say(
      "Two prompts of the same token length that differ in one name. The model should copy the name (an\n"
      "induction task in plain words). Run the corrupted prompt, copy one activation from the clean run,\n"
      "and measure how much of the clean answer's probability comes back (Meng et al. 2022):\n"
      "  recovered = (p_patched - p_corrupt) / (p_clean - p_corrupt)");
  // Two names that are single tokens of this vocabulary (so the prompts have equal lengths), in a sentence
  // that the second half repeats: copying the name is the induction task of section 3, in words.
  std::vector<std::string> names;
  for (const char* nm : {" Ahab", " Starbuck", " Washington", " George", " John", " whale", " ship"})
    if (g.tokenizer.encode(nm).size() == 1) names.push_back(nm);
  const std::string frame_a = " The ship sailed from Nantucket under Captain", frame_b = ".";
  const std::string clean = frame_a + names[0] + frame_b + frame_a, corrupt = frame_a + names[1] + frame_b + frame_a;
  const std::vector<int64_t> clean_ids = g.tokenizer.encode(clean), corrupt_ids = g.tokenizer.encode(corrupt);
  const int64_t target = g.tokenizer.encode(names[0])[0];
  const explain::PatchingResult p = explain::activation_patching(gpt, clean_ids, corrupt_ids, target);
  const auto P = static_cast<int64_t>(clean_ids.size());
  int64_t name_pos = 0;
  while (name_pos < P && clean_ids[static_cast<size_t>(name_pos)] == corrupt_ids[static_cast<size_t>(name_pos)])
    ++name_pos;
  std::cout << "\n  clean:    \"" << clean << "\"\n  corrupt:  \"" << corrupt << "\"\n  target '" << label(target)
            << "': p_clean " << std::setprecision(3) << p.p_clean << ", p_corrupt " << p.p_corrupt << "\n";
  auto recovered = [&](float v) { return (v - p.p_corrupt) / (p.p_clean - p.p_corrupt); };
  std::cout << "  recovered by patching block 0's input at the name (position " << name_pos
            << "): " << std::setprecision(2) << recovered(p.resid.at({0, name_pos})) << "\n"
            << "  recovered by patching the last position before ln_f: " << recovered(p.resid.at({c.n_layer, P - 1}))
            << "\n";
  int64_t best_head = 0;
  for (int64_t i = 1; i < p.heads.numel(); ++i)
    if (p.heads.data()[i] > p.heads.data()[best_head]) best_head = i;
  std::cout << "  the head whose clean output recovers most: layer " << best_head / c.n_head << ", head "
            << best_head % c.n_head << " (" << recovered(p.heads.data()[best_head]) << "; its induction score "
            << induction_grid[static_cast<size_t>(best_head)] << ")\n";
  std::vector<float> rec(static_cast<size_t>(p.resid.numel()));
  for (size_t i = 0; i < rec.size(); ++i) rec[i] = static_cast<float>(recovered(p.resid.data()[i]));
  std::vector<std::string> resid_rows;
  for (int64_t l = 0; l <= c.n_layer; ++l)
    resid_rows.push_back(l < c.n_layer ? "block " + std::to_string(l) + " in" : "final");
  viz::Heatmap(rec, c.n_layer + 1, P)
      .title("activation patching: recovered fraction, residual stream (clean name '" + label(target) + "')")
      .row_labels(resid_rows)
      .col_labels(labels(clean_ids))
      .colormap(viz::Colormap::RdBu)
      .range(-1, 1)
      .colorbar_label("recovered")
      .save_png(L.figure("patching_resid.png"));
  std::vector<float> rec_heads(static_cast<size_t>(p.heads.numel()));
  for (size_t i = 0; i < rec_heads.size(); ++i) rec_heads[i] = static_cast<float>(recovered(p.heads.data()[i]));
  viz::Heatmap(rec_heads, c.n_layer, c.n_head)
      .title("activation patching: recovered fraction per head")
      .row_title("layer")
      .col_title("head")
      .colormap(viz::Colormap::RdBu)
      .range(-1, 1)
      .colorbar_label("recovered")
      .save_png(L.figure("patching_heads.png"));
  L.say(
      "\nRead the residual figure column by column: at the name's position the clean information sits in\n"
      "every early layer; in the late layers it has moved to the last position, the one that predicts.\n"
      "Something carried it across — the heads figure says which heads did.\n\n"
      "The same tools, on any text, are the Interventions view of `bash scripts/run.sh` (the explorer).");
  return 0;
}
