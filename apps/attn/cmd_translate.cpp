// attn train translate --arch ARCH --out DIR   — German→English on Debian's trans-de-en sentence pairs
// attn translate --model DIR "Satz"             — translate with a trained model
//
// The pipeline (src/attn/data/translation_corpus.h, subword_tokenizer.h, translation_batches.h):
//   1. the dictionary's example sentences, cleaned and split by group (train / validation / test);
//   2. a shared SentencePiece BPE vocabulary trained on the training split of both languages;
//   3. teacher-forced training with Adam, gradient clipping, batches of similar lengths, validation loss
//      every epoch, checkpoint (model.safetensors, config.json, spm.model) at each epoch end;
//   4. at the end, greedy translations of the test split scored with corpus BLEU (13a tokens) and chrF,
//      overall and by source length, written to eval.json.
//
// Architectures (models::Seq2Seq: a bidirectional GRU encoder and a GRU decoder):
//   gru             no attention — the decoder sees one fixed vector (Cho et al. 2014, Sutskever et al. 2014)
//   bahdanau        additive attention from the previous decoder state (Bahdanau et al. 2015)
//   luong-dot, luong-general, luong-concat   multiplicative scores from the current state (Luong et al. 2015)
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/translation_batches.h"
#include "attn/data/translation_corpus.h"
#include "attn/models/seq2seq.h"
#include "attn/nn/checkpoint.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "attn/train/metrics.h"
#include "attn/train/progress.h"
#include "attn/train/translation_metrics.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "train_translate.h"

using namespace attn;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kTrainOp = "attn train translate";
constexpr const char* kOp = "attn translate";

struct TranslateSettings {
  std::string arch = "bahdanau", out, data = data::kTransDeEnPath;
  int64_t vocab = 8000, embed = 256, hidden = 256, batch = 64, epochs = 8, max_tokens = 64;
  float lr = 2e-3f, clip = 1.f;
  uint64_t seed = 1;
  double time_limit_min = 0;
  int64_t eval_sentences = 0;  // 0 = the whole test split
};

std::string attention_of(const std::string& arch) {
  if (arch == "gru") return "none";
  if (arch == "bahdanau") return "additive";
  if (arch.rfind("luong-", 0) == 0) return arch.substr(6);
  ATTN_FAIL(kTrainOp, "unknown --arch '" << arch << "' (gru, bahdanau, luong-dot, luong-general, luong-concat)");
}

// Mean cross-entropy per target token over `pairs` (no gradients), in batches.
double evaluate_loss(models::Seq2Seq& model, const data::EncodedPairs& pairs, int64_t batch) {
  NoGradGuard ng;
  double total = 0;
  int64_t tokens = 0;
  std::vector<size_t> idx;
  auto flush = [&] {
    data::SeqBatch b = data::make_translation_batch(pairs, idx);
    Tensor logits = model.forward(b.src, b.tgt_in).logits;  // (B, T, V)
    const int64_t V = logits.shape()[2];
    Tensor l = cross_entropy(reshape(logits, {-1, V}), IndexTensor(b.tgt_out.data),
                             CrossEntropyOptions().ignore(data::SubwordTokenizer::pad_id).reduce("sum"));
    total += l.item();
    for (int64_t id : b.tgt_out.data) tokens += id != data::SubwordTokenizer::pad_id;
    idx.clear();
  };
  for (size_t i = 0; i < pairs.size(); ++i) {
    idx.push_back(i);
    if (static_cast<int64_t>(idx.size()) == batch) flush();
  }
  if (!idx.empty()) flush();
  return tokens ? total / static_cast<double>(tokens) : 0.0;
}

// Greedy translations of `sources` in batches of similar length.
std::vector<std::string> translate_all(models::Seq2Seq& model, const data::SubwordTokenizer& tok,
                                       const std::vector<std::string>& sources, int64_t batch) {
  std::vector<std::string> out(sources.size());
  std::vector<size_t> order(sources.size());
  std::vector<std::vector<int64_t>> enc(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    enc[i] = tok.encode(sources[i]);
    enc[i].push_back(data::SubwordTokenizer::eos_id);
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() < enc[b].size(); });
  for (size_t p = 0; p < order.size(); p += static_cast<size_t>(batch)) {
    const size_t n = std::min(order.size() - p, static_cast<size_t>(batch));
    int64_t S = 0;
    for (size_t k = 0; k < n; ++k) S = std::max<int64_t>(S, static_cast<int64_t>(enc[order[p + k]].size()));
    std::vector<int64_t> src(n * static_cast<size_t>(S), data::SubwordTokenizer::pad_id);
    for (size_t k = 0; k < n; ++k) std::copy(enc[order[p + k]].begin(), enc[order[p + k]].end(), src.begin() + static_cast<std::ptrdiff_t>(k * S));
    models::Decoded d = model.greedy_decode(IndexTensor(src, {static_cast<int64_t>(n), S}), 2 * S + 10);
    for (size_t k = 0; k < n; ++k) out[order[p + k]] = tok.decode(d.tokens[k]);
  }
  return out;
}

int train_translate(const TranslateSettings& s) {
  const std::string attention = attention_of(s.arch);
  ATTN_CHECK(!s.out.empty(), kTrainOp, "--out is required");
  const fs::path dir = s.out;
  fs::create_directories(dir);

  // ---- data ----
  data::TranslationCorpusOptions co;
  co.path = s.data;
  data::TranslationSplits splits = data::load_trans_de_en(co);
  std::cerr << "data: " << s.data << "\n" << splits.report.to_string();
  std::vector<std::string> spm_text;
  for (const auto& p : splits.train) spm_text.push_back(p.de), spm_text.push_back(p.en);
  data::SubwordOptions so;
  so.vocab_size = s.vocab;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(spm_text, so);
  tok.save((dir / "spm.model").string());
  const data::EncodedPairs train = data::encode_pairs(splits.train, tok, s.max_tokens);
  const data::EncodedPairs val = data::encode_pairs(splits.val, tok, s.max_tokens);
  std::cerr << "subwords: shared BPE vocabulary of " << tok.vocab_size() << "; " << train.size() << " training and "
            << val.size() << " validation pairs of at most " << s.max_tokens << " subwords\n";

  // ---- model, optimizer ----
  models::Seq2SeqConfig cfg;
  cfg.src_vocab = cfg.tgt_vocab = tok.vocab_size();
  cfg.embed_dim = s.embed;
  cfg.hidden_dim = s.hidden;
  cfg.attention = attention;
  cfg.pad_id = data::SubwordTokenizer::pad_id;
  cfg.bos_id = data::SubwordTokenizer::bos_id;
  cfg.eos_id = data::SubwordTokenizer::eos_id;
  Generator init(s.seed), data_gen(s.seed, 2);
  models::Seq2Seq model(cfg, init);
  nn::Adam opt(model.parameters(), nn::AdamOptions(s.lr));
  std::cerr << "model: " << s.arch << " (attention " << attention << "), " << model.num_parameters() << " parameters\n";

  const json config = {{"arch", s.arch},
                       {"model",
                        {{"src_vocab", cfg.src_vocab}, {"tgt_vocab", cfg.tgt_vocab}, {"embed_dim", cfg.embed_dim},
                         {"hidden_dim", cfg.hidden_dim}, {"attention", cfg.attention}, {"pad_id", cfg.pad_id},
                         {"bos_id", cfg.bos_id}, {"eos_id", cfg.eos_id}}},
                       {"train",
                        {{"data", s.data}, {"vocab", s.vocab}, {"batch", s.batch}, {"epochs", s.epochs},
                         {"lr", s.lr}, {"clip", s.clip}, {"seed", s.seed}, {"max_tokens", s.max_tokens}}}};
  fs::remove(dir / "metrics.jsonl");  // a fresh run
  train::MetricsLogger metrics((dir / "metrics.jsonl").string());
  std::vector<double> steps_x, loss_y, val_x, val_y;
  const auto t0 = std::chrono::steady_clock::now();
  auto minutes = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0; };
  int64_t step = 0;
  bool out_of_time = false;
  for (int64_t epoch = 1; epoch <= s.epochs && !out_of_time; ++epoch) {
    auto batches = data::length_bucketed_batches(train, s.batch, data_gen);
    train::ProgressBar bar(static_cast<int64_t>(batches.size()), "epoch " + std::to_string(epoch), std::cerr);
    bar.unit("tok");
    int64_t done = 0;
    for (const auto& idx : batches) {
      data::SeqBatch b = data::make_translation_batch(train, idx);
      Tensor logits = model.forward(b.src, b.tgt_in).logits;  // (B, T, V)
      Tensor loss = cross_entropy(reshape(logits, {-1, cfg.tgt_vocab}), IndexTensor(b.tgt_out.data),
                                  CrossEntropyOptions().ignore(cfg.pad_id));
      loss.backward();
      if (s.clip > 0) nn::clip_grad_norm_(model.parameters(), s.clip);
      opt.step();
      opt.zero_grad();
      ++step;
      int64_t tokens = 0;
      for (int64_t id : b.tgt_out.data) tokens += id != cfg.pad_id;
      const double l = loss.item();
      metrics.log({{"step", step}, {"epoch", epoch}, {"split", "train"}, {"loss", l}, {"elapsed_s", minutes() * 60}});
      steps_x.push_back(static_cast<double>(step));
      loss_y.push_back(l);
      bar.update(++done, {{"loss", l}}, tokens);
      if (s.time_limit_min > 0 && minutes() >= s.time_limit_min) {
        out_of_time = true;
        break;
      }
    }
    bar.finish();
    const double vl = evaluate_loss(model, val, s.batch);
    metrics.log({{"step", step}, {"epoch", epoch}, {"split", "val"}, {"loss", vl}, {"elapsed_s", minutes() * 60}});
    val_x.push_back(static_cast<double>(step));
    val_y.push_back(vl);
    std::cerr << "epoch " << epoch << ": validation loss " << vl << " (perplexity " << std::exp(vl) << "), "
              << minutes() << " min\n";
    nn::save_checkpoint(model, (dir / "model.safetensors").string());
    viz::write_file_atomic((dir / "config.json").string(), config.dump(2) + "\n");
  }
  viz::LinePlot plot("Training loss (" + s.arch + ")", "step", "cross-entropy (nats per token)");
  plot.add_series("train", steps_x, loss_y).add_series("validation", val_x, val_y);
  plot.save((dir / "loss.svg").string());

  // ---- test: BLEU and chrF, overall and by source length ----
  std::vector<std::string> srcs, refs;
  for (const auto& p : splits.test) {
    if (s.eval_sentences > 0 && static_cast<int64_t>(srcs.size()) >= s.eval_sentences) break;
    srcs.push_back(p.de);
    refs.push_back(p.en);
  }
  const auto t_eval = std::chrono::steady_clock::now();
  const std::vector<std::string> hyps = translate_all(model, tok, srcs, s.batch);
  json eval = {{"arch", s.arch}, {"sentences", srcs.size()}, {"train_minutes", minutes()}, {"steps", step}};
  auto score = [&](const std::vector<size_t>& which) {
    std::vector<std::string> h, r;
    for (size_t i : which) h.push_back(hyps[i]), r.push_back(refs[i]);
    return json{{"sentences", which.size()}, {"bleu", train::corpus_bleu_text(h, r).bleu},
                {"chrf", train::corpus_chrf(h, r)}};
  };
  std::vector<size_t> all(srcs.size());
  std::iota(all.begin(), all.end(), size_t{0});
  eval["test"] = score(all);
  json buckets = json::array();
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{4, 8}, {9, 14}, {15, 100}}) {
    std::vector<size_t> which;
    for (size_t i = 0; i < srcs.size(); ++i) {
      const int64_t w = data::count_words(srcs[i]);
      if (w >= lo && w <= hi) which.push_back(i);
    }
    json b = score(which);
    b["source_words"] = std::to_string(lo) + (hi >= 100 ? "+" : "-" + std::to_string(hi));
    buckets.push_back(b);
  }
  eval["by_length"] = buckets;
  json examples = json::array();
  for (size_t i = 0; i < std::min<size_t>(5, srcs.size()); ++i)
    examples.push_back({{"de", srcs[i]}, {"en", refs[i]}, {"model", hyps[i]}});
  eval["examples"] = examples;
  eval["decode_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_eval).count();
  viz::write_file_atomic((dir / "eval.json").string(), eval.dump(2) + "\n");
  std::cout << "test (" << srcs.size() << " sentences, greedy): BLEU " << eval["test"]["bleu"].get<double>() << ", chrF "
            << eval["test"]["chrf"].get<double>() << "\n";
  for (const auto& b : buckets)
    std::cout << "  source " << b["source_words"].get<std::string>() << " words (" << b["sentences"].get<size_t>()
              << "): BLEU " << b["bleu"].get<double>() << ", chrF " << b["chrf"].get<double>() << "\n";
  for (const auto& e : examples)
    std::cout << "  " << e["de"].get<std::string>() << "\n    -> " << e["model"].get<std::string>() << "\n    (ref) "
              << e["en"].get<std::string>() << "\n";
  std::cout << "model: " << dir.string() << " (try: attn translate --model " << dir.string() << " \"Ich habe keine Zeit.\")\n";
  return 0;
}

struct TranslateCommand {
  std::string model;
  std::vector<std::string> sentences;
};

int run_translate(const TranslateCommand& c) {
  const fs::path dir = c.model;
  std::ifstream in(dir / "config.json");
  ATTN_CHECK(in, kOp, "no translation model in " << dir.string() << " (train one with: attn train translate --out DIR)");
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.contains("model"), kOp, (dir / "config.json").string() << " is not a translation model config");
  models::Seq2SeqConfig cfg;
  try {
    const json& m = j["model"];
    cfg.src_vocab = m.at("src_vocab");
    cfg.tgt_vocab = m.at("tgt_vocab");
    cfg.embed_dim = m.at("embed_dim");
    cfg.hidden_dim = m.at("hidden_dim");
    cfg.attention = m.at("attention");
    cfg.pad_id = m.at("pad_id");
    cfg.bos_id = m.at("bos_id");
    cfg.eos_id = m.at("eos_id");
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, (dir / "config.json").string() << ": " << e.what());
  }
  const data::SubwordTokenizer tok = data::SubwordTokenizer::load((dir / "spm.model").string());
  Generator g(0);
  models::Seq2Seq model(cfg, g);
  nn::load_checkpoint(model, (dir / "model.safetensors").string());
  for (const std::string& s : c.sentences) {
    ATTN_CHECK(!s.empty(), kOp, "an empty sentence");
    std::cout << translate_all(model, tok, {s}, 1)[0] << "\n";
  }
  return 0;
}

}  // namespace

namespace attn::cli {

TrainTranslate add_train_translate(CLI::App& train) {
  auto s = std::make_shared<TranslateSettings>();
  TrainTranslate t;
  t.app = train.add_subcommand("translate", "Train a German->English translation model on Debian's trans-de-en");
  t.app->add_option("--arch", s->arch, "gru, bahdanau, luong-dot, luong-general, luong-concat")->capture_default_str()
      ->check(CLI::IsMember({"gru", "bahdanau", "luong-dot", "luong-general", "luong-concat"}));
  t.app->add_option("--out", s->out, "Model directory")->required();
  t.app->add_option("--data", s->data, "The trans-de-en dictionary file")->capture_default_str();
  t.app->add_option("--vocab", s->vocab, "Shared subword vocabulary size")->capture_default_str()->check(CLI::Range(16, 64000));
  t.app->add_option("--embed", s->embed, "Embedding size")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--hidden", s->hidden, "GRU hidden size")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--batch", s->batch, "Sentence pairs per batch")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--epochs", s->epochs, "Passes over the training split")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--max-tokens", s->max_tokens, "Longest sentence kept, in subwords")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--lr", s->lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--seed", s->seed, "Seed of the weights and the batch order")->capture_default_str();
  t.app->add_option("--time-limit-min", s->time_limit_min, "Stop training after N minutes (then evaluate)")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.app->add_option("--eval-sentences", s->eval_sentences, "Test sentences to score (0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  t.action = [s]() -> int { return train_translate(*s); };
  return t;
}

}  // namespace attn::cli

ATTN_COMMAND(translate, "Translate German sentences with a model from attn train translate") {
  auto c = std::make_shared<TranslateCommand>();
  sub.add_option("--model", c->model, "Model directory (attn train translate --out)")->required();
  sub.add_option("sentences", c->sentences, "German sentences to translate")->required();
  return [c]() -> int { return run_translate(*c); };
}
