// attn train translate --arch ARCH --out DIR   — German→English on Debian's trans-de-en sentence pairs
// attn translate --model DIR "Satz"             — translate with a trained model (and draw its attention)
// attn translate --model DIR --eval test        — score a model folder on the test split
// attn translate --model DIR --export OUT --dtype f16   — a half-size copy to ship
//
// The pipeline (src/attn/data/translation_corpus.h, subword_tokenizer.h, translation_batches.h):
//   1. the dictionary's example sentences, cleaned and split by group (train / validation / test), and its
//      other aligned entries (headwords, idioms, short sentences) as training-only phrase pairs, none equal
//      to a held-out sentence;
//   2. a shared SentencePiece BPE vocabulary trained on the training sentences of both languages;
//   3. teacher-forced training with Adam, gradient clipping, dropout, batches of similar lengths (capped in
//      pairs and, with --batch-tokens, in padded tokens); each epoch is every sentence pair plus the next
//      --phrases phrase pairs; validation loss every epoch; the checkpoint keeps the best epoch, or the
//      average of the last --average-last epochs when that validates better (models/translation_model.h);
//   4. at the end, the test split translated greedily and with beam search, scored with corpus BLEU
//      (13a tokens) and chrF, overall and by source length, written to eval.json.
//
// Architectures (models/translation_model.h): gru (no attention), bahdanau, luong-dot, luong-general,
// luong-concat (a bidirectional GRU encoder and a GRU decoder) and transformer (shared embeddings,
// sinusoidal positions, label smoothing 0.1, Adam (0.9, 0.98, 1e-9) on the Noam schedule).
#include <algorithm>
#include <chrono>
#include <deque>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/translation_batches.h"
#include "attn/data/translation_corpus.h"
#include "attn/models/translation_model.h"
#include "attn/nn/schedule.h"
#include "attn/nn/averaging.h"
#include "attn/nn/checkpoint.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "attn/train/metrics.h"
#include "attn/train/progress.h"
#include "attn/train/translation_metrics.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "train_translate.h"

using namespace attn;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kTrainOp = "attn train translate";
constexpr const char* kOp = "attn translate";
using Tok = data::SubwordTokenizer;
// Off by default: measured at 85 minutes (README, Translation), 32,000 phrase pairs an epoch left the validation
// loss per pass over the sentences unchanged and the test BLEU lower, while making each epoch 50% longer.
constexpr int64_t kDefaultPhrasesPerEpoch = 0;
constexpr double kDefaultTimeLimitMin = 18;         // the default command ends (and evaluates) within 20 minutes

struct TranslateSettings {
  models::TranslationModelOptions model;
  std::string out, data = data::kTransDeEnPath;
  int64_t vocab = 4000, batch = 256, epochs = 0, max_tokens = 64;
  float lr = 0, clip = 1.f, label_smoothing = 0.1f;
  double time_limit_min = kDefaultTimeLimitMin;  // 0 = no limit
  int64_t eval_sentences = 0;  // 0 = the whole test split
  int64_t warmup = 300;        // transformer: warmup steps
  // Transformer learning rate: "noam" (warmup, then ∝ 1/√step, going on from --init's step count) or "cosine"
  // (warmup, then a half cosine to 0 at the end of the run's budget: --epochs or --time-limit-min).
  std::string schedule = "noam";
  std::optional<float> dropout;  // --dropout as given (with --init it replaces the folder's)
  int64_t beam = 5;            // beam size for the test evaluation (greedy is always scored too)
  float length_penalty = models::kDefaultLengthPenalty;  // beam search's GNMT α
  int64_t phrases = -1;        // dictionary phrase pairs per epoch beside every sentence (-1: the default, 0: none)
  // At most this many padded tokens per batch (0: --batch pairs only): about 60 sentence pairs, or 250 phrase
  // pairs, whose 64-pair batches cost a step each for a quarter of the tokens.
  int64_t batch_tokens = 1536;
  int64_t average_last = 0;    // average the weights of the last K epochs (0 / 1: off)
  std::string init;            // continue from this model folder's weights, vocabulary and sizes
};

// A JSON file's contents; null when it is missing, discarded (is_discarded) when it is not valid JSON.
json read_json_file(const fs::path& file) {
  std::ifstream in(file);
  return in ? json::parse(in, nullptr, false) : json();
}

// How many optimizer steps the model in `dir` has had: its config's train.steps, or (folders written before
// that field) its eval.json's "steps"; 0 when neither says.
int64_t steps_of(const fs::path& dir) {
  const json cfg = read_json_file(dir / "config.json");
  if (cfg.is_object() && cfg.contains("train") && cfg["train"].is_object() && cfg["train"].contains("steps") &&
      cfg["train"]["steps"].is_number_integer())
    return cfg["train"]["steps"].get<int64_t>();
  const json eval = read_json_file(dir / "eval.json");
  return eval.is_object() && eval.contains("steps") && eval["steps"].is_number_integer() ? eval["steps"].get<int64_t>() : 0;
}

// Defaults that depend on the architecture (an option left at 0 / negative takes them).
void apply_arch_defaults(TranslateSettings& s) {
  const bool tf = s.model.arch == "transformer";
  if (s.epochs == 0) s.epochs = tf ? 60 : 7;  // the transformer: as many as --time-limit-min allows
  if (s.lr == 0) s.lr = 2e-3f;
  if (s.phrases < 0) s.phrases = kDefaultPhrasesPerEpoch;
}

// Cross-entropy of a batch's target tokens under teacher forcing (padding ignored; `options` sets the
// reduction and smoothing); `tokens` receives how many target tokens the batch has.
Tensor batch_loss(models::TranslationModel& model, const data::SeqBatch& b, CrossEntropyOptions options, int64_t& tokens) {
  Tensor logits = model.logits(b.src, b.tgt_in);  // (B, T, V)
  const int64_t V = logits.shape()[2];
  tokens = 0;
  for (int64_t id : b.tgt_out.data) tokens += id != Tok::pad_id;
  return cross_entropy(reshape(logits, {-1, V}), IndexTensor(b.tgt_out.data), options.ignore(Tok::pad_id));
}

// Mean cross-entropy per target token over `pairs` (no gradients), in batches.
double evaluate_loss(models::TranslationModel& model, const data::EncodedPairs& pairs, int64_t batch) {
  NoGradGuard ng;
  double total = 0;
  int64_t tokens = 0;
  std::vector<size_t> idx;
  auto flush = [&] {
    int64_t n = 0;
    total += batch_loss(model, data::make_translation_batch(pairs, idx), CrossEntropyOptions().reduce("sum"), n).item();
    tokens += n;
    idx.clear();
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    idx.push_back(i);
    if (static_cast<int64_t>(idx.size()) == batch) flush();
  }
  if (!idx.empty()) flush();
  return tokens ? total / static_cast<double>(tokens) : 0.0;
}

json scores_json(const std::vector<train::TranslationScore>& scores) {
  json j = json::array();
  for (const auto& s : scores) j.push_back({{"source_words", s.label}, {"sentences", s.sentences}, {"bleu", s.bleu}, {"chrf", s.chrf}});
  return j;
}

// The test split (or another: `split` names it; its first `limit` sentences; 0 = all) translated greedily and, when beam > 1, with beam
// search, scored with corpus BLEU (13a) and chrF overall and by source length; printed, and returned as
// {"sentences", "greedy", "beam", "examples"} (the first five translations beside their references).
json evaluate_test(models::TranslationModel& model, const std::vector<data::SentencePair>& test, int64_t limit,
                   int64_t batch, int64_t beam_size, float length_penalty, const std::string& split = "test") {
  std::vector<std::string> srcs, refs;
  std::vector<int64_t> words;
  for (const auto& p : test) {
    if (limit > 0 && static_cast<int64_t>(srcs.size()) >= limit) break;
    srcs.push_back(p.de);
    refs.push_back(p.en);
    words.push_back(data::count_words(p.de));
  }
  json eval = {{"sentences", srcs.size()}};
  std::vector<std::string> hyps;
  for (int64_t beam : beam_size > 1 ? std::vector<int64_t>{1, beam_size} : std::vector<int64_t>{1}) {
    const auto t_eval = std::chrono::steady_clock::now();
    hyps = model.translate(srcs, batch, beam, length_penalty);
    const auto scores = train::score_translations(hyps, refs, words);
    const std::string key = beam == 1 ? "greedy" : "beam";
    eval[key] = {{"beam", beam}, {"scores", scores_json(scores)},
                 {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_eval).count()}};
    std::cout << split << ", " << (beam == 1 ? std::string("greedy") : "beam " + std::to_string(beam)) << " (" << srcs.size()
              << " sentences): BLEU " << scores[0].bleu << ", chrF " << scores[0].chrf << "\n";
    for (size_t i = 1; i < scores.size(); ++i)
      std::cout << "  source " << scores[i].label << " words (" << scores[i].sentences << "): BLEU " << scores[i].bleu
                << ", chrF " << scores[i].chrf << "\n";
  }
  json examples = json::array();
  for (size_t i = 0; i < std::min<size_t>(5, srcs.size()); ++i) examples.push_back({{"de", srcs[i]}, {"en", refs[i]}, {"model", hyps[i]}});
  eval["examples"] = examples;
  for (const auto& e : examples)
    std::cout << "  " << e["de"].get<std::string>() << "\n    -> " << e["model"].get<std::string>() << "\n    (ref) "
              << e["en"].get<std::string>() << "\n";
  return eval;
}

// Each epoch trains on every sentence pair and the next `per_epoch` phrase pairs of a shuffled order
// (reshuffled each time it is used up), so that over the run every phrase is seen about equally often.
class PhraseSampler {
 public:
  PhraseSampler(size_t first, size_t count, Generator& gen) : first_(first), count_(count), gen_(gen) {}
  std::vector<size_t> next(size_t per_epoch) {
    std::vector<size_t> out;
    per_epoch = std::min(per_epoch, count_);
    std::vector<bool> taken;  // when the order is reshuffled mid-call: what this call already took
    while (out.size() < per_epoch) {
      if (cursor_ == order_.size()) {
        taken.assign(count_, false);
        for (size_t i : out) taken[i - first_] = true;
        reshuffle();
      }
      const size_t i = order_[cursor_++];
      if (taken.empty() || !taken[i - first_]) out.push_back(i);
    }
    return out;
  }

 private:
  void reshuffle() {
    order_.resize(count_);
    std::iota(order_.begin(), order_.end(), first_);
    gen_.shuffle(order_);
    cursor_ = 0;
  }
  size_t first_, count_, cursor_ = 0;
  std::vector<size_t> order_;
  Generator& gen_;
};

int train_translate(TranslateSettings s) {
  apply_arch_defaults(s);
  const std::string attention = models::translation_attention(s.model.arch);
  ATTN_CHECK(!s.out.empty(), kTrainOp, "--out is required");
  const fs::path dir = s.out;
  fs::create_directories(dir);

  // ---- data ----
  data::TranslationCorpusOptions co;
  co.path = s.data;
  co.phrases = s.phrases > 0;
  data::TranslationSplits splits = data::load_trans_de_en(co);
  std::cerr << "data: " << s.data << "\n" << splits.report.to_string();
  // --init: the folder's model (its sizes, weights and vocabulary) instead of a new one.
  std::optional<models::TranslationModel> init_model;
  int64_t start_step = 0;  // optimizer steps the --init model has had already (the schedule goes on from there)
  if (!s.init.empty()) {
    init_model.emplace(models::TranslationModel::load(s.init));
    ATTN_CHECK(init_model->arch() == s.model.arch, kTrainOp,
               "--init " << s.init << " holds a " << init_model->arch() << " model, not --arch " << s.model.arch);
    s.model = init_model->options();
    if (s.dropout) init_model->set_dropout(*s.dropout), s.model.dropout = *s.dropout;
    s.vocab = init_model->tokenizer().vocab_size();
    start_step = steps_of(s.init);
    std::cerr << "init: " << s.init << " (" << start_step << " steps so far; its sizes and vocabulary are kept, dropout " << s.model.dropout << ", "
              << "size options given here are ignored)\n";
    if (start_step == 0)
      std::cerr << "warning: " << s.init << " does not say how many steps it was trained for; the schedule starts over\n";
  }
  Tok trained_tok = init_model ? init_model->tokenizer() : [&] {
    std::vector<std::string> spm_text;
    for (const auto& p : splits.train) spm_text.push_back(p.de), spm_text.push_back(p.en);
    data::SubwordOptions so;
    so.vocab_size = s.vocab;
    return Tok::train(spm_text, so);
  }();
  // Training pairs: the sentences first, then the phrases (indices from n_sentences on).
  data::EncodedPairs train = data::encode_pairs(splits.train, trained_tok, s.max_tokens);
  const size_t n_sentences = train.size();
  data::append_pairs(train, data::encode_pairs(splits.phrases, trained_tok, s.max_tokens), splits.train.size());
  const size_t n_phrases = train.size() - n_sentences;
  const data::EncodedPairs val = data::encode_pairs(splits.val, trained_tok, s.max_tokens);
  std::cerr << "subwords: shared BPE vocabulary of " << trained_tok.vocab_size() << "; " << n_sentences << " training sentence pairs + "
            << n_phrases << " phrase pairs (" << std::min<size_t>(n_phrases, static_cast<size_t>(s.phrases)) << " per epoch) and "
            << val.size() << " validation pairs of at most " << s.max_tokens << " subwords\n";

  // ---- model, optimizer ----
  const bool is_tf = s.model.arch == "transformer";
  if (!init_model) s.model.max_len = 2 * s.max_tokens + 16;
  models::TranslationModel model = init_model ? std::move(*init_model) : models::TranslationModel(s.model, std::move(trained_tok));
  // A continued run draws a new batch order and phrase sample (its stream depends on the steps so far).
  Generator data_gen(s.model.seed + static_cast<uint64_t>(start_step), 2);
  nn::Module& net = model.module();
  nn::Adam opt(net.parameters(), is_tf ? nn::AdamOptions(s.lr).betas(0.9f, 0.98f).eps(1e-9f) : nn::AdamOptions(s.lr));
  const float smoothing = is_tf ? s.label_smoothing : 0.f;
  std::ostringstream budget;
  budget << s.epochs << " epochs";
  if (s.time_limit_min > 0) budget << " or " << s.time_limit_min << " minutes, whichever ends first";
  std::cerr << "model: " << s.model.arch << " (attention " << attention << "), " << net.num_parameters() << " parameters, dropout "
            << s.model.dropout << "\n"
            << "budget: " << budget.str() << " (what the defaults reach: README.md, Translation)\n";
  net.train();

  json train_info = {{"data", s.data}, {"vocab", s.vocab}, {"batch", s.batch}, {"batch_tokens", s.batch_tokens},
                     {"epochs", s.epochs}, {"lr", s.lr}, {"clip", s.clip}, {"max_tokens", s.max_tokens},
                     {"warmup", is_tf ? s.warmup : 0}, {"schedule", is_tf ? s.schedule : "constant"},
                     {"label_smoothing", smoothing},
                     {"phrases_per_epoch", s.phrases}, {"average_last", s.average_last}, {"init", s.init},
                     {"init_steps", start_step}};
  PhraseSampler phrase_sampler(n_sentences, n_phrases, data_gen);
  std::vector<size_t> sentence_ids(n_sentences);
  std::iota(sentence_ids.begin(), sentence_ids.end(), size_t{0});
  std::deque<nn::StateDict> last_epochs;  // the last --average-last epochs' weights
  fs::remove(dir / "metrics.jsonl");  // a fresh run
  train::MetricsLogger metrics((dir / "metrics.jsonl").string());
  std::vector<double> steps_x, loss_y, val_x, val_y;
  const auto t0 = std::chrono::steady_clock::now();
  auto minutes = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0; };
  int64_t step = 0, best_epoch = 0;
  double best_val = std::numeric_limits<double>::infinity();
  if (!s.init.empty()) {
    // The model to beat is the one we started from: saved as "epoch 0", so that --out never ends worse.
    net.eval();
    best_val = evaluate_loss(model, val, s.batch);
    net.train();
    train_info["steps"] = start_step;
    model.save(dir.string(), train_info.dump());
    std::cerr << "epoch 0 (the --init model): validation loss " << best_val << "\n";
  }
  std::vector<double> epoch_seconds;
  bool out_of_time = false;
  for (int64_t epoch = 1; epoch <= s.epochs && !out_of_time; ++epoch) {
    const double epoch_start = minutes();
    std::vector<size_t> subset = sentence_ids;
    if (n_phrases > 0 && s.phrases > 0) {
      const std::vector<size_t> more = phrase_sampler.next(static_cast<size_t>(s.phrases));
      subset.insert(subset.end(), more.begin(), more.end());
    }
    auto batches = data::length_bucketed_batches(train, std::move(subset), s.batch, data_gen, s.batch_tokens);
    train::ProgressBar bar(static_cast<int64_t>(batches.size()), "epoch " + std::to_string(epoch), std::cerr);
    bar.unit("tok");
    int64_t done = 0;
    for (const auto& idx : batches) {
      data::SeqBatch b = data::make_translation_batch(train, idx);
      // Transformer: the Noam schedule scaled to peak at --lr: linear warmup for --warmup steps, then ∝ 1/√step.
      // With --init the schedule goes on from the model's own step count, and the fresh Adam moments get a
      // linear re-warmup over --warmup steps.
      // Cosine: nn::warmup_cosine over --epochs' steps (Loshchilov & Hutter 2017, without restarts; a continued
      // run warms up again). Past the warmup the run is as far along as the further of its steps and its share of
      // --time-limit-min, so the rate reaches 0 as the run ends, however the budget is set.
      if (is_tf && s.schedule == "cosine") {
        const int64_t W = s.warmup;
        const int64_t total = std::max<int64_t>(W, s.epochs * static_cast<int64_t>(batches.size()));
        int64_t at = step < W ? step + 1 : step;  // warming up to the peak at step W - 1; the cosine starts at W
        if (step >= W && s.time_limit_min > 0)
          at = std::max<int64_t>(at, W + std::llround(minutes() / s.time_limit_min * static_cast<double>(total - W)));
        opt.set_lr(nn::warmup_cosine(at, s.lr, W, total));
      } else if (is_tf) {
        const double rewarm = start_step > 0 ? std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(s.warmup)) : 1.0;
        opt.set_lr(static_cast<float>(rewarm * s.lr * nn::noam(start_step + step + 1, s.model.embed, s.warmup) /
                                      nn::noam(s.warmup, s.model.embed, s.warmup)));
      }
      int64_t tokens = 0;
      Tensor loss = batch_loss(model, b, CrossEntropyOptions().smoothing(smoothing), tokens);
      loss.backward();
      if (s.clip > 0) nn::clip_grad_norm_(net.parameters(), s.clip);
      opt.step();
      opt.zero_grad();
      ++step;
      const double l = loss.item();
      metrics.log({{"step", step}, {"epoch", epoch}, {"split", "train"}, {"loss", l}, {"lr", opt.lr()}, {"elapsed_s", minutes() * 60}});
      steps_x.push_back(static_cast<double>(step));
      loss_y.push_back(l);
      bar.update(++done, {{"loss", l}}, tokens);
      if (s.time_limit_min > 0 && minutes() >= s.time_limit_min) {
        out_of_time = true;
        break;
      }
    }
    bar.finish();
    epoch_seconds.push_back((minutes() - epoch_start) * 60);
    net.eval();
    const double vl = evaluate_loss(model, val, s.batch);
    net.train();
    metrics.log({{"step", step}, {"epoch", epoch}, {"split", "val"}, {"loss", vl}, {"elapsed_s", minutes() * 60}});
    val_x.push_back(static_cast<double>(step));
    val_y.push_back(vl);
    // Keep the checkpoint with the best validation loss (early stopping: a small corpus overfits).
    const bool best = vl < best_val;
    std::cerr << "epoch " << epoch << ": validation loss " << vl << " (perplexity " << std::exp(vl) << "), "
              << minutes() << " min" << (best ? " — best so far, saved" : " — not better, checkpoint kept") << "\n";
    train_info["steps"] = start_step + step;  // in all, --init's included: a later --init goes on from here
    if (best) {
      best_val = vl;
      best_epoch = epoch;
      model.save(dir.string(), train_info.dump());
    }
    if (s.average_last > 1) {
      last_epochs.push_back(net.state_dict().clone());
      if (static_cast<int64_t>(last_epochs.size()) > s.average_last) last_epochs.pop_front();
    }
  }
  const double train_minutes = minutes();
  json run = {{"arch", s.model.arch}, {"train_minutes", train_minutes}, {"steps", step}, {"epochs_run", epoch_seconds.size()},
              {"epoch_seconds", epoch_seconds}, {"best_epoch", best_epoch}, {"best_val_loss", best_val},
              {"parameters", net.num_parameters()}, {"phrases_per_epoch", s.phrases}};
  // Checkpoint averaging (Vaswani et al. 2017 averaged the last 5–20): the mean of the last K epochs'
  // weights, kept instead of the best epoch when its validation loss is lower.
  if (last_epochs.size() > 1) {
    const nn::StateDict avg = nn::average_state_dicts({last_epochs.begin(), last_epochs.end()});
    net.load_state_dict(avg);
    net.eval();
    const double avg_val = evaluate_loss(model, val, s.batch);
    std::cerr << "average of the last " << last_epochs.size() << " epochs: validation loss " << avg_val
              << (avg_val < best_val ? " — better than the best epoch, saved" : " — not better than the best epoch") << "\n";
    run["averaged_epochs"] = last_epochs.size();
    run["averaged_val_loss"] = avg_val;
    if (avg_val < best_val) {
      model.save(dir.string(), train_info.dump());
      run["kept"] = "average";
    } else {
      run["kept"] = "best epoch";
    }
  }
  // Evaluate the kept checkpoint, not the last weights.
  model.load_weights((dir / "model.safetensors").string());
  net.eval();
  viz::LinePlot plot("Training loss (" + s.model.arch + ")", "step", "cross-entropy (nats per token)");
  plot.add_series("train", steps_x, loss_y).add_series("validation", val_x, val_y);
  plot.save((dir / "loss.svg").string());

  // ---- test: BLEU and chrF, overall and by source length, greedy and beam ----
  json eval = run;
  eval.update(evaluate_test(model, splits.test, s.eval_sentences, s.batch, s.beam, s.length_penalty));
  viz::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  std::cout << "model: " << dir.string() << " (try: attn translate --model " << dir.string() << " \"Ich habe keine Zeit.\")\n";
  return 0;
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

io::StoreDtype parse_dtype(const std::string& d) {
  return d == "f16" ? io::StoreDtype::F16 : d == "bf16" ? io::StoreDtype::BF16 : io::StoreDtype::F32;
}

// The "train" object of a model folder's config.json (empty when there is none), kept by --export.
json train_json_of(const std::string& dir) {
  const json j = read_json_file(fs::path(dir) / "config.json");
  return !j.is_discarded() && j.is_object() && j.contains("train") && j["train"].is_object() ? j["train"] : json::object();
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
  if (!a.cross.defined()) return written;  // gru: nothing to draw
  const Shape sh = a.cross.shape();         // (L, H, T, S)
  const Tensor avg = mean(reshape(a.cross, {sh[0] * sh[1], sh[2], sh[3]}), {0});  // (T, S)
  save(viz::alignment_plot(avg, a.source_tokens, a.target_tokens)
           .title(arch == "transformer" ? "Cross-attention, mean of all layers and heads" : "Attention (" + arch + ")")
           .row_title("English (output)").col_title("German (input)"),
       stem.string() + "." + ext);
  if (arch == "transformer") {
    viz::HeatmapGrid grid(a.cross);
    grid.title("Cross-attention per layer (rows) and head (columns)").row_labels(a.target_tokens).col_labels(a.source_tokens).unit_range();
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
    ATTN_CHECK(m.arch() == model.arch() && p.embed == o.embed && p.hidden == o.hidden && p.layers == o.layers && p.heads == o.heads &&
                   p.ff == o.ff && p.max_len == o.max_len && p.norm_first == o.norm_first,
               kOp, "--average " << dir << " is not the same architecture and size as " << first);
    bool same_vocab = m.tokenizer().vocab_size() == tok.vocab_size();
    for (int64_t id = 0; same_vocab && id < tok.vocab_size(); ++id) same_vocab = m.tokenizer().piece(id) == tok.piece(id);
    ATTN_CHECK(same_vocab, kOp, "--average " << dir << " has another subword vocabulary than " << first);
    dicts.push_back(m.module().state_dict().clone());
  }
  model.module().load_state_dict(nn::average_state_dicts(dicts));
  std::cerr << "weights: the mean of " << first << " and " << others.size() << " more folder" << (others.size() > 1 ? "s" : "") << "\n";
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
    model.save(c.export_dir, train.dump(), parse_dtype(c.dtype));
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
    json eval = {{"model", scored}, {"arch", model.arch()}, {"split", c.eval_split}, {"length_penalty", c.length_penalty}};
    if (!c.average.empty()) eval["averaged_with"] = c.average;
    eval.update(evaluate_test(model, c.eval_split == "test" ? splits.test : splits.val, c.eval_sentences, 64, c.eval_beam,
                              c.length_penalty, c.eval_split));
    if (!c.eval_out.empty()) viz::write_file_atomic(c.eval_out, eval.dump(2) + "\n");
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
    for (const std::string& f : save_attention_figures(a, model.arch(), fs::path(c.attention_dir) / ("sentence-" + std::to_string(i + 1)), c.format))
      std::cerr << "wrote " << f << "\n";
  }
  return 0;
}

}  // namespace

namespace attn::cli {

TrainTranslate add_train_translate(CLI::App& train) {
  auto s = std::make_shared<TranslateSettings>();
  TrainTranslate t;
  t.app = train.add_subcommand("translate", "Train a German->English translation model on Debian's trans-de-en");
  t.app->add_option("--arch", s->model.arch, "gru, bahdanau, luong-dot, luong-general, luong-concat, transformer")->capture_default_str()
      ->check(CLI::IsMember(models::translation_archs()));
  t.app->add_option("--out", s->out, "Model directory")->required();
  t.app->add_option("--data", s->data, "The trans-de-en dictionary file")->capture_default_str();
  t.app->add_option("--vocab", s->vocab, "Shared subword vocabulary size")->capture_default_str()->check(CLI::Range(16, 64000));
  t.app->add_option("--embed", s->model.embed, "Embedding size (the transformer's d_model)")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--hidden", s->model.hidden, "GRU hidden size")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--batch", s->batch, "Sentence pairs per batch at most (see --batch-tokens)")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--epochs", s->epochs, "Passes over the training split (default: 7 RNN, 60 transformer; --time-limit-min usually ends it first)")->check(CLI::PositiveNumber);
  t.app->add_option("--max-tokens", s->max_tokens, "Longest sentence kept, in subwords")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--lr", s->lr, "Adam learning rate (default 2e-3; the transformer's is the Noam schedule's peak)")->check(CLI::PositiveNumber);
  t.app->add_option_function<float>("--dropout", [s](float p) { s->dropout = p, s->model.dropout = p; },
                                    "Dropout (with --init: replaces the folder's)")
      ->default_str("0.3")->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--layers", s->model.layers, "Transformer: encoder and decoder layers each")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--heads", s->model.heads, "Transformer: attention heads")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--ff", s->model.ff, "Transformer: feed-forward width")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_flag("--pre-ln,!--post-ln", s->model.norm_first, "Transformer: LayerNorm before each sublayer (default) or after it (the 2017 paper)");
  t.app->add_option("--warmup", s->warmup, "Transformer: warmup steps of the learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--schedule", s->schedule, "Transformer: learning rate after the warmup: noam (∝ 1/√step, going on from --init's steps) or cosine (to 0 at the end of --epochs or --time-limit-min)")
      ->capture_default_str()->check(CLI::IsMember({"noam", "cosine"}));
  t.app->add_option("--label-smoothing", s->label_smoothing, "Transformer: label smoothing")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--beam", s->beam, "Beam size for the test evaluation, scored beside greedy (1 = greedy only)")->capture_default_str()->check(CLI::Range(1, 64));
  t.app->add_option("--phrases", s->phrases, "Dictionary phrase pairs (headwords, idioms, short sentences) trained on per epoch beside every sentence pair (the shipped model used 32000); 0 = sentences only")
      ->default_str(std::to_string(kDefaultPhrasesPerEpoch))->check(CLI::NonNegativeNumber);
  t.app->add_option("--batch-tokens", s->batch_tokens, "At most this many padded tokens per batch (0 = only --batch pairs)")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.app->add_option("--average-last", s->average_last, "Average the weights of the last K epochs (0 or 1: off); kept when its validation loss beats the best epoch's")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.app->add_option("--length-penalty", s->length_penalty, "Beam search: GNMT length penalty alpha")->capture_default_str()->check(CLI::Range(0.0, 5.0));
  t.app->add_option("--init", s->init, "Continue training this model folder (its weights, sizes and vocabulary, and its dropout unless --dropout is given; the Noam schedule goes on from its step count; --out should be another folder)");
  t.app->add_option("--seed", s->model.seed, "Seed of the weights, dropout and the batch order")->capture_default_str();
  t.app->add_option("--time-limit-min", s->time_limit_min, "Stop training after N minutes, then evaluate (0 = no limit)")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.app->add_option("--eval-sentences", s->eval_sentences, "Test sentences to score (0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.action = [s]() -> int { return train_translate(*s); };
  return t;
}

}  // namespace attn::cli

ATTN_COMMAND(translate, "Translate German sentences with a model from attn train translate") {
  auto c = std::make_shared<TranslateCommand>();
  sub.add_option("--model", c->model, "Model directory (attn train translate --out)")->required();
  sub.add_option("sentences", c->sentences, "German sentences to translate");
  sub.add_option("--beam", c->beam, "Beam size (1 = greedy)")->capture_default_str()->check(CLI::Range(1, 64));
  sub.add_option("--length-penalty", c->length_penalty, "Beam search: GNMT length penalty alpha")->capture_default_str()->check(CLI::Range(0.0, 5.0));
  sub.add_option("--eval", c->eval_split, "Score the model on the corpus's test or validation split: greedy and beam (--eval-beam), BLEU and chrF, by length")
      ->check(CLI::IsMember({"test", "val"}));
  sub.add_option("--eval-beam", c->eval_beam, "Beam size scored beside greedy by --eval (1 = greedy only)")->capture_default_str()->check(CLI::Range(1, 64));
  sub.add_option("--eval-sentences", c->eval_sentences, "Sentences of the split to score (0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub.add_option("--eval-out", c->eval_out, "Also write the scores as JSON to this file");
  sub.add_option("--data", c->data, "The trans-de-en dictionary file (for --eval)")->capture_default_str();
  sub.add_option("--average", c->average, "Average --model's weights with this folder's (same sizes and vocabulary: runs continued from one model) before translating, --eval or --export; repeat for more")
      ->expected(1)->allow_extra_args(false)->take_all();
  sub.add_option("--export", c->export_dir, "Write the model to this folder with its weights stored as --dtype (a smaller copy to ship)");
  sub.add_option("--dtype", c->dtype, "Weight storage for --export")->capture_default_str()->check(CLI::IsMember({"f32", "f16", "bf16"}));
  sub.add_option("--attention", c->attention_dir,
                 "Also draw what the model attended to, into this folder: sentence-N.png (the alignment; the transformer's "
                 "mean over layers and heads) and, for the transformer, sentence-N-heads.png");
  sub.add_option("--format", c->format, "Figure format")->capture_default_str()->check(CLI::IsMember({"png", "svg"}));
  return [c]() -> int { return run_translate(*c); };
}
