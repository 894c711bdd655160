#include "explain_translation.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <vector>

#include "attn/core/error.h"
#include "attn/explain/seq2seq_explain.h"
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
  for (int64_t p = 0; p < m.size(0); ++p) rows.push_back(std::vector<float>(m.data() + p * m.size(1), m.data() + (p + 1) * m.size(1)));
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
      std::cout << "each target token t, written under teacher forcing: the source tokens its logit rests on by relevance\n"
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
                << "last-layer cross-attention\n\n| # | source | relevance | share | raw cross-attention |\n|--:|---|--:|--:|--:|\n";
      for (size_t j : ranked(rel))
        std::cout << "| " << j << " | " << cell(r.source_tokens[j]) << " | " << std::setprecision(4)
                  << r.source.data()[j] << " | " << pct(rel[j]) << " | " << pct(raw[j]) << " |\n";
      std::cout << "\nthe target prefix (row " << t << " of R^tt, over the decoder's inputs <s> and the tokens before):";
      for (int64_t j = 0; j <= t; ++j)
        std::cout << " " << cell(r.input_tokens[static_cast<size_t>(j)]) << " " << std::setprecision(3)
                  << r.prefix.data()[j];
      std::cout << "\n";
    }

    if (!o.json_path.empty())
      viz::write_file_atomic(o.json_path, json({{"model", o.model}, {"arch", model.arch()}, {"text", o.text},
                                                {"translation", r.translation}, {"beam", o.beam},
                                                {"source_tokens", r.source_tokens}, {"target_tokens", r.target_tokens},
                                                {"input_tokens", r.input_tokens}, {"positions", r.positions},
                                                {"relevance", rows_json(r.source)}, {"prefix", rows_json(r.prefix)},
                                                {"raw_cross", rows_json(r.raw_cross)}})
                                              .dump(2) + "\n");
    return 0;
  });
}

}  // namespace attn::cli
