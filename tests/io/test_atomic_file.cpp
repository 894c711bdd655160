// io::AtomicFile and io::write_file_atomic: a reader never sees half a file, a failure leaves the previous
// file and no temporary behind, and the error names the path and the system's reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "test_util.h"

namespace attn::io {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(IoAtomicFile, WritesReplacesAndCreatesMissingFolders) {
  const std::string dir = attn::testing::fresh_dir("io_atomic_write");
  const std::string path = dir + "/a/b/report.json";
  write_file_atomic(path, "{\"v\": 1}\n");
  EXPECT_EQ(read_text(path), "{\"v\": 1}\n");
  write_file_atomic(path, "{\"v\": 2}\n");
  EXPECT_EQ(read_text(path), "{\"v\": 2}\n");
  EXPECT_EQ(files_in(dir + "/a/b"), std::vector<std::string>{"report.json"});  // no temporary left
}

TEST(IoAtomicFile, WithoutCommitTheOldFileStaysAndNoTemporaryIsLeft) {
  const std::string dir = attn::testing::fresh_dir("io_atomic_abandon");
  const std::string path = dir + "/model.bin";
  write_file_atomic(path, "old");
  {
    AtomicFile f(path, "test");
    f.write("new, half written");
    EXPECT_EQ(read_text(path), "old");  // a reader sees the old file meanwhile
  }                                     // destroyed without commit(): an exception unwinding, say
  EXPECT_EQ(read_text(path), "old");
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.bin"});
  AtomicFile f(path, "test");
  f.write("new");
  f.commit();
  EXPECT_EQ(read_text(path), "new");
  EXPECT_THROW(f.write("more"), Error);  // committed: closed for writing
}

TEST(IoAtomicFile, AMissingFolderIsAnErrorUnlessAskedToCreateIt) {
  const std::string dir = attn::testing::fresh_dir("io_atomic_missing");
  const std::string path = dir + "/no/such/folder/x.bin";
  try {
    AtomicFile f(path, "save_thing");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("save_thing"), std::string::npos) << m;
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(std::strerror(ENOENT)), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir + "/no"));
  AtomicFile f(path, "save_thing", /*create_parents=*/true);
  f.write("x");
  f.commit();
  EXPECT_EQ(read_text(path), "x");
}

TEST(IoAtomicFile, AFailedWriteKeepsThePreviousFile) {
  // write(2) fails part-way with EFBIG under a low file-size limit (even as root); SIGXFSZ ignored meanwhile.
  const std::string dir = attn::testing::fresh_dir("io_atomic_efbig");
  const std::string path = dir + "/big.bin";
  write_file_atomic(path, "previous");
  const std::string message = attn::testing::error_under_file_size_limit(
      4096, [&] { write_file_atomic(path, std::string(100000, 'z'), "write_report"); });
  EXPECT_NE(message.find("write_report"), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_NE(message.find("previous file is untouched"), std::string::npos) << message;
  EXPECT_EQ(read_text(path), "previous");
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"big.bin"});
}

}  // namespace
}  // namespace attn::io
