// attn train translate --arch ARCH --out DIR   — German→English on Debian's trans-de-en sentence pairs
// attn translate --model DIR "Satz"             — translate with a trained model (and draw its attention)
// attn translate --model DIR --eval test        — score a model folder on the test split
// attn translate --model DIR --export OUT --dtype f16   — a half-size copy to ship
//
// Training is the library's (attn/trainers/translation.h: the data, the loop, the schedules, checkpoint averaging
// and the test scores); this file parses the options and does the rest: translating sentences and drawing their
// attention, --eval, --export and --average.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/data/translation_corpus.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"
#include "attn/models/translation_model.h"
#include "attn/nn/averaging.h"
#include "attn/ops/ops.h"
#include "attn/trainers/translation.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "data_parallel_flags.h"
#include "train_translate.h"

using namespace attn;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kOp = "attn translate";

// `attn train translate`: the library's loop (attn/trainers/translation.h), saying what it does on stderr
// (a progress bar per epoch) and the test scores on stdout.
int train_translate(trainers::TranslationTrainOptions s, const cli::DataParallelFlags& dp) {
  s.log = &std::cerr;
  s.progress = &std::cerr;
  s.results = &std::cout;
  return cli::train_on_ranks(s, dp, "attn train translate", [](trainers::TranslationTrainOptions& o) {
    trainers::train_translation(o);
    std::cout << "model: " << o.out << " (try: attn translate --model " << o.out << " \"Ich habe keine Zeit.\")\n";
    return 0;
  });
}

struct TranslateCommand {
  std::string model, attention_dir, format = "png";
  std::vector<std::string> sentences;
  int64_t beam = 1;
  float length_penalty = models::kDefaultLengthPenalty;
  // --eval: score the model on a split of the corpus instead of (or before) translating sentences.
  std::string eval_split, eval_out, data = data::kTransDeEnPath;
  int64_t eval_sentences = 0, eval_beam = 5;
  // --export: write the model again, its weights stored as --dtype.
  std::string export_dir, dtype = "f16";
  // --average: model folders of the same sizes and vocabulary whose weights are averaged with --model's.
  std::vector<std::string> average;
};

// The "train" object of a model folder's config.json (empty when there is none), kept by --export.
json train_json_of(const std::string& dir) {
  const json j = io::read_json_or_null((fs::path(dir) / "config.json").string());
  return !j.is_discarded() && j.is_object() && j.contains("train") && j["train"].is_object() ? j["train"]
                                                                                             : json::object();
}

// The alignment figures of one sentence: the RNN's attention (T, S) as an alignment plot; the
// Transformer's cross-attention per layer and head (a grid) and averaged over all of them.
std::vector<std::string> save_attention_figures(models::TranslationModel::Attention& a, const std::string& arch,
                                                const fs::path& stem, const std::string& ext) {
  std::vector<std::string> written;
  auto save = [&](const auto& fig, const std::string& path) {
    if (ext == "svg") fig.save_svg(path);
    else fig.save_png(path, 2.0);
    written.push_back(path);
  };
  if (!a.cross.defined()) return written;                                         // gru: nothing to draw
  const Shape sh = a.cross.shape();                                               // (L, H, T, S)
  const Tensor avg = mean(reshape(a.cross, {sh[0] * sh[1], sh[2], sh[3]}), {0});  // (T, S)
  save(viz::alignment_plot(avg, a.source_tokens, a.target_tokens)
           .title(arch == "transformer" ? "Cross-attention, mean of all layers and heads" : "Attention (" + arch + ")")
           .row_title("English (output)")
           .col_title("German (input)"),
       stem.string() + "." + ext);
  if (arch == "transformer") {
    viz::HeatmapGrid grid(a.cross);
    grid.title("Cross-attention per layer (rows) and head (columns)")
        .row_labels(a.target_tokens)
        .col_labels(a.source_tokens)
        .unit_range();
    save(grid, stem.string() + "-heads." + ext);
  }
  return written;
}

// --average: the weights of `model` (from folder `first`) replaced by their mean with the other folders' —
// a "model soup" of runs continued from one model (averaging unrelated runs gives nonsense: their
// hidden units do not line up). The folders must hold the same architecture, sizes and vocabulary.
void average_into(models::TranslationModel& model, const std::string& first, const std::vector<std::string>& others) {
  std::vector<nn::StateDict> dicts{model.module().state_dict().clone()};
  const models::TranslationModelOptions& o = model.options();
  const data::SubwordTokenizer& tok = model.tokenizer();
  for (const std::string& dir : others) {
    models::TranslationModel m = models::TranslationModel::load(dir);
    const models::TranslationModelOptions& p = m.options();
    ATTN_CHECK(m.arch() == model.arch() && p.embed == o.embed && p.hidden == o.hidden && p.layers == o.layers &&
                   p.heads == o.heads && p.ff == o.ff && p.max_len == o.max_len && p.norm_first == o.norm_first,
               kOp, "--average " << dir << " is not the same architecture and size as " << first);
    bool same_vocab = m.tokenizer().vocab_size() == tok.vocab_size();
    for (int64_t id = 0; same_vocab && id < tok.vocab_size(); ++id)
      same_vocab = m.tokenizer().piece(id) == tok.piece(id);
    ATTN_CHECK(same_vocab, kOp, "--average " << dir << " has another subword vocabulary than " << first);
    dicts.push_back(m.module().state_dict().clone());
  }
  model.module().load_state_dict(nn::average_state_dicts(dicts));
  std::cerr << "weights: the mean of " << first << " and " << others.size() << " more folder"
            << (others.size() > 1 ? "s" : "") << "\n";
}

int run_translate(const TranslateCommand& c) {
  ATTN_CHECK(!c.sentences.empty() || !c.eval_split.empty() || !c.export_dir.empty(), kOp,
             "nothing to do: give German sentences, --eval test|val or --export DIR");
  models::TranslationModel model = models::TranslationModel::load(c.model);
  if (!c.average.empty()) average_into(model, c.model, c.average);
  if (!c.export_dir.empty()) {
    ATTN_CHECK(fs::weakly_canonical(c.export_dir) != fs::weakly_canonical(c.model), kOp,
               "--export " << c.export_dir << " is the model's own folder; choose another");
    json train = train_json_of(c.model);
    if (!c.average.empty()) train["averaged_with"] = c.average;  // how the exported weights were made
    model.save(c.export_dir, train.dump(), io::store_dtype_from(c.dtype, kOp));
    // The record of how the model was made travels with it.
    for (const char* f : {"eval.json", "metrics.jsonl", "loss.svg"})
      if (fs::exists(fs::path(c.model) / f))
        fs::copy_file(fs::path(c.model) / f, fs::path(c.export_dir) / f, fs::copy_options::overwrite_existing);
    std::cerr << "wrote " << c.export_dir << " (weights as " << c.dtype << ", "
              << fs::file_size(fs::path(c.export_dir) / "model.safetensors") / 1e6 << " MB)\n";
    model = models::TranslationModel::load(c.export_dir);  // what follows (--eval, sentences) uses the exported copy
  }
  if (!c.eval_split.empty()) {
    data::TranslationCorpusOptions co;
    co.path = c.data;
    co.phrases = false;
    const data::TranslationSplits splits = data::load_trans_de_en(co);
    const std::string& scored = c.export_dir.empty() ? c.model : c.export_dir;
    std::cout << "model: " << scored << " (" << model.arch() << "), " << c.eval_split << " split of " << c.data << "\n";
    json eval = {
        {"model", scored}, {"arch", model.arch()}, {"split", c.eval_split}, {"length_penalty", c.length_penalty}};
    if (!c.average.empty()) eval["averaged_with"] = c.average;
    eval.update(trainers::evaluate_translation(model, c.eval_split == "test" ? splits.test : splits.val,
                                               c.eval_sentences, 64, c.eval_beam, c.length_penalty, c.eval_split,
                                               &std::cout));
    if (!c.eval_out.empty()) io::write_file_atomic(c.eval_out, eval.dump(2) + "\n");
  }
  for (size_t i = 0; i < c.sentences.size(); ++i) {
    const std::string& s = c.sentences[i];
    ATTN_CHECK(!s.empty(), kOp, "sentence " << i + 1 << " is empty");
    if (c.attention_dir.empty()) {
      std::cout << model.translate({s}, 1, c.beam, c.length_penalty)[0] << "\n";
      continue;
    }
    models::TranslationModel::Attention a = model.attention(s, c.beam, c.length_penalty);
    std::cout << a.translation << "\n";
    if (!a.cross.defined()) {
      std::cerr << "(" << model.arch() << " has no attention to draw)\n";
      continue;
    }
    for (const std::string& f : save_attention_figures(
             a, model.arch(), fs::path(c.attention_dir) / ("sentence-" + std::to_string(i + 1)), c.format))
      std::cerr << "wrote " << f << "\n";
  }
  return 0;
}

}  // namespace

namespace attn::cli {

TrainTranslate add_train_translate(CLI::App& train) {
  auto s = std::make_shared<trainers::TranslationTrainOptions>();
  TrainTranslate t;
  t.app = train.add_subcommand("translate", "Train a German->English translation model on Debian's trans-de-en");
  t.app->add_option("--arch", s->model.arch, "gru, bahdanau, luong-dot, luong-general, luong-concat, transformer")
      ->capture_default_str()
      ->check(CLI::IsMember(models::translation_archs()));
  t.app->add_option("--out", s->out, "Model directory")->required();
  t.app->add_option("--data", s->data, "The trans-de-en dictionary file")->capture_default_str();
  t.app->add_option("--vocab", s->vocab, "Shared subword vocabulary size")
      ->capture_default_str()
      ->check(CLI::Range(16, 64000));
  t.app->add_option("--embed", s->model.embed, "Embedding size (the transformer's d_model)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app->add_option("--hidden", s->model.hidden, "GRU hidden size")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--batch", s->batch, "Sentence pairs per batch at most (see --batch-tokens)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app
      ->add_option(
          "--epochs", s->epochs,
          "Passes over the training split (default: 7 RNN, 60 transformer; --time-limit-min usually ends it first)")
      ->check(CLI::PositiveNumber);
  t.app->add_option("--max-tokens", s->max_tokens, "Longest sentence kept, in subwords")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app->add_option("--lr", s->lr, "Adam learning rate (default 2e-3; the transformer's is the Noam schedule's peak)")
      ->check(CLI::PositiveNumber);
  t.app
      ->add_option_function<float>(
          "--dropout", [s](float p) { s->dropout = p, s->model.dropout = p; },
          "Dropout (with --init: replaces the folder's)")
      ->default_str("0.3")
      ->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--layers", s->model.layers, "Transformer: encoder and decoder layers each")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app->add_option("--heads", s->model.heads, "Transformer: attention heads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app->add_option("--ff", s->model.ff, "Transformer: feed-forward width")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app->add_flag("--pre-ln,!--post-ln", s->model.norm_first,
                  "Transformer: LayerNorm before each sublayer (default) or after it (the 2017 paper)");
  t.app->add_option("--warmup", s->warmup, "Transformer: warmup steps of the learning rate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t.app
      ->add_option("--schedule", s->schedule,
                   "Transformer: learning rate after the warmup: noam (∝ 1/√step, going on from --init's steps) or "
                   "cosine (to 0 at the end of --epochs or --time-limit-min)")
      ->capture_default_str()
      ->check(CLI::IsMember({"noam", "cosine"}));
  t.app->add_option("--label-smoothing", s->label_smoothing, "Transformer: label smoothing")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--beam", s->beam, "Beam size for the test evaluation, scored beside greedy (1 = greedy only)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  t.app
      ->add_option("--phrases", s->phrases,
                   "Dictionary phrase pairs (headwords, idioms, short sentences) trained on per epoch beside every "
                   "sentence pair (the shipped model used 32000); 0 = sentences only")
      ->default_str(std::to_string(trainers::kDefaultPhrasesPerEpoch))
      ->check(CLI::NonNegativeNumber);
  t.app
      ->add_option("--batch-tokens", s->batch_tokens,
                   "At most this many padded tokens per batch (0 = only --batch pairs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  t.app
      ->add_option("--average-last", s->average_last,
                   "Average the weights of the last K epochs (0 or 1: off); kept when its validation loss beats the "
                   "best epoch's")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  t.app->add_option("--length-penalty", s->length_penalty, "Beam search: GNMT length penalty alpha")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
  t.app
      ->add_option("--bpe-dropout", s->bpe_dropout,
                   "BPE-dropout: each epoch the training pairs are segmented afresh, each merge skipped with this "
                   "probability (0: off; Provilkov et al. used 0.1)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.95));
  t.app->add_option(
      "--init", s->init,
      "Continue training this model folder (its weights, sizes and vocabulary, and its dropout unless --dropout is "
      "given; the Noam schedule goes on from its step count; --out should be another folder)");
  t.app->add_option("--seed", s->model.seed, "Seed of the weights, dropout and the batch order")->capture_default_str();
  t.app
      ->add_option("--time-limit-min", s->time_limit_min, "Stop training after N minutes, then evaluate (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  t.app->add_option("--eval-sentences", s->eval_sentences, "Test sentences to score (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto dp = std::make_shared<DataParallelFlags>();
  add_data_parallel_flags(t.app, dp.get());
  t.action = [s, dp]() -> int { return train_translate(*s, *dp); };
  return t;
}

}  // namespace attn::cli

ATTN_COMMAND(translate, "Translate German sentences with a model from attn train translate") {
  auto c = std::make_shared<TranslateCommand>();
  sub.add_option("--model", c->model, "Model directory (attn train translate --out)")->required();
  sub.add_option("sentences", c->sentences, "German sentences to translate");
  sub.add_option("--beam", c->beam, "Beam size (1 = greedy)")->capture_default_str()->check(CLI::Range(1, 64));
  sub.add_option("--length-penalty", c->length_penalty, "Beam search: GNMT length penalty alpha")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
  sub.add_option("--eval", c->eval_split,
                 "Score the model on the corpus's test or validation split: greedy and beam (--eval-beam), BLEU and "
                 "chrF, by length")
      ->check(CLI::IsMember({"test", "val"}));
  sub.add_option("--eval-beam", c->eval_beam, "Beam size scored beside greedy by --eval (1 = greedy only)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub.add_option("--eval-sentences", c->eval_sentences, "Sentences of the split to score (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--eval-out", c->eval_out, "Also write the scores as JSON to this file");
  sub.add_option("--data", c->data, "The trans-de-en dictionary file (for --eval)")->capture_default_str();
  sub.add_option("--average", c->average,
                 "Average --model's weights with this folder's (same sizes and vocabulary: runs continued from one "
                 "model) before translating, --eval or --export; repeat for more")
      ->expected(1)
      ->allow_extra_args(false)
      ->take_all();
  sub.add_option("--export", c->export_dir,
                 "Write the model to this folder with its weights stored as --dtype (a smaller copy to ship)");
  sub.add_option("--dtype", c->dtype, "Weight storage for --export")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  sub.add_option(
      "--attention", c->attention_dir,
      "Also draw what the model attended to, into this folder: sentence-N.png (the alignment; the transformer's "
      "mean over layers and heads) and, for the transformer, sentence-N-heads.png");
  sub.add_option("--format", c->format, "Figure format")->capture_default_str()->check(CLI::IsMember({"png", "svg"}));
  return [c]() -> int { return run_translate(*c); };
}
