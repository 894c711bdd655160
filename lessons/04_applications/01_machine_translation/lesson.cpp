// Lesson 04.01 — Machine translation with attention: data -> models -> BLEU -> alignments.
//
// Attention was invented for translation (Bahdanau, Cho & Bengio 2014): an encoder-decoder that squeezes
// a whole German sentence into one vector forgets the start of long sentences; letting the decoder look
// back at every source word, weighted by a learned score, fixed that — and the weights turned out to be
// a word alignment. This lesson walks the whole pipeline on real data:
//   1. the German–English example sentences of Debian's trans-de-en dictionary, cleaned and split;
//   2. a subword vocabulary shared by both languages (SentencePiece BPE);
//   3. a translation task whose true alignment is known — written dates to ISO dates — where we *grade*
//      each attention score (additive, dot, general, concat) on whether it looks at the right characters;
//   4. real sentences at lesson size: the same encoder-decoder with and without attention;
//   5. the full-size models (attn train translate), their BLEU table, and where to look at them.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/data/dates_task.h"
#include "attn/data/subword_tokenizer.h"
#include "attn/data/translation_batches.h"
#include "attn/data/translation_corpus.h"
#include "attn/models/seq2seq.h"
#include "attn/models/translation_model.h"
#include "attn/nn/nn.h"
#include "attn/ops/ops.h"
#include "attn/train/translation_metrics.h"
#include "attn/viz/heatmap.h"
#include "attn/viz/svg_plot.h"
#include "lesson.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

// Teacher-forced cross-entropy of a Seq2Seq on one batch (padding ignored).
Tensor seq2seq_loss(models::Seq2Seq& m, const data::SeqBatch& b, int64_t pad) {
  const int64_t V = m.config().tgt_vocab;
  return cross_entropy(reshape(m.forward(b.src, b.tgt_in).logits, {-1, V}), IndexTensor(b.tgt_out.data),
                       CrossEntropyOptions().ignore(pad));
}

}  // namespace

int main(int argc, char** argv) {
  Lesson L(argc, argv, "Machine translation with attention: data, models, BLEU, alignments");

  // ------------------------------------------------------------------------------------------------
  L.step("The data: real sentence pairs from a dictionary");
  L.say(
      "Debian's trans-de-en is Frank Richter's German-English dictionary. Besides headwords it holds\n"
      "example sentences, aligned side by side. We keep pairs of real sentences (4+ words, final . ! ?),\n"
      "strip tags such as {m} or [coll.], drop duplicates, and split by *groups* of pairs that share a\n"
      "sentence, so no test sentence is ever seen in training (data/translation_corpus.h).");
  data::TranslationCorpusOptions corpus;
  corpus.phrases = false;  // this step shows the sentence pairs; the phrase pairs come up in the full-size step
  const data::TranslationSplits splits = data::load_trans_de_en(corpus);
  std::cout << splits.report.to_string();
  for (size_t i : {size_t{0}, size_t{7}, size_t{42}})
    std::cout << "  DE: " << splits.train[i].de << "\n  EN: " << splits.train[i].en << "\n";

  // ------------------------------------------------------------------------------------------------
  L.step("Subwords shared by both languages");
  L.say(
      "A word vocabulary of this corpus would be huge and still miss words at test time. Byte-pair\n"
      "encoding starts from characters and merges the most frequent pairs until the vocabulary is full:\n"
      "common words become one piece, rare ones a few. One vocabulary for German and English lets names\n"
      "and numbers be copied piece for piece (SentencePiece, trained on the training split only).");
  std::vector<std::string> spm_text;
  for (const auto& p : splits.train) spm_text.push_back(p.de), spm_text.push_back(p.en);
  data::SubwordOptions so;
  so.vocab_size = 2000;
  const data::SubwordTokenizer tok = data::SubwordTokenizer::train(spm_text, so);
  for (const std::string s :
       {"Die Grundeinstellung ist einfacher Zeilenabstand.", "The default setting is single line spacing."}) {
    std::cout << "  " << s << "\n   ->";
    for (const auto& p : tok.pieces(s)) std::cout << " " << p;
    std::cout << "\n";
  }

  // ------------------------------------------------------------------------------------------------
  L.step("A task with a known alignment: dates");
  L.say(
      "Real translations have no single correct alignment, so we grade attention where there is one:\n"
      "written dates -> ISO 8601, one character at a time (data/dates_task.h). Every output digit comes\n"
      "from known input characters (the month from any letter of its name). Alignment accuracy = how\n"
      "often the attention's argmax lands on a gold character. Same model, data and seeds for each score.");
  data::DatesTask dates;
  dates.min_year = 1000;  // every digit of the year carries information (see the last row of the table)
  dates.max_year = 2999;
  std::vector<data::DateExample> shown = {dates.example(2021, 3, 3, data::DateFormat::OrdinalOf),
                                          dates.example(1987, 11, 24, data::DateFormat::DottedShortYear)};
  std::printf("\n  %-28s %11s %14s %8s\n", "score", "exact match", "alignment acc", "seconds");
  viz::HeatmapGrid dates_grid;
  dates_grid.title("Dates: attention while writing " + shown[0].target + " (rows) from \"" + shown[0].source + "\"")
      .unit_range()
      .colormap(viz::Colormap::Blues);
  for (const std::string run : {"additive", "dot", "general", "concat", "additive, years 1950-2049"}) {
    const std::string score = run.substr(0, run.find(','));
    const bool narrow = run != score;  // the same task with the years of the two-digit formats only
    data::DatesTask task = dates;
    if (narrow) task.min_year = 1950, task.max_year = 2049;
    models::Seq2SeqConfig c;
    c.src_vocab = data::DatesTask::src_vocab_size();
    c.tgt_vocab = data::DatesTask::tgt_vocab_size();
    c.embed_dim = 32;
    c.hidden_dim = 64;
    c.attention = score;
    c.pad_id = data::kPad, c.bos_id = data::kBos, c.eos_id = data::kEos;
    Generator init(11), gen(12), eval_gen(13);
    models::Seq2Seq m(c, init);
    nn::Adam opt(m.parameters(), nn::AdamOptions(5e-3f));
    const auto t0 = std::chrono::steady_clock::now();
    for (int step = 0; step < 1000; ++step) {
      Tensor loss = seq2seq_loss(m, task.sample(64, gen), data::kPad);
      opt.zero_grad();
      loss.backward();
      nn::clip_grad_norm_(m.parameters(), 1.f);
      opt.step();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Graded on 500 fresh dates: the decoder's own output, and its attention under teacher forcing.
    std::vector<data::DateExample> ex;
    data::SeqBatch b = task.sample(500, eval_gen, &ex);
    m.eval();
    NoGradGuard ng;
    const models::Decoded d = m.greedy_decode(b.src, 12);
    int exact = 0;
    for (size_t i = 0; i < ex.size(); ++i) exact += data::DatesTask::decode_target(d.tokens[i]) == ex[i].target;
    const Tensor att = m.forward(b.src, b.tgt_in).attention;  // (500, 11, S)
    const double align = data::batch_alignment_accuracy(att, ex);
    std::printf("  %-28s %10.1f%% %13.1f%% %8.1f\n", run.c_str(), 100.0 * exact / ex.size(), 100 * align, secs);
    if (narrow) {
      // Where the narrow model looks away: the first digit of a four-digit year (1 or 2) is almost
      // certain from the rest, so it need not be read.
      double hit = 0;
      int n = 0;
      for (size_t i = 0; i < ex.size(); ++i) {
        if (data::date_format_short_year(ex[i].format)) continue;
        // Scored on target position 0 only: a gold list with just its entry.
        const auto b = static_cast<int64_t>(i);
        hit += data::alignment_accuracy(squeeze(slice(att, 0, b, b + 1), 0), {ex[i].alignment[0]});
        ++n;
      }
      std::printf("    of which the first digit of a four-digit year: %.1f%% on gold (%d dates)\n", 100.0 * hit / n, n);
    }
    const data::SeqBatch one = dates.make_batch({shown[0]});
    Tensor w = m.forward(one.src, one.tgt_in).attention;  // (1, 11, S): 10 characters + <eos>
    if (!narrow) dates_grid.add(squeeze(w, 0), score);
    // The second date with its gold alignment outlined: dots (argmax) inside red boxes (gold) = aligned.
    const data::SeqBatch two = dates.make_batch({shown[1]});
    const Tensor w2 = squeeze(m.forward(two.src, two.tgt_in).attention, 0);  // (11, S)
    std::vector<std::string> src2, tgt2;
    for (char ch : shown[1].source) src2.push_back(std::string(1, ch));
    for (char ch : shown[1].target) tgt2.push_back(std::string(1, ch));
    tgt2.push_back("<eos>");
    std::vector<std::pair<int64_t, int64_t>> gold;
    for (size_t t = 0; t < shown[1].alignment.size(); ++t)
      for (int64_t j : shown[1].alignment[t]) gold.emplace_back(static_cast<int64_t>(t), j);
    viz::alignment_plot(w2, src2, tgt2)
        .title(run + ": \"" + shown[1].source + "\" -> " + shown[1].target)
        .gold(gold)
        .save_png(L.figure(narrow ? "dates_additive_years_1950-2049.png" : "dates_" + score + ".png"), 2.0);
  }
  {
    std::vector<std::string> src_labels, tgt_labels;
    for (char ch : shown[0].source) src_labels.push_back(ch == ' ' ? "␣" : std::string(1, ch));
    for (char ch : shown[0].target) tgt_labels.push_back(std::string(1, ch));
    tgt_labels.push_back("<eos>");
    dates_grid.row_labels(tgt_labels).col_labels(src_labels).columns(2);
    dates_grid.save_png(L.figure("dates_alignment_by_score.png"), 2.0);
  }
  L.say(
      "Every score learns a clean alignment: the month digits look at the month's letters or digits, the\n"
      "year digits at the year. The scores differ in cost, not in what they can express here.\n"
      "The last row is the lesson inside the lesson: with years 1950-2049 only, the first digit of a year\n"
      "is nearly certain from the others, and attention stops looking at it — the translation stays right,\n"
      "the 'alignment' drifts. Attention goes where the information is, not where a linguist would point.");

  // ------------------------------------------------------------------------------------------------
  L.step("Real sentences at lesson size: with and without attention");
  L.say(
      "The same GRU encoder-decoder, once without attention (the decoder sees one vector: the encoder's\n"
      "final state) and once with Bahdanau's. A minute of training on short sentences is far from a\n"
      "usable translator, but the held-out loss already separates them.");
  const data::EncodedPairs train = data::encode_pairs(splits.train, tok, 20);
  const data::EncodedPairs val = data::encode_pairs(splits.val, tok, 20);
  std::printf("  %zu training and %zu validation pairs of at most 20 subwords\n", train.size(), val.size());
  viz::LinePlot curves("Validation loss, lesson-size models", "step", "cross-entropy (nats per token)");
  std::printf("\n  %-10s %10s %10s %8s\n", "attention", "val loss", "perplexity", "seconds");
  std::unique_ptr<models::Seq2Seq> bahdanau;
  for (const std::string attention : {"none", "additive"}) {
    models::Seq2SeqConfig c;
    c.src_vocab = c.tgt_vocab = tok.vocab_size();
    c.embed_dim = 64;
    c.hidden_dim = 96;
    c.attention = attention;
    c.pad_id = data::SubwordTokenizer::pad_id, c.bos_id = data::SubwordTokenizer::bos_id,
    c.eos_id = data::SubwordTokenizer::eos_id;
    Generator init(21), gen(22);
    auto m = std::make_unique<models::Seq2Seq>(c, init);
    nn::Adam opt(m->parameters(), nn::AdamOptions(3e-3f));
    auto val_loss = [&] {
      NoGradGuard ng;
      m->eval();
      std::vector<size_t> idx(std::min<size_t>(val.size(), 256));
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      const double l = seq2seq_loss(*m, data::make_translation_batch(val, idx), c.pad_id).item();
      m->train();
      return l;
    };
    std::vector<double> xs, ys;
    const auto t0 = std::chrono::steady_clock::now();
    int step = 0;
    for (int epoch = 0; epoch < 2; ++epoch)
      for (const auto& idx : data::length_bucketed_batches(train, 48, gen)) {
        Tensor loss = seq2seq_loss(*m, data::make_translation_batch(train, idx), c.pad_id);
        opt.zero_grad();
        loss.backward();
        nn::clip_grad_norm_(m->parameters(), 1.f);
        opt.step();
        if (++step % 50 == 0) xs.push_back(step), ys.push_back(val_loss());
        if (step >= 400) break;
      }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  %-10s %10.3f %10.1f %8.1f\n", attention.c_str(), ys.back(), std::exp(ys.back()), secs);
    curves.add_series(attention == "none" ? "no attention" : "Bahdanau attention", xs, ys);
    if (attention == "additive") bahdanau = std::move(m);
  }
  curves.save(L.figure("val_loss_with_without_attention.svg"));
  {
    const std::string sentence = "Ich habe keine Zeit.";
    std::vector<int64_t> ids = tok.encode(sentence);
    ids.push_back(data::SubwordTokenizer::eos_id);
    const IndexTensor src(ids, {1, static_cast<int64_t>(ids.size())});
    const models::Decoded d = bahdanau->greedy_decode(src, 20);
    std::cout << "  " << sentence << " -> " << tok.decode(d.tokens[0]) << "   (after " << 400 << " steps)\n";
    std::vector<std::string> src_labels, tgt_labels;
    for (int64_t id : ids) src_labels.push_back(tok.piece(id));
    for (int64_t id : d.tokens[0]) tgt_labels.push_back(tok.piece(id));
    tgt_labels.push_back("</s>");
    viz::alignment_plot(squeeze(d.attention, 0), src_labels, tgt_labels)
        .title("Bahdanau attention after a minute of training")
        .save_png(L.figure("lesson_size_alignment.png"), 2.0);
  }

  // ------------------------------------------------------------------------------------------------
  L.step("Full size: six models, BLEU and chrF on the test split");
  L.say(
      "attn train translate trains each architecture with its defaults (under 20 minutes each on 2 cores)\n"
      "and scores the test split with corpus BLEU (13a tokens, as sacreBLEU) and chrF, overall and by\n"
      "source length. The measured runs are recorded in docs/results/translation.json:");
  const fs::path results = fs::path(ATTN_SOURCE_DIR) / "docs/results/translation.json";
  std::ifstream in(results);
  if (in) {
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.contains("runs")) {
      std::printf("\n  %-14s %7s %7s %7s %7s   greedy BLEU by source words: %s\n", "model", "BLEU", "beam 5", "chrF",
                  "minutes", "4-8 / 9-14 / 15+");
      for (const auto& r : j["runs"]) {
        const auto& s = r["greedy"]["scores"];
        std::printf("  %-14s %7.2f %7.2f %7.2f %7.1f   %5.2f / %5.2f / %5.2f\n", r["arch"].get<std::string>().c_str(),
                    s[0]["bleu"].get<double>(), r["beam"]["scores"][0]["bleu"].get<double>(),
                    s[0]["chrf"].get<double>(), r["train_minutes"].get<double>(), s[1]["bleu"].get<double>(),
                    s[2]["bleu"].get<double>(), s[3]["bleu"].get<double>());
      }
      std::cout << "  (" << j.value("machine", std::string("?")) << "; BLEU 0-100, chrF 0-100; greedy unless marked)\n";
    }
  } else {
    std::cout << "  (" << results.string() << " is missing)\n";
  }
  L.say(
      "\nReproduce one:   attn train translate --arch bahdanau --out models/translate-bahdanau\n"
      "Translate:       attn translate --model models/translate-bahdanau --beam 5 \"Ich habe keine Zeit.\"\n"
      "See attention:   attn translate --model models/translate-transformer --attention figs \"Der Hund bellt.\"\n"
      "                 (the transformer's cross-attention per layer and head, and averaged)");
  for (const std::string arch : {"bahdanau", "transformer"}) {
    const fs::path dir = fs::path(ATTN_SOURCE_DIR) / ("models/translate-" + arch);
    if (!fs::exists(dir / "config.json")) continue;
    models::TranslationModel model = models::TranslationModel::load(dir.string());
    auto a = model.attention("Ich habe keine Zeit, weil ich arbeiten muss.", 5);
    std::cout << "  " << arch << ": " << a.translation << "\n";
    const Shape sh = a.cross.shape();
    viz::alignment_plot(mean(reshape(a.cross, {sh[0] * sh[1], sh[2], sh[3]}), {0}), a.source_tokens, a.target_tokens)
        .title(arch + " (full size)")
        .save_png(L.figure("full_size_alignment_" + arch + ".png"), 2.0);
  }
  return 0;
}
