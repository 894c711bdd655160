#include "explain_translation.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <vector>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/dates_task.h"
#include "attn/explain/seq2seq_explain.h"
#include "attn/io/atomic_file.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "attn/viz/svg_plot.h"
#include "vit_command.h"

namespace attn::cli {

namespace {

using nlohmann::json;
constexpr const char* kOp = "attn explain --translation";

// A subword piece as a table cell: in JSON quotes, so that "▁" word starts and punctuation stay visible.
std::string cell(const std::string& piece) { return json(piece).dump(); }

// Row p of a (P, N) tensor as shares of the row's total (all zero: zeros).
std::vector<double> shares(const Tensor& m, int64_t p) {
  const int64_t N = m.size(1);
  const float* row = m.data() + p * N;
  const double total = std::accumulate(row, row + N, 0.0);
  std::vector<double> s(static_cast<size_t>(N));
  for (int64_t j = 0; j < N; ++j) s[static_cast<size_t>(j)] = total > 0 ? row[j] / total : 0.0;
  return s;
}

// Indices of v, largest first (ties: the earlier token first).
std::vector<size_t> ranked(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
  return idx;
}

std::string pct(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(0) << 100.0 * v << "%";
  return s.str();
}

// "\"▁Hund\" 61%, \"▁Der\" 20%, ..." — the first `top` tokens of a ranking.
std::string top_list(const std::vector<std::string>& tokens, const std::vector<double>& s, int64_t top) {
  std::string out;
  const std::vector<size_t> order = ranked(s);
  for (size_t k = 0; k < order.size() && static_cast<int64_t>(k) < top; ++k)
    out += (k ? ", " : "") + cell(tokens[order[k]]) + " " + pct(s[order[k]]);
  return out;
}

json rows_json(const Tensor& m) {  // (P, N) -> [[...], ...]
  json rows = json::array();
  for (int64_t p = 0; p < m.size(0); ++p)
    rows.push_back(std::vector<float>(m.data() + p * m.size(1), m.data() + (p + 1) * m.size(1)));
  return rows;
}

}  // namespace

int explain_translation(const TranslationExplainOptions& o) {
  return run_with_translation(o.model, [&](models::TranslationModel& model) -> int {
    ATTN_CHECK(o.out.empty(), kOp, "--out draws a ViT's patch maps; for a translation's scores use --json");
    ATTN_CHECK(!o.extra, kOp, "--translation explains one sentence: --gpt and --faithfulness are for the other models");
    ATTN_CHECK(!o.text.empty(), kOp, "--text is empty: give the sentence whose translation to explain");
    ATTN_CHECK(o.top >= 1, kOp, "--top " << o.top << " must be >= 1");
    ATTN_CHECK(o.beam >= 1, kOp, "--beam " << o.beam << " must be >= 1");
    const explain::TranslationRelevance r = explain::translation_relevance(model, o.text, o.position, o.beam);
    const auto S = static_cast<int64_t>(r.source_tokens.size()), T = static_cast<int64_t>(r.target_tokens.size());
    std::cout << o.model << ": " << json(o.text).dump() << " -> " << json(r.translation).dump() << "\n"
              << "source (" << S << " tokens):";
    for (const std::string& s : r.source_tokens) std::cout << " " << cell(s);
    std::cout << "\n";

    if (o.position < 0) {
      std::cout
          << "each target token t, written under teacher forcing: the source tokens its logit rests on by relevance\n"
          << "(row t of R^ts, Chefer et al. 2021) and by the raw cross-attention of the last layer (mean of heads),\n"
          << "each as a share of its row's total, top " << o.top << "\n\n"
          << "| # | target | relevance | raw cross-attention |\n|--:|---|---|---|\n";
      for (int64_t t = 0; t < T; ++t)
        std::cout << "| " << t << " | " << cell(r.target_tokens[static_cast<size_t>(t)]) << " | "
                  << top_list(r.source_tokens, shares(r.source, t), o.top) << " | "
                  << top_list(r.source_tokens, shares(r.raw_cross, t), o.top) << " |\n";
    } else {
      const int64_t t = o.position;
      const std::vector<double> rel = shares(r.source, 0), raw = shares(slice(r.raw_cross, 0, t, t + 1), 0);
      std::cout << "target token " << t << " " << cell(r.target_tokens[static_cast<size_t>(t)])
                << ": every source token by relevance (row " << t << " of R^ts; its value and share) and the raw\n"
                << "last-layer cross-attention\n\n| # | source | relevance | share | raw cross-attention "
                   "|\n|--:|---|--:|--:|--:|\n";
      for (size_t j : ranked(rel))
        std::cout << "| " << j << " | " << cell(r.source_tokens[j]) << " | " << std::setprecision(4)
                  << r.source.data()[j] << " | " << pct(rel[j]) << " | " << pct(raw[j]) << " |\n";
      std::cout << "\nthe target prefix (row " << t
                << " of R^tt, over the decoder's inputs <s> and the tokens before):";
      for (int64_t j = 0; j <= t; ++j)
        std::cout << " " << cell(r.input_tokens[static_cast<size_t>(j)]) << " " << std::setprecision(3)
                  << r.prefix.data()[j];
      std::cout << "\n";
    }

    if (!o.json_path.empty())
      io::write_file_atomic(o.json_path, json({{"model", o.model},
                                               {"arch", model.arch()},
                                               {"text", o.text},
                                               {"translation", r.translation},
                                               {"beam", o.beam},
                                               {"source_tokens", r.source_tokens},
                                               {"target_tokens", r.target_tokens},
                                               {"input_tokens", r.input_tokens},
                                               {"positions", r.positions},
                                               {"relevance", rows_json(r.source)},
                                               {"prefix", rows_json(r.prefix)},
                                               {"raw_cross", rows_json(r.raw_cross)}})
                                                 .dump(2) +
                                             "\n");
    return 0;
  });
}

// ---- the dates check ------------------------------------------------------------------------------------------

namespace {

constexpr const char* kDatesOp = "attn explain --dates";

// Row t of a (K, S) map <- src (S).
void set_row(Tensor& map, int64_t t, const Tensor& src) {
  std::copy(src.data(), src.data() + src.numel(), map.data() + t * map.size(1));
}

int grade_dates(const DatesExplainOptions& o) {
  ATTN_CHECK(o.dates >= 1, kDatesOp, "--dates " << o.dates << " must be >= 1");
  ATTN_CHECK(o.steps >= 0, kDatesOp, "--steps " << o.steps << " must be >= 0");
  data::DatesTask task;
  task.min_year = 1000, task.max_year = 2999;  // every digit of the year carries information (lesson 04.01)
  models::TransformerConfig c;
  c.src_vocab = data::DatesTask::src_vocab_size(), c.tgt_vocab = data::DatesTask::tgt_vocab_size();
  c.d_model = 64, c.nhead = 4, c.num_encoder_layers = 2, c.num_decoder_layers = 2, c.dim_feedforward = 128;
  c.dropout = 0.f, c.max_len = 48, c.norm_first = true;
  c.pad_id = data::kPad, c.bos_id = data::kBos, c.eos_id = data::kEos;
  Generator init(o.seed, 1), train_gen(o.seed, 2), eval_gen(o.seed, 3);
  models::Transformer m(c, init);
  nn::Adam opt(m.parameters(), nn::AdamOptions(1e-3f));
  const auto t0 = std::chrono::steady_clock::now();
  float loss_value = 0.f;
  for (int64_t step = 0; step < o.steps; ++step) {
    const data::SeqBatch b = task.sample(64, train_gen);
    Tensor loss = m.loss(b.src, b.tgt_in, b.tgt_out);
    opt.zero_grad();
    loss.backward();
    nn::clip_grad_norm_(m.parameters(), 1.f);
    opt.step();
    loss_value = loss.item();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<data::DateExample> ex;
  const data::SeqBatch b = task.sample(o.dates, eval_gen, &ex);
  m.eval();
  int64_t exact = 0;
  {
    NoGradGuard ng;
    const auto hyps = m.greedy_decode(b.src, data::DatesTask::kTargetLength + 2);
    for (size_t i = 0; i < ex.size(); ++i) exact += data::DatesTask::decode_target(hyps[i].tokens) == ex[i].target;
  }
  // The maps graded, each (K, S) for K = 10 target characters: raw per layer, their mean, Ā per layer, R^ts.
  const int64_t L = c.num_decoder_layers, K = data::DatesTask::kTargetLength;
  std::vector<std::string> names;
  for (int64_t l = 0; l < L; ++l)
    names.push_back("raw cross-attention, layer " + std::to_string(l) + (l == L - 1 ? " (the last)" : ""));
  names.push_back("raw cross-attention, mean of the layers");
  for (int64_t l = 0; l < L; ++l) names.push_back("gradient-weighted cross-attention Ā, layer " + std::to_string(l));
  names.push_back("relevance R^ts (Chefer et al. 2021)");
  std::vector<double> acc(names.size(), 0.0);
  const int64_t S = b.src.shape[1], T = b.tgt_in.shape[1];
  for (size_t i = 0; i < ex.size(); ++i) {
    std::vector<int64_t> src(b.src.data.begin() + static_cast<int64_t>(i) * S,
                             b.src.data.begin() + (static_cast<int64_t>(i) + 1) * S);
    while (src.size() > 1 && src.back() == data::kPad) src.pop_back();
    const std::vector<int64_t> tin(b.tgt_in.data.begin() + static_cast<int64_t>(i) * T,
                                   b.tgt_in.data.begin() + (static_cast<int64_t>(i) + 1) * T);
    std::vector<int64_t> positions, tokens;  // row t explains its gold character
    for (int64_t t = 0; t < K; ++t) {
      positions.push_back(t);
      tokens.push_back(b.tgt_out.data[static_cast<size_t>(static_cast<int64_t>(i) * T + t)]);
    }
    const std::vector<explain::Seq2SeqTrace> traces = explain::trace_translation(m, src, tin, positions, tokens);
    const auto Si = static_cast<int64_t>(src.size());
    std::vector<Tensor> maps;
    for (size_t k = 0; k < names.size(); ++k) maps.push_back(Tensor::zeros({K, Si}));
    Tensor layer_mean = Tensor::zeros({T, Si});
    for (int64_t l = 0; l < L; ++l) {  // the attention itself: any trace's
      const Tensor raw = mean(traces[0].cross_attentions[static_cast<size_t>(l)], {0});  // (T, Si)
      layer_mean = layer_mean + raw * (1.f / static_cast<float>(L));
      maps[static_cast<size_t>(l)] = slice(raw, 0, 0, K);
    }
    maps[static_cast<size_t>(L)] = slice(layer_mean, 0, 0, K);
    for (int64_t t = 0; t < K; ++t) {
      const explain::Seq2SeqTrace& tr = traces[static_cast<size_t>(t)];
      for (int64_t l = 0; l < L; ++l) {
        const Tensor bar = explain::gradient_weighted_attention(tr.cross_attentions[static_cast<size_t>(l)],
                                                                tr.cross_grads[static_cast<size_t>(l)]);  // (T, Si)
        set_row(maps[static_cast<size_t>(L + 1 + l)], t, reshape(slice(bar, 0, t, t + 1), {Si}));
      }
      set_row(maps.back(), t, explain::source_scores(explain::seq2seq_relevance(tr), t));
    }
    for (size_t k = 0; k < names.size(); ++k) acc[k] += data::alignment_accuracy(maps[k], ex[i].alignment);
  }
  for (double& a : acc) a /= static_cast<double>(ex.size());

  std::cout
      << "a Transformer (2 + 2 layers, d_model 64, 4 heads, pre-LN) trained " << o.steps << " steps of 64 written dates"
      << " -> ISO 8601 (" << std::fixed << std::setprecision(0) << secs << " s, last loss " << std::setprecision(4)
      << loss_value << "): exact match " << std::setprecision(1) << 100.0 * exact / static_cast<double>(ex.size())
      << "% on " << ex.size() << " fresh dates\n"
      << "how often a target character's largest source score falls on one of its gold source characters\n"
      << "(data/dates_task.h's alignment_accuracy under teacher forcing; the hyphens, which have none, left out)\n\n"
      << "| map | alignment accuracy |\n|---|--:|\n";
  json rows = json::array();
  for (size_t k = 0; k < names.size(); ++k) {
    std::cout << "| " << names[k] << " | " << std::setprecision(1) << 100.0 * acc[k] << "% |\n";
    rows.push_back({{"map", names[k]}, {"alignment_accuracy", acc[k]}});
  }
  if (!o.json_path.empty())
    io::write_file_atomic(o.json_path,
                          json({{"steps", o.steps},
                                {"dates", o.dates},
                                {"seed", o.seed},
                                {"seconds", secs},
                                {"last_loss", loss_value},
                                {"exact_match", static_cast<double>(exact) / static_cast<double>(ex.size())},
                                {"maps", rows}})
                                  .dump(2) +
                              "\n");
  return 0;
}

}  // namespace

int explain_dates(const DatesExplainOptions& o) {
  try {
    return grade_dates(o);
  } catch (const Error& e) {
    std::cerr << "attn: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace attn::cli
