#include "attn/data/bpe_trainer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "attn/core/error.h"
#include "attn/data/gpt2_tokenizer.h"

namespace attn::data {

namespace {

constexpr const char* kOp = "train_byte_level_bpe";

// A pair of symbol ids packed into one key.
using PairKey = uint64_t;
PairKey key_of(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t left_of(PairKey k) { return static_cast<int32_t>(k >> 32); }
int32_t right_of(PairKey k) { return static_cast<int32_t>(k & 0xffffffffu); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t count = 0;
};

struct HeapEntry {
  int64_t count;
  PairKey pair;
  // Max-heap on count; among equal counts the smaller pair of ids comes first.
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

void write_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    ATTN_CHECK(f, "BpeVocabulary::save", "cannot open " << tmp << " for writing");
    f << content;
    f.flush();
    ATTN_CHECK(f, "BpeVocabulary::save", "failed writing " << tmp);
  }
  ATTN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "BpeVocabulary::save",
             "cannot rename " << tmp << " to " << path);
}

}  // namespace

BpeVocabulary train_byte_level_bpe(const std::vector<std::string_view>& texts, const BpeTrainOptions& options) {
  ATTN_CHECK(options.vocab_size >= 257, kOp,
             "vocab_size " << options.vocab_size << " is too small: the 256 bytes and <|endoftext|> need 257");
  ATTN_CHECK(options.min_frequency >= 1, kOp, "min_frequency must be >= 1, got " << options.min_frequency);

  // Base ids: GPT-2's order, the bytes sorted by their stand-in character.
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[static_cast<size_t>(b)] = b;
  std::sort(bytes.begin(), bytes.end(), [](int a, int b) {
    return GPT2Tokenizer::byte_to_unicode(static_cast<uint8_t>(a)) <
           GPT2Tokenizer::byte_to_unicode(static_cast<uint8_t>(b));
  });
  BpeVocabulary vocab;
  std::array<int32_t, 256> id_of_byte{};
  for (int i = 0; i < 256; ++i) {
    vocab.tokens.emplace_back(1, static_cast<char>(bytes[static_cast<size_t>(i)]));
    id_of_byte[static_cast<size_t>(bytes[static_cast<size_t>(i)])] = i;
  }

  // 1. Word counts.
  std::unordered_map<std::string, int64_t> counts;
  for (size_t t = 0; t < texts.size(); ++t) {
    try {
      GPT2Tokenizer::for_each_pretoken(texts[t], [&](std::string_view piece) { ++counts[std::string(piece)]; });
    } catch (const Error& e) {
      ATTN_FAIL(kOp, "text " << t << ": " << e.what());
    }
  }
  // Sorted, so that the result does not depend on the hash map's order.
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [piece, n] : sorted) {
    Word w;
    w.count = n;
    for (char c : piece) w.symbols.push_back(id_of_byte[static_cast<unsigned char>(c)]);
    words.push_back(std::move(w));
  }

  // 2. Pair counts and, per pair, the words that hold it.
  std::unordered_map<PairKey, int64_t> pair_count;
  std::unordered_map<PairKey, std::unordered_set<int32_t>> where;
  for (size_t wi = 0; wi < words.size(); ++wi) {
    const Word& w = words[wi];
    for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
      const PairKey k = key_of(w.symbols[i], w.symbols[i + 1]);
      pair_count[k] += w.count;
      where[k].insert(static_cast<int32_t>(wi));
    }
  }
  std::priority_queue<HeapEntry> heap;
  for (const auto& [k, n] : pair_count) heap.push({n, k});

  // 3. Merge until the vocabulary (with <|endoftext|>) is full.
  const auto max_merges = static_cast<size_t>(options.vocab_size - 257);
  while (vocab.merges.size() < max_merges && !heap.empty()) {
    const HeapEntry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    const int64_t current = it == pair_count.end() ? 0 : it->second;
    if (current != top.count) {  // stale entry: requeue with today's count
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (current < options.min_frequency) break;
    const int32_t a = left_of(top.pair), b = right_of(top.pair);
    const auto new_id = static_cast<int32_t>(vocab.tokens.size());
    vocab.tokens.push_back(vocab.tokens[static_cast<size_t>(a)] + vocab.tokens[static_cast<size_t>(b)]);
    vocab.merges.emplace_back(a, b);

    std::vector<int32_t> holders(where[top.pair].begin(), where[top.pair].end());
    std::sort(holders.begin(), holders.end());
    std::unordered_map<PairKey, int64_t> changed;  // pairs whose count moved, to requeue
    for (int32_t wi : holders) {
      Word& w = words[static_cast<size_t>(wi)];
      // Remove every pair of this word, merge left to right, add the pairs back: simple and exact.
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
        const PairKey k = key_of(w.symbols[i], w.symbols[i + 1]);
        pair_count[k] -= w.count;
        changed[k];
      }
      std::vector<int32_t> merged;
      merged.reserve(w.symbols.size());
      for (size_t i = 0; i < w.symbols.size();) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == a && w.symbols[i + 1] == b) {
          merged.push_back(new_id);
          i += 2;
        } else {
          merged.push_back(w.symbols[i]);
          ++i;
        }
      }
      // Old pairs that no longer occur in the word leave its `where` sets.
      std::unordered_set<PairKey> now;
      for (size_t i = 0; i + 1 < merged.size(); ++i) now.insert(key_of(merged[i], merged[i + 1]));
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
        const PairKey k = key_of(w.symbols[i], w.symbols[i + 1]);
        if (!now.count(k)) where[k].erase(wi);
      }
      w.symbols = std::move(merged);
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
        const PairKey k = key_of(w.symbols[i], w.symbols[i + 1]);
        pair_count[k] += w.count;
        where[k].insert(wi);
        changed[k];
      }
    }
    pair_count.erase(top.pair);
    where.erase(top.pair);
    for (const auto& kv : changed) {
      auto c = pair_count.find(kv.first);
      if (c == pair_count.end()) continue;
      if (c->second <= 0) {
        pair_count.erase(c);
        where.erase(kv.first);
      } else {
        heap.push({c->second, kv.first});
      }
    }
  }
  vocab.tokens.emplace_back("<|endoftext|>");
  return vocab;
}

void BpeVocabulary::save(const std::string& dir) const {
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool eot = i + 1 == tokens.size() && tokens[i] == "<|endoftext|>";
    v[eot ? tokens[i] : GPT2Tokenizer::bytes_to_spelling(tokens[i])] = static_cast<int64_t>(i);
  }
  write_atomic(dir + "/vocab.json", v.dump() + "\n");
  std::ostringstream m;
  m << "#version: 0.2\n";
  for (const auto& [a, b] : merges)
    m << GPT2Tokenizer::bytes_to_spelling(tokens[static_cast<size_t>(a)]) << ' '
      << GPT2Tokenizer::bytes_to_spelling(tokens[static_cast<size_t>(b)]) << '\n';
  write_atomic(dir + "/merges.txt", m.str());
}

}  // namespace attn::data
