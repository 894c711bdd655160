// attn train gpt — train a GPT on a text (default: Moby-Dick) and checkpoint it: character-level, or on
// byte-level BPE tokens learnt from the corpus (--tokenizer bpe, bpe_trainer.h; default corpus Moby-Dick +
// the State of the Union addresses; each file's last --val-fraction held out, documents joined by
// <|endoftext|>).
//
// The loop, one step at a time (nanoGPT's train.py, on the CPU):
//   1. lr ← warmup_cosine(step + 1)                    linear warmup, then a half cosine down to --min-lr
//   2. x, y ← B random windows of T + 1 characters      from the training split, drawn by the data Generator
//   3. loss ← mean cross-entropy of GPT(x) against y    then backward() fills every .grad
//   4. clip_grad_norm_(--clip)                          one rare huge gradient cannot wreck the weights
//   5. AdamW step                                       weight decay only on matrices (weights, embeddings),
//                                                       never on biases or LayerNorm gains, as in GPT-2
//   6. every --eval-every steps: validation loss on fixed held-out batches; every --checkpoint-every
//      steps and at the end: a checkpoint.
//
// The checkpoint folder (--out DIR) holds, each file written atomically (temporary file + rename):
//   model.safetensors      the weights (Hugging Face names), metadata "step"
//   optimizer.safetensors  both AdamW groups' state (exp_avg, exp_avg_sq, step), metadata "step" and the
//                          data Generator's state; optimizer.prev.safetensors the one before (see save_all)
//   tokenizer.json         the character vocabulary, or (--tokenizer bpe) vocab.json + merges.txt, GPT-2's
//                          byte-level BPE files, written once before the first step
//   config.json            model config + training settings + step + the data Generator's state; written last
//   metrics.jsonl          one JSON object per line: {"step", "split": "train"|"val", "loss", "elapsed_s", ...}
//                          (elapsed_s: seconds since this process started training)
//   loss.svg               train and validation loss curves (at the end)
//
// --resume restores all of it (weights, optimizer moments, step, data Generator), so the run continues
// with exactly the loss trajectory it would have had without stopping. With dropout 0 (the default)
// nothing else is random — validation draws its batches from its own Generator re-seeded at every
// evaluation; with --dropout the masks after a resume are drawn afresh, so the loss differs slightly.
//
// On several processes — `mpirun -np N attn train gpt …` (attn/dist/data_parallel.h) — one model is trained
// data-parallel: every rank draws the same global batch of --batch windows and computes rows
// [r·B/N, (r+1)·B/N) of it, the gradients are averaged by MPI allreduce in buckets while backward runs, and
// every rank applies the same AdamW update (--zero: each rank keeps the optimizer state of 1/N of the
// parameters). Rank 0 alone prints, logs and writes the checkpoint, in the same format, so --resume works with
// the same, another or no number of ranks; the loss trajectory is one process's with the same --batch, up to
// float summation order.
#include <bit>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/data/bpe_trainer.h"
#include "attn/data/gpt2_tokenizer.h"
#include "attn/data/text_corpus.h"
#include "attn/dist/communicator.h"
#include "attn/dist/data_parallel.h"
#include "attn/io/atomic_file.h"
#include "attn/io/safetensors.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt_config_json.h"
#include "attn/models/gpt_loader.h"
#include "attn/nn/checkpoint.h"
#include "attn/nn/optim.h"
#include "attn/nn/schedule.h"
#include "attn/train/metrics.h"
#include "attn/train/progress.h"
#include "attn/trainers/common.h"
#include "attn/trainers/progress.h"
#include "attn/viz/svg_plot.h"
#include "commands.h"
#include "data_parallel_flags.h"
#include "data_root.h"
#include "train_audio.h"
#include "train_translate.h"
#include "train_clip.h"
#include "train_vit.h"

namespace fs = std::filesystem;
using namespace attn;
using nlohmann::json;

namespace {

constexpr const char* kOp = "attn train gpt";

struct TrainSettings {
  std::vector<std::string> data;  // files or folders of .txt files (several only with --tokenizer bpe)
  std::string out = "out/gpt";
  std::string tokenizer = "char";  // "char" (one id per code point) or "bpe" (byte-level BPE trained on --data)
  int64_t vocab_size = 8192;       // bpe: tokens, <|endoftext|> included
  int64_t layers = 4, heads = 4, embd = 128, block = 128, batch = 32, steps = 2200;
  int64_t kv_heads = 0;  // 0 = heads (multi-head attention)
  bool rope = false;
  float dropout = 0.f;         // on attention weights, residual branches and embeddings (GPT-2's three places)
  double repeat_fraction = 0;  // share of training windows that are a stretch of the text followed by itself
  float lr = 6e-3f, min_lr = 6e-4f, weight_decay = 0.1f, clip = 1.f;  // a small model takes a high rate (sweep: README)
  int64_t warmup = 100, eval_every = 200, eval_batches = 20, checkpoint_every = 500;
  uint64_t seed = 1337;
  double val_fraction = 0.1;
  bool resume = false;
  double time_limit_min = 0;              // 0 = none
  int64_t stop_at = 0;                    // 0 = none
  bool zero = false;                      // under mpirun: ZeRO stage 1 (optimizer state sharded over the ranks)
  int64_t bucket_kib = 1024;              // under mpirun: gradient bucket size
  std::string export_dir, dtype = "f16";  // --export: write --out as a copy to ship, and train nothing
  // Resuming: which of the changeable flags were given on the command line (the others come from config.json).
  bool warmup_given = false;
  bool steps_given = false, eval_every_given = false, eval_batches_given = false, checkpoint_every_given = false;
};

using Optimizers = trainers::TwoGroupAdamW;
using trainers::read_metrics;
using trainers::rng_json;
using trainers::rng_state_from;

using models::model_config_from;
using models::model_config_json;

// --repeat-fraction: each window of the batch, with probability p, becomes a stretch of the training text
// of random length h (8 <= h <= (T + 1) / 2) repeated to fill the window, [a b c … | a b c … | …], T + 1
// tokens. Repeated passages happen in real text (quotations, refrains, names); a few more of them make the
// copy-what-followed-last-time circuit (induction heads, Olsson et al. 2022) form within a short run. The
// period varies so that copying must find the earlier occurrence by content: with one fixed period a
// model learns to look back a fixed distance instead (measured: a RoPE model did, with h = (T + 2) / 2).
// Draws from the data Generator, so a resumed run draws the same windows.
void repeat_some_windows(data::TokenBatch& b, const std::vector<int64_t>& ids, double p, Generator& gen) {
  if (p <= 0) return;
  const int64_t B = b.x.shape[0], T = b.x.shape[1];
  const int64_t lo = std::min<int64_t>(8, (T + 1) / 2), hi = std::max<int64_t>(lo, (T + 1) / 2);
  for (int64_t r = 0; r < B; ++r) {
    if (static_cast<double>(gen.randint(1u << 24)) >= p * static_cast<double>(1u << 24)) continue;
    const int64_t h = lo + gen.randint(static_cast<uint32_t>(hi - lo + 1));
    const int64_t s = gen.randint(static_cast<uint32_t>(static_cast<int64_t>(ids.size()) - h));
    for (int64_t t = 0; t <= T; ++t) {
      const int64_t id = ids[static_cast<size_t>(s + t % h)];
      if (t < T) b.x.data[static_cast<size_t>(r * T + t)] = id;
      if (t > 0) b.y.data[static_cast<size_t>(r * T + t - 1)] = id;
    }
  }
}

json train_json(const TrainSettings& s) {
  return {{"data", s.data.size() == 1 ? json(s.data[0]) : json(s.data)},
          {"tokenizer", s.tokenizer},
          {"repeat_fraction", s.repeat_fraction},
          {"batch", s.batch},
          {"steps", s.steps},
          {"lr", s.lr},
          {"min_lr", s.min_lr},
          {"warmup", s.warmup},
          {"weight_decay", s.weight_decay},
          {"clip", s.clip},
          {"eval_every", s.eval_every},
          {"eval_batches", s.eval_batches},
          {"checkpoint_every", s.checkpoint_every},
          {"seed", s.seed},
          {"val_fraction", s.val_fraction}};
}

// Writes a complete checkpoint for `step`, so that a kill at any moment leaves one that --resume can use:
//   1. optimizer.safetensors (the last step's) is renamed to optimizer.prev.safetensors (rename(2): atomic);
//   2. optimizer.safetensors for `step`, its metadata holding the step and the data Generator's state;
//   3. model.safetensors, its metadata holding the step;
//   4. config.json last (the model's and the run's settings, the step).
// Each file is written atomically (a temporary, fsync, rename). Whatever the moment of a kill, the weights on
// disk match one of the two optimizer files — the new one after 3, the previous one before — and --resume
// picks that pair (resume_pair below): nothing is lost but the steps since the last complete write.
// `chars` is the character vocabulary (written as tokenizer.json) or null for a BPE run, whose
// vocab.json + merges.txt were written once, before the first step.
// Under mpirun every rank calls it (the optimizer state may have to be gathered) and rank 0 writes.
void save_all(const fs::path& dir, const models::GPT& model, const Optimizers& opt, dist::DataParallel* dp,
              const data::CharTokenizer* chars, const TrainSettings& s, int64_t step, const Generator& data_gen) {
  const bool lead = dist::world().rank() == 0;
  if (lead) {
    fs::create_directories(dir);
    trainers::keep_previous_optimizer(dir);
  }
  const std::string st = std::to_string(step);
  const std::string optimizer = (dir / "optimizer.safetensors").string();
  if (dp) dp->save_optimizer(optimizer, step, {{"data_rng", rng_json(data_gen).dump()}});
  else opt.save(optimizer, step, {{"data_rng", rng_json(data_gen).dump()}});
  if (!lead) return;
  nn::save_checkpoint(model, (dir / "model.safetensors").string(), {{"step", st}});
  if (chars) chars->save((dir / "tokenizer.json").string());
  json cfg = {{"format", "attn-gpt-checkpoint"},
              {"version", 1},
              {"model", model_config_json(model.config())},
              {"train", train_json(s)},
              {"step", step},
              {"data_rng", rng_json(data_gen)},
              {"tokenizer", chars ? "tokenizer.json" : "vocab.json + merges.txt (byte-level BPE)"}};
  io::write_file_atomic((dir / "config.json").string(), cfg.dump(2) + "\n");
}

// Mean loss over `batches` validation batches, always the same ones: a fresh Generator each time makes
// successive evaluations comparable and leaves the training data stream untouched. Under mpirun rank r
// computes batches r, r + N, … and the sums are added over the ranks.
double evaluate(models::GPT& model, const std::vector<int64_t>& val, const TrainSettings& s, dist::Communicator& comm) {
  NoGradGuard no_grad;
  model.eval();
  Generator gen(s.seed, /*stream=*/7);
  double total = 0;
  for (int64_t i = 0; i < s.eval_batches; ++i) {
    data::TokenBatch b = data::sample_windows(val, s.batch, model.config().block_size, gen);
    if (i % comm.size() == comm.rank()) total += model.loss(b.x, b.y).item();
  }
  comm.allreduce_sum(&total, 1, "validation loss");
  model.train();
  return total / static_cast<double>(s.eval_batches);
}

// Rows [first, first + n) of a (B, T) batch of ids: this rank's share of the global batch.
IndexTensor rows_of(const IndexTensor& x, int64_t first, int64_t n) {
  const int64_t T = x.shape[1];
  std::vector<int64_t> v(x.data.begin() + first * T, x.data.begin() + (first + n) * T);
  return IndexTensor(std::move(v), Shape{n, T});
}

// --export: the checkpoint in s.out written again to s.export_dir as a copy to ship — the weights stored
// as --dtype (F16 halves them; loading widens them back to float32), config.json, the tokenizer files,
// metrics.jsonl and loss.svg; no optimizer state (a shipped model is not resumed).
int export_gpt(const TrainSettings& s) {
  const fs::path from = s.out, to = s.export_dir;
  ATTN_CHECK(fs::exists(from / "config.json"), kOp,
             "--export: no checkpoint in " << from.string() << " (config.json missing)");
  ATTN_CHECK(fs::weakly_canonical(from) != fs::weakly_canonical(to), kOp,
             "--export must name another folder than --out");
  const models::LoadedGPT g = models::load_gpt(from.string(), cli::data_root());  // checks that it loads whole
  fs::create_directories(to);
  const io::StoreDtype dtype = io::store_dtype_from(s.dtype, kOp);
  const nn::Metadata meta = io::load_safetensors_metadata((from / "model.safetensors").string());
  io::NamedTensors weights;
  for (const auto& item : g.model->state_dict()) weights.emplace_back(item.first, item.second);
  io::save_safetensors((to / "model.safetensors").string(), weights, meta, dtype);
  for (const char* f : {"config.json", "tokenizer.json", "vocab.json", "merges.txt", "metrics.jsonl", "loss.svg"})
    if (fs::exists(from / f)) fs::copy_file(from / f, to / f, fs::copy_options::overwrite_existing);
  std::cout << "exported " << from.string() << " to " << to.string() << " (weights as " << s.dtype << ", "
            << fs::file_size(to / "model.safetensors") / 1024 << " KiB)\n";
  return 0;
}

int train_gpt(TrainSettings s) {
  dist::Communicator& comm = dist::world();
  const bool lead = comm.rank() == 0;
  // Only rank 0 talks: the other ranks' standard output is switched off, and their progress bar draws nowhere.
  struct RestoreCout {
    bool on;
    ~RestoreCout() {
      if (on) std::cout.clear();
    }
  } restore{!lead};
  if (!lead) std::cout.setstate(std::ios::failbit);
  const fs::path dir = s.out;
  models::GPTConfig cfg;
  int64_t start = 0;
  json saved;
  std::unique_ptr<data::CharTokenizer> saved_tok;
  if (s.resume) {
    // The run's own settings come from config.json (the same model, data, schedule and seed); the
    // command line may still change only how long it runs and how often it evaluates/checkpoints.
    const fs::path cfg_path = dir / "config.json";
    ATTN_CHECK(fs::exists(cfg_path), kOp, "--resume: no checkpoint in " << dir.string() << " (config.json missing)");
    saved = json::parse(trainers::read_text_file(cfg_path, kOp), nullptr, false);
    ATTN_CHECK(!saved.is_discarded() && saved.contains("model") && saved.contains("train"), kOp,
               cfg_path.string() << " is not a valid attn train gpt config");
    const json& t = saved["train"];
    s.data = t.at("data").is_array() ? t.at("data").get<std::vector<std::string>>()
                                     : std::vector<std::string>{t.at("data").get<std::string>()};
    s.tokenizer = t.value("tokenizer", std::string("char"));
    s.repeat_fraction = t.value("repeat_fraction", 0.0);
    s.batch = t.at("batch");
    s.lr = t.at("lr");
    s.min_lr = t.at("min_lr");
    s.warmup = t.at("warmup");
    s.weight_decay = t.at("weight_decay");
    s.clip = t.at("clip");
    s.seed = t.at("seed");
    s.val_fraction = t.at("val_fraction");
    if (!s.steps_given) s.steps = t.at("steps");
    if (!s.eval_every_given) s.eval_every = t.at("eval_every");
    if (!s.eval_batches_given) s.eval_batches = t.at("eval_batches");
    if (!s.checkpoint_every_given) s.checkpoint_every = t.at("checkpoint_every");
    cfg = model_config_from(saved["model"]);
    start = saved.at("step").get<int64_t>();
    if (s.tokenizer == "char")
      saved_tok = std::make_unique<data::CharTokenizer>(data::CharTokenizer::load((dir / "tokenizer.json").string()));
  }

  // ---- data: the text(s), the vocabulary, train/val split ----
  ATTN_CHECK(s.tokenizer == "char" || s.tokenizer == "bpe", kOp,
             "--tokenizer must be char or bpe, got \"" << s.tokenizer << "\"");
  std::unique_ptr<data::TextCorpus> corpus;  // char
  std::vector<int64_t> train_ids, val_ids;
  int64_t vocab_size = 0, total_tokens = 0;
  std::string data_name;
  if (s.tokenizer == "char") {
    ATTN_CHECK(s.data.size() == 1 && !fs::is_directory(s.data[0]), kOp,
               "a character-level run reads one text file (--data FILE); several files or a folder need "
               "--tokenizer bpe");
    corpus = std::make_unique<data::TextCorpus>(data::TextCorpus::load(s.data[0], s.val_fraction, saved_tok.get()));
    train_ids = corpus->train();
    val_ids = corpus->val();
    vocab_size = corpus->tokenizer().vocab_size();
    total_tokens = corpus->size();
    data_name = fs::path(corpus->path()).filename().string();
  } else {
    const std::vector<std::string> files = data::list_text_files(s.data);
    std::vector<std::string> texts;
    for (const std::string& f : files) texts.push_back(data::read_text_file(f));
    if (!s.resume && lead) {
      // Learn the merges on the training part of each text only, so validation text stays unseen.
      std::vector<std::string_view> heads;
      for (const std::string& t : texts)
        heads.push_back(
            std::string_view(t).substr(0, static_cast<size_t>(static_cast<double>(t.size()) * (1.0 - s.val_fraction))));
      std::cout << "BPE: learning " << s.vocab_size << " tokens from " << files.size() << " files\n" << std::flush;
      data::BpeTrainOptions bo;
      bo.vocab_size = s.vocab_size;
      const data::BpeVocabulary v = data::train_byte_level_bpe(heads, bo);
      fs::create_directories(dir);
      v.save(dir.string());
    }
    comm.barrier("BPE vocabulary (rank 0 learns it)");  // the other ranks read what rank 0 wrote
    const data::GPT2Tokenizer bpe = data::GPT2Tokenizer::from_folder(dir.string());
    std::vector<std::vector<int64_t>> docs;
    for (size_t i = 0; i < texts.size(); ++i) {
      try {
        docs.push_back(bpe.encode(texts[i]));
      } catch (const Error& e) {
        ATTN_FAIL(kOp, files[i] << ": " << e.what());
      }
      total_tokens += static_cast<int64_t>(docs.back().size());
    }
    data::TokenSplit split = data::split_documents(docs, s.val_fraction, bpe.eot_token());
    train_ids = std::move(split.train);
    val_ids = std::move(split.val);
    vocab_size = bpe.vocab_size();
    data_name = files.size() == 1 ? fs::path(files[0]).filename().string() : std::to_string(files.size()) + " texts";
  }
  if (!s.resume) {
    cfg.vocab_size = vocab_size;
    cfg.n_layer = s.layers;
    cfg.n_head = s.heads;
    cfg.n_embd = s.embd;
    cfg.block_size = s.block;
    cfg.n_kv_head = s.kv_heads;
    cfg.rope = s.rope;
    cfg.dropout = s.dropout;
  }
  cfg.validate();
  ATTN_CHECK(s.steps > 0 && s.batch > 0, kOp, "--steps and --batch must be > 0");
  ATTN_CHECK(start <= s.steps, kOp, "the checkpoint is at step " << start << ", past --steps " << s.steps);
  if (!s.resume && !s.warmup_given) s.warmup = std::min(s.warmup, s.steps / 10);  // short runs: a 10% warmup
  ATTN_CHECK(s.warmup <= s.steps, kOp,
             "--warmup " << s.warmup << " is longer than the run (--steps " << s.steps << ")");
  const bool have_val = static_cast<int64_t>(val_ids.size()) > cfg.block_size && s.eval_batches > 0;
  // Data parallel: the global batch split evenly, and every rank with the same run (a mismatch would deadlock).
  const int64_t ranks = comm.size();
  if (s.batch % ranks != 0)
    throw dist::CollectiveError("[" + std::string(kOp) + "] --batch " + std::to_string(s.batch) +
                                " (the global batch) is not divisible by the " + std::to_string(ranks) +
                                " ranks: give a multiple of " + std::to_string(ranks));
  const int64_t local_batch = s.batch / ranks;
  comm.check_same(
      "the run's settings (model, data, schedule; a hash of them)",
      static_cast<int64_t>(std::hash<std::string>{}(train_json(s).dump() + model_config_json(cfg).dump() +
                                                    std::to_string(start) + std::to_string(train_ids.size()))));

  // ---- model, optimizer groups, data Generator ----
  Generator init_gen(s.seed);
  models::GPT model(cfg, init_gen);
  model.train();
  std::vector<Tensor> decay, no_decay;
  for (const Tensor& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  Optimizers opt(decay, no_decay, s.lr, 0.9f, 0.95f, s.weight_decay);
  Generator data_gen(s.seed, /*stream=*/1);  // the batches' offsets; saved in every checkpoint
  std::unique_ptr<dist::DataParallel> dp;    // under mpirun: gradient averaging and the optimizer (opt is then unused)
  if (comm.distributed()) {
    dist::DataParallelOptions o;
    o.zero = s.zero;
    o.bucket_bytes = s.bucket_kib * 1024;
    o.beta1 = 0.9f;
    o.beta2 = 0.95f;
    o.weight_decay = s.weight_decay;
    dp = std::make_unique<dist::DataParallel>(comm, decay, no_decay, o);
  }

  const fs::path metrics_path = dir / "metrics.jsonl";
  std::vector<double> tx, ty, vx, vy;
  if (s.resume) {
    // The weights, and the optimizer file of the same step: the newest, or the previous one when a kill came
    // between writing the optimizer and the weights (see save_all). The data Generator's state travels with it.
    nn::Metadata mm = nn::load_checkpoint(model, (dir / "model.safetensors").string());
    const int64_t model_step = mm.count("step") ? std::stoll(mm["step"]) : -1;
    const std::string optimizer = trainers::optimizer_for_step(dir, model_step);
    ATTN_CHECK(model_step >= 0 && !optimizer.empty(), kOp,
               "checkpoint files in " << dir.string() << " are from different steps (model.safetensors: " << model_step
                                      << ", config.json: " << start << ") and no optimizer file matches the weights");
    std::map<std::string, std::string> om;
    if (dp) dp->load_optimizer(optimizer, kOp, &om);
    else opt.load(optimizer, kOp, &om);
    if (model_step != start)
      std::cout << "the last save was interrupted after the weights of step " << model_step << " (config.json says "
                << start << "): resuming at step " << model_step << "\n";
    start = model_step;
    data_gen.set_state(rng_state_from(om.count("data_rng") ? json::parse(om["data_rng"]) : saved.at("data_rng")));
    comm.barrier("resume (every rank read the checkpoint)");          // before rank 0 rewrites metrics.jsonl
    if (lead) read_metrics(metrics_path, start, &tx, &ty, &vx, &vy);  // forget lines logged after the checkpoint
    std::cout << "resuming " << dir.string() << " at step " << start << "\n";
  } else if (lead) {
    fs::create_directories(dir);
    fs::remove(metrics_path);  // a fresh run starts a fresh log
  }
  if (lead) trainers::remove_stale_temporaries(dir);  // what a killed save left behind
  std::optional<train::MetricsLogger> metrics;
  if (lead) metrics.emplace(metrics_path.string());

  std::cout << "data: " << data_name << " — " << total_tokens << (s.tokenizer == "char" ? " characters" : " tokens")
            << ", vocabulary " << vocab_size << ", train " << train_ids.size() << " / val " << val_ids.size() << "\n"
            << "model: GPT " << cfg.n_layer << " layers, " << cfg.n_head << " heads, " << cfg.n_embd
            << " wide, context " << cfg.block_size << " — " << model.num_parameters() << " parameters\n"
            << "training: " << s.steps << " steps of " << s.batch << " x " << cfg.block_size << " tokens, lr " << s.lr
            << " (warmup " << s.warmup << ", cosine to " << s.min_lr << "), out " << dir.string() << "\n";
  if (dp)
    std::cout << "data parallel: " << ranks << " ranks x " << local_batch << " sequences, " << dp->num_buckets()
              << " gradient buckets of <= " << s.bucket_kib << " KiB"
              << (s.zero ? ", ZeRO-1 (optimizer state sharded)" : "") << "\n";
  else if (s.zero)
    std::cout << "(--zero shards the optimizer state over ranks under mpirun; one process keeps it whole)\n";
  std::cout << std::flush;

  const int64_t tokens_per_step = s.batch * cfg.block_size;
  train::ProgressBar bar(s.steps, "train", lead ? std::cerr : trainers::null_stream());
  bar.unit("tok").resume_from(start);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = start;
  double last_val = -1;
  bool stopped_early = false;
  while (step < s.steps) {
    // 1. learning rate for this step
    // (step + 1: the first update already gets a non-zero rate, and the last one exactly --min-lr)
    const float lr = nn::warmup_cosine(step + 1, s.lr, s.warmup, s.steps, s.min_lr);
    opt.set_lr(lr);
    // 2-3. a batch, the loss and its gradients
    data::TokenBatch b = data::sample_windows(train_ids, s.batch, cfg.block_size, data_gen);
    repeat_some_windows(b, train_ids, s.repeat_fraction, data_gen);
    double l = 0;
    float grad_norm = 0.f;
    if (!dp) {
      Tensor loss = model.loss(b.x, b.y);
      loss.backward();
      // 4-5. clip, update, clear
      grad_norm = s.clip > 0 ? nn::clip_grad_norm_(model.parameters(), s.clip) : 0.f;
      opt.step();
      opt.zero_grad();
      l = loss.item();
    } else {
      // This rank's rows of the global batch; gradients averaged over the ranks as backward runs.
      const int64_t first = comm.rank() * local_batch;
      Tensor loss = model.loss(rows_of(b.x, first, local_batch), rows_of(b.y, first, local_batch));
      dp->backward(loss);
      grad_norm = s.clip > 0 ? dp->clip_grad_norm(s.clip) : 0.f;
      dp->step(lr);
      l = loss.item() / static_cast<double>(ranks);
      comm.allreduce_sum(&l, 1, "training loss");  // the mean over the global batch, for the log
    }
    ++step;

    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (lead)
      metrics->log({{"step", step},
                    {"split", "train"},
                    {"loss", l},
                    {"lr", lr},
                    {"grad_norm", grad_norm},
                    {"tokens_per_s", bar.items_per_second()},
                    {"elapsed_s", elapsed_s}});
    tx.push_back(static_cast<double>(step));
    ty.push_back(l);
    std::vector<std::pair<std::string, double>> shown = {{"loss", l}};
    // 6. validation and checkpoints
    if (have_val && (step % s.eval_every == 0 || step == s.steps)) {
      last_val = evaluate(model, val_ids, s, comm);
      if (lead)
        metrics->log({{"step", step},
                      {"split", "val"},
                      {"loss", last_val},
                      {"elapsed_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
      vx.push_back(static_cast<double>(step));
      vy.push_back(last_val);
    }
    if (last_val >= 0) shown.emplace_back("val", last_val);
    bar.update(step, shown, tokens_per_step);

    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0;
    stopped_early = step < s.steps && ((s.time_limit_min > 0 && minutes >= s.time_limit_min) || step == s.stop_at);
    if (dp) {  // rank 0's clock decides for every rank
      int64_t stop = stopped_early ? 1 : 0;
      comm.broadcast(&stop, sizeof stop, 0, "time limit");
      stopped_early = stop != 0;
    }
    if (step % s.checkpoint_every == 0 || step == s.steps || stopped_early)
      save_all(dir, model, opt, dp.get(), corpus ? &corpus->tokenizer() : nullptr, s, step, data_gen);
    if (stopped_early) break;
  }
  bar.finish();
  if (!lead) return 0;

  viz::LinePlot plot("GPT training on " + data_name, "step",
                     s.tokenizer == "char" ? "loss (nats/char)" : "loss (nats/token)");
  plot.add_series("train", tx, ty);
  if (!vx.empty()) plot.add_series("validation", vx, vy);
  plot.save((dir / "loss.svg").string());

  if (stopped_early)
    std::cout << "stopped at step " << step << " of " << s.steps << "; continue with: attn train gpt --out "
              << dir.string() << " --resume\n";
  std::cout << "step " << step << ": train loss " << (ty.empty() ? 0.0 : ty.back());
  if (last_val >= 0) std::cout << ", val loss " << last_val;
  std::cout << "\ncheckpoint: " << dir.string() << " (sample: attn generate --model " << dir.string()
            << " --prompt \"...\")\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(train,
             "Train a model (gpt: a character-level GPT on a text; translate: German->English; vit: a Vision "
             "Transformer on Fashion-MNIST; audio: spoken words; clip: pictures and words in one space, on emoji)") {
  sub.require_subcommand(1, 1);
  const cli::TrainTranslate translate = cli::add_train_translate(sub);
  const cli::TrainViT vit = cli::add_train_vit(sub);
  const cli::TrainAudio audio = cli::add_train_audio(sub);
  const cli::TrainClip clip = cli::add_train_clip(sub);
  auto* gpt =
      sub.add_subcommand("gpt",
                         "Train a GPT, character-level (default corpus: Moby-Dick) or on byte-level "
                         "BPE tokens (--tokenizer bpe; default corpus: Moby-Dick + the State of the Union addresses)");
  auto s = std::make_shared<TrainSettings>();
  s->data = {data::moby_dick_path(cli::data_root())};
  auto* data_opt =
      gpt->add_option(
             "--data", s->data,
             "UTF-8 text file to train on; with --tokenizer bpe, repeatable, and a folder means its .txt files")
          ->capture_default_str()
          ->expected(1)
          ->allow_extra_args(false)
          ->take_all();
  gpt->add_option(
         "--tokenizer", s->tokenizer,
         "char: one token per character; bpe: GPT-2's byte-level BPE learnt on --data (vocab.json + merges.txt)")
      ->capture_default_str()
      ->check(CLI::IsMember({"char", "bpe"}));
  gpt->add_option("--vocab-size", s->vocab_size, "BPE vocabulary size, <|endoftext|> included (--tokenizer bpe)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{257}, int64_t{1} << 20));
  gpt->add_option("--out", s->out, "Checkpoint directory")->capture_default_str();
  gpt->add_option("--layers", s->layers, "Transformer blocks")->capture_default_str()->check(CLI::PositiveNumber);
  gpt->add_option("--heads", s->heads, "Attention heads per block")->capture_default_str()->check(CLI::PositiveNumber);
  gpt->add_option("--embd", s->embd, "Embedding width (divisible by --heads)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  gpt->add_option("--kv-heads", s->kv_heads, "Key/value heads: 0 = --heads (multi-head), 1 = MQA, else GQA")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gpt->add_option("--dropout", s->dropout,
                  "Dropout probability in training (0 = none; 0.1 for a model that sees its text many times)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  gpt->add_option(
         "--repeat-fraction", s->repeat_fraction,
         "Share of training windows that are a stretch of the text followed by itself (helps induction heads form)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  gpt->add_flag("--rope", s->rope, "Rotary position embedding on q and k instead of learned positions");
  gpt->add_option("--block", s->block, "Context length T (tokens)")->capture_default_str()->check(CLI::PositiveNumber);
  gpt->add_option("--batch", s->batch, "Sequences per step B")->capture_default_str()->check(CLI::PositiveNumber);
  auto* steps =
      gpt->add_option("--steps", s->steps, "Total optimizer steps")->capture_default_str()->check(CLI::PositiveNumber);
  gpt->add_option("--lr", s->lr, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  auto* warmup = gpt->add_option("--warmup", s->warmup, "Linear warmup steps (at most 10% of --steps unless given)")
                     ->capture_default_str()
                     ->check(CLI::NonNegativeNumber);
  gpt->add_option("--min-lr", s->min_lr, "Learning rate at the end of the cosine")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gpt->add_option("--weight-decay", s->weight_decay, "AdamW decoupled weight decay (matrices only)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gpt->add_option("--clip", s->clip, "Gradient norm clipping (0 = off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* eval_every = gpt->add_option("--eval-every", s->eval_every, "Validation loss every N steps")
                         ->capture_default_str()
                         ->check(CLI::PositiveNumber);
  auto* eval_batches =
      gpt->add_option("--eval-batches", s->eval_batches, "Validation batches per evaluation (0 = no validation)")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
  auto* checkpoint_every =
      gpt->add_option("--checkpoint-every", s->checkpoint_every, "Checkpoint every N steps (and at the end)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
  gpt->add_option("--val-fraction", s->val_fraction, "Held-out tail of the text for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  gpt->add_option("--seed", s->seed, "Seed of the initial weights and the data order")->capture_default_str();
  gpt->add_flag("--resume", s->resume,
                "Continue the run checkpointed in --out (its own settings; --steps, "
                "--eval-every, --eval-batches, --checkpoint-every may change)");
  gpt->add_option("--time-limit-min", s->time_limit_min, "Stop cleanly (checkpoint) after N minutes (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gpt->add_option("--export", s->export_dir,
                  "Train nothing: write the checkpoint in --out to this folder as a copy to ship (weights as --dtype, "
                  "no optimizer state)");
  gpt->add_option("--dtype", s->dtype, "Weight storage for --export")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cli::add_data_parallel_flags(gpt, &s->zero, &s->bucket_kib);
  gpt->add_option("--stop-at", s->stop_at, "Stop cleanly (checkpoint) after this step, as if interrupted (0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  return [=]() -> int {
    if (translate.app->parsed()) return translate.action();
    if (vit.app->parsed()) return vit.action();
    if (audio.app->parsed()) return audio.action();
    if (clip.app->parsed()) return clip.action();
    if (s->tokenizer == "bpe" && data_opt->count() == 0) s->data.push_back(data::sotu_dir(cli::data_root()));
    s->steps_given = steps->count() > 0;
    s->warmup_given = warmup->count() > 0;
    s->eval_every_given = eval_every->count() > 0;
    s->eval_batches_given = eval_batches->count() > 0;
    s->checkpoint_every_given = checkpoint_every->count() > 0;
    dist::Communicator& comm = dist::world();
    if (!s->export_dir.empty()) {
      if (comm.distributed())
        comm.exit_all("[attn train gpt] --export copies a checkpoint: run it on one process, not under mpirun", 2);
      return export_gpt(*s);
    }
    return dist::abort_on_error(comm, [&] { return train_gpt(*s); });
  };
}
