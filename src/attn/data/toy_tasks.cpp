#include "attn/data/toy_tasks.h"

#include <algorithm>

#include "attn/core/error.h"

namespace attn::data {

std::vector<int64_t> ToyTask::target_of(const std::vector<int64_t>& src) const {
  std::vector<int64_t> t = src;
  if (name == "reverse") std::reverse(t.begin(), t.end());
  else if (name == "sort") std::sort(t.begin(), t.end());
  else ATTN_CHECK(name == "copy", "ToyTask", "unknown task \"" << name << "\" (expected reverse, sort or copy)");
  return t;
}

SeqBatch ToyTask::make_batch(const std::vector<std::vector<int64_t>>& sources) const {
  ATTN_CHECK(!sources.empty(), "ToyTask", "no sequences");
  const int64_t B = static_cast<int64_t>(sources.size());
  int64_t S = 0;
  for (const auto& s : sources) {
    ATTN_CHECK(!s.empty(), "ToyTask", "empty source sequence");
    for (int64_t id : s)
      ATTN_CHECK(id >= kFirstSymbol && id < vocab_size(), "ToyTask", "token " << id << " is not a symbol");
    S = std::max<int64_t>(S, static_cast<int64_t>(s.size()));
  }
  const int64_t T = S + 1;  // target + <eos>
  SeqBatch b;
  std::vector<int64_t> src(B * S, kPad), tin(B * T, kPad), tout(B * T, kPad);
  for (int64_t i = 0; i < B; ++i) {
    const auto& s = sources[i];
    std::copy(s.begin(), s.end(), src.begin() + i * S);
    std::vector<int64_t> y = target_of(s);
    y.push_back(kEos);
    tin[i * T] = kBos;
    for (size_t t = 0; t < y.size(); ++t) {
      tout[i * T + t] = y[t];
      if (t + 1 < y.size()) tin[i * T + t + 1] = y[t];  // inputs stop before <eos>; padding after
    }
    b.src_lengths.push_back(static_cast<int64_t>(s.size()));
  }
  b.src = IndexTensor(src, {B, S});
  b.tgt_in = IndexTensor(tin, {B, T});
  b.tgt_out = IndexTensor(tout, {B, T});
  return b;
}

SeqBatch ToyTask::sample(int64_t batch, Generator& gen) const {
  ATTN_CHECK(min_len >= 1 && max_len >= min_len, "ToyTask", "need 1 <= min_len <= max_len");
  std::vector<std::vector<int64_t>> sources(batch);
  for (auto& s : sources) {
    const int64_t len = min_len + gen.randint(static_cast<uint32_t>(max_len - min_len + 1));
    for (int64_t i = 0; i < len; ++i) s.push_back(kFirstSymbol + gen.randint(static_cast<uint32_t>(num_symbols)));
  }
  return make_batch(sources);
}

std::string ToyTask::token_str(int64_t id) {
  if (id == kPad) return "<pad>";
  if (id == kBos) return "<bos>";
  if (id == kEos) return "<eos>";
  const int64_t k = id - kFirstSymbol;
  if (k < 10) return std::string(1, static_cast<char>('0' + k));
  return std::string(1, static_cast<char>('a' + (k - 10) % 26));
}

}  // namespace attn::data
