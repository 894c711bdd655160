// The loop of `attn train translate` (attn/trainers/translation.h), the command's own file now only parsing
// its options (apps/attn/cmd_translate.cpp).
#include "attn/trainers/translation.h"
#include "attn/io/atomic_file.h"
#include "attn/io/json_file.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/translation_batches.h"
#include "attn/nn/averaging.h"
#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/ops/ops.h"
#include "attn/train/metrics.h"
#include "attn/train/progress.h"
#include "attn/train/translation_metrics.h"
#include "attn/viz/svg_plot.h"

namespace attn::trainers {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kTrainOp = "train translation";
using Tok = data::SubwordTokenizer;
using TranslateSettings = TranslationTrainOptions;

// How many optimizer steps the model in `dir` has had: its config's train.steps, or (folders written before
// that field) its eval.json's "steps"; 0 when neither says.
int64_t steps_of(const fs::path& dir) {
  const json cfg = io::read_json_or_null((dir / "config.json").string());
  if (cfg.is_object() && cfg.contains("train") && cfg["train"].is_object() && cfg["train"].contains("steps") &&
      cfg["train"]["steps"].is_number_integer())
    return cfg["train"]["steps"].get<int64_t>();
  const json eval = io::read_json_or_null((dir / "eval.json").string());
  return eval.is_object() && eval.contains("steps") && eval["steps"].is_number_integer() ? eval["steps"].get<int64_t>()
                                                                                         : 0;
}

// Defaults that depend on the architecture (an option left at 0 / negative takes them).
void apply_arch_defaults(TranslateSettings& s) {
  const bool tf = s.model.arch == "transformer";
  if (s.epochs == 0) s.epochs = tf ? 60 : 7;  // the transformer: as many as --time-limit-min allows
  if (s.lr == 0) s.lr = 2e-3f;
  if (s.phrases < 0) s.phrases = kDefaultPhrasesPerEpoch;
}

// The vocabulary's pieces in id order, fingerprinted: equal on every rank that learnt the same vocabulary.
int64_t vocabulary_hash(const Tok& tok) {
  uint64_t h = fingerprint(nullptr, 0);
  for (int64_t id = 0; id < tok.vocab_size(); ++id) {
    const std::string p = tok.piece(id) + '\n';
    h = fingerprint(p.data(), p.size(), h);
  }
  return static_cast<int64_t>(h);
}

// Cross-entropy of a batch's target tokens under teacher forcing (padding ignored; `options` sets the
// reduction and smoothing); `tokens` receives how many target tokens the batch has.
Tensor batch_loss(models::TranslationModel& model, const data::SeqBatch& b, CrossEntropyOptions options,
                  int64_t& tokens) {
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
  for (const auto& s : scores)
    j.push_back({{"source_words", s.label}, {"sentences", s.sentences}, {"bleu", s.bleu}, {"chrf", s.chrf}});
  return j;
}

// The test split (or another: `split` names it; its first `limit` sentences; 0 = all) translated greedily and, when
// beam > 1, with beam
// search, scored with corpus BLEU (13a) and chrF overall and by source length; printed, and returned as
// {"sentences", "greedy", "beam", "examples"} (the first five translations beside their references).
}  // namespace

json evaluate_translation(models::TranslationModel& model, const std::vector<data::SentencePair>& test, int64_t limit,
                          int64_t batch, int64_t beam_size, float length_penalty, const std::string& split,
                          std::ostream* log_to) {
  std::ostream& log = log_to ? *log_to : null_stream();
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
    eval[key] = {{"beam", beam},
                 {"scores", scores_json(scores)},
                 {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_eval).count()}};
    log << split << ", " << (beam == 1 ? std::string("greedy") : "beam " + std::to_string(beam)) << " (" << srcs.size()
        << " sentences): BLEU " << scores[0].bleu << ", chrF " << scores[0].chrf << "\n";
    for (size_t i = 1; i < scores.size(); ++i)
      log << "  source " << scores[i].label << " words (" << scores[i].sentences << "): BLEU " << scores[i].bleu
          << ", chrF " << scores[i].chrf << "\n";
  }
  json examples = json::array();
  for (size_t i = 0; i < std::min<size_t>(5, srcs.size()); ++i)
    examples.push_back({{"de", srcs[i]}, {"en", refs[i]}, {"model", hyps[i]}});
  eval["examples"] = examples;
  for (const auto& e : examples)
    log << "  " << e["de"].get<std::string>() << "\n    -> " << e["model"].get<std::string>() << "\n    (ref) "
        << e["en"].get<std::string>() << "\n";
  return eval;
}

namespace {

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

// BPE-dropout: the pairs at `ids` encoded afresh with merges dropped at random (both sides); an encoding longer than
// --max-tokens keeps the pair's plain one. The draws are SentencePiece's stream, seeded from --seed before the
// run's first (every rank makes the same ones).
void resample_subwords(data::EncodedPairs& train, const std::vector<size_t>& ids,
                       const std::vector<const data::SentencePair*>& text, const data::SubwordTokenizer& tok,
                       const TranslateSettings& s) {
  for (size_t i : ids) {
    std::vector<int64_t> src = tok.sample_encode(text[i]->de, s.bpe_dropout);
    std::vector<int64_t> tgt = tok.sample_encode(text[i]->en, s.bpe_dropout);
    if (static_cast<int64_t>(src.size()) > s.max_tokens) src = tok.encode(text[i]->de);
    if (static_cast<int64_t>(tgt.size()) > s.max_tokens) tgt = tok.encode(text[i]->en);
    train.src[i] = std::move(src);
    train.tgt[i] = std::move(tgt);
  }
}

// Every option in its range, named as the command's flag (the Python keyword is the same name with '_').
void check_options(const TranslateSettings& s) {
  const auto& archs = models::translation_archs();
  ATTN_CHECK(std::find(archs.begin(), archs.end(), s.model.arch) != archs.end(), kTrainOp,
             "--arch '" << s.model.arch
                        << "' is not one of gru, bahdanau, luong-dot, luong-general, luong-concat, transformer");
  ATTN_CHECK(!s.out.empty(), kTrainOp, "--out (the model folder to write) is required");
  ATTN_CHECK(s.vocab >= 16 && s.vocab <= 64000, kTrainOp, "--vocab " << s.vocab << " outside 16..64000");
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--embed", s.model.embed},
                                {"--hidden", s.model.hidden},
                                {"--layers", s.model.layers},
                                {"--heads", s.model.heads},
                                {"--ff", s.model.ff},
                                {"--batch", s.batch},
                                {"--max-tokens", s.max_tokens},
                                {"--warmup", s.warmup}})
    ATTN_CHECK(v > 0, kTrainOp, name << " must be positive, got " << v);
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"--epochs", s.epochs},
                                {"--batch-tokens", s.batch_tokens},
                                {"--average-last", s.average_last},
                                {"--eval-sentences", s.eval_sentences}})
    ATTN_CHECK(v >= 0, kTrainOp, name << " must be >= 0, got " << v);
  ATTN_CHECK(s.bpe_dropout >= 0.f && s.bpe_dropout < 1.f, kTrainOp,
             "--bpe-dropout must be in [0, 1), got " << s.bpe_dropout);
  ATTN_CHECK(s.phrases >= -1, kTrainOp, "--phrases must be >= 0, got " << s.phrases);
  ATTN_CHECK(s.beam >= 1 && s.beam <= 64, kTrainOp, "--beam " << s.beam << " outside 1..64");
  ATTN_CHECK(s.lr >= 0 && std::isfinite(s.lr), kTrainOp, "--lr must be positive, got " << s.lr);
  ATTN_CHECK(s.clip >= 0 && std::isfinite(s.clip), kTrainOp, "--clip must be >= 0, got " << s.clip);
  ATTN_CHECK(s.label_smoothing >= 0 && s.label_smoothing <= 0.9f, kTrainOp,
             "--label-smoothing " << s.label_smoothing << " outside 0..0.9");
  const float dropout = s.dropout.value_or(s.model.dropout);
  ATTN_CHECK(dropout >= 0 && dropout <= 0.9f, kTrainOp, "--dropout " << dropout << " outside 0..0.9");
  ATTN_CHECK(s.length_penalty >= 0 && s.length_penalty <= 5, kTrainOp,
             "--length-penalty " << s.length_penalty << " outside 0..5");
  ATTN_CHECK(s.time_limit_min >= 0 && std::isfinite(s.time_limit_min), kTrainOp,
             "--time-limit-min must be >= 0 (0 = no limit), got " << s.time_limit_min);
  ATTN_CHECK(s.schedule == "noam" || s.schedule == "cosine", kTrainOp,
             "--schedule '" << s.schedule << "' is not noam or cosine");
  ATTN_CHECK(!s.init.empty() || s.model.arch != "transformer" || s.model.embed % s.model.heads == 0,
             kTrainOp,  // init: its sizes
             "--embed " << s.model.embed << " must be divisible by --heads " << s.model.heads);
}

}  // namespace

json train_translation(TranslateSettings s, const StepCallback& on_step) {
  std::ostream& log = s.log ? *s.log : null_stream();
  std::ostream& progress = s.progress ? *s.progress : null_stream();
  check_options(s);
  apply_arch_defaults(s);
  Ranks& ranks = s.ranks ? *s.ranks : one_process();
  const bool lead = ranks.lead();
  const std::string attention = models::translation_attention(s.model.arch);
  const fs::path dir = s.out;
  if (lead) fs::create_directories(dir);

  // ---- data ----
  data::TranslationCorpusOptions co;
  co.path = s.data;
  co.phrases = s.phrases > 0;
  data::TranslationSplits splits = data::load_trans_de_en(co);
  log << "data: " << s.data << "\n" << splits.report.to_string();
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
    log << "init: " << s.init << " (" << start_step << " steps so far; its sizes and vocabulary are kept, dropout "
        << s.model.dropout << ", "
        << "size options given here are ignored)\n";
    if (start_step == 0)
      log << "warning: " << s.init << " does not say how many steps it was trained for; the schedule starts over\n";
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
  // The text of each training pair, for BPE-dropout's fresh encodings.
  data::SubwordTokenizer::seed_sampling(static_cast<uint32_t>(s.model.seed * 7919u + static_cast<uint64_t>(start_step)));
  std::vector<const data::SentencePair*> train_text(train.size());
  for (size_t i = 0; i < train.size(); ++i)
    train_text[i] = i < n_sentences ? &splits.train[train.kept[i]]
                                    : &splits.phrases[train.kept[i] - splits.train.size()];
  // Every rank learnt the same vocabulary from the same corpus (SentencePiece is deterministic) and encoded the
  // same pairs: checked, since ranks that disagree would train on different batches.
  ranks.check_same("the subword vocabulary (a hash of its pieces)", vocabulary_hash(trained_tok));
  ranks.check_same("the number of training pairs", static_cast<int64_t>(train.size()));
  log << "subwords: shared BPE vocabulary of " << trained_tok.vocab_size() << "; " << n_sentences
      << " training sentence pairs + " << n_phrases << " phrase pairs ("
      << std::min<size_t>(n_phrases, static_cast<size_t>(s.phrases)) << " per epoch) and " << val.size()
      << " validation pairs of at most " << s.max_tokens << " subwords\n";

  // ---- model, optimizer ----
  const bool is_tf = s.model.arch == "transformer";
  if (!init_model) s.model.max_len = 2 * s.max_tokens + 16;
  models::TranslationModel model =
      init_model ? std::move(*init_model) : models::TranslationModel(s.model, std::move(trained_tok));
  // A continued run draws a new batch order and phrase sample (its stream depends on the steps so far).
  Generator data_gen(s.model.seed + static_cast<uint64_t>(start_step), 2);
  nn::Module& net = model.module();
  // Adam (Kingma & Ba): AdamW's update without weight decay; the transformer's constants are Vaswani et al.'s.
  const std::unique_ptr<Update> opt =
      ranks.update(net.parameters(), {}, s.lr, is_tf ? AdamSettings{0.9f, 0.98f, 1e-9f, 0.f} : AdamSettings{});
  float lr = s.lr;
  const float smoothing = is_tf ? s.label_smoothing : 0.f;
  std::ostringstream budget;
  budget << s.epochs << " epochs";
  if (s.time_limit_min > 0) budget << " or " << s.time_limit_min << " minutes, whichever ends first";
  log << "model: " << s.model.arch << " (attention " << attention << "), " << net.num_parameters()
      << " parameters, dropout " << s.model.dropout << "\n"
      << "budget: " << budget.str() << " (what the defaults reach: README.md, Translation)\n";
  if (ranks.size() > 1) log << ranks.describe() << "\n";
  net.train();

  json train_info = {{"data", s.data},
                     {"vocab", s.vocab},
                     {"batch", s.batch},
                     {"batch_tokens", s.batch_tokens},
                     {"epochs", s.epochs},
                     {"lr", s.lr},
                     {"clip", s.clip},
                     {"max_tokens", s.max_tokens},
                     {"warmup", is_tf ? s.warmup : 0},
                     {"schedule", is_tf ? s.schedule : "constant"},
                     {"label_smoothing", smoothing},
                     {"phrases_per_epoch", s.phrases},
                     {"average_last", s.average_last},
                     {"bpe_dropout", s.bpe_dropout},
                     {"init", s.init},
                     {"init_steps", start_step}};
  PhraseSampler phrase_sampler(n_sentences, n_phrases, data_gen);
  std::vector<size_t> sentence_ids(n_sentences);
  std::iota(sentence_ids.begin(), sentence_ids.end(), size_t{0});
  std::deque<nn::StateDict> last_epochs;        // the last --average-last epochs' weights
  std::optional<train::MetricsLogger> metrics;  // rank 0's
  if (lead) {
    fs::remove(dir / "metrics.jsonl");  // a fresh run
    metrics.emplace((dir / "metrics.jsonl").string());
  }
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
    if (lead) model.save(dir.string(), train_info.dump());
    log << "epoch 0 (the --init model): validation loss " << best_val << "\n";
  }
  std::vector<double> epoch_seconds;
  bool out_of_time = false;  // the time limit, or on_step said stop
  StepInfo last;
  for (int64_t epoch = 1; epoch <= s.epochs && !out_of_time; ++epoch) {
    const double epoch_start = minutes();
    std::vector<size_t> subset = sentence_ids;
    if (n_phrases > 0 && s.phrases > 0) {
      const std::vector<size_t> more = phrase_sampler.next(static_cast<size_t>(s.phrases));
      subset.insert(subset.end(), more.begin(), more.end());
    }
    if (s.bpe_dropout > 0) resample_subwords(train, subset, train_text, model.tokenizer(), s);
    auto batches = data::length_bucketed_batches(train, std::move(subset), s.batch, data_gen, s.batch_tokens);
    train::ProgressBar bar(static_cast<int64_t>(batches.size()), "epoch " + std::to_string(epoch), progress);
    bar.unit("tok");
    int64_t done = 0;
    for (const auto& idx : batches) {
      // This rank's share of the batch's pairs (all of them on one process); its loss weighted by its share of the
      // batch's target tokens, so that the averaged gradient is the whole batch's per-token mean (parallel.h).
      // A rank whose share is empty (fewer pairs than ranks) backpropagates the first pair's loss times 0.
      const auto [first, count] = shard_of(static_cast<int64_t>(idx.size()), ranks.rank(), ranks.size());
      const data::SeqBatch b = data::make_translation_batch(
          train, ranks.size() == 1 ? idx
                 : count > 0       ? std::vector<size_t>(idx.begin() + first, idx.begin() + first + count)
                                   : std::vector<size_t>{idx.front()});
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
        if (step >= W && s.time_limit_min > 0) {
          double done_share = minutes() / s.time_limit_min;
          if (ranks.size() > 1) ranks.broadcast_from_lead(&done_share, 1, "time share");  // one rate on every rank
          at = std::max<int64_t>(at, W + std::llround(done_share * static_cast<double>(total - W)));
        }
        lr = nn::warmup_cosine(at, s.lr, W, total);
      } else if (is_tf) {
        const double rewarm =
            start_step > 0 ? std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(s.warmup)) : 1.0;
        lr = static_cast<float>(rewarm * s.lr * nn::noam(start_step + step + 1, s.model.embed, s.warmup) /
                                nn::noam(s.warmup, s.model.embed, s.warmup));
      }
      int64_t tokens = 0;
      Tensor loss = batch_loss(model, b, CrossEntropyOptions().smoothing(smoothing), tokens);
      const int64_t mine = count > 0 ? tokens : 0;
      if (ranks.size() > 1) {  // the whole batch's target tokens and EOS marks
        tokens = 0;
        for (size_t i : idx) tokens += static_cast<int64_t>(train.tgt[i].size()) + 1;
      }
      const double l = backward_share(*opt, ranks, loss, mine, tokens);
      if (s.clip > 0) opt->clip_grad_norm(s.clip);
      opt->step(lr);
      ++step;
      if (metrics)
        metrics->log({{"step", step},
                      {"epoch", epoch},
                      {"split", "train"},
                      {"loss", l},
                      {"lr", lr},
                      {"elapsed_s", minutes() * 60}});
      steps_x.push_back(static_cast<double>(step));
      loss_y.push_back(l);
      bar.update(++done, {{"loss", l}}, tokens);
      last = StepInfo{step, 0, epoch, l, lr, minutes() * 60, std::nullopt, std::nullopt};
      if (s.time_limit_min > 0 && minutes() >= s.time_limit_min) out_of_time = true;
      // The epoch's last step is reported after the validation, with its loss.
      if (on_step && !out_of_time && done < static_cast<int64_t>(batches.size()) && !on_step(last)) out_of_time = true;
      if (ranks.size() > 1) out_of_time = ranks.rank0_says(out_of_time, "time limit");  // rank 0's clock decides
      if (out_of_time) break;
    }
    bar.finish();
    epoch_seconds.push_back((minutes() - epoch_start) * 60);
    net.eval();
    const double vl = evaluate_loss(model, val, s.batch);
    net.train();
    if (metrics)
      metrics->log({{"step", step}, {"epoch", epoch}, {"split", "val"}, {"loss", vl}, {"elapsed_s", minutes() * 60}});
    val_x.push_back(static_cast<double>(step));
    val_y.push_back(vl);
    last.val_loss = vl;
    if (on_step && !on_step(last)) out_of_time = true;
    if (ranks.size() > 1) out_of_time = ranks.rank0_says(out_of_time, "time limit");
    // Keep the checkpoint with the best validation loss (early stopping: a small corpus overfits).
    const bool best = vl < best_val;
    log << "epoch " << epoch << ": validation loss " << vl << " (perplexity " << std::exp(vl) << "), " << minutes()
        << " min" << (best ? " — best so far, saved" : " — not better, checkpoint kept") << "\n";
    train_info["steps"] = start_step + step;  // in all, --init's included: a later --init goes on from here
    if (best) {
      best_val = vl;
      best_epoch = epoch;
      if (lead) model.save(dir.string(), train_info.dump());
    }
    if (s.average_last > 1) {
      last_epochs.push_back(net.state_dict().clone());
      if (static_cast<int64_t>(last_epochs.size()) > s.average_last) last_epochs.pop_front();
    }
  }
  const double train_minutes = minutes();
  if (!lead) return {{"rank", ranks.rank()}, {"steps", step}};  // rank 0 averages, scores and writes the rest
  json run = {{"arch", s.model.arch},
              {"train_minutes", train_minutes},
              {"steps", step},
              {"epochs_run", epoch_seconds.size()},
              {"epoch_seconds", epoch_seconds},
              {"best_epoch", best_epoch},
              {"best_val_loss", best_val},
              {"parameters", net.num_parameters()},
              {"phrases_per_epoch", s.phrases}};
  // Checkpoint averaging (Vaswani et al. 2017 averaged the last 5–20): the mean of the last K epochs'
  // weights, kept instead of the best epoch when its validation loss is lower.
  if (last_epochs.size() > 1) {
    const nn::StateDict avg = nn::average_state_dicts({last_epochs.begin(), last_epochs.end()});
    net.load_state_dict(avg);
    net.eval();
    const double avg_val = evaluate_loss(model, val, s.batch);
    log << "average of the last " << last_epochs.size() << " epochs: validation loss " << avg_val
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
  eval.update(
      evaluate_translation(model, splits.test, s.eval_sentences, s.batch, s.beam, s.length_penalty, "test", s.results));
  io::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  return eval;
}

}  // namespace attn::trainers
