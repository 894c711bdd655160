// `attn train gpt` and `attn generate`, run as a user runs them, on a tiny text with a tiny model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "attn/core/rng.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt2_hf.h"
#include "test_util.h"
#include "train_runs.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::run_attn;

// fresh_dir gives each test process its own directory (CTest runs tests in parallel).
std::string own_dir(const std::string& name) { return attn::testing::fresh_dir(name); }

// A repeated sentence: learnable in a few dozen steps by a 1-layer model.
std::string tiny_text() {
  const std::string path = own_dir("train_gpt_text") + "/tiny.txt";
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the whale swims in the sea. ";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string tiny_args(const std::string& out, int steps) {
  return "train gpt --data '" + tiny_text() + "' --out '" + out + "' --layers 1 --heads 2 --embd 16 --block 16" +
         " --batch 4 --warmup 3 --lr 1e-2 --min-lr 1e-3 --eval-every 5 --eval-batches 2 --checkpoint-every 7" +
         " --steps " + std::to_string(steps);
}

// metrics.jsonl, one parsed object per line (fails the test on a line that is not a JSON object).
std::vector<nlohmann::json> read_metrics(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(!j.is_discarded() && j.is_object()) << line;
    if (!j.is_discarded()) rows.push_back(j);
  }
  return rows;
}

std::vector<double> train_losses(const std::vector<nlohmann::json>& rows) {
  std::vector<double> out;
  for (const auto& r : rows)
    if (r["split"] == "train") out.push_back(r["loss"].get<double>());
  return out;
}

TEST(TrainGpt, WritesCheckpointMetricsAndFigure) {
  const std::string dir = own_dir("train_gpt_basic");
  CmdResult r = run_attn(tiny_args(dir, 30));
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f :
       {"model.safetensors", "optimizer.safetensors", "config.json", "tokenizer.json", "metrics.jsonl", "loss.svg"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  const auto rows = read_metrics(dir);
  const auto losses = train_losses(rows);
  ASSERT_EQ(losses.size(), 30u);
  // Learning: the mean of the last five losses is well below the first.
  double tail = 0;
  for (size_t i = 25; i < 30; ++i) tail += losses[i] / 5;
  EXPECT_LT(tail, losses[0] - 0.5) << "first " << losses[0] << ", last five " << tail;
  int vals = 0;
  for (const auto& row : rows) vals += row["split"] == "val";
  EXPECT_EQ(vals, 6);  // steps 5, 10, ..., 30
  std::ifstream cfg(dir + "/config.json");
  const auto j = nlohmann::json::parse(cfg);
  EXPECT_EQ(j["step"], 30);
  EXPECT_EQ(j["model"]["n_layer"], 1);
  EXPECT_TRUE(j.contains("data_rng"));
}

TEST(TrainGpt, ResumeContinuesTheSameTrajectory) {
  const std::string a = own_dir("train_gpt_whole"), b = own_dir("train_gpt_split");
  ASSERT_EQ(run_attn(tiny_args(a, 20)).code, 0);
  // The same run, stopped after step 10 as if interrupted (checkpointed there), then resumed.
  CmdResult first = run_attn(tiny_args(b, 20) + " --stop-at 10");
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("--resume"), std::string::npos);
  EXPECT_EQ(train_losses(read_metrics(b)).size(), 10u);
  CmdResult second = run_attn("train gpt --out '" + b + "' --resume");
  ASSERT_EQ(second.code, 0) << second.out;
  const auto la = train_losses(read_metrics(a)), lb = train_losses(read_metrics(b));
  ASSERT_EQ(la.size(), 20u);
  ASSERT_EQ(lb.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(la[i], lb[i]) << "step " << i + 1;  // bit for bit
}

TEST(TrainGpt, RepeatedWindowsAreRecordedAndResumeExactly) {
  // --repeat-fraction draws from the data Generator: a run stopped and resumed gives the same losses; the
  // setting is recorded; the windows (hence the losses) differ from a run without it.
  const std::string a = own_dir("train_gpt_rep_whole"), b = own_dir("train_gpt_rep_split"),
                    c = own_dir("train_gpt_rep_none");
  const std::string rep = " --repeat-fraction 0.5";
  ASSERT_EQ(run_attn(tiny_args(a, 16) + rep).code, 0);
  ASSERT_EQ(run_attn(tiny_args(b, 16) + rep + " --stop-at 8").code, 0);
  CmdResult r = run_attn("train gpt --out '" + b + "' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto la = train_losses(read_metrics(a)), lb = train_losses(read_metrics(b));
  ASSERT_EQ(la.size(), 16u);
  ASSERT_EQ(lb.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(la[i], lb[i]) << "step " << i + 1;
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(a + "/config.json"));
  EXPECT_EQ(cfg["train"]["repeat_fraction"], 0.5);
  ASSERT_EQ(run_attn(tiny_args(c, 16)).code, 0);
  EXPECT_NE(train_losses(read_metrics(c)), la);  // the windows differ
  EXPECT_EQ(run_attn(tiny_args(c, 1) + " --repeat-fraction 1.5").code, 2);
}

TEST(TrainGpt, BadFlagsAndMissingData) {
  EXPECT_EQ(run_attn("train gpt --no-such-flag").code, 2);
  EXPECT_EQ(run_attn("train gpt --layers -1").code, 2);
  EXPECT_EQ(run_attn("train").code, 2);  // the model kind is required
  const std::string dir = own_dir("train_gpt_nodata");
  CmdResult r = run_attn("train gpt --data /no/such/text.txt --out '" + dir + "' --steps 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("/no/such/text.txt"), std::string::npos);
  CmdResult h = run_attn("train gpt --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--time-limit-min"), std::string::npos);
  EXPECT_NE(h.out.find("=out/gpt"), std::string::npos);  // defaults are shown
}

TEST(TrainGpt, BpeLearnsItsVocabularyFromAFolderAndResumes) {
  // Two documents in a folder (plus a file that is not .txt, ignored): --tokenizer bpe learns the merges,
  // writes vocab.json + merges.txt, trains on subword tokens, and the model generates through load_gpt.
  const std::string texts = own_dir("train_gpt_bpe_texts");
  std::string a, b;
  for (int i = 0; i < 40; ++i) a += "the whale swims in the sea. ";
  for (int i = 0; i < 40; ++i) b += "the ship sails on the sea. ";
  std::ofstream(texts + "/a.txt", std::ios::binary) << a;
  std::ofstream(texts + "/b.txt", std::ios::binary) << b;
  std::ofstream(texts + "/skip.json", std::ios::binary) << "{}";
  const std::string dir = own_dir("train_gpt_bpe");
  const std::string args = "train gpt --tokenizer bpe --vocab-size 300 --data '" + texts + "' --out '" + dir +
                           "' --layers 1 --heads 2 --embd 16 --block 8 --batch 4 --warmup 2 --lr 1e-2 --eval-every 5"
                           " --eval-batches 2 --steps 12";
  CmdResult r = run_attn(args + " --stop-at 6");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 texts"), std::string::npos) << r.out;
  for (const char* f : {"vocab.json", "merges.txt", "model.safetensors", "config.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir + "/tokenizer.json"));
  const attn::data::GPT2Tokenizer tok = attn::data::GPT2Tokenizer::from_folder(dir);
  // Two short texts have fewer than 300 - 257 pairs seen twice: the vocabulary stops where they run out.
  EXPECT_GT(tok.vocab_size(), 257);
  EXPECT_LE(tok.vocab_size(), 300);
  EXPECT_EQ(tok.encode(" whale").size(), 1u);  // a word seen 40 times is one token
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  EXPECT_EQ(cfg["model"]["vocab_size"], tok.vocab_size());
  EXPECT_EQ(cfg["train"]["tokenizer"], "bpe");
  // Resuming keeps the vocabulary (the files are not rewritten) and finishes the run.
  const auto merges_before = fs::last_write_time(dir + "/merges.txt");
  CmdResult rr = run_attn("train gpt --out '" + dir + "' --resume");
  ASSERT_EQ(rr.code, 0) << rr.out;
  EXPECT_EQ(fs::last_write_time(dir + "/merges.txt"), merges_before);
  EXPECT_EQ(train_losses(read_metrics(dir)).size(), 12u);
  CmdResult g = run_attn("generate --model '" + dir + "' --prompt 'the ship' --max-new-tokens 4 --seed 1");
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_EQ(g.out.rfind("the ship", 0), 0u) << g.out;
  // --export: a half-size copy to ship (F16 weights, no optimizer state) that loads and generates.
  const std::string shipped = own_dir("train_gpt_bpe_shipped");
  CmdResult e = run_attn("train gpt --out '" + dir + "' --export '" + shipped + "' --dtype f16");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_FALSE(fs::exists(shipped + "/optimizer.safetensors"));
  for (const char* f : {"vocab.json", "merges.txt", "config.json", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(shipped + "/" + f)) << f;
  EXPECT_LT(fs::file_size(shipped + "/model.safetensors"), fs::file_size(dir + "/model.safetensors") * 6 / 10);
  CmdResult gs = run_attn("generate --model '" + shipped + "' --prompt 'the ship' --max-new-tokens 4 --seed 1");
  ASSERT_EQ(gs.code, 0) << gs.out;
  EXPECT_EQ(gs.out.rfind("the ship", 0), 0u) << gs.out;
  EXPECT_EQ(run_attn("train gpt --out '" + dir + "' --export '" + dir + "'").code, 1);  // not onto itself
  // A character-level run refuses a folder, naming the way out.
  CmdResult c = run_attn("train gpt --data '" + texts + "' --out '" + own_dir("train_gpt_char_dir") + "' --steps 1");
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.out.find("--tokenizer bpe"), std::string::npos) << c.out;
}

class TrainGptGenerate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = own_dir("train_gpt_generate");
    CmdResult r = run_attn(tiny_args(dir_, 30));
    ASSERT_EQ(r.code, 0) << r.out;
  }
  static std::string dir_;
};
std::string TrainGptGenerate::dir_;

TEST_F(TrainGptGenerate, SamplesText) {
  CmdResult r = run_attn("generate --model '" + dir_ + "' --prompt 'the ' --max-new-tokens 8 --seed 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("the ", 0), 0u);  // the prompt, then its continuation
  EXPECT_GE(r.out.size(), 4u + 8u);
}

TEST_F(TrainGptGenerate, GreedyIsTheSameWithAndWithoutCache) {
  const std::string args = "generate --model '" + dir_ + "' --prompt 'the wh' --max-new-tokens 10 --temperature 0";
  CmdResult cached = run_attn(args), full = run_attn(args + " --no-cache");
  ASSERT_EQ(cached.code, 0) << cached.out;
  ASSERT_EQ(full.code, 0) << full.out;
  EXPECT_EQ(cached.out, full.out);
}

TEST_F(TrainGptGenerate, SlidesPastTheContextAndStaysEqualWithoutCache) {
  // The model's context is 16 characters; 60 new ones make the window jump several times.
  const std::string args = "generate --model '" + dir_ + "' --prompt 'the' --max-new-tokens 60 --temperature 0";
  CmdResult cached = run_attn(args), full = run_attn(args + " --no-cache");
  ASSERT_EQ(cached.code, 0) << cached.out;
  EXPECT_EQ(cached.out.size(), 3u + 60u + 1u);  // prompt + 60 ASCII characters + newline
  EXPECT_EQ(cached.out, full.out);
}

TEST_F(TrainGptGenerate, ClearErrors) {
  EXPECT_EQ(run_attn("generate --model '" + dir_ + "' --prompt x --bogus").code, 2);
  EXPECT_EQ(run_attn("generate --prompt x").code, 2);  // --model is required
  CmdResult missing = run_attn("generate --model /no/such/checkpoint --prompt x");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no model directory /no/such/checkpoint"), std::string::npos) << missing.out;
  CmdResult unknown = run_attn("generate --model '" + dir_ + "' --prompt 'Q'");  // no capital Q in the text
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.out.find("never saw"), std::string::npos) << unknown.out;
  // A corrupt checkpoint: config.json that is not JSON.
  const std::string bad = own_dir("train_gpt_corrupt");
  std::ofstream(bad + "/config.json") << "{ not json";
  CmdResult corrupt = run_attn("generate --model '" + bad + "' --prompt x");
  EXPECT_EQ(corrupt.code, 1);
  EXPECT_NE(corrupt.out.find("corrupt"), std::string::npos) << corrupt.out;
  // A truncated weights file.
  const std::string trunc = own_dir("train_gpt_truncated");
  for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(dir_ + "/" + f, trunc + "/" + f);
  std::ofstream(trunc + "/model.safetensors") << "12345";
  CmdResult t = run_attn("generate --model '" + trunc + "' --prompt the");
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.out.find("model.safetensors"), std::string::npos) << t.out;
}

}  // namespace

// ---- a Hugging Face GPT-2 folder: byte-level BPE in, streamed bytes out ------------------------------------

namespace {

using namespace attn;

TEST(GenerateHfGpt2, StreamsTheSameTextAsTheLibraryWithAndWithoutCache) {
  models::GPTConfig c;
  c.vocab_size = 50257;  // GPT-2's BPE vocabulary
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 24;  // 30 new tokens: the window slides
  Generator g(5);
  models::GPT m(c, g);
  const std::string dir = own_dir("generate_hf_gpt2");
  models::save_hf_gpt2(m, dir);
  const data::GPT2Tokenizer tok = data::GPT2Tokenizer::from_folder(data::GPT2Tokenizer::default_dir(ATTN_SOURCE_DIR));
  const std::string prompt = "Hello, world! Caf\xc3\xa9 \xf0\x9f\x99\x82";  // "Café 🙂": multi-byte characters
  const std::vector<int64_t> out = m.generate(tok.encode(prompt), 30, models::GenerateOptions().greedy());
  const std::string expected = prompt + tok.decode_bytes(out) + "\n";

  const std::string args =
      "generate --model '" + dir + "' --prompt '" + prompt + "' --max-new-tokens 30 --temperature 0";
  CmdResult cached = run_attn(args), full = run_attn(args + " --no-cache");
  ASSERT_EQ(cached.code, 0) << cached.out;
  EXPECT_EQ(cached.out, expected);
  EXPECT_EQ(full.out, expected);

  // A BPE vocabulary larger than the model's is refused, naming both.
  models::GPTConfig small = c;
  small.vocab_size = 1000;
  Generator g2(6);
  models::GPT m2(small, g2);
  const std::string dir2 = own_dir("generate_hf_gpt2_small_vocab");
  models::save_hf_gpt2(m2, dir2);
  CmdResult refused = run_attn("generate --model '" + dir2 + "' --prompt hi");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("larger than the model's vocab_size 1000"), std::string::npos) << refused.out;
}

}  // namespace

// ---- attn train translate / attn translate: the whole pipeline, tiny and time-limited -----------------------

TEST(TrainTranslate, TrainsScoresSavesAndTranslates) {
  const std::string dir = own_dir("train_translate");
  CmdResult r = run_attn("train translate --arch luong-dot --out '" + dir +
                         "' --vocab 300 --embed 16 --hidden 16 --batch 32 --epochs 1 --max-tokens 16 --phrases 0"
                         " --time-limit-min 0.05 --eval-sentences 30 --beam 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("train / validation / test pairs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test, greedy (30 sentences): BLEU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test, beam 2 (30 sentences): BLEU"), std::string::npos) << r.out;
  for (const char* f : {"config.json", "model.safetensors", "spm.model", "metrics.jsonl", "loss.svg", "eval.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  std::ifstream in(dir + "/eval.json");
  const nlohmann::json eval = nlohmann::json::parse(in);
  EXPECT_EQ(eval["sentences"], 30);
  for (const char* key : {"greedy", "beam"}) {
    const auto& scores = eval[key]["scores"];
    ASSERT_EQ(scores.size(), 4u) << key;  // all, then 3 length buckets
    EXPECT_EQ(scores[0]["source_words"], "all");
    EXPECT_EQ(scores[0]["sentences"], 30);
    EXPECT_EQ(scores[1]["sentences"].get<int>() + scores[2]["sentences"].get<int>() + scores[3]["sentences"].get<int>(),
              30);
    EXPECT_GE(scores[0]["chrf"].get<double>(), 0.0);
  }
  EXPECT_EQ(eval["beam"]["beam"], 2);
  EXPECT_EQ(eval["best_epoch"], 1);  // the one epoch is the best (and only) checkpoint
  std::ifstream cfg_in(dir + "/config.json");
  const nlohmann::json cfg = nlohmann::json::parse(cfg_in);
  EXPECT_EQ(cfg["arch"], "luong-dot");
  EXPECT_EQ(cfg["model"]["hidden"], 16);
  EXPECT_FLOAT_EQ(cfg["model"]["dropout"].get<float>(), 0.3f);  // the RNN default
  CmdResult t = run_attn("translate --model '" + dir + "' 'Ich habe keine Zeit.' 'Der Hund bellt.'");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), 2) << t.out;  // one line per sentence
  CmdResult missing = run_attn("translate --model /no/such 'Hallo.'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no translation model in /no/such"), std::string::npos) << missing.out;
  EXPECT_EQ(run_attn("train translate --arch transformerx --out '" + dir + "'").code, 2);
  // Beam search works for the RNNs too; beam 1 is greedy.
  CmdResult greedy = run_attn("translate --model '" + dir + "' 'Ich habe keine Zeit.'");
  CmdResult beam1 = run_attn("translate --model '" + dir + "' --beam 1 'Ich habe keine Zeit.'");
  CmdResult beam3 = run_attn("translate --model '" + dir + "' --beam 3 'Ich habe keine Zeit.'");
  ASSERT_EQ(beam3.code, 0) << beam3.out;
  EXPECT_EQ(greedy.out, beam1.out);
  // The alignment figure.
  const std::string figs = dir + "/figs";
  CmdResult drawn =
      run_attn("translate --model '" + dir + "' --attention '" + figs + "' --format svg 'Der Hund bellt.'");
  ASSERT_EQ(drawn.code, 0) << drawn.out;
  ASSERT_TRUE(fs::exists(figs + "/sentence-1.svg")) << drawn.out;
  std::ifstream svg_in(figs + "/sentence-1.svg");
  const std::string svg((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(svg.find(">▁"), std::string::npos) << "the source pieces label the columns";
  EXPECT_NE(svg.find("&lt;/s&gt;"), std::string::npos);
  CmdResult bad_format = run_attn("translate --model '" + dir + "' --attention '" + figs + "' --format gif 'Hallo.'");
  EXPECT_EQ(bad_format.code, 2);
  CmdResult empty = run_attn("translate --model '" + dir + "' ''");
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.out.find("sentence 1 is empty"), std::string::npos) << empty.out;
}

TEST(TrainTranslate, PhrasesAveragingEvalAndExport) {
  // A small dictionary in trans-de-en's format: 300 sentence pairs (about 5% each go to validation and
  // test) and phrase pairs.
  const std::string dir = own_dir("train_translate_phrases");
  const std::string dict = dir + "-de-en";
  attn::testing::write_animal_dictionary(dict, 300);
  CmdResult r = run_attn("train translate --arch transformer --data '" + dict + "' --out '" + dir +
                         "' --vocab 80 --embed 16 --heads 2 --layers 1 --ff 32 --batch 16 --epochs 3 --max-tokens 24"
                         " --phrases 4 --batch-tokens 200 --average-last 2 --beam 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("phrase pairs (training only)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(4 per epoch)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("average of the last 2 epochs"), std::string::npos) << r.out;
  std::ifstream in(dir + "/eval.json");
  const nlohmann::json eval = nlohmann::json::parse(in);
  EXPECT_EQ(eval["averaged_epochs"], 2);
  EXPECT_TRUE(eval["kept"] == "average" || eval["kept"] == "best epoch") << eval["kept"];
  EXPECT_EQ(eval["phrases_per_epoch"], 4);
  const int test_sentences = eval["sentences"].get<int>();
  ASSERT_GT(test_sentences, 0);

  // attn translate --eval scores the folder the same way the end of training did.
  const std::string scores = dir + "/scores.json";
  CmdResult ev = run_attn("translate --model '" + dir + "' --data '" + dict +
                          "' --eval test --eval-beam 2 --eval-out '" + scores + "'");
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_NE(ev.out.find("test, beam 2 (" + std::to_string(test_sentences) + " sentences): BLEU"), std::string::npos)
      << ev.out;
  std::ifstream sin(scores);
  const nlohmann::json again = nlohmann::json::parse(sin);
  EXPECT_EQ(again["beam"]["scores"][0]["bleu"], eval["beam"]["scores"][0]["bleu"]);
  EXPECT_EQ(again["greedy"]["scores"][0]["chrf"], eval["greedy"]["scores"][0]["chrf"]);

  // --export --dtype f16: half the bytes, the training record beside it, and it translates.
  const std::string small = dir + "-f16";
  CmdResult ex = run_attn("translate --model '" + dir + "' --export '" + small + "' --dtype f16");
  ASSERT_EQ(ex.code, 0) << ex.out;
  EXPECT_LT(fs::file_size(small + "/model.safetensors"), fs::file_size(dir + "/model.safetensors") * 6 / 10);
  for (const char* f : {"config.json", "spm.model", "eval.json", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(small + "/" + f)) << f;
  CmdResult t = run_attn("translate --model '" + small + "' 'Der Hund schläft heute 3 Mal.'");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_FALSE(t.out.empty());

  // --init continues training the exported copy: its sizes and vocabulary, its step count carried on.
  const std::string more = dir + "-more";
  CmdResult cont = run_attn("train translate --arch transformer --data '" + dict + "' --init '" + small + "' --out '" +
                            more + "' --epochs 1 --phrases 4 --beam 1 --embed 99");
  ASSERT_EQ(cont.code, 0) << cont.out;
  EXPECT_NE(cont.out.find("init: " + small), std::string::npos) << cont.out;
  std::ifstream c0(small + "/config.json"), c1(more + "/config.json");
  const nlohmann::json before = nlohmann::json::parse(c0), after = nlohmann::json::parse(c1);
  EXPECT_EQ(after["model"], before["model"]);  // --embed 99 is ignored: the folder's sizes hold
  EXPECT_EQ(after["train"]["init_steps"], before["train"]["steps"]);
  EXPECT_GE(after["train"]["steps"].get<int>(),
            before["train"]["steps"].get<int>());  // equal when epoch 1 was not better
  EXPECT_NE(cont.out.find("epoch 0 (the --init model): validation loss"), std::string::npos) << cont.out;
  // --dropout replaces the folder's; --schedule cosine warms up again and ends near 0 with the budget (metrics.jsonl's
  // lr).
  const std::string cos_dir = dir + "-cosine";
  CmdResult cosine =
      run_attn("train translate --arch transformer --data '" + dict + "' --init '" + small + "' --out '" + cos_dir +
               "' --epochs 2 --phrases 0 --beam 1 --dropout 0.05 --schedule cosine --lr 1e-3 --warmup 3");
  ASSERT_EQ(cosine.code, 0) << cosine.out;
  EXPECT_NE(cosine.out.find("dropout 0.05"), std::string::npos) << cosine.out;
  std::ifstream c2(cos_dir + "/config.json");
  const nlohmann::json cos_cfg = nlohmann::json::parse(c2);
  EXPECT_FLOAT_EQ(cos_cfg["model"]["dropout"].get<float>(), 0.05f);
  EXPECT_EQ(cos_cfg["train"]["schedule"], "cosine");
  std::vector<double> lrs;
  std::ifstream log(cos_dir + "/metrics.jsonl");
  for (std::string line; std::getline(log, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    if (row["split"] == "train") lrs.push_back(row["lr"].get<double>());
  }
  ASSERT_GE(lrs.size(), 6u);
  EXPECT_NEAR(lrs[0], 1e-3 / 3, 1e-6);  // warming up: step 1 of 3
  EXPECT_NEAR(*std::max_element(lrs.begin(), lrs.end()), 1e-3, 1e-4);
  EXPECT_LT(lrs.back(), 1e-3 * 0.1);  // the last step of the budget: near 0
  for (size_t i = 3; i < lrs.size(); ++i) EXPECT_LE(lrs[i], lrs[i - 1] + 1e-9) << i;
  EXPECT_EQ(
      run_attn("train translate --arch transformer --data '" + dict + "' --out '" + cos_dir + "' --schedule linear")
          .code,
      2);
  // --average: a model averaged with itself is itself (to the bit); the record says what was averaged.
  const std::string soup = dir + "-soup";
  CmdResult avg =
      run_attn("translate --model '" + cos_dir + "' --average '" + cos_dir + "' --export '" + soup + "' --dtype f32");
  ASSERT_EQ(avg.code, 0) << avg.out;
  EXPECT_NE(avg.out.find("the mean of " + cos_dir + " and 1 more folder"), std::string::npos) << avg.out;
  auto bytes = [](const std::string& f) {
    std::ifstream in(f, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(soup + "/model.safetensors"), bytes(cos_dir + "/model.safetensors"));
  std::ifstream c3(soup + "/config.json");
  EXPECT_EQ(nlohmann::json::parse(c3)["train"]["averaged_with"][0], cos_dir);
  CmdResult soup2 =
      run_attn("translate --model '" + cos_dir + "' --average '" + more + "' 'Der Hund schläft heute 3 Mal.'");
  ASSERT_EQ(soup2.code, 0) << soup2.out;  // two runs continued from one model: same sizes and vocabulary
  CmdResult no_dir = run_attn("translate --model '" + cos_dir + "' --average /no/such 'Hallo.'");
  EXPECT_EQ(no_dir.code, 1);
  EXPECT_NE(no_dir.out.find("/no/such"), std::string::npos) << no_dir.out;
  CmdResult wrong =
      run_attn("train translate --arch bahdanau --data '" + dict + "' --init '" + small + "' --out '" + more + "'");
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.out.find("holds a transformer model, not --arch bahdanau"), std::string::npos) << wrong.out;

  // Mistakes get clear errors.
  CmdResult nothing = run_attn("translate --model '" + dir + "'");
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.out.find("nothing to do"), std::string::npos) << nothing.out;
  CmdResult self = run_attn("translate --model '" + dir + "' --export '" + dir + "'");
  EXPECT_NE(self.out.find("the model's own folder"), std::string::npos) << self.out;
  EXPECT_EQ(run_attn("translate --model '" + dir + "' --eval train").code, 2);
  EXPECT_EQ(run_attn("translate --model '" + dir + "' --export x --dtype f8").code, 2);
}

TEST(TrainTranslate, TransformerTrainsAndTranslatesWithBeamSearch) {
  const std::string dir = own_dir("train_translate_transformer");
  CmdResult r = run_attn("train translate --arch transformer --out '" + dir +
                         "' --vocab 300 --embed 16 --heads 2 --layers 1 --ff 32 --batch 32 --epochs 1 --max-tokens 16"
                         " --time-limit-min 0.05 --eval-sentences 10 --beam 2 --phrases 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("test, beam 2 (10 sentences): BLEU"), std::string::npos) << r.out;
  std::ifstream in(dir + "/config.json");
  const nlohmann::json cfg = nlohmann::json::parse(in);
  EXPECT_EQ(cfg["model"]["embed"], 16);
  EXPECT_EQ(cfg["model"]["layers"], 1);
  CmdResult greedy = run_attn("translate --model '" + dir + "' 'Ich habe keine Zeit.'");
  CmdResult beam1 = run_attn("translate --model '" + dir + "' --beam 1 'Ich habe keine Zeit.'");
  CmdResult beam4 = run_attn("translate --model '" + dir + "' --beam 4 'Ich habe keine Zeit.'");
  ASSERT_EQ(greedy.code, 0) << greedy.out;
  ASSERT_EQ(beam4.code, 0) << beam4.out;
  EXPECT_EQ(greedy.out, beam1.out);
  // Per layer/head and averaged cross-attention figures.
  const std::string figs = dir + "/figs";
  CmdResult drawn = run_attn("translate --model '" + dir + "' --attention '" + figs + "' 'Der Hund bellt.' 'Ja.'");
  ASSERT_EQ(drawn.code, 0) << drawn.out;
  for (const char* f : {"sentence-1.png", "sentence-1-heads.png", "sentence-2.png", "sentence-2-heads.png"})
    EXPECT_GT(fs::file_size(figs + "/" + f), 1000u) << f;
}
