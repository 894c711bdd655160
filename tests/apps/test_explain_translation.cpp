// `attn explain --translation DIR --text ...`, run as a user runs it, on tiny translation models the test saves
// (tests/common/translation_fixtures.h: untrained, a few thousand parameters): the per-token table, one position
// with its JSON, and bad input (exit 2: an empty text, a position past the translation, an RNN model, --out) or
// a folder that cannot be loaded (exit 1), each with the reason; `--dates`, briefly trained, grades every map.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_util.h"
#include "translation_fixtures.h"

namespace attn::testing {
namespace {

// A saved tiny model of `arch`, once per arch.
std::string saved(const std::string& arch) {
  const std::string dir = scratch_dir("explain_translation") + "/" + arch;
  models::TranslationModel(tiny_translation(arch), tiny_subwords()).save(dir);
  return dir;
}

const std::string& transformer_dir() {
  static const std::string d = saved("transformer");
  return d;
}

TEST(ExplainTranslationCli, TableOfEveryTargetToken) {
  const std::string json_path = fresh_dir("explain_translation_all") + "/all.json";
  const CmdResult r = run_attn("explain --translation '" + transformer_dir() +
                               "' --text 'Der Hund bellt.' --top 2 --json '" + json_path + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"Der Hund bellt.\" -> \""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| # | target | relevance | raw cross-attention |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top 2"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(bytes_of(json_path));
  const size_t S = j["source_tokens"].size(), T = j["target_tokens"].size();
  EXPECT_EQ(j["source_tokens"].back(), "</s>");
  EXPECT_EQ(j["target_tokens"].back(), "</s>");
  EXPECT_EQ(j["arch"], "transformer");
  ASSERT_EQ(j["positions"].size(), T);
  ASSERT_EQ(j["relevance"].size(), T);
  EXPECT_EQ(j["relevance"][0].size(), S);
  EXPECT_EQ(j["prefix"][0].size(), T);
  EXPECT_EQ(j["raw_cross"].size(), T);
  // One table row per target token: "| t | ..." for t = T-1 is there, T is not.
  EXPECT_NE(r.out.find("\n| " + std::to_string(T - 1) + " | \"</s>\" | "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\n| " + std::to_string(T) + " | "), std::string::npos) << r.out;
}

TEST(ExplainTranslationCli, OnePositionEverySourceTokenAndJson) {
  const std::string json_path = fresh_dir("explain_translation_one") + "/one.json";
  const CmdResult r = run_attn("explain --translation '" + transformer_dir() +
                               "' --text 'Die Katze schläft.' --position 0" + " --json '" + json_path + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("target token 0 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| # | source | relevance | share | raw cross-attention |"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find("the target prefix (row 0 of R^tt, over the decoder's inputs <s> and the tokens before): \"<s>\""),
      std::string::npos)
      << r.out;
  const auto j = nlohmann::json::parse(bytes_of(json_path));
  EXPECT_EQ(j["positions"], nlohmann::json::array({0}));
  ASSERT_EQ(j["relevance"].size(), 1u);
  EXPECT_EQ(j["relevance"][0].size(), j["source_tokens"].size());
  EXPECT_EQ(j["raw_cross"].size(), j["target_tokens"].size());
  // Every source token is a row of the table: "</s>" included.
  EXPECT_NE(r.out.find("| \"</s>\" | "), std::string::npos) << r.out;
}

TEST(ExplainTranslationCli, BadInputIsExitTwoAndAMissingModelOne) {
  const std::string& d = transformer_dir();
  CmdResult r = run_attn("explain --translation '" + d + "' --text ''");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--text is empty"), std::string::npos) << r.out;
  r = run_attn("explain --translation '" + d + "' --text 'Der Hund bellt.' --position 999");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("target position 999 outside 0.."), std::string::npos) << r.out;
  r = run_attn("explain --translation '" + d + "' --text 'Der Hund bellt.' --out x.png");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--out draws a ViT's patch maps"), std::string::npos) << r.out;
  r = run_attn("explain --translation '" + saved("bahdanau") + "' --text 'Der Hund bellt.'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the \"bahdanau\" model has none there (arch \"transformer\" only)"), std::string::npos)
      << r.out;
  r = run_attn("explain --translation '" + scratch_dir("explain_translation") + "/missing' --text 'Der Hund bellt.'");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("attn: error:"), std::string::npos) << r.out;
}

TEST(ExplainTranslationCli, DatesGradeEveryMapAgainstGoldAlignments) {
  // 20 training steps only: the plumbing, not the numbers (the README has those).
  const std::string json_path = fresh_dir("explain_translation_dates") + "/dates.json";
  // One thread, as run_torch_script: the suite runs tests in parallel, and a tiny model's many small ops
  // spend more time waiting for OpenMP threads than computing when the cores are shared.
  const CmdResult r = run_command("OMP_NUM_THREADS=1 " + std::string(ATTN_BINARY_DIR) + "/bin/attn explain --dates 6" +
                                  " --steps 20 --json '" + json_path + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("trained 20 steps of 64 written dates"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 6 fresh dates"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| raw cross-attention, layer 1 (the last) | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| relevance R^ts (Chefer et al. 2021) | "), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(bytes_of(json_path));
  EXPECT_EQ(j["steps"], 20);
  ASSERT_EQ(j["maps"].size(), 6u);  // raw per layer, their mean, Ā per layer, R^ts
  for (const auto& m : j["maps"]) {
    EXPECT_GE(m["alignment_accuracy"].get<double>(), 0.0);
    EXPECT_LE(m["alignment_accuracy"].get<double>(), 1.0);
  }
  const CmdResult bad = run_attn("explain --dates 0");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--dates 0 must be >= 1"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace attn::testing
