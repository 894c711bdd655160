// attn train translate --arch ARCH --out DIR   — German→English on Debian's trans-de-en sentence pairs
// attn translate --model DIR "Satz"             — translate with a trained model
//
// The pipeline (src/attn/data/translation_corpus.h, subword_tokenizer.h, translation_batches.h):
//   1. the dictionary's example sentences, cleaned and split by group (train / validation / test);
//   2. a shared SentencePiece BPE vocabulary trained on the training split of both languages;
//   3. teacher-forced training with Adam, gradient clipping, batches of similar lengths, validation loss
//      every epoch; the checkpoint (model.safetensors, config.json, spm.model) keeps the best epoch;
//   4. at the end, greedy translations of the test split scored with corpus BLEU (13a tokens) and chrF,
//      overall and by source length, written to eval.json.
//
// Architectures (models::Seq2Seq: a bidirectional GRU encoder and a GRU decoder):
//   gru             no attention — the decoder sees one fixed vector (Cho et al. 2014, Sutskever et al. 2014)
//   bahdanau        additive attention from the previous decoder state (Bahdanau et al. 2015)
//   luong-dot, luong-general, luong-concat   multiplicative scores from the current state (Luong et al. 2015)
// and models::Transformer:
//   transformer     encoder-decoder self/cross attention (Vaswani et al. 2017): shared embeddings, sinusoidal
//                   positions, label smoothing 0.1, Adam (0.9, 0.98, 1e-9) on the Noam schedule
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
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
#include "attn/models/transformer.h"
#include "attn/nn/schedule.h"
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
  int64_t vocab = 4000, embed = 256, hidden = 256, batch = 64, epochs = 8, max_tokens = 64;
  float lr = 2e-3f, clip = 1.f;
  uint64_t seed = 1;
  double time_limit_min = 0;
  int64_t eval_sentences = 0;  // 0 = the whole test split
  // transformer
  int64_t layers = 3, heads = 4, ff = 1024, warmup = 400;
  float dropout = 0.1f, label_smoothing = 0.1f;
  int64_t beam = 1;            // beam size for the test evaluation (transformer)
};

// A Seq2Seq or a Transformer, behind what training and translating need.
struct AnyModel {
  std::unique_ptr<models::Seq2Seq> rnn;
  std::unique_ptr<models::Transformer> tf;
  nn::Module& module() { return rnn ? static_cast<nn::Module&>(*rnn) : static_cast<nn::Module&>(*tf); }
  Tensor logits(const IndexTensor& src, const IndexTensor& tgt_in) {
    return rnn ? rnn->forward(src, tgt_in).logits : tf->forward(src, tgt_in);
  }
  // Translations of a padded batch of sources (B, S): greedy, or beam search (transformer, one at a time).
  std::vector<std::vector<int64_t>> translate(const IndexTensor& src, int64_t max_len, int64_t beam) {
    if (rnn) return rnn->greedy_decode(src, max_len).tokens;
    max_len = std::min(max_len, tf->config().max_len);  // the positional table's length
    std::vector<std::vector<int64_t>> out;
    if (beam <= 1) {
      for (auto& h : tf->greedy_decode(src, max_len)) out.push_back(h.tokens);
      return out;
    }
    const int64_t B = src.shape[0], S = src.shape[1];
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int64_t> row(src.data.begin() + b * S, src.data.begin() + (b + 1) * S);
      while (row.size() > 1 && row.back() == data::SubwordTokenizer::pad_id) row.pop_back();
      const auto n = static_cast<int64_t>(row.size());
      out.push_back(tf->beam_search(IndexTensor(row, {1, n}), models::BeamSearchOptions().beams(beam).max_length(max_len))[0].tokens);
    }
    return out;
  }
};

std::string attention_of(const std::string& arch) {
  if (arch == "gru") return "none";
  if (arch == "bahdanau") return "additive";
  if (arch.rfind("luong-", 0) == 0) return arch.substr(6);
  if (arch == "transformer") return "self+cross";
  ATTN_FAIL(kTrainOp, "unknown --arch '" << arch << "' (gru, bahdanau, luong-dot, luong-general, luong-concat, transformer)");
}

// Mean cross-entropy per target token over `pairs` (no gradients), in batches.
double evaluate_loss(AnyModel& model, const data::EncodedPairs& pairs, int64_t batch) {
  NoGradGuard ng;
  double total = 0;
  int64_t tokens = 0;
  std::vector<size_t> idx;
  auto flush = [&] {
    data::SeqBatch b = data::make_translation_batch(pairs, idx);
    Tensor logits = model.logits(b.src, b.tgt_in);  // (B, T, V)
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
std::vector<std::string> translate_all(AnyModel& model, const data::SubwordTokenizer& tok,
                                       const std::vector<std::string>& sources, int64_t batch, int64_t beam = 1) {
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
    const auto tokens = model.translate(IndexTensor(src, {static_cast<int64_t>(n), S}), 2 * S + 10, beam);
    for (size_t k = 0; k < n; ++k) out[order[p + k]] = tok.decode(tokens[k]);
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
  Generator init(s.seed), data_gen(s.seed, 2);
  AnyModel model;
  json model_json;
  const bool is_tf = s.arch == "transformer";
  if (is_tf) {
    models::TransformerConfig c;
    c.src_vocab = c.tgt_vocab = tok.vocab_size();
    c.share_embeddings = true;
    c.d_model = s.embed;
    c.nhead = s.heads;
    c.num_encoder_layers = c.num_decoder_layers = s.layers;
    c.dim_feedforward = s.ff;
    c.dropout = s.dropout;
    c.max_len = 2 * s.max_tokens + 16;
    model.tf = std::make_unique<models::Transformer>(c, init, s.seed + 7);
    model_json = {{"src_vocab", c.src_vocab}, {"tgt_vocab", c.tgt_vocab}, {"share_embeddings", true}, {"d_model", c.d_model},
                  {"nhead", c.nhead}, {"num_encoder_layers", c.num_encoder_layers}, {"num_decoder_layers", c.num_decoder_layers},
                  {"dim_feedforward", c.dim_feedforward}, {"dropout", c.dropout}, {"max_len", c.max_len}};
  } else {
    models::Seq2SeqConfig cfg;
    cfg.src_vocab = cfg.tgt_vocab = tok.vocab_size();
    cfg.embed_dim = s.embed;
    cfg.hidden_dim = s.hidden;
    cfg.attention = attention;
    cfg.pad_id = data::SubwordTokenizer::pad_id;
    cfg.bos_id = data::SubwordTokenizer::bos_id;
    cfg.eos_id = data::SubwordTokenizer::eos_id;
    model.rnn = std::make_unique<models::Seq2Seq>(cfg, init);
    model_json = {{"src_vocab", cfg.src_vocab}, {"tgt_vocab", cfg.tgt_vocab}, {"embed_dim", cfg.embed_dim},
                  {"hidden_dim", cfg.hidden_dim}, {"attention", cfg.attention}, {"pad_id", cfg.pad_id},
                  {"bos_id", cfg.bos_id}, {"eos_id", cfg.eos_id}};
  }
  nn::Module& net = model.module();
  nn::Adam opt(net.parameters(), is_tf ? nn::AdamOptions(s.lr).betas(0.9f, 0.98f).eps(1e-9f) : nn::AdamOptions(s.lr));
  const float smoothing = is_tf ? s.label_smoothing : 0.f;
  std::cerr << "model: " << s.arch << " (attention " << attention << "), " << net.num_parameters() << " parameters\n";
  net.train();

  const json config = {{"arch", s.arch},
                       {"model", model_json},
                       {"train",
                        {{"data", s.data}, {"vocab", s.vocab}, {"batch", s.batch}, {"epochs", s.epochs},
                         {"lr", s.lr}, {"clip", s.clip}, {"seed", s.seed}, {"max_tokens", s.max_tokens},
                         {"warmup", s.warmup}, {"label_smoothing", smoothing}}}};
  fs::remove(dir / "metrics.jsonl");  // a fresh run
  train::MetricsLogger metrics((dir / "metrics.jsonl").string());
  std::vector<double> steps_x, loss_y, val_x, val_y;
  const auto t0 = std::chrono::steady_clock::now();
  auto minutes = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0; };
  int64_t step = 0, best_epoch = 0;
  double best_val = std::numeric_limits<double>::infinity();
  bool out_of_time = false;
  for (int64_t epoch = 1; epoch <= s.epochs && !out_of_time; ++epoch) {
    auto batches = data::length_bucketed_batches(train, s.batch, data_gen);
    train::ProgressBar bar(static_cast<int64_t>(batches.size()), "epoch " + std::to_string(epoch), std::cerr);
    bar.unit("tok");
    int64_t done = 0;
    for (const auto& idx : batches) {
      data::SeqBatch b = data::make_translation_batch(train, idx);
      // Transformer: the Noam schedule scaled to peak at --lr: linear warmup for --warmup steps, then ∝ 1/√step.
      if (is_tf) opt.set_lr(s.lr * nn::noam(step + 1, s.embed, s.warmup) / nn::noam(s.warmup, s.embed, s.warmup));
      Tensor logits = model.logits(b.src, b.tgt_in);  // (B, T, V)
      const int64_t V = logits.shape()[2];
      Tensor loss = cross_entropy(reshape(logits, {-1, V}), IndexTensor(b.tgt_out.data),
                                  CrossEntropyOptions().ignore(data::SubwordTokenizer::pad_id).smoothing(smoothing));
      loss.backward();
      if (s.clip > 0) nn::clip_grad_norm_(net.parameters(), s.clip);
      opt.step();
      opt.zero_grad();
      ++step;
      int64_t tokens = 0;
      for (int64_t id : b.tgt_out.data) tokens += id != data::SubwordTokenizer::pad_id;
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
    if (best) {
      best_val = vl;
      best_epoch = epoch;
      nn::save_checkpoint(net, (dir / "model.safetensors").string());
      viz::write_file_atomic((dir / "config.json").string(), config.dump(2) + "\n");
    }
  }
  // Evaluate the best checkpoint, not the last weights.
  nn::load_checkpoint(net, (dir / "model.safetensors").string());
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
  net.eval();
  const double train_minutes = minutes();
  const std::vector<std::string> hyps = translate_all(model, tok, srcs, s.batch, is_tf ? s.beam : 1);
  json eval = {{"arch", s.arch}, {"sentences", srcs.size()}, {"train_minutes", train_minutes}, {"steps", step},
               {"best_epoch", best_epoch}, {"best_val_loss", best_val},
               {"decoding", (is_tf && s.beam > 1) ? "beam " + std::to_string(s.beam) : std::string("greedy")}};
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
  std::cout << "test (" << srcs.size() << " sentences, " << eval["decoding"].get<std::string>() << "): BLEU " << eval["test"]["bleu"].get<double>() << ", chrF "
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
  int64_t beam = 1;
};

int run_translate(const TranslateCommand& c) {
  const fs::path dir = c.model;
  std::ifstream in(dir / "config.json");
  ATTN_CHECK(in, kOp, "no translation model in " << dir.string() << " (train one with: attn train translate --out DIR)");
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.contains("model") && j.contains("arch"), kOp,
             (dir / "config.json").string() << " is not a translation model config");
  AnyModel model;
  Generator g(0);
  try {
    const json& m = j["model"];
    if (j["arch"] == "transformer") {
      models::TransformerConfig cfg;
      cfg.src_vocab = m.at("src_vocab");
      cfg.tgt_vocab = m.at("tgt_vocab");
      cfg.share_embeddings = m.at("share_embeddings");
      cfg.d_model = m.at("d_model");
      cfg.nhead = m.at("nhead");
      cfg.num_encoder_layers = m.at("num_encoder_layers");
      cfg.num_decoder_layers = m.at("num_decoder_layers");
      cfg.dim_feedforward = m.at("dim_feedforward");
      cfg.max_len = m.at("max_len");
      cfg.dropout = 0.f;
      model.tf = std::make_unique<models::Transformer>(cfg, g);
    } else {
      models::Seq2SeqConfig cfg;
      cfg.src_vocab = m.at("src_vocab");
      cfg.tgt_vocab = m.at("tgt_vocab");
      cfg.embed_dim = m.at("embed_dim");
      cfg.hidden_dim = m.at("hidden_dim");
      cfg.attention = m.at("attention");
      cfg.pad_id = m.at("pad_id");
      cfg.bos_id = m.at("bos_id");
      cfg.eos_id = m.at("eos_id");
      model.rnn = std::make_unique<models::Seq2Seq>(cfg, g);
    }
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, (dir / "config.json").string() << ": " << e.what());
  }
  ATTN_CHECK(c.beam <= 1 || model.tf, kOp, "--beam is implemented for the transformer (this model is a " << j["arch"].get<std::string>() << ")");
  const data::SubwordTokenizer tok = data::SubwordTokenizer::load((dir / "spm.model").string());
  nn::load_checkpoint(model.module(), (dir / "model.safetensors").string());
  model.module().eval();
  for (const std::string& s : c.sentences) {
    ATTN_CHECK(!s.empty(), kOp, "an empty sentence");
    std::cout << translate_all(model, tok, {s}, 1, c.beam)[0] << "\n";
  }
  return 0;
}

}  // namespace

namespace attn::cli {

TrainTranslate add_train_translate(CLI::App& train) {
  auto s = std::make_shared<TranslateSettings>();
  TrainTranslate t;
  t.app = train.add_subcommand("translate", "Train a German->English translation model on Debian's trans-de-en");
  t.app->add_option("--arch", s->arch, "gru, bahdanau, luong-dot, luong-general, luong-concat, transformer")->capture_default_str()
      ->check(CLI::IsMember({"gru", "bahdanau", "luong-dot", "luong-general", "luong-concat", "transformer"}));
  t.app->add_option("--out", s->out, "Model directory")->required();
  t.app->add_option("--data", s->data, "The trans-de-en dictionary file")->capture_default_str();
  t.app->add_option("--vocab", s->vocab, "Shared subword vocabulary size")->capture_default_str()->check(CLI::Range(16, 64000));
  t.app->add_option("--embed", s->embed, "Embedding size (the transformer's d_model)")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--hidden", s->hidden, "GRU hidden size")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--batch", s->batch, "Sentence pairs per batch")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--epochs", s->epochs, "Passes over the training split")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--max-tokens", s->max_tokens, "Longest sentence kept, in subwords")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--lr", s->lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--layers", s->layers, "Transformer: encoder and decoder layers each")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--heads", s->heads, "Transformer: attention heads")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--ff", s->ff, "Transformer: feed-forward width")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--warmup", s->warmup, "Transformer: Noam warmup steps")->capture_default_str()->check(CLI::PositiveNumber);
  t.app->add_option("--dropout", s->dropout, "Transformer: dropout")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--label-smoothing", s->label_smoothing, "Transformer: label smoothing")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  t.app->add_option("--beam", s->beam, "Transformer: beam size for the test evaluation (1 = greedy)")->capture_default_str()->check(CLI::Range(1, 64));
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
  sub.add_option("--beam", c->beam, "Beam size (transformer; 1 = greedy)")->capture_default_str()->check(CLI::Range(1, 64));
  return [c]() -> int { return run_translate(*c); };
}
