// attn explain — what a prediction rests on, by every attribution method of attn/explain, and how faithful
// each method is: a Vision Transformer's class (which patches) or a GPT's next token (which context tokens).
//
//   attn explain --test-image 0 --out out/explain.png           one picture, a panel per method
//   attn explain --test-image 0 --class 3 --out out/explain.svg  ... explaining class 3 instead of the prediction
//   attn explain --faithfulness 500 --json out/faithfulness.json the perturbation tests on 500 test images
//   attn explain --text "Call me Ishmael" --next .              a GPT: each token's score for the next token
//   attn explain --gpt --faithfulness 200 --context 64          the perturbation tests on 200 held-out windows
//   attn explain --translation DIR --text "Der Hund bellt."     a translation: each target token's source tokens
//                                                               by relevance and by raw cross-attention
//                                                               (explain_translation.h; --position t, --top, --beam)
//   attn explain --dates 300 --steps 1500                       those maps graded against gold alignments: a small
//                                                               Transformer trained on the dates task first
//
// --model defaults to the shipped models/vit-fashion-mnist; --gpt (bare) and --text to models/gpt-moby-dick.
// The GPT's held-out text is the tail that `attn train gpt` kept for validation: the checkpoint's own
// --data and --val-fraction (else Moby-Dick's last 10%). Bad input (an image index, class or token out of
// range, an empty or too long text, an unknown method) is an error naming it, exit status 2; a model folder
// that cannot be loaded, exit status 1.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/core/error.h"
#include "attn/data/fashion_mnist.h"
#include "attn/data/text_corpus.h"
#include "attn/explain/gpt_explain.h"
#include "attn/explain/vit_explain.h"
#include "attn/io/atomic_file.h"
#include "attn/models/vit.h"
#include "attn/ops/ops.h"
#include "attn/viz/image_maps.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "data_root.h"
#include "explain_translation.h"
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

struct Opts {
  std::string model = cli::data_root() + "/models/vit-fashion-mnist", out, json_path, data = data::kFashionMnistDir;
  std::vector<std::string> methods;
  int64_t test_image = 0, target = -1, faithfulness = 0;
  uint64_t seed = 1;
  // GPT
  std::string gpt = cli::data_root() + "/models/gpt-moby-dick", text, next, corpus;
  int64_t context = 64;
  double val_fraction = 0.1;
  bool gpt_given = false, text_given = false, context_given = false, val_fraction_given = false;
  // translation (explain_translation.h)
  cli::TranslationExplainOptions translation;
  bool translation_given = false;
  cli::DatesExplainOptions dates;
};

// The methods asked for (default: all, and the random baseline for the perturbation tests), each checked.
std::vector<std::string> chosen_methods(const Opts& o) {
  std::vector<std::string> methods = o.methods;
  if (methods.empty()) {
    methods = explain::kMethods;
    if (o.faithfulness > 0) methods.push_back("random");
  }
  for (const std::string& m : methods)
    ATTN_CHECK(
        m == "random" || std::find(explain::kMethods.begin(), explain::kMethods.end(), m) != explain::kMethods.end(),
        kOp, "unknown method \"" << m << "\"");
  return methods;
}

// The faithfulness table as markdown on stdout, and as JSON rows.
json print_faithfulness_table(const std::vector<explain::FaithfulnessSummary>& rows) {
  std::cout << "| method | positive (lower is better) | negative (higher is better) | deletion (lower) | insertion "
               "(higher) |\n"
            << "|---|---|---|---|---|\n";
  json table = json::array();
  for (const auto& r : rows) {
    std::cout << "| " << r.method << " | " << percent(r.positive_auc) << " | " << percent(r.negative_auc) << " | "
              << std::fixed << std::setprecision(3) << r.deletion_auc << " | " << r.insertion_auc << " |\n";
    table.push_back({{"method", r.method},
                     {"positive_auc", r.positive_auc},
                     {"negative_auc", r.negative_auc},
                     {"deletion_auc", r.deletion_auc},
                     {"insertion_auc", r.insertion_auc},
                     {"positive", r.positive},
                     {"negative", r.negative},
                     {"deletion", r.deletion},
                     {"insertion", r.insertion}});
  }
  return table;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- Vision Transformer -------------------------------------------------------------------------------------

int explain_vit(const Opts& o) {
  return cli::run_with_vit(o.model, [&](models::LoadedViT& vit) -> int {
    const models::ViTConfig& c = vit.model->config();
    ATTN_CHECK(c.num_channels == 1, kOp, "explaining Fashion-MNIST images needs a one-channel model");
    const std::vector<std::string> methods = chosen_methods(o);
    const data::ImageDataset test = data::load_fashion_mnist("test", o.data);

    if (o.faithfulness > 0) {
      ATTN_CHECK(o.faithfulness <= test.size(), kOp,
                 "--faithfulness " << o.faithfulness << " is more than the " << test.size() << " test images");
      const auto t0 = std::chrono::steady_clock::now();
      const auto rows = explain::vit_faithfulness(*vit.model, test, vit.preprocess, methods, o.faithfulness, o.seed);
      const double secs = seconds_since(t0);
      std::cout << "faithfulness of each method on the first " << o.faithfulness << " Fashion-MNIST test images ("
                << o.model << "), " << std::fixed << std::setprecision(0) << secs << " s\n"
                << "patches removed = left out of attention; positive/negative: accuracy averaged over 0-90% removed;\n"
                << "deletion/insertion: area under p(predicted class) as the most relevant go / come back\n\n";
      const json table = print_faithfulness_table(rows);
      if (!o.json_path.empty())
        io::write_file_atomic(o.json_path, json({{"model", o.model},
                                                 {"images", o.faithfulness},
                                                 {"seconds", secs},
                                                 {"perturbation_fractions", explain::kPerturbationFractions},
                                                 {"deletion_fractions", explain::kDeletionFractions},
                                                 {"methods", table}})
                                                   .dump(2) +
                                               "\n");
      return 0;
    }

    ATTN_CHECK(o.test_image < test.size(), kOp, "--test-image " << o.test_image << " outside 0.." << test.size() - 1);
    ATTN_CHECK(o.target < c.num_labels, kOp, "--class " << o.target << " outside 0.." << c.num_labels - 1);
    const data::ImageBatch b =
        data::make_image_batch(test, {o.test_image}, vit.preprocess.image_mean[0], vit.preprocess.image_std[0]);
    const explain::ViTTrace t = explain::trace_vit(*vit.model, b.images, o.target);
    const Tensor probs = softmax(t.logits, -1);
    std::ostringstream title;
    title << "test image " << o.test_image << ": " << c.label(b.labels[0]) << "; predicted " << c.label(t.predicted)
          << " (" << percent(probs.data()[t.predicted]) << "%); explaining " << c.label(t.target);
    std::cout << title.str() << "\n";
    viz::ImageMapsFigure fig(
        viz::grey_image(test.image(o.test_image), static_cast<int>(test.width), static_cast<int>(test.height)),
        c.grid(), title.str());
    json scores = json::object();
    Generator gen(o.seed, 11);
    for (const std::string& m : methods) {
      const std::vector<float> s = explain::vit_patch_scores(m, t, &gen);
      fig.add(m, s);
      scores[m] = s;
      const int64_t best = std::max_element(s.begin(), s.end()) - s.begin();
      std::cout << "  " << std::left << std::setw(14) << m << " top patch: row " << best / c.grid() << ", column "
                << best % c.grid() << "\n";
    }
    if (!o.out.empty()) {
      fig.save(o.out);
      std::cout << "figure: " << o.out << "\n";
    }
    if (!o.json_path.empty())
      io::write_file_atomic(o.json_path, json({{"model", o.model},
                                               {"test_image", o.test_image},
                                               {"label", b.labels[0]},
                                               {"predicted", t.predicted},
                                               {"explained", t.target},
                                               {"grid", c.grid()},
                                               {"scores", scores}})
                                                 .dump(2) +
                                             "\n");
    return 0;
  });
}

// ---- GPT ----------------------------------------------------------------------------------------------------

// A token as a table cell: its text in JSON quotes, so that spaces, newlines and tabs stay visible.
std::string token_cell(const models::LoadedGPT& gpt, int64_t id) { return json(gpt.tokenizer.label(id)).dump(); }

// Columns a UTF-8 cell takes: its code points (bytes that do not continue a character).
size_t columns_of(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Each context token's score under every method, for the next token after --text.
int explain_gpt_text(const Opts& o, models::LoadedGPT& gpt) {
  models::GPT& m = *gpt.model;
  const int64_t V = m.config().vocab_size, block = m.config().block_size;
  ATTN_CHECK(!o.text.empty(), kOp, "--text is empty: give the context whose next token to explain");
  const std::vector<int64_t> ids = gpt.tokenizer.encode(o.text);
  const int64_t T = static_cast<int64_t>(ids.size());
  ATTN_CHECK(T >= 1, kOp, "--text encodes to no tokens");
  ATTN_CHECK(T <= block, kOp, "--text has " << T << " tokens, more than the model's context of " << block);
  int64_t target = o.target;
  if (!o.next.empty()) {
    const std::vector<int64_t> next = gpt.tokenizer.encode(o.next);
    ATTN_CHECK(next.size() == 1, kOp, "--next \"" << o.next << "\" is " << next.size() << " tokens, not one");
    target = next[0];
  }
  ATTN_CHECK(target < V, kOp, "--class " << target << " outside the vocabulary 0.." << V - 1);
  const std::vector<std::string> methods = chosen_methods(o);

  const explain::GPTTrace t = explain::trace_gpt(m, ids, target);
  const Tensor probs = softmax(t.logits, -1);
  std::cout << o.gpt << ": " << T << " tokens; next token: predicted " << token_cell(gpt, t.predicted) << " ("
            << percent(probs.data()[t.predicted]) << "%), explaining " << token_cell(gpt, t.target) << " ("
            << percent(probs.data()[t.target]) << "%)\n"
            << "each context token's score for it (the last token is the query: the position that predicts)\n\n";
  Generator gen(o.seed, 11);
  std::vector<std::vector<float>> columns;
  json scores = json::object();
  for (const std::string& method : methods) {
    std::vector<float> s;
    if (method == "random") {
      s = explain::random_scores(T, gen);
    } else {
      const Tensor sc = explain::scores(method, t.trace);  // (T)
      s.assign(sc.data(), sc.data() + T);
    }
    scores[method] = s;
    columns.push_back(std::move(s));
  }
  // | # | token | method ... |, numbers with 4 significant digits, right-aligned under their headers.
  std::vector<std::string> cells(static_cast<size_t>(T));
  size_t token_width = 5;
  for (int64_t i = 0; i < T; ++i) token_width = std::max(token_width, columns_of(cells[i] = token_cell(gpt, ids[i])));
  const int num_width = static_cast<int>(std::to_string(T - 1).size());
  std::cout << "| " << std::setw(num_width) << "#"
            << " | " << std::left << std::setw(static_cast<int>(token_width)) << "token" << std::right;
  for (const std::string& method : methods) std::cout << " | " << std::setw(std::max<int>(10, method.size())) << method;
  std::cout << " |\n|" << std::string(num_width + 1, '-') << ":|" << std::string(token_width + 2, '-');
  for (const std::string& method : methods)
    std::cout << "|" << std::string(std::max<int>(10, method.size()) + 1, '-') << ":";
  std::cout << "|\n";
  for (int64_t i = 0; i < T; ++i) {
    std::cout << "| " << std::setw(num_width) << i << " | " << cells[i]
              << std::string(token_width - columns_of(cells[i]), ' ');
    for (size_t k = 0; k < methods.size(); ++k) {
      std::ostringstream v;
      v << std::setprecision(4) << columns[k][static_cast<size_t>(i)];
      std::cout << " | " << std::setw(std::max<int>(10, methods[k].size())) << v.str();
    }
    std::cout << " |\n";
  }
  if (!o.json_path.empty()) {
    json tokens = json::array();
    for (int64_t id : ids) tokens.push_back(gpt.tokenizer.label(id));
    io::write_file_atomic(o.json_path, json({{"model", o.gpt},
                                             {"text", o.text},
                                             {"ids", ids},
                                             {"tokens", tokens},
                                             {"predicted", t.predicted},
                                             {"predicted_token", gpt.tokenizer.label(t.predicted)},
                                             {"explained", t.target},
                                             {"explained_token", gpt.tokenizer.label(t.target)},
                                             {"probability", probs.data()[t.target]},
                                             {"scores", scores}})
                                               .dump(2) +
                                           "\n");
  }
  return 0;
}

// The training text and validation fraction an `attn train gpt` checkpoint recorded in its config.json
// ("train": {"data", "val_fraction"}), where they are there; empty / negative otherwise.
std::pair<std::string, double> recorded_corpus(const std::string& dir) {
  std::ifstream in(std::filesystem::path(dir) / "config.json");
  const json cfg = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.contains("train") || !cfg["train"].is_object()) return {"", -1.0};
  const json& t = cfg["train"];
  return {t.value("data", std::string()),
          t.contains("val_fraction") && t["val_fraction"].is_number() ? t["val_fraction"].get<double>() : -1.0};
}

// The perturbation tests on windows of the held-out text.
int explain_gpt_faithfulness(const Opts& o, models::LoadedGPT& gpt) {
  models::GPT& m = *gpt.model;
  const int64_t block = m.config().block_size;
  const std::vector<std::string> methods = chosen_methods(o);
  const int64_t context = o.context_given ? o.context : std::min<int64_t>(o.context, block);
  ATTN_CHECK(context >= 2 && context <= block, kOp,
             "--context " << context << " outside 2.." << block << " (the model's context)");
  // The text: --corpus, else what the checkpoint was trained on (if that file is here), else Moby-Dick.
  const auto [recorded, recorded_fraction] = recorded_corpus(o.gpt);
  std::string path = o.corpus;
  if (path.empty())
    path = !recorded.empty() && std::filesystem::is_regular_file(recorded) ? recorded
                                                                           : data::moby_dick_path(cli::data_root());
  const double val_fraction = o.val_fraction_given ? o.val_fraction : recorded_fraction > 0 ? recorded_fraction : 0.1;
  ATTN_CHECK(val_fraction > 0 && val_fraction < 1, kOp, "--val-fraction " << val_fraction << " outside (0, 1)");
  // The held-out tail as attn train gpt splits it, as text, then in the model's own tokens.
  const data::TextCorpus corpus = data::TextCorpus::load(path, val_fraction);
  const std::vector<int64_t> text = gpt.tokenizer.encode(corpus.tokenizer().decode(corpus.val()));

  const auto t0 = std::chrono::steady_clock::now();
  const auto rows = explain::gpt_faithfulness(m, text, methods, o.faithfulness, context, o.seed);
  const double secs = seconds_since(t0);
  std::cout << "faithfulness of each method on " << o.faithfulness << " windows of " << context
            << " tokens of the held-out " << percent(val_fraction, 0) << "% of " << path << " (" << text.size()
            << " tokens; " << o.gpt << "), " << std::fixed << std::setprecision(0) << secs << " s\n"
            << "tokens removed = masked as keys in every layer, the rest keeping their positions; positive/negative:\n"
            << "next-token accuracy (against the text's true next token) averaged over 0-90% removed;\n"
            << "deletion/insertion: area under p(predicted token) as the most relevant go / come back\n\n";
  const json table = print_faithfulness_table(rows);
  if (!o.json_path.empty())
    io::write_file_atomic(o.json_path, json({{"model", o.gpt},
                                             {"corpus", path},
                                             {"val_fraction", val_fraction},
                                             {"held_out_tokens", text.size()},
                                             {"windows", o.faithfulness},
                                             {"context", context},
                                             {"seconds", secs},
                                             {"perturbation_fractions", explain::kPerturbationFractions},
                                             {"deletion_fractions", explain::kDeletionFractions},
                                             {"methods", table}})
                                               .dump(2) +
                                           "\n");
  return 0;
}

int explain_gpt(const Opts& o) {
  return cli::run_with_gpt(o.gpt, [&](models::LoadedGPT& gpt) -> int {
    ATTN_CHECK(o.out.empty(), kOp, "--out draws a ViT's patch maps; for a GPT's scores use --json");
    if (o.faithfulness > 0) return explain_gpt_faithfulness(o, gpt);
    ATTN_CHECK(o.text_given, kOp, "with --gpt, give --text (the context to explain) or --faithfulness N");
    return explain_gpt_text(o, gpt);
  });
}

}  // namespace

ATTN_COMMAND(explain,
             "Explain a prediction (a ViT's class, a GPT's next token, a translation): attention maps, rollout, flow, "
             "gradients, relevance, faithfulness") {
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "ViT folder")->capture_default_str();
  sub.add_option("--test-image", o->test_image, "Fashion-MNIST test image to explain")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--class", o->target, "Class to explain (-1: the predicted one); with a GPT, a token id")
      ->capture_default_str();
  sub.add_option("--method", o->methods,
                 "Methods (default: all): raw_attention rollout flow grad_x_input grad_cam relevance random");
  sub.add_option("--out", o->out, "Figure of the maps (.png or .svg)");
  sub.add_option("--faithfulness", o->faithfulness,
                 "Run the perturbation tests on the first N test images (with --gpt: N held-out windows) instead")
      ->check(CLI::PositiveNumber);
  sub.add_option("--json", o->json_path, "Also write the scores / the faithfulness table as JSON");
  sub.add_option("--data", o->data, "Folder of the Fashion-MNIST files")->capture_default_str();
  sub.add_option("--seed", o->seed, "Seed of the random baseline")->capture_default_str();
  auto* gpt = sub.add_option("--gpt", o->gpt,
                             "Explain a GPT's next token instead: attn train gpt checkpoint or Hugging Face GPT-2 "
                             "folder (bare --gpt: the default)")
                  ->expected(0, 1)
                  ->capture_default_str();
  auto* text = sub.add_option("--text", o->text, "The context whose next token the GPT predicts (implies --gpt)");
  sub.add_option("--next", o->next, "With --text: the next token to explain, as text (default: the predicted one)");
  auto* context =
      sub.add_option(
             "--context", o->context,
             "With --gpt --faithfulness: tokens per held-out window (the model's block_size if that is smaller)")
          ->capture_default_str();
  sub.add_option("--corpus", o->corpus,
                 "With --gpt --faithfulness: the UTF-8 text whose held-out tail is read (default: the checkpoint's "
                 "training text, else Moby-Dick)");
  auto* vf =
      sub.add_option("--val-fraction", o->val_fraction,
                     "With --gpt --faithfulness: the held-out tail's share (default: the checkpoint's, else 0.1)");
  auto* tr = sub.add_option(
      "--translation", o->translation.model,
      "Explain a translation instead (attn train translate folder, arch transformer): --text is the German sentence");
  sub.add_option("--position", o->translation.position,
                 "With --translation: explain this target token only (0-based; -1: every one)")
      ->capture_default_str();
  sub.add_option("--top", o->translation.top, "With --translation: source tokens listed per target token")
      ->capture_default_str();
  sub.add_option("--beam", o->translation.beam, "With --translation: beam size of the translation (1: greedy)")
      ->capture_default_str();
  auto* dates = sub.add_option("--dates", o->dates.dates,
                               "Grade the translation maps against the dates task's gold alignments on N fresh dates, "
                               "after training a small Transformer on it");
  sub.add_option("--steps", o->dates.steps, "With --dates: training steps (64 dates each)")->capture_default_str();
  return [o, gpt, text, context, vf, tr, dates]() -> int {
    o->gpt_given = gpt->count() > 0;
    o->text_given = text->count() > 0;
    o->context_given = context->count() > 0;
    o->val_fraction_given = vf->count() > 0;
    o->translation_given = tr->count() > 0;
    if (o->translation_given) {
      o->translation.text = o->text;
      o->translation.json_path = o->json_path;
      o->translation.out = o->out;
      o->translation.extra = o->gpt_given || o->faithfulness > 0;
      return cli::explain_translation(o->translation);
    }
    if (dates->count() > 0) {
      o->dates.seed = o->seed;
      o->dates.json_path = o->json_path;
      return cli::explain_dates(o->dates);
    }
    return o->gpt_given || o->text_given ? explain_gpt(*o) : explain_vit(*o);
  };
}
