// Files written so that a reader (or a crash, or a full disk) never sees half of one: the bytes go to
// "<path>.tmp.<pid>", which is fsync'ed, renamed over <path> (rename(2) is atomic: the old file or the new one,
// never a mix) and its directory fsync'ed so that the rename itself survives a power cut. On any failure the
// temporary file is removed and the previous <path>, if any, is left as it was.
//
//   io::write_file_atomic("out/eval.json", text);        // one string
//   io::AtomicFile f("out/model.safetensors", "save");   // or piece by piece (the folder must exist)
//   f.write(header.data(), header.size()); ...; f.commit();   // without commit(): nothing replaces the file
//
// Every checkpoint, tokenizer, figure and report of the project is written this way.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace attn::io {

class AtomicFile {
 public:
  // Creates the temporary file (and, with create_parents, <path>'s missing parent folders); attn::Error naming
  // `op`, the path and the system's reason (ENOENT for a missing folder, EACCES, ENOSPC...) if it cannot.
  AtomicFile(std::string path, const char* op, bool create_parents = false);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data,
             size_t n);  // all of it (retrying short writes), or attn::Error (ENOSPC: "No space left")
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();  // fsync, close, rename over the path, fsync the folder

 private:
  std::string path_, tmp_;
  const char* op_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole file at once, creating missing parent folders. `op` names the caller in the error message.
void write_file_atomic(const std::string& path, std::string_view content, const char* op = "write_file");

}  // namespace attn::io
