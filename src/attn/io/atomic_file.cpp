#include "attn/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "attn/core/error.h"

namespace attn::io {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(std::string path, const char* op, bool create_parents) : path_(std::move(path)), op_(op) {
  const fs::path p(path_);
  std::error_code ec;
  if (create_parents && p.has_parent_path()) fs::create_directories(p.parent_path(), ec);  // failures show in open()
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = errno;
  ATTN_CHECK(fd_ >= 0, op_, "cannot write '" << path_ << "': cannot create '" << tmp_ << "': " << std::strerror(err));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  ATTN_CHECK(fd_ >= 0 && !committed_, op_, "cannot write '" << path_ << "': the file is already committed");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    const int err = w < 0 ? errno : EIO;  // 0 bytes written: report an I/O error rather than loop
    if (w < 0 && err == EINTR) continue;
    ATTN_CHECK(w > 0, op_,
               "cannot write '" << path_ << "': writing '" << tmp_ << "' failed: " << std::strerror(err)
                                << " (the previous file is untouched)");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  ATTN_CHECK(fd_ >= 0 && !committed_, op_, "cannot write '" << path_ << "': the file is already committed");
  // fsync before rename: otherwise a crash could leave the new name pointing at unwritten blocks.
  const int sync_err = ::fsync(fd_) == 0 ? 0 : errno;
  const int close_err = ::close(fd_) == 0 ? 0 : errno;
  fd_ = -1;
  const int err = sync_err ? sync_err : close_err;
  ATTN_CHECK(err == 0, op_,
             "cannot write '" << path_ << "': flushing '" << tmp_ << "' failed: " << std::strerror(err)
                              << " (the previous file is untouched)");
  const int rename_err = std::rename(tmp_.c_str(), path_.c_str()) == 0 ? 0 : errno;
  ATTN_CHECK(rename_err == 0, op_,
             "cannot write '" << path_ << "': renaming '" << tmp_ << "' over it failed: " << std::strerror(rename_err));
  committed_ = true;
  // fsync the folder so that the rename itself survives a crash.
  std::string dir = fs::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int dir_err = dir_fd < 0 ? errno : (::fsync(dir_fd) == 0 ? 0 : errno);
  if (dir_fd >= 0) ::close(dir_fd);
  if (dir_err == EINVAL || dir_err == ENOTSUP) dir_err = 0;  // file systems that cannot sync a directory
  ATTN_CHECK(dir_err == 0, op_,
             "wrote '" << path_ << "' but could not fsync its folder '" << dir << "': " << std::strerror(dir_err));
}

void write_file_atomic(const std::string& path, std::string_view content, const char* op) {
  AtomicFile f(path, op, /*create_parents=*/true);
  f.write(content);
  f.commit();
}

}  // namespace attn::io
