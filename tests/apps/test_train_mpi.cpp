// `mpirun -np N attn train vit | audio | translate`: the epoch trainers and the translation trainer data-parallel,
// as a user runs them (2 and 3 ranks, oversubscribed on a 2-core machine). Each equal to one process with the same
// global batch, up to float summation order: the batch split unevenly (3 ranks, an epoch's short last batch), the
// loss of each rank weighted by its share (items, or target tokens for translation). ZeRO-1 equal to plain allreduce
// to the bit; a run stopped on 2 ranks resumed on one process; ranks that disagree stopped with a message.
// (attn train gpt's are in test_train_gpt_mpi.cpp.)
#include <gtest/gtest.h>

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

// 90 training images in batches of 20: 5 steps an epoch, the last of 10 images (3 ranks: 4 + 3 + 3). Augmented
// (crop and flip): the ranks must draw each image's augmentation as one process does.
std::string vit_args(const std::string& out, int epochs = 2) {
  return "train vit --out '" + out + "' --patch 7 --embd 16 --layers 1 --heads 2 --batch 20 --epochs " +
         std::to_string(epochs) +
         " --train-images 90 --val 40 --test-images 50 --lr 3e-3 --clip 0.5 --pad 2"
         " --checkpoint-every 3 --seed 3";
}

TEST(TrainMpi, ViTOnTwoAndThreeRanksEqualsOneProcess) {
  const std::string one = own_dir("mpi_vit_one"), two = own_dir("mpi_vit_two"), three = own_dir("mpi_vit_three");
  CmdResult r = run_attn(vit_args(one));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, vit_args(two));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("data parallel: 2 ranks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy"), std::string::npos) << "rank 0 scores the test images: " << r.out;
  r = run_attn_mpi(3, vit_args(three));
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(logged_losses(one, "train").size(), 10u);
  // A mean of weighted per-rank means and an allreduced gradient: float summation order only.
  expect_close(logged_losses(one, "train"), logged_losses(two, "train"), 1e-5, "train loss, 2 ranks");
  expect_close(logged_losses(one, "val"), logged_losses(two, "val"), 1e-5, "validation loss, 2 ranks");
  expect_close(logged_losses(one, "train"), logged_losses(three, "train"), 1e-5, "train loss, 3 ranks");
  EXPECT_LT(max_weight_diff(one, two), 1e-3f);  // Adam's 1/√v magnifies rounding on near-zero gradients
  EXPECT_LT(max_weight_diff(one, three), 1e-3f);
  // The folder is the one-process one: classify reads it.
  EXPECT_TRUE(fs::exists(two + "/eval.json"));
  EXPECT_TRUE(fs::exists(two + "/loss.svg"));
}

TEST(TrainMpi, ViTZeroEqualsPlainAndResumesOnOneProcess) {
  const std::string plain = own_dir("mpi_vit_plain"), zero = own_dir("mpi_vit_zero"), split = own_dir("mpi_vit_split");
  ASSERT_EQ(run_attn_mpi(2, vit_args(plain)).code, 0);
  CmdResult r = run_attn_mpi(2, vit_args(zero) + " --zero --bucket-kib 4");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ZeRO-1"), std::string::npos) << r.out;
  EXPECT_EQ(max_weight_diff(plain, zero), 0.f) << "ZeRO on and off: the same parameters to the bit";
  // Stopped at step 4 on two ranks (ZeRO: the optimizer state gathered into one file), finished on one process.
  r = run_attn_mpi(2, vit_args(split) + " --zero --stop-at 4");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped at step 4"), std::string::npos) << r.out;
  r = run_attn("train vit --out '" + split + "' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  expect_close(logged_losses(plain, "train"), logged_losses(split, "train"), 1e-5, "2 ranks, then 1 process");
  EXPECT_LT(max_weight_diff(plain, split), 1e-3f);
}

TEST(TrainMpi, AudioOnTwoRanksEqualsOneProcess) {
  // Listen, Attend and Spell on 4 words x (6 eSpeak NG variants + a Flite voice) in batches of 10, the last of an
  // epoch short, augmented: each utterance's augmentation stream (and SpecAugment's) is its place in the whole batch,
  // on whichever rank it lands; the speller's loss is a mean over the letters of the words, so each rank's share is
  // weighted by its letters (the words differ in length), not by its utterances. (The KWT shares the loop with the
  // ViT above and is weighted by utterances.)
  const std::string args =
      " --words 4 --espeak-per-word 6 --flite-per-word 1 --val-per-word 2 --batch 10 --epochs 2"
      " --checkpoint-every 100 --arch las --listener-hidden 8 --speller-hidden 12";
  const std::string one = own_dir("mpi_las_one"), two = own_dir("mpi_las_two");
  CmdResult r = run_attn("train audio --out '" + one + "'" + args);
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, "train audio --out '" + two + "'" + args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("data parallel: 2 ranks"), std::string::npos) << r.out;
  ASSERT_GE(logged_losses(one, "train").size(), 6u);
  expect_close(logged_losses(one, "train"), logged_losses(two, "train"), 1e-5, "train loss, 2 ranks");
  expect_close(logged_losses(one, "val"), logged_losses(two, "val"), 1e-5, "validation loss, 2 ranks");
  EXPECT_LT(max_weight_diff(one, two), 1e-3f);
  EXPECT_TRUE(fs::exists(two + "/eval.json"));
}

TEST(TrainMpi, TranslationOnTwoRanksEqualsOneProcess) {
  // A small dictionary in trans-de-en's format; batches capped in padded tokens, so the ranks' shares differ in
  // target tokens (the numbers' subwords) and each rank's loss is weighted by its tokens.
  const std::string dir = own_dir("mpi_translate");
  const std::string dict = dir + "/de-en";
  attn::testing::write_animal_dictionary(dict, 200);
  const std::string args =
      " --arch transformer --data '" + dict +
      "' --vocab 80 --embed 16 --heads 2 --layers 1 --ff 32"
      " --batch 16 --batch-tokens 150 --epochs 2 --max-tokens 24 --dropout 0 --beam 1 --eval-sentences 4"
      " --time-limit-min 0";
  CmdResult r = run_attn("train translate --out '" + dir + "/one'" + args);
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn_mpi(2, "train translate --out '" + dir + "/two'" + args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("data parallel: 2 ranks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BLEU"), std::string::npos) << "rank 0 scores the test split: " << r.out;
  const std::vector<double> a = logged_losses(dir + "/one", "train");
  ASSERT_GT(a.size(), 10u);
  expect_close(a, logged_losses(dir + "/two", "train"), 1e-5, "train loss, 2 ranks");
  expect_close(logged_losses(dir + "/one", "val"), logged_losses(dir + "/two", "val"), 1e-5,
               "validation loss, 2 ranks");
  // Adam with the transformer's ε = 1e-9 moves a weight whose gradient is rounding noise by up to the rate (2e-3 at
  // the peak) per step whatever the noise's size: the weights agree to a few times lr while every loss agrees to 1e-5.
  EXPECT_LT(max_weight_diff(dir + "/one", dir + "/two"), 5e-3f);
}

TEST(TrainMpi, RanksThatDisagreeStopWithAMessageFromEveryRank) {
  // Two ranks started with different --mlp (mpirun's "A : B" form): the model sizes differ.
  const std::string mpirun = attn::testing::mpirun_attn_command(1, "ATTN_DIST_TIMEOUT=30");
  ASSERT_FALSE(mpirun.empty());
  const std::string out = own_dir("mpi_vit_disagree");
  const std::string attn_bin = mpirun.substr(mpirun.rfind(' ') + 1);
  const CmdResult r = attn::testing::run_command(mpirun + " " + vit_args(out) + " : -np 1 " + attn_bin + " " +
                                                 vit_args(out) + " --mlp 24");
  EXPECT_NE(r.code, 0) << r.out;
  for (const char* rank : {"rank 0:", "rank 1:"})
    EXPECT_NE(r.out.find(std::string(rank) + " [dist] the number of parameters differs across ranks"),
              std::string::npos)
        << r.out;
}

}  // namespace
