// attn lesson list | run ID|all [--out DIR] — the lessons, in order.
//
// Each lesson is its own program (lessons/<NN_topic>/<NN_name>/lesson.cpp), built into
// bin/lessons/<NN_topic>/<NN_name> beside this binary; its id is "<NN_topic>/<NN_name>".
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"

namespace fs = std::filesystem;

namespace {

fs::path lessons_dir() { return fs::read_symlink("/proc/self/exe").parent_path() / "lessons"; }

std::vector<std::string> lesson_ids() {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& topic : fs::directory_iterator(lessons_dir(), ec)) {
    if (!topic.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(topic.path(), ec))
      if (f.is_regular_file() && ::access(f.path().c_str(), X_OK) == 0)
        ids.push_back(topic.path().filename().string() + "/" + f.path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string describe(const std::string& id) {
  const std::string cmd = "'" + (lessons_dir() / id).string() + "' --describe";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::array<char, 512> buf{};
  std::string s = fgets(buf.data(), buf.size(), p) ? buf.data() : "";
  pclose(p);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

int run_one(const std::string& id, const std::string& out) {
  const std::string exe = (lessons_dir() / id).string(), dir = out + "/" + id;
  std::cout << "\n==> lesson " << id << " (figures in " << dir << ")\n" << std::flush;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("attn lesson run: fork");
    return 1;
  }
  if (pid == 0) {
    execl(exe.c_str(), exe.c_str(), "--out", dir.c_str(), static_cast<char*>(nullptr));
    std::perror("exec");
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    std::perror("attn lesson run: waitpid");
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::cout << "<== lesson " << id << (ok ? " finished" : " FAILED") << " in " << s << " s\n";
  return ok ? 0 : 1;
}

}  // namespace

ATTN_COMMAND(lesson, "List and run the lessons, in order") {
  sub.require_subcommand(1, 1);
  auto* list = sub.add_subcommand("list", "List the lessons with their titles");
  auto* run = sub.add_subcommand("run", "Run a lesson (or all of them), writing its figures");
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("out");
  run->add_option("id", *id, "Lesson id as shown by `attn lesson list`, or `all`")->required();
  run->add_option("--out", *out, "Directory for figures; each lesson writes to DIR/<id> (default: out)");
  return [list, run, id, out]() -> int {
    const auto ids = lesson_ids();
    if (list->parsed()) {
      if (ids.empty()) std::cout << "no lessons found in " << lessons_dir() << "\n";
      for (const auto& i : ids) std::cout << i << "  " << describe(i) << "\n";
      return 0;
    }
    (void)run;
    if (ids.empty()) {
      std::cerr << "attn lesson run: no lessons found in " << lessons_dir()
                << " (build them: bash scripts/build.sh release lessons)\n";
      return 1;
    }
    if (*id == "all") {
      int failed = 0;
      for (const auto& i : ids) failed += run_one(i, *out);
      std::cout << "\n" << ids.size() - failed << " of " << ids.size() << " lessons ran\n";
      return failed ? 1 : 0;
    }
    if (std::find(ids.begin(), ids.end(), *id) == ids.end()) {
      std::cerr << "attn lesson run: no lesson '" << *id << "'. Available:\n";
      for (const auto& i : ids) std::cerr << "  " << i << "\n";
      return 2;
    }
    return run_one(*id, *out);
  };
}
