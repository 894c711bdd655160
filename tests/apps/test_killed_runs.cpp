// Killed runs (issue 19): `attn train gpt` SIGKILLed at random moments, 20 times — between steps, inside a
// step, while a checkpoint is being written — must always leave a checkpoint that loads, and --resume from it
// must continue the exact trajectory of a run that was never interrupted (the same losses, bit for bit).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::run_attn;
using Clock = std::chrono::steady_clock;

std::string tiny_text(const std::string& dir) {
  const std::string path = dir + "/tiny.txt";
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the whale swims in the sea. ";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// A checkpoint at every step, so that kills land inside checkpoint writes too.
std::string args(const std::string& text, const std::string& out, int steps, int checkpoint_every = 1) {
  return "train gpt --data '" + text + "' --out '" + out + "' --layers 1 --heads 2 --embd 16 --block 16 --batch 4" +
         " --warmup 3 --lr 1e-2 --min-lr 1e-3 --eval-every 5 --eval-batches 2 --checkpoint-every " +
         std::to_string(checkpoint_every) + " --steps " + std::to_string(steps);
}

std::vector<double> train_losses(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("split", "") == "train") out.push_back(j["loss"].get<double>());
  }
  return out;
}

// Starts `attn ARGS` (output to `log`), SIGKILLs it after `after` unless it ended first; true if it was killed.
bool run_and_kill(const std::string& attn_args, const std::string& log, std::chrono::microseconds after) {
  const std::string command = "exec '" + std::string(ATTN_BINARY_DIR) + "/bin/attn' " + attn_args;
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = Clock::now() + after;
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // finished before the kill
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(KilledRuns, AKilledTrainingRunAlwaysLeavesALoadableCheckpointAndResumesExactly) {
  const std::string root = attn::testing::fresh_dir("killed_runs");
  const std::string text = tiny_text(root);
  const int kSteps = 240;
  // The trajectory to reproduce, and how long a whole run takes here (the kills fall inside that span).
  const std::string whole = root + "/whole";
  const auto t0 = Clock::now();
  CmdResult r = run_attn(args(text, whole, kSteps));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto span = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  const std::vector<double> expected = train_losses(whole);
  ASSERT_EQ(expected.size(), static_cast<size_t>(kSteps));

  const std::string dir = root + "/killed";
  std::mt19937 rng(2026);
  // Each kill lands within the first sixteenth of a whole run's time: 20 of them cover about 0.6 of a run on
  // average, so the run is still going at the 20th kill even when it trains faster than the timed run did
  // (with an eighth, a quieter machine once let a run end after 18).
  std::uniform_int_distribution<int64_t> when(1000, std::max<int64_t>(2000, span.count() / 16));
  int kills = 0, attempts = 0;
  while (kills < 20 && attempts < 200) {
    ++attempts;
    const bool started = fs::exists(dir + "/config.json");  // a checkpoint to resume from, or a fresh start
    const std::string a = started ? "train gpt --out '" + dir + "' --resume" : args(text, dir, kSteps);
    const bool killed = run_and_kill(a, root + "/run.log", std::chrono::microseconds(when(rng)));
    if (fs::exists(dir + "/config.json")) {
      // Whatever the moment of the kill: the checkpoint on disk loads, and the model in it generates.
      CmdResult g = run_attn("generate --model '" + dir + "' --prompt 'the ' --max-new-tokens 3 --temperature 0");
      ASSERT_EQ(g.code, 0) << "after kill " << kills << ": " << g.out;
    }
    if (!killed) break;  // the run got to its end before the kill
    ++kills;
  }
  EXPECT_GE(kills, 20) << "the runs ended before 20 kills landed (attempts " << attempts << ")";
  // Then to the end, uninterrupted: the losses are those of the run that was never killed.
  if (fs::exists(dir + "/config.json")) {
    CmdResult last = run_attn("train gpt --out '" + dir + "' --resume");
    ASSERT_EQ(last.code, 0) << last.out;
  } else {
    ASSERT_EQ(run_attn(args(text, dir, kSteps)).code, 0);
  }
  for (const auto& e : fs::directory_iterator(dir))  // what killed saves left behind was cleaned up
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  const std::vector<double> got = train_losses(dir);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "step " << i + 1;
}

// A full disk and a read-only one (a small tmpfs, mounted for the test; root only): the save fails with a
// message naming the file and the reason, the previous checkpoint stays whole and loadable, and once there is
// room again --resume ends on the uninterrupted run's losses.
class MountedTmpfs {
 public:
  explicit MountedTmpfs(const std::string& dir) : dir_(dir) {
    ok_ = ::geteuid() == 0 && attn::testing::run_command("mount -t tmpfs -o size=512k tmpfs '" + dir + "'").code == 0;
  }
  ~MountedTmpfs() {
    if (ok_) attn::testing::run_command("umount '" + dir_ + "'");
  }
  bool ok() const { return ok_; }
  bool read_only(bool ro) {
    return attn::testing::run_command("mount -o remount," + std::string(ro ? "ro" : "rw") + " '" + dir_ + "'").code ==
           0;
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

TEST(KilledRuns, AFullOrReadOnlyDiskKeepsThePreviousCheckpoint) {
  const std::string root = attn::testing::fresh_dir("full_disk");
  const std::string text = tiny_text(root);
  const std::string whole = root + "/whole";
  ASSERT_EQ(run_attn(args(text, whole, 30, 10)).code, 0);
  const std::vector<double> expected = train_losses(whole);

  const std::string mnt = root + "/mnt";
  fs::create_directories(mnt);
  MountedTmpfs disk(mnt);
  if (!disk.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string dir = mnt + "/run";
  CmdResult first = run_attn(args(text, dir, 30, 10) + " --stop-at 10");
  ASSERT_EQ(first.code, 0) << first.out;
  // Fill the disk: the next checkpoint cannot be written.
  attn::testing::run_command("dd if=/dev/zero of='" + mnt + "/filler' bs=4k 2>/dev/null");
  CmdResult full = run_attn("train gpt --out '" + dir + "' --resume --stop-at 20");
  EXPECT_EQ(full.code, 1) << full.out;
  EXPECT_NE(full.out.find("No space left on device"), std::string::npos) << full.out;
  EXPECT_NE(full.out.find(dir), std::string::npos) << full.out;  // the message names the file
  auto step_of = [&] { return nlohmann::json::parse(std::ifstream(dir + "/config.json"))["step"].get<int>(); };
  EXPECT_EQ(step_of(), 10);
  EXPECT_EQ(run_attn("generate --model '" + dir + "' --prompt 'the ' --max-new-tokens 3 --temperature 0").code, 0);
  for (const auto& e : fs::directory_iterator(dir))  // a failed save leaves no temporary behind
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();

  // Read-only: refused with the system's reason, the checkpoint as it was.
  fs::remove(mnt + "/filler");
  ASSERT_TRUE(disk.read_only(true));
  CmdResult ro = run_attn("train gpt --out '" + dir + "' --resume");
  EXPECT_EQ(ro.code, 1) << ro.out;
  EXPECT_NE(ro.out.find("Read-only file system"), std::string::npos) << ro.out;
  ASSERT_TRUE(disk.read_only(false));
  EXPECT_EQ(step_of(), 10);

  // Room again: the run goes on to the end, on the trajectory it would have had.
  CmdResult rest = run_attn("train gpt --out '" + dir + "' --resume");
  ASSERT_EQ(rest.code, 0) << rest.out;
  const std::vector<double> got = train_losses(dir);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "step " << i + 1;
}

}  // namespace
