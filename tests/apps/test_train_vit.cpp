// `attn train vit`, `attn classify` and `attn explain`, run as a user runs them, with a tiny ViT on a few
// hundred Fashion-MNIST images: the folder it writes, exact --resume, predictions, figures, bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/viz/image.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::bytes_of;
using attn::testing::run_attn;

std::string tiny(const std::string& out, const std::string& extra = "") {
  return "train vit --out '" + out + "' --train-images 256 --val 100 --batch 64 --epochs 2 --patch 7 --embd 16" +
         " --layers 1 --heads 2 --checkpoint-every 3 " + extra;
}

// One trained tiny model shared by the tests below.
const std::string& trained() {
  static const std::string dir = [] {
    const std::string d = attn::testing::fresh_dir("train_vit") + "/model";
    const CmdResult r = run_attn(tiny(d));
    EXPECT_EQ(r.code, 0) << r.out;
    return d;
  }();
  return dir;
}

TEST(TrainVit, WritesAHuggingFaceFolderWithMetricsAndTestAccuracy) {
  const std::string& d = trained();
  for (const char* f : {"config.json", "preprocessor_config.json", "model.safetensors", "optimizer.safetensors",
                        "metrics.jsonl", "loss.svg", "eval.json"})
    EXPECT_TRUE(fs::exists(d + "/" + f)) << f;
  const auto cfg = nlohmann::json::parse(bytes_of(d + "/config.json"));
  EXPECT_EQ(cfg["model_type"], "vit");
  EXPECT_EQ(cfg["id2label"]["9"], "Ankle boot");
  EXPECT_EQ(cfg["attn_train"]["step"], 8);  // 2 epochs of 256 / 64
  const auto eval = nlohmann::json::parse(bytes_of(d + "/eval.json"));
  EXPECT_EQ(eval["images"], 10000);
  EXPECT_GT(eval["accuracy"].get<double>(), 0.0);
  EXPECT_EQ(eval["confusion"].size(), 10u);
  int val_lines = 0;
  std::ifstream m(d + "/metrics.jsonl");
  for (std::string line; std::getline(m, line);) val_lines += line.find("\"split\":\"val\"") != std::string::npos;
  EXPECT_EQ(val_lines, 2);  // one per epoch
}

TEST(TrainVit, ResumeContinuesExactly) {
  const std::string d = attn::testing::fresh_dir("train_vit_resume");
  CmdResult r = run_attn(tiny(d + "/a", "--stop-at 3"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped at step 3 of 8"), std::string::npos) << r.out;
  r = run_attn("train vit --out '" + d + "/a' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  EXPECT_EQ(bytes_of(d + "/a/model.safetensors"), bytes_of(trained() + "/model.safetensors"));
  EXPECT_EQ(run_attn("train vit --out '" + d + "/none' --resume").code, 1);
  EXPECT_EQ(run_attn("train vit --patch 0").code, 2);
  const CmdResult bad = run_attn("train vit --out '" + d + "/b' --train-images 64 --val 10 --patch 5");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("image_size 28 is not a multiple of patch_size 5"), std::string::npos) << bad.out;
}

TEST(Classify, TopClassesOfATestImageAndOfAPng) {
  const std::string& d = trained();
  CmdResult r = run_attn("classify --model '" + d + "' --test-image 0 --top 3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Fashion-MNIST test image 0 (true class: Ankle boot)"), std::string::npos) << r.out;
  const std::string png = attn::testing::fresh_dir("classify") + "/seen.png";
  r = run_attn("classify --model '" + d + "' --test-image 0 --json --save-png '" + png + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["top"].size(), 5u);
  // The saved picture, classified again from the PNG, gives the same answer.
  const attn::viz::Image img = attn::viz::read_png(png);
  EXPECT_EQ(img.width, 28);
  r = run_attn("classify --model '" + d + "' --json '" + png + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j2 = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j2["top"][0]["label"], j["top"][0]["label"]);
  EXPECT_NEAR(j2["top"][0]["probability"].get<double>(), j["top"][0]["probability"].get<double>(), 1e-4);
}

TEST(Classify, BadInputExits2WithTheReason) {
  const std::string& d = trained();
  const std::string dir = attn::testing::fresh_dir("classify_bad");
  std::ofstream(dir + "/corrupt.png") << "not a png";
  CmdResult r = run_attn("classify --model '" + d + "' '" + dir + "/corrupt.png'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("corrupt.png"), std::string::npos) << r.out;
  attn::viz::Image big;
  big.width = big.height = 32;
  big.pixels.assign(32 * 32, {1, 2, 3});
  attn::viz::write_png(dir + "/big.png", big);
  r = run_attn("classify --model '" + d + "' '" + dir + "/big.png'");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("is 32x32 pixels but the model reads 28x28"), std::string::npos) << r.out;
  r = run_attn("classify --model '" + d + "' --test-image 10000");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--test-image 10000 outside 0..9999"), std::string::npos) << r.out;
  EXPECT_EQ(run_attn("classify --model '" + d + "'").code, 2);                   // neither a PNG nor --test-image
  EXPECT_EQ(run_attn("classify --model '" + dir + "' --test-image 0").code, 1);  // not a model folder
}

TEST(Explain, MapsFigureScoresAndFaithfulness) {
  const std::string& d = trained();
  const std::string dir = attn::testing::fresh_dir("explain_cli");
  CmdResult r = run_attn("explain --model '" + d + "' --test-image 3 --out '" + dir + "/maps.svg' --json '" + dir +
                         "/maps.json'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(bytes_of(dir + "/maps.svg").find("<svg"), std::string::npos);
  const auto j = nlohmann::json::parse(bytes_of(dir + "/maps.json"));
  EXPECT_EQ(j["grid"], 4);
  EXPECT_EQ(j["scores"]["relevance"].size(), 16u);
  EXPECT_EQ(j["scores"].size(), 6u);
  r = run_attn("explain --model '" + d + "' --faithfulness 3 --method rollout --method random");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("| rollout | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| random | "), std::string::npos) << r.out;
  EXPECT_EQ(run_attn("explain --model '" + d + "' --class 10").code, 2);
  EXPECT_EQ(run_attn("explain --model '" + d + "' --method saliency").code, 2);
  EXPECT_EQ(run_attn("explain --model '" + d + "' --test-image 0 --out '" + dir + "/maps.gif'").code, 2);
}

TEST(BenchVit, RunsAndPrintsOneJsonRowPerCase) {
  // A smoke test of the benchmark command (its figures are reported by hand, not asserted): the roofs, then
  // our inference case on a tiny batch.
  const CmdResult r = run_attn("bench vit --impl ours --kinds infer --infer-batch 8 --min-time 0.01 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  bool machine = false, sgemm = false, ours = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    machine |= j.value("impl", "") == "machine";
    sgemm |= j.value("impl", "") == "sgemm";
    if (j.value("impl", "") == "ours" && j.value("kind", "") == "infer") {
      ours = true;
      EXPECT_GT(j.value("images_per_s", 0.0), 0.0) << line;
      EXPECT_EQ(j.value("params", 0), 205066) << line;  // attn train vit's default model
    }
  }
  EXPECT_TRUE(machine && sgemm && ours) << r.out;
  EXPECT_EQ(run_attn("bench vit --kinds decode").code, 2);
}

}  // namespace
