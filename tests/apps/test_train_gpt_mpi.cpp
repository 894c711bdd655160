// `mpirun -np N attn train gpt`: data-parallel training as a user runs it (2 and 3 ranks, oversubscribed on a
// 2-core machine). Equal to one process with the same global batch (up to float summation order), ZeRO-1 equal to
// plain allreduce to the bit, checkpoints that resume with another number of ranks, and every failure a message:
// a batch the ranks cannot split, a command that does not run on several ranks, a rank killed, a rank stuck.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/io/safetensors.h"
#include "test_util.h"
#include "train_runs.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::expect_close;
using attn::testing::logged_losses;
using attn::testing::max_weight_diff;
using attn::testing::run_attn;
using attn::testing::run_attn_mpi;

std::string own_dir(const std::string& name) { return attn::testing::fresh_dir(name); }

std::string tiny_text() {
  const std::string path = own_dir("train_gpt_mpi_text") + "/tiny.txt";
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the whale swims in the sea. ";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// 13,664 parameters: four of the 4096-float chunks that ZeRO shards on, so each of 2 ranks owns a real part.
std::string args(const std::string& data, const std::string& out, int steps, int batch = 6, int eval_every = 5) {
  return "train gpt --data '" + data + "' --out '" + out + "' --layers 1 --heads 2 --embd 32 --block 16 --batch " +
         std::to_string(batch) + " --warmup 3 --lr 1e-2 --min-lr 1e-3 --eval-every " + std::to_string(eval_every) +
         " --eval-batches 3 --checkpoint-every 7 --clip 0.5 --steps " + std::to_string(steps);
}

TEST(TrainGptMpi, TwoAndThreeRanksEqualOneProcessWithTheSameGlobalBatch) {
  const std::string data = tiny_text(), one = own_dir("mpi_one"), two = own_dir("mpi_two"),
                    three = own_dir("mpi_three");
  CmdResult r = run_attn(args(data, one, 20));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, args(data, two, 20));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("data parallel: 2 ranks x 3 sequences"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("rank 1"), std::string::npos) << "only rank 0 prints";
  r = run_attn_mpi(3, args(data, three, 20));
  ASSERT_EQ(r.code, 0) << r.out;
  // Float summation order differs (a mean of per-rank means, the gradient averaged by allreduce): 1e-5 on a loss of ~2.
  expect_close(logged_losses(one, "train"), logged_losses(two, "train"), 1e-5, "train loss, 2 ranks");
  expect_close(logged_losses(one, "val"), logged_losses(two, "val"), 1e-5, "validation loss, 2 ranks");
  expect_close(logged_losses(one, "train"), logged_losses(three, "train"), 1e-5, "train loss, 3 ranks");
  // Adam divides by √v: a parameter whose gradient is near zero moves by up to ±lr on rounding noise alone, so the
  // weights after 20 steps agree to 1e-3 (lr 1e-2) while the losses agree to 1e-5.
  EXPECT_LT(max_weight_diff(one, two), 1e-3f);
  EXPECT_LT(max_weight_diff(one, three), 1e-3f);
  // The checkpoint folder is the one-process one: generate reads it.
  r = run_attn("generate --model '" + two + "' --prompt 'the ' --max-new-tokens 5 --seed 1");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST(TrainGptMpi, ZeroShardsTheOptimizerAndGivesTheSameParameters) {
  const std::string data = tiny_text(), plain = own_dir("mpi_plain"), zero = own_dir("mpi_zero");
  CmdResult r = run_attn_mpi(2, args(data, plain, 15));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, args(data, zero, 15) + " --zero --bucket-kib 8");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ZeRO-1"), std::string::npos) << r.out;
  EXPECT_EQ(max_weight_diff(plain, zero), 0.f) << "ZeRO on and off: the same parameters to the bit";
  // The gathered optimizer state is the whole, unsharded one.
  const attn::io::SafeTensors a = attn::io::load_safetensors(plain + "/optimizer.safetensors");
  const attn::io::SafeTensors b = attn::io::load_safetensors(zero + "/optimizer.safetensors");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors)
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data()[i], b.tensors.at(name).data()[i]) << name;
}

TEST(TrainGptMpi, ResumesWithAnotherNumberOfRanks) {
  const std::string data = tiny_text();
  // Two ranks stop at step 10; one process finishes the run. And the other way round, with ZeRO.
  const std::string whole2 = own_dir("mpi_whole2"), split2 = own_dir("mpi_split2");
  ASSERT_EQ(run_attn_mpi(2, args(data, whole2, 20)).code, 0);
  CmdResult r = run_attn_mpi(2, args(data, split2, 20) + " --stop-at 10");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn("train gpt --out '" + split2 + "' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_LT(max_weight_diff(whole2, split2), 1e-3f);
  expect_close(logged_losses(whole2, "train"), logged_losses(split2, "train"), 1e-5, "2 ranks, then 1 process");

  const std::string whole1 = own_dir("mpi_whole1"), split1 = own_dir("mpi_split1");
  ASSERT_EQ(run_attn(args(data, whole1, 20)).code, 0);
  r = run_attn(args(data, split1, 20) + " --stop-at 10");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, "train gpt --out '" + split1 + "' --resume --zero");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  EXPECT_LT(max_weight_diff(whole1, split1), 1e-3f);
  expect_close(logged_losses(whole1, "train"), logged_losses(split1, "train"), 1e-5,
               "1 process, then 2 ranks with ZeRO");
}

TEST(TrainGptMpi, BadInputIsAMessageFromEveryRank) {
  const std::string data = tiny_text();
  const auto t0 = std::chrono::steady_clock::now();
  CmdResult r = run_attn_mpi(3, args(data, own_dir("mpi_bad_batch"), 5, /*batch=*/4));
  EXPECT_NE(r.code, 0);
  for (const char* rank : {"rank 0:", "rank 1:", "rank 2:"})
    EXPECT_NE(r.out.find(std::string(rank) +
                         " [attn train gpt] --batch 4 (the global batch) is not divisible by the 3 ranks"),
              std::string::npos)
        << r.out;
  // A command that is not written for several processes refuses on every rank, instead of N copies writing one folder.
  r = run_attn_mpi(2, "generate --model '" + own_dir("mpi_generate") + "' --prompt 'the '");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("`attn generate` does not run on several processes"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60.0);
}

// A rank killed (SIGKILL) or stuck (SIGSTOP) mid-run: mpirun ends the job with a message; the stuck case is found by
// the other rank's deadline on its collective (ATTN_DIST_TIMEOUT=3), not a hang.
TEST(TrainGptMpi, ADeadOrStuckRankEndsTheRunWithAMessage) {
  const std::string data = tiny_text();
  for (const std::string signal : {"KILL", "STOP"}) {
    const std::string dir = own_dir("mpi_" + signal);
    const std::string mpirun = attn::testing::mpirun_attn_command(2, "ATTN_DIST_TIMEOUT=3");
    ASSERT_FALSE(mpirun.empty()) << "mpirun is not installed (bash scripts/setup.sh)";
    // Start the run in the background, wait for its first logged step, signal the newest rank (a child of mpirun).
    const std::string script = mpirun + " " + args(data, dir + "/run", 1000000, 6, 100000) + " > '" + dir +
                               "/log' 2>&1 &\n"
                               "MP=$!\n"
                               "for i in $(seq 600); do [ -s '" +
                               dir +
                               "/run/metrics.jsonl' ] && break; sleep 0.05; done\n"
                               "V=$(pgrep -P $MP | tail -1)\n"
                               "kill -" +
                               signal +
                               " $V\n"
                               "S=$(date +%s)\n"
                               "wait $MP\n"
                               "RC=$?\n"
                               "kill -9 $V 2>/dev/null\n"
                               "echo \"rc=$RC seconds=$(( $(date +%s) - S ))\"\n"
                               "cat '" +
                               dir + "/log'\n";
    std::ofstream(dir + "/run.sh") << script;
    CmdResult r = attn::testing::run_command("bash '" + dir + "/run.sh'");
    const size_t rc_at = r.out.find("rc=");
    ASSERT_NE(rc_at, std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("rc=0"), std::string::npos) << r.out;
    const int seconds = std::stoi(r.out.substr(r.out.find("seconds=") + 8));
    EXPECT_LT(seconds, 30) << r.out;
    if (signal == "STOP") EXPECT_NE(r.out.find("no answer from the other ranks after 3 s"), std::string::npos) << r.out;
    else EXPECT_NE(r.out.find("signal 9"), std::string::npos) << r.out;
  }
}

}  // namespace
