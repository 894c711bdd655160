#include "attn/data/translation_batches.h"

#include <algorithm>
#include <numeric>

#include "attn/core/error.h"

namespace attn::data {

EncodedPairs encode_pairs(const std::vector<SentencePair>& pairs, const SubwordTokenizer& tok, int64_t max_tokens) {
  ATTN_CHECK(max_tokens > 0, "encode_pairs", "max_tokens must be positive, got " << max_tokens);
  EncodedPairs out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::vector<int64_t> s = tok.encode(pairs[i].de), t = tok.encode(pairs[i].en);
    if (s.empty() || t.empty() || static_cast<int64_t>(s.size()) > max_tokens ||
        static_cast<int64_t>(t.size()) > max_tokens)
      continue;
    out.src.push_back(std::move(s));
    out.tgt.push_back(std::move(t));
    out.kept.push_back(i);
  }
  return out;
}

std::vector<std::vector<size_t>> length_bucketed_batches(const EncodedPairs& pairs, int64_t batch_size, Generator& gen,
                                                         int64_t max_batch_tokens) {
  std::vector<size_t> all(pairs.size());
  std::iota(all.begin(), all.end(), size_t{0});
  return length_bucketed_batches(pairs, std::move(all), batch_size, gen, max_batch_tokens);
}

std::vector<std::vector<size_t>> length_bucketed_batches(const EncodedPairs& pairs, std::vector<size_t> order,
                                                         int64_t batch_size, Generator& gen, int64_t max_batch_tokens) {
  constexpr const char* op = "length_bucketed_batches";
  ATTN_CHECK(batch_size > 0, op, "batch_size must be positive");
  ATTN_CHECK(max_batch_tokens >= 0, op, "max_batch_tokens must be >= 0 (0 = no limit), got " << max_batch_tokens);
  for (size_t i : order)
    ATTN_CHECK(i < pairs.size(), op, "index " << i << " is out of range (" << pairs.size() << " pairs)");
  gen.shuffle(order);
  auto longest = [&](size_t i) { return static_cast<int64_t>(std::max(pairs.src[i].size(), pairs.tgt[i].size())) + 1; };
  std::vector<std::vector<size_t>> batches;
  const size_t pool = static_cast<size_t>(batch_size) * 50;
  for (size_t p = 0; p < order.size(); p += pool) {
    auto begin = order.begin() + static_cast<std::ptrdiff_t>(p);
    auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), p + pool));
    std::stable_sort(begin, end, [&](size_t a, size_t b) { return pairs.src[a].size() < pairs.src[b].size(); });
    std::vector<size_t> current;
    int64_t width = 0;  // the longest side in `current`, + 1 for </s> or <s>
    for (auto it = begin; it != end; ++it) {
      const int64_t w = std::max(width, longest(*it));
      const bool full =
          static_cast<int64_t>(current.size()) == batch_size ||
          (max_batch_tokens > 0 && !current.empty() && w * static_cast<int64_t>(current.size() + 1) > max_batch_tokens);
      if (full) {
        batches.push_back(std::move(current));
        current.clear();
        width = 0;
      }
      current.push_back(*it);
      width = std::max(width, longest(*it));
    }
    if (!current.empty()) batches.push_back(std::move(current));
  }
  gen.shuffle(batches);
  return batches;
}

void append_pairs(EncodedPairs& pairs, const EncodedPairs& more, size_t kept_offset) {
  pairs.src.insert(pairs.src.end(), more.src.begin(), more.src.end());
  pairs.tgt.insert(pairs.tgt.end(), more.tgt.begin(), more.tgt.end());
  for (size_t k : more.kept) pairs.kept.push_back(k + kept_offset);
}

SeqBatch make_translation_batch(const EncodedPairs& pairs, const std::vector<size_t>& idx) {
  ATTN_CHECK(!idx.empty(), "make_translation_batch", "empty batch");
  const int64_t B = static_cast<int64_t>(idx.size());
  int64_t S = 0, T = 0;
  for (size_t i : idx) {
    ATTN_CHECK(i < pairs.size(), "make_translation_batch",
               "index " << i << " is out of range (" << pairs.size() << " pairs)");
    S = std::max<int64_t>(S, static_cast<int64_t>(pairs.src[i].size()) + 1);
    T = std::max<int64_t>(T, static_cast<int64_t>(pairs.tgt[i].size()) + 1);
  }
  constexpr int64_t pad = SubwordTokenizer::pad_id, bos = SubwordTokenizer::bos_id, eos = SubwordTokenizer::eos_id;
  std::vector<int64_t> src(static_cast<size_t>(B * S), pad), tin(static_cast<size_t>(B * T), pad),
      tout(static_cast<size_t>(B * T), pad);
  SeqBatch b;
  for (int64_t r = 0; r < B; ++r) {
    const auto& s = pairs.src[idx[static_cast<size_t>(r)]];
    const auto& t = pairs.tgt[idx[static_cast<size_t>(r)]];
    std::copy(s.begin(), s.end(), src.begin() + r * S);
    src[static_cast<size_t>(r * S + static_cast<int64_t>(s.size()))] = eos;
    tin[static_cast<size_t>(r * T)] = bos;
    std::copy(t.begin(), t.end(), tin.begin() + r * T + 1);
    std::copy(t.begin(), t.end(), tout.begin() + r * T);
    tout[static_cast<size_t>(r * T + static_cast<int64_t>(t.size()))] = eos;
    b.src_lengths.push_back(static_cast<int64_t>(s.size()) + 1);
  }
  b.src = IndexTensor(std::move(src), {B, S});
  b.tgt_in = IndexTensor(std::move(tin), {B, T});
  b.tgt_out = IndexTensor(std::move(tout), {B, T});
  return b;
}

}  // namespace attn::data
