// `attn train clip` and `attn search`, run as a user runs them, with a tiny dual encoder on a few hundred emoji: the
// folder it writes, exact --resume, that it learns its training pairs, search by words and by picture, bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/data/emoji.h"
#include "attn/models/clip.h"
#include "attn/viz/image.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::bytes_of;
using attn::testing::run_attn;

std::string tiny(const std::string& out, const std::string& extra = "") {
  return "train clip --out '" + out + "' --limit 300 --batch 32 --epochs 3 --image-size 16 --patch 4 --embd 16" +
         " --layers 1 --heads 2 --text-embd 16 --text-layers 1 --vocab 200 --proj 16 --warmup-epochs 0.5" +
         " --checkpoint-every 5 " + extra;
}

const std::string& trained() {
  static const std::string dir = [] {
    const std::string d = attn::testing::fresh_dir("train_clip") + "/model";
    const CmdResult r = run_attn(tiny(d));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("never seen in training"), std::string::npos) << r.out;
    return d;
  }();
  return dir;
}

TEST(TrainClip, WritesTheFolderWithMetricsAndTestRecall) {
  const std::string& d = trained();
  for (const char* f : {"config.json", "model.safetensors", "spm.model", "optimizer.safetensors", "metrics.jsonl",
                        "loss.svg", "eval.json"})
    EXPECT_TRUE(fs::exists(d + "/" + f)) << f;
  const auto cfg = nlohmann::json::parse(bytes_of(d + "/config.json"));
  EXPECT_EQ(cfg["architecture"], "clip");
  const int64_t steps = cfg["attn_train"]["steps"];
  EXPECT_EQ(cfg["attn_train"]["step"], steps);
  const auto eval = nlohmann::json::parse(bytes_of(d + "/eval.json"));
  const double n = eval["emoji"];
  EXPECT_GT(n, 10);
  EXPECT_NEAR(eval["random"]["r1"].get<double>(), 1 / n, 1e-9);
  for (const char* dir : {"image_to_text", "text_to_image"}) {
    EXPECT_LE(eval[dir]["r1"].get<double>(), eval[dir]["r5"].get<double>());
    EXPECT_LE(eval[dir]["r5"].get<double>(), eval[dir]["r10"].get<double>());
  }
  EXPECT_EQ(eval["examples"].size(), std::min<size_t>(10, static_cast<size_t>(n)));
  int val_lines = 0;
  std::ifstream m(d + "/metrics.jsonl");
  for (std::string line; std::getline(m, line);) val_lines += line.find("\"split\":\"val\"") != std::string::npos;
  EXPECT_EQ(val_lines, 3);  // one per epoch
}

TEST(TrainClip, ResumeContinuesExactly) {
  const std::string d = attn::testing::fresh_dir("train_clip_resume");
  CmdResult r = run_attn(tiny(d + "/a", "--stop-at 4"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped at step 4"), std::string::npos) << r.out;
  r = run_attn("train clip --out '" + d + "/a' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(bytes_of(d + "/a/model.safetensors"), bytes_of(trained() + "/model.safetensors"));
  EXPECT_EQ(run_attn("train clip --out '" + d + "/none' --resume").code, 1);
  EXPECT_EQ(run_attn("train clip --batch 1").code, 2);
  const CmdResult bad = run_attn("train clip --out '" + d + "/b' --image-size 30 --patch 4");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("not a multiple of --patch"), std::string::npos) << bad.out;
}

// The contrastive objective on its own training pairs: ~120 emoji, 80 epochs of a small model — it must find each
// training picture's name far better than chance (1 in 120).
TEST(TrainClip, LearnsItsTrainingPairs) {
  const std::string d = attn::testing::fresh_dir("train_clip_learns") + "/m";
  const CmdResult r = run_attn("train clip --out '" + d + "' --limit 150 --batch 40 --epochs 80 --image-size 16" +
                               " --embd 32 --layers 2 --heads 2 --text-embd 32 --text-layers 1 --vocab 300 --proj 32" +
                               " --lr 2e-3 --shift 0 --checkpoint-every 1000");
  ASSERT_EQ(r.code, 0) << r.out;
  attn::models::LoadedClip clip = attn::models::load_clip(d);
  attn::data::EmojiOptions eo;
  eo.size = 16, eo.limit = 150;
  const attn::data::EmojiSet set = attn::data::load_emoji(eo);
  const attn::data::EmojiSplits sp = attn::data::split_emoji(set);
  std::vector<std::string> names;
  for (int64_t i : sp.train) names.push_back(set.emoji[i].name);
  const attn::models::ClipRetrieval ret =
      attn::models::evaluate_clip(*clip.model, clip.tokenizer, set.images, sp.train, names);
  std::cout << "training pairs (" << ret.count << "): image->text recall@1 " << ret.image_to_text[0] << ", @5 "
            << ret.image_to_text[1] << "\n";
  EXPECT_GT(ret.image_to_text[0], 10.0 / ret.count);      // recall@1 at least 10 times chance (measured: 44x)
  EXPECT_GT(ret.image_to_text[1], 10.0 * 5 / ret.count);  // recall@5 too (measured: 20x)
}

TEST(Search, FindsEmojiByWordsAndNamesForAPicture) {
  const std::string& d = trained();
  const std::string grid = attn::testing::fresh_dir("search") + "/grid.png";
  CmdResult r = run_attn("search --model '" + d + "' \"Red Heart\" --top 7 --save-png '" + grid + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("among 3"), std::string::npos) << r.out;  // all ~3,600 emoji
  const attn::viz::Image g = attn::viz::read_png(grid);
  EXPECT_EQ(g.width, 5 * (16 * 3 + 4));  // 5 columns of 16 px × 3 and a gap
  EXPECT_EQ(g.height, 2 * (16 * 3 + 4));
  r = run_attn("search --model '" + d + "' cat --split test --top 3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_GE(j["results"][0]["similarity"].get<double>(), j["results"][1]["similarity"].get<double>());
  // Why the best one matched: a figure, and the tokens' relevance in the JSON.
  const std::string why = attn::testing::fresh_dir("search_why") + "/why.png";
  r = run_attn("search --model '" + d + "' \"red heart\" --top 2 --json --explain '" + why + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  // (Under the sanitizers, LeakSanitizer may add its suppression summary to the output: fontconfig, behind cairo's
  // text in the figure. The JSON is the object in it.)
  const auto e = nlohmann::json::parse(r.out.substr(r.out.find("{\n"), r.out.rfind('}') + 1 - r.out.find("{\n")))["explain"];
  EXPECT_EQ(e["words"], (std::vector<std::string>{"red", "heart"}));
  EXPECT_EQ(e["tokens"].size(), e["text_relevance"].size());
  EXPECT_GT(attn::viz::read_png(why).width, 5 * 100);  // the picture and four panels
  // A picture: the grid itself (any size: resized to the model's).
  r = run_attn("search --model '" + d + "' --image '" + grid + "' --top 2");
  ASSERT_EQ(r.code, 0) << r.out;
  // Bad input: exit 2 with the reason.
  const std::string bad_png = attn::testing::fresh_dir("search_bad") + "/bad.png";
  std::ofstream(bad_png) << "not a png";
  const std::string long_query(301, 'a');
  for (const auto& [args, why] : std::vector<std::pair<std::string, std::string>>{
           {"\"\"", "the query is empty"},
           {"'" + long_query + "'", "at most 300"},
           {"--image '" + bad_png + "'", "is not a PNG"},
           {"--image /nonexistent.png", "cannot open"},
           {"cat --image '" + grid + "'", "one of them"},
           {"--image '" + grid + "' --explain /tmp/x.png", "explains a search by words"}}) {
    const CmdResult b = run_attn("search --model '" + d + "' " + args);
    EXPECT_EQ(b.code, 2) << args << "\n" << b.out;
    EXPECT_NE(b.out.find(why), std::string::npos) << args << "\n" << b.out;
  }
  EXPECT_EQ(run_attn("search --model /nonexistent cat").code, 1);
}

}  // namespace
