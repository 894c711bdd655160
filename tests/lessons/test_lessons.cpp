// Every lesson runs through `attn lesson run`, writes non-empty figures, and prints what it should.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "test_util.h"

namespace {

using attn::testing::CmdResult;
CmdResult attn(const std::string& args) { return attn::testing::run_attn(args); }

// `attn lesson run all` — what the README's main command runs — once for the whole suite.
struct AllLessons {
  std::string dir;
  CmdResult run;
};
const AllLessons& all_lessons() {
  static const AllLessons a = [] {
    AllLessons r;
    r.dir = attn::testing::fresh_dir("lessons");
    r.run = attn("lesson run all --out '" + r.dir + "'");
    return r;
  }();
  return a;
}

// The output of one lesson (between its ==> and <== markers), after checking its figures.
std::string lesson_output(const std::string& id, int min_figures) {
  const AllLessons& a = all_lessons();
  EXPECT_EQ(a.run.code, 0) << a.run.out;
  const auto begin = a.run.out.find("==> lesson " + id + " ");
  const auto end = a.run.out.find("<== lesson " + id + " ");
  if (begin == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "lesson " << id << " did not run:\n" << a.run.out;
    return "";
  }
  const std::string out = a.run.out.substr(begin, end - begin);
  EXPECT_NE(a.run.out.find("<== lesson " + id + " finished"), std::string::npos) << out;
  int figures = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(a.dir + "/" + id)) {
    if (!e.is_regular_file()) continue;
    ++figures;
    EXPECT_GT(e.file_size(), 500u) << e.path();
  }
  EXPECT_GE(figures, min_figures) << id;
  return out;
}

// The first number after `label` in `text` (-1 when absent).
double number_after(const std::string& text, const std::string& label) {
  const auto p = text.find(label);
  if (p == std::string::npos) return -1;
  return std::atof(text.c_str() + p + label.size());
}

TEST(Lessons, ListShowsEveryLessonWithItsTitle) {
  CmdResult r = attn("lesson list");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd  Tensors and autograd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("01_foundations/01_basic_attention"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("01_foundations/02_multiplicative_attention"), std::string::npos) << r.out;
}

TEST(Lessons, UnknownLessonIsAUsageError) {
  CmdResult r = attn("lesson run 99_nope/01_missing");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd"), std::string::npos);  // lists what exists
  EXPECT_EQ(attn("lesson").code, 2);                                                // a subcommand is required
}

TEST(Lessons, TensorsAndAutograd) {
  const std::string out = lesson_output("00_prelude/01_tensors_and_autograd", 2);
  // Deterministic: autograd equals 2w, and the fitted line recovers y = 3x - 1.
  EXPECT_NE(out.find("dy/dw[1]: autograd -4.0000, finite difference -4.0000"), std::string::npos) << out;
  EXPECT_NE(out.find("step 59  loss 0.0108  a 3.0179  b -0.9802"), std::string::npos) << out;
}

TEST(Lessons, BasicAttention) {
  const std::string out = lesson_output("01_foundations/01_basic_attention", 5);
  EXPECT_GT(number_after(out, "step  99  loss 0.3309  w "), 2.0) << out;  // the kernel sharpened
  EXPECT_GE(number_after(out, "held-out accuracy: "), 95.0) << out;
  // The reversal alignment is the anti-diagonal.
  EXPECT_GE(number_after(out, "mean weight on the anti-diagonal: "), 0.6) << out;
}

TEST(Lessons, MultiplicativeAttention) {
  const std::string out = lesson_output("01_foundations/02_multiplicative_attention", 2);
  for (const char* score : {"additive ", "dot ", "general ", "concat "}) {
    std::smatch m;
    const std::regex row(std::string("  ") + score + R"(\s+([0-9.]+)%\s+([0-9.]+)%\s+([0-9.]+))");
    ASSERT_TRUE(std::regex_search(out, m, row)) << score << "\n" << out;
    EXPECT_GE(std::stod(m[2]), 95.0) << score;  // token accuracy
    EXPECT_GE(std::stod(m[3]), 0.6) << score;   // weight on the anti-diagonal
  }
}

TEST(Lessons, RunAllRunsEveryLesson) {
  CmdResult list = attn("lesson list");
  const auto n = std::count(list.out.begin(), list.out.end(), '\n');
  const AllLessons& a = all_lessons();
  ASSERT_EQ(a.run.code, 0) << a.run.out;
  EXPECT_NE(a.run.out.find(std::to_string(n) + " of " + std::to_string(n) + " lessons ran"), std::string::npos) << a.run.out;
}

}  // namespace
