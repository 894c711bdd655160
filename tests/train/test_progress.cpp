// ProgressBar with a fake clock: plain lines for logs, \r redraws for terminals, smoothed rates and ETA.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "attn/train/progress.h"

namespace attn::train {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& s, const std::string& piece) { return s.find(piece) != std::string::npos; }

// A clock the test moves by hand.
struct FakeClock {
  double now = 100.0;  // any origin: the bar measures from its construction
  ProgressBar::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TrainProgress, PlainOutputIsOneLinePerReportWithTheNumbers) {
  std::ostringstream out;
  FakeClock clock;
  {
    ProgressBar bar(10, "train", out, /*is_tty=*/false, clock.fn());
    bar.print_every_steps(5).print_every_seconds(0);
    for (int step = 1; step <= 10; ++step) {
      clock.now += 0.5;
      bar.update(step, {{"loss", 2.31}, {"acc", 0.5}}, 64);
    }
    bar.finish();
  }
  const std::string text = out.str();
  EXPECT_FALSE(contains(text, "\r"));
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u) << text;  // the first step, 5 steps later, and the last step
  EXPECT_TRUE(contains(lines[0], "train step 1/10 (10%)")) << lines[0];
  EXPECT_TRUE(contains(lines[1], "step 6/10 (60%)")) << lines[1];
  EXPECT_TRUE(contains(lines[2], "step 10/10 (100%)")) << lines[2];
  for (const auto& line : lines) {
    EXPECT_TRUE(contains(line, "loss 2.31")) << line;
    EXPECT_TRUE(contains(line, "acc 0.5")) << line;
    EXPECT_TRUE(contains(line, "128.0 items/s")) << line;  // 64 items every 0.5 s
  }
  EXPECT_TRUE(contains(lines[1], "elapsed 0:03 | eta 0:02")) << lines[1];
  EXPECT_TRUE(contains(lines[2], "elapsed 0:05 | eta 0:00")) << lines[2];
}

TEST(TrainProgress, PlainOutputEveryNSeconds) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(20, "fit", out, false, clock.fn());
  bar.print_every_steps(0).print_every_seconds(2.0);
  for (int step = 1; step <= 20; ++step) {
    clock.now += 0.5;
    bar.update(step, {{"loss", 1.0 / step}});
  }
  bar.finish();
  // Step 1 at 0.5 s, then every 2 s: steps 5, 9, 13, 17; and the last step, 20.
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 6u) << out.str();
  EXPECT_TRUE(contains(lines[1], "step 5/20")) << lines[1];
  EXPECT_TRUE(contains(lines[4], "step 17/20")) << lines[4];
  EXPECT_TRUE(contains(lines[5], "step 20/20")) << lines[5];
  EXPECT_TRUE(contains(lines[5], "loss 0.05")) << lines[5];
}

TEST(TrainProgress, DefaultPlainOutputIsAboutTenLinesPerRun) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(1000, "train", out, false, clock.fn());
  for (int step = 1; step <= 1000; ++step) {
    clock.now += 0.001;
    bar.update(step);
  }
  bar.finish();
  EXPECT_EQ(lines_of(out.str()).size(), 11u) << out.str();  // step 1, then every 100 steps
}

TEST(TrainProgress, FinishPrintsAnUnprintedLastUpdate) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(100, "train", out, false, clock.fn());
  bar.print_every_steps(50).print_every_seconds(0);
  for (int step = 1; step <= 7; ++step) {
    clock.now += 1;
    bar.update(step, {{"loss", 0.75}});
  }
  EXPECT_EQ(lines_of(out.str()).size(), 1u);
  bar.finish();
  bar.finish();  // idempotent
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(contains(lines[1], "step 7/100")) << lines[1];
}

TEST(TrainProgress, TerminalOutputRedrawsOneLine) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(4, "train", out, /*is_tty=*/true, clock.fn());
  for (int step = 1; step <= 4; ++step) {
    clock.now += 1;
    bar.update(step, {{"loss", 2.31}}, 10);
  }
  const std::string drawn = out.str();
  EXPECT_TRUE(contains(drawn, "\r"));
  EXPECT_FALSE(contains(drawn, "\n"));  // one line, redrawn in place
  EXPECT_TRUE(contains(drawn, "train  50% [############............] 2/4 | loss 2.31 | 10.0 items/s | 0:02<0:02"))
      << drawn;
  EXPECT_TRUE(contains(drawn, "100% [########################] 4/4")) << drawn;
  bar.finish();
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(TrainProgress, TerminalRedrawIsThrottled) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(1000, "train", out, true, clock.fn());
  bar.redraw_every_seconds(0.1);
  for (int step = 1; step <= 1000; ++step) {
    clock.now += 0.001;  // 1000 steps in 1 s: about 10 redraws, not 1000
    bar.update(step);
  }
  const std::string text = out.str();
  const auto redraws = std::count(text.begin(), text.end(), '\r');
  EXPECT_GE(redraws, 9);
  EXPECT_LE(redraws, 13);
}

TEST(TrainProgress, ShorterLineBlanksTheLongerOne) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(2, "t", out, true, clock.fn());
  clock.now += 1;
  bar.update(1, {{"a_long_metric_name", 123456.5}});
  clock.now += 1;
  bar.update(2);
  const std::string text = out.str();
  const auto second = text.rfind('\r');
  EXPECT_EQ(text.size() - second - 1, text.find('\r', 1) - 1) << "the redraw is padded to the first width";
}

TEST(TrainProgress, EtaAndRatesFromAFakeClock) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(100, "train", out, false, clock.fn());
  for (int step = 1; step <= 10; ++step) {
    clock.now += 0.5;  // 2 steps/s
    bar.update(step, {}, 32);
  }
  EXPECT_DOUBLE_EQ(bar.elapsed_seconds(), 5.0);
  EXPECT_NEAR(bar.steps_per_second(), 2.0, 1e-9);
  EXPECT_NEAR(bar.items_per_second(), 64.0, 1e-9);
  EXPECT_NEAR(bar.eta_seconds(), 45.0, 1e-9);  // 90 steps left at 2 steps/s

  // The pace halves: the smoothed ETA moves to the new pace within a few updates.
  for (int step = 11; step <= 30; ++step) {
    clock.now += 1.0;
    bar.update(step, {}, 32);
  }
  EXPECT_NEAR(bar.steps_per_second(), 1.0, 1e-3);
  EXPECT_NEAR(bar.eta_seconds(), 70.0, 0.1);
  EXPECT_NEAR(bar.items_per_second(), 32.0, 0.05);
}

TEST(TrainProgress, UpdatesThatSkipStepsStillGiveTheRightRate) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(1000, "train", out, false, clock.fn());
  for (int step = 10; step <= 200; step += 10) {
    clock.now += 2.0;  // 10 steps every 2 s
    bar.update(step);
  }
  EXPECT_NEAR(bar.steps_per_second(), 5.0, 1e-9);
  EXPECT_NEAR(bar.eta_seconds(), 800.0 / 5.0, 1e-6);
}

TEST(TrainProgress, TimeSpentOnARepeatedStepCountsTowardsTheNext) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(100, "train", out, false, clock.fn());
  for (int step = 1; step <= 5; ++step) {
    clock.now += 1.0;
    bar.update(step, {{"loss", 1.0}});
  }
  clock.now += 4.0;  // evaluation
  bar.update(5, {{"loss", 1.0}, {"val_loss", 1.5}});
  EXPECT_NEAR(bar.steps_per_second(), 1.0, 1e-12);  // unchanged by the repeat
  clock.now += 1.0;
  bar.update(6, {{"loss", 0.9}});
  EXPECT_NEAR(bar.steps_per_second(), 1.0 / (0.3 * 5.0 + 0.7 * 1.0), 1e-12);  // that step took 5 s
  bar.finish();
  EXPECT_TRUE(contains(out.str(), "step 6/100 (6%) | loss 0.9 |")) << out.str();
}

TEST(TrainProgress, ResumeFromACheckpointDoesNotCountOldSteps) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(1000, "train", out, false, clock.fn());
  bar.resume_from(500);
  clock.now += 1.0;
  bar.update(501);
  EXPECT_NEAR(bar.steps_per_second(), 1.0, 1e-9);
  EXPECT_NEAR(bar.eta_seconds(), 499.0, 1e-6);
}

TEST(TrainProgress, UnknownTotalShowsCountAndNoEta) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(0, "stream", out, false, clock.fn());
  clock.now += 2;
  bar.update(5, {{"tokens", 12345}}, 1500);
  bar.finish();
  const std::string text = out.str();
  EXPECT_TRUE(contains(text, "stream step 5 | tokens 12345 | 750.0 items/s | elapsed 0:02")) << text;
  EXPECT_FALSE(contains(text, "eta")) << text;
  EXPECT_LT(bar.eta_seconds(), 0);
}

TEST(TrainProgress, UnitAndLargeRates) {
  std::ostringstream out;
  FakeClock clock;
  ProgressBar bar(10, "train", out, false, clock.fn());
  bar.unit("tok");
  clock.now += 0.5;
  bar.update(1, {{"lr", 3e-4}}, 617284);
  EXPECT_TRUE(contains(out.str(), "lr 0.0003 | 1.23M tok/s")) << out.str();
}

TEST(TrainProgress, FormatDuration) {
  EXPECT_EQ(ProgressBar::format_duration(0), "0:00");
  EXPECT_EQ(ProgressBar::format_duration(7.4), "0:07");
  EXPECT_EQ(ProgressBar::format_duration(65), "1:05");
  EXPECT_EQ(ProgressBar::format_duration(3723), "1:02:03");
  EXPECT_EQ(ProgressBar::format_duration(-1), "?");
  EXPECT_EQ(ProgressBar::format_duration(std::numeric_limits<double>::infinity()), "?");
}

TEST(TrainProgress, NoUpdatesPrintNothing) {
  std::ostringstream out;
  FakeClock clock;
  { ProgressBar bar(10, "idle", out, true, clock.fn()); }
  { ProgressBar bar(10, "idle", out, false, clock.fn()); }
  EXPECT_EQ(out.str(), "");
}

TEST(TrainProgress, AStringStreamIsNotATerminal) {
  std::ostringstream out;
  {
    ProgressBar bar(2, "train", out);  // the real clock and tty detection
    bar.update(1);
    bar.update(2);
  }
  EXPECT_FALSE(contains(out.str(), "\r"));
  EXPECT_EQ(lines_of(out.str()).size(), 2u);
}

}  // namespace
}  // namespace attn::train
