// `attn explain --gpt` / `--text`, run as a user runs it, on a tiny GPT trained by the test on a tiny text for
// a few steps: the per-token table and its JSON, the faithfulness table on the checkpoint's held-out tail,
// and bad input (exit 2) or a missing model (exit 1), each with the reason.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_util.h"

namespace {

using attn::testing::CmdResult;
using attn::testing::bytes_of;
using attn::testing::run_attn;

// One tiny model shared by the tests below: 1 layer, block 16, trained for 8 steps on a repeated sentence
// (its checkpoint records the text and the 10% validation tail that --faithfulness reads).
const std::string& trained() {
  static const std::string dir = [] {
    const std::string d = attn::testing::fresh_dir("explain_gpt");
    std::string text;
    for (int i = 0; i < 60; ++i) text += "the whale swims in the sea. ";
    std::ofstream(d + "/tiny.txt", std::ios::binary) << text;
    const CmdResult r =
        run_attn("train gpt --data '" + d + "/tiny.txt' --out '" + d + "/model' --layers 1 --heads 2" +
                 " --embd 16 --block 16 --batch 4 --warmup 2 --lr 1e-2 --eval-every 8 --eval-batches 1" + " --steps 8");
    EXPECT_EQ(r.code, 0) << r.out;
    return d + "/model";
  }();
  return dir;
}

TEST(ExplainGptCli, TextTableAndJson) {
  const std::string& d = trained();
  const std::string json_path = attn::testing::fresh_dir("explain_gpt_text") + "/scores.json";
  const CmdResult r = run_attn("explain --gpt '" + d + "' --text 'the whale sw' --json '" + json_path + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("12 tokens; next token: predicted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| raw_attention |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| 11 | \"w\"   |"), std::string::npos) << r.out;  // the last token, the query
  const auto j = nlohmann::json::parse(bytes_of(json_path));
  EXPECT_EQ(j["tokens"].size(), 12u);
  EXPECT_EQ(j["tokens"][3], " ");
  EXPECT_EQ(j["scores"].size(), 6u);
  EXPECT_EQ(j["scores"]["relevance"].size(), 12u);
  // --next picks the explained token; --method narrows the table.
  const CmdResult n = run_attn("explain --gpt '" + d + "' --text 'the wh' --next a --method rollout --method random");
  ASSERT_EQ(n.code, 0) << n.out;
  EXPECT_NE(n.out.find("explaining \"a\""), std::string::npos) << n.out;
  EXPECT_NE(n.out.find("rollout |"), std::string::npos) << n.out;
  EXPECT_EQ(n.out.find("relevance"), std::string::npos) << n.out;
}

TEST(ExplainGptCli, FaithfulnessOnTheHeldOutTail) {
  const std::string& d = trained();
  const std::string json_path = attn::testing::fresh_dir("explain_gpt_faith") + "/faith.json";
  const CmdResult r = run_attn("explain --gpt '" + d + "' --faithfulness 4 --context 12 --method relevance" +
                               " --method random --json '" + json_path + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("on 4 windows of 12 tokens of the held-out 10% of"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(168 tokens;"), std::string::npos) << r.out;  // 10% of 60 × 28 characters
  EXPECT_NE(r.out.find("| relevance | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| random | "), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(bytes_of(json_path));
  EXPECT_EQ(j["windows"], 4);
  EXPECT_EQ(j["context"], 12);
  EXPECT_EQ(j["methods"].size(), 2u);
  EXPECT_EQ(j["methods"][0]["deletion"].size(), 11u);
  // The default context (64) is cut to the model's block_size (16).
  const CmdResult c = run_attn("explain --gpt '" + d + "' --faithfulness 1 --method rollout");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("windows of 16 tokens"), std::string::npos) << c.out;
}

TEST(ExplainGptCli, BadInputExits2AndAMissingModel1) {
  const std::string& d = trained();
  auto expect_error = [&](const std::string& args, int code, const std::string& reason) {
    const CmdResult r = run_attn("explain --gpt '" + d + "' " + args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(reason), std::string::npos) << args << "\n" << r.out;
  };
  expect_error("--text ''", 2, "--text is empty");
  expect_error("--text 'the whale swims in the sea'", 2, "--text has 26 tokens, more than the model's context of 16");
  expect_error("--text 'the whale!'", 2, "never saw in training");
  expect_error("--text 'the' --method saliency", 2, "unknown method \"saliency\"");
  expect_error("--text 'the' --next 'wh'", 2, "--next \"wh\" is 2 tokens, not one");
  expect_error("--text 'the' --class 99", 2, "--class 99 outside the vocabulary");
  expect_error("", 2, "give --text (the context to explain) or --faithfulness N");
  expect_error("--faithfulness 1000", 2, "fewer than the 1000 asked for");
  expect_error("--faithfulness 1 --context 1", 2, "--context 1 outside 2..16");
  expect_error("--text 'the' --out x.png", 2, "--out draws a ViT's patch maps");
  const CmdResult missing = run_attn("explain --gpt '" + d + "/none' --text 'the'");
  EXPECT_EQ(missing.code, 1) << missing.out;
}

}  // namespace
