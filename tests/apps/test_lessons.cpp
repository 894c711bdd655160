// Every lesson runs through `attn lesson run`, writes non-empty figures, and prints what it should.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.h"

namespace {

using attn::testing::CmdResult;
CmdResult attn(const std::string& args) { return attn::testing::run_attn(args); }

TEST(Lessons, ListShowsEveryLessonWithItsTitle) {
  CmdResult r = attn("lesson list");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd  Tensors and autograd"), std::string::npos) << r.out;
}

TEST(Lessons, UnknownLessonIsAUsageError) {
  CmdResult r = attn("lesson run 99_nope/01_missing");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd"), std::string::npos);  // lists what exists
  EXPECT_EQ(attn("lesson").code, 2);                                                // a subcommand is required
}

TEST(Lessons, AllLessonsRunAndWriteTheirFigures) {
  const std::string out = attn::testing::scratch_dir("lessons");
  std::filesystem::remove_all(out);
  CmdResult r = attn("lesson run all --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  int figures = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(out)) {
    if (!e.is_regular_file()) continue;
    ++figures;
    EXPECT_GT(e.file_size(), 200u) << e.path();
  }
  EXPECT_GE(figures, 2);
  // Lesson 00.01 is deterministic: autograd equals 2w, and the fitted line recovers y = 3x - 1.
  EXPECT_NE(r.out.find("dy/dw[1]: autograd -4.0000, finite difference -4.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 59  loss 0.0108  a 3.0179  b -0.9802"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(out + "/00_prelude/01_tensors_and_autograd/loss_curve.svg"));
}

}  // namespace
