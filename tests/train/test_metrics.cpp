// MetricsLogger: one valid JSON object per line, appended, written through at once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/train/metrics.h"
#include "test_util.h"

namespace attn::train {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) { return attn::testing::fresh_dir("train_" + name); }

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(TrainMetrics, OneJsonObjectPerLineInTheGivenKeyOrder) {
  const std::string path = fresh_dir("lines") + "/metrics.jsonl";
  MetricsLogger logger(path);
  logger.log({{"step", 10}, {"loss", 1.23}, {"split", "val"}});
  logger.log({{"step", 20}, {"loss", 0.5f}, {"split", std::string("train")}, {"done", true}});
  // Written through immediately: readable while the logger is still open.
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], R"({"step":10,"loss":1.23,"split":"val"})");
  EXPECT_EQ(lines[1], R"({"step":20,"loss":0.5,"split":"train","done":true})");
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.is_object());
    EXPECT_TRUE(j["step"].is_number_integer());
  }
}

TEST(TrainMetrics, AppendsAcrossLoggers) {
  const std::string path = fresh_dir("append") + "/metrics.jsonl";
  {
    MetricsLogger first(path);
    first.log({{"step", 1}});
    first.log({{"step", 2}});
  }
  {
    MetricsLogger second(path);  // a resumed run adds to the same file
    second.log({{"step", 3}});
  }
  {
    MetricsLogger a(path), b(path);  // two open at once (train and eval loops): lines stay whole
    for (int i = 0; i < 50; ++i) {
      a.log({{"who", "a"}, {"i", i}});
      b.log({{"who", "b"}, {"i", i}});
    }
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 103u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(nlohmann::json::parse(lines[i])["step"], i + 1);
  for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::parse(line).is_object()) << line;
}

TEST(TrainMetrics, CreatesParentDirectories) {
  const std::string path = fresh_dir("parents") + "/runs/exp1/metrics.jsonl";
  MetricsLogger logger(path);
  logger.log({{"step", 0}});
  EXPECT_EQ(read_lines(path).size(), 1u);
  EXPECT_EQ(logger.path(), path);
}

TEST(TrainMetrics, ValueTypes) {
  const std::string path = fresh_dir("types") + "/metrics.jsonl";
  MetricsLogger logger(path);
  const size_t tokens = 18446744073709551615ull;
  const int64_t negative = -3;
  logger.log({{"tokens", tokens},
              {"neg", negative},
              {"nan", std::nan("")},
              {"inf", INFINITY},
              {"tiny", 1e-30},
              {"name", std::string_view("gpt")}});
  const auto j = nlohmann::json::parse(read_lines(path).at(0));
  EXPECT_EQ(j["tokens"].get<uint64_t>(), tokens);
  EXPECT_EQ(j["neg"].get<int64_t>(), -3);
  EXPECT_TRUE(j["nan"].is_null());  // JSON has no NaN
  EXPECT_TRUE(j["inf"].is_null());
  EXPECT_DOUBLE_EQ(j["tiny"].get<double>(), 1e-30);
  EXPECT_EQ(j["name"], "gpt");
}

TEST(TrainMetrics, DuplicateKeyIsAnError) {
  MetricsLogger logger(fresh_dir("dup") + "/metrics.jsonl");
  EXPECT_THROW(logger.log({{"loss", 1.0}, {"loss", 2.0}}), attn::Error);
}

TEST(TrainMetrics, ErrorsNameThePath) {
  const std::string dir = fresh_dir("errors");
  std::ofstream(dir + "/a_file") << "x";
  const std::string path = dir + "/a_file/metrics.jsonl";  // parent is a regular file
  try {
    MetricsLogger logger(path);
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[MetricsLogger]"), std::string::npos) << e.what();
  }
  fs::create_directory(dir + "/a_dir");
  EXPECT_THROW(MetricsLogger(dir + "/a_dir"), attn::Error);  // a directory is not a log file
}

TEST(TrainMetrics, MovedLoggerKeepsWriting) {
  const std::string path = fresh_dir("moved") + "/metrics.jsonl";
  MetricsLogger a(path);
  MetricsLogger b = std::move(a);
  b.log({{"step", 1}});
  EXPECT_THROW(a.log({{"step", 2}}), attn::Error);  // NOLINT(bugprone-use-after-move): checked on purpose
  EXPECT_EQ(read_lines(path).size(), 1u);
}

}  // namespace
}  // namespace attn::train
