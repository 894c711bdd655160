#include "attn/train/translation_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>

#include "attn/core/error.h"

namespace attn::train {

namespace {

// ---- UTF-8 and Python's notion of whitespace -------------------------------------------------------

// Decodes the code point at s[i], setting `len` to its byte count. Malformed bytes decode one at a
// time as 0xDC00 + byte (Python's "surrogateescape" stand-ins), so that nothing is lost or merged.
char32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 < 0x80) {
    len = 1;
    return b0;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    len = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | byte(1);
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && cont(1) && cont(2)) {
    const char32_t c = (static_cast<char32_t>(b0 & 0x0F) << 12) | (byte(1) << 6) | byte(2);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
      len = 3;
      return c;
    }
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const char32_t c = (static_cast<char32_t>(b0 & 0x07) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
    if (c >= 0x10000 && c <= 0x10FFFF) {
      len = 4;
      return c;
    }
  }
  len = 1;
  return 0xDC00 + b0;
}

// Python's str.isspace() (what str.split() and re's \s split on).
bool is_py_space(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// str.split(): the maximal runs of non-whitespace code points, as byte strings.
std::vector<std::string> py_split(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    const char32_t c = decode_utf8(s, i, len);
    if (is_py_space(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.append(s.substr(i, len));
    }
    i += len;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// The code points of `s` with every whitespace character removed (chrF's preprocessing).
std::u32string code_points_without_space(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    const char32_t c = decode_utf8(s, i, len);
    if (!is_py_space(c)) out.push_back(c);
    i += len;
  }
  return out;
}

// Python's str.rstrip().
std::string_view py_rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    // Step back over one code point: continuation bytes, then its lead byte.
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    size_t len;
    const char32_t c = decode_utf8(s, start, len);
    if (start + len != end) {  // not one well-formed code point: a lone byte, which is no whitespace
      break;
    }
    if (!is_py_space(c)) break;
    end = start;
  }
  return s.substr(0, end);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  if (pos == 0) return;  // nothing found
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [\{-\~\[-\` -\&\(-\+\:-\@\/]: { | } ~  [ \ ] ^ _ `  space ! " # $ % &  ( ) * +  : ; < = > ? @  /
bool is_13a_symbol(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) ||
         (c >= 0x3A && c <= 0x40) || c == '/';
}

}  // namespace

std::vector<std::string> tokenize_13a(std::string_view line) {
  std::string s(line);
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  replace_all(s, "&quot;", "\"");
  replace_all(s, "&amp;", "&");
  replace_all(s, "&lt;", "<");
  replace_all(s, "&gt;", ">");
  s = " " + s + " ";

  // Each pass below is re.sub: matches found left to right, never overlapping, scanning resumes after
  // a match. Working on bytes gives Python's result on code points: the patterns' fixed characters are
  // ASCII, and a UTF-8 lead or continuation byte is a "[^0-9]" just as its whole code point is.
  std::string t;
  t.reserve(s.size() * 2);
  for (char c : s) {  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
    if (is_13a_symbol(c)) {
      t += ' ';
      t += c;
      t += ' ';
    } else {
      t += c;
    }
  }
  s.swap(t);
  t.clear();
  for (size_t i = 0; i < s.size();) {  // ([^0-9])([\.,]) -> "\1 \2 "
    if (i + 1 < s.size() && !is_digit(s[i]) && (s[i + 1] == '.' || s[i + 1] == ',')) {
      t += s[i];
      t += ' ';
      t += s[i + 1];
      t += ' ';
      i += 2;
    } else {
      t += s[i++];
    }
  }
  s.swap(t);
  t.clear();
  for (size_t i = 0; i < s.size();) {  // ([\.,])([^0-9]) -> " \1 \2"
    if (i + 1 < s.size() && (s[i] == '.' || s[i] == ',') && !is_digit(s[i + 1])) {
      t += ' ';
      t += s[i];
      t += ' ';
      t += s[i + 1];
      i += 2;
    } else {
      t += s[i++];
    }
  }
  s.swap(t);
  t.clear();
  for (size_t i = 0; i < s.size();) {  // ([0-9])(-) -> "\1 \2 "
    if (i + 1 < s.size() && is_digit(s[i]) && s[i + 1] == '-') {
      t += s[i];
      t += " - ";
      i += 2;
    } else {
      t += s[i++];
    }
  }
  return py_split(t);
}

namespace {

// An n-gram (n <= 4) of token ids; unused slots hold kNone.
using NGram = std::array<uint32_t, 4>;
constexpr uint32_t kNone = 0xFFFFFFFFu;

struct NGramHash {
  size_t operator()(const NGram& g) const {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the four ids
    for (uint32_t v : g) h = (h ^ v) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

using NGramCounts = std::unordered_map<NGram, int64_t, NGramHash>;

NGramCounts count_ngrams(const std::vector<uint32_t>& ids, int n) {
  NGramCounts counts;
  for (size_t i = 0; i + n <= ids.size(); ++i) {
    NGram g;
    g.fill(kNone);
    for (int k = 0; k < n; ++k) g[k] = ids[i + k];
    ++counts[g];
  }
  return counts;
}

}  // namespace

BleuResult corpus_bleu(const std::vector<std::vector<std::string>>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, const BleuOptions& options) {
  ATTN_CHECK(hypotheses.size() == references.size(), "corpus_bleu",
             hypotheses.size() << " hypotheses but " << references.size() << " references (one each)");
  BleuResult r;
  std::unordered_map<std::string, uint32_t> vocab;  // tokens -> ids, so n-grams are small integer arrays
  auto ids_of = [&](const std::vector<std::string>& tokens) {
    std::vector<uint32_t> ids;
    ids.reserve(tokens.size());
    for (const auto& t : tokens) ids.push_back(vocab.emplace(t, static_cast<uint32_t>(vocab.size())).first->second);
    return ids;
  };
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const std::vector<uint32_t> h = ids_of(hypotheses[i]), ref = ids_of(references[i]);
    r.hyp_len += static_cast<int64_t>(h.size());
    r.ref_len += static_cast<int64_t>(ref.size());
    for (int n = 1; n <= 4; ++n) {
      const NGramCounts hc = count_ngrams(h, n), rc = count_ngrams(ref, n);
      int64_t total = 0;
      for (const auto& [g, c] : hc) {
        total += c;
        const auto it = rc.find(g);
        if (it != rc.end()) r.matches[n - 1] += std::min(c, it->second);
      }
      r.totals[n - 1] += options.nltk_denominators ? std::max<int64_t>(1, total) : total;
    }
  }

  const double c = static_cast<double>(r.hyp_len), ref_len = static_cast<double>(r.ref_len);
  r.ratio = r.ref_len > 0 ? c / ref_len : 0.0;
  r.brevity_penalty = r.hyp_len < r.ref_len ? (r.hyp_len > 0 ? std::exp(1.0 - ref_len / c) : 0.0) : 1.0;
  if (r.matches[0] == 0) return r;  // nothing matches at all (then no higher order does either): 0

  // The precisions as sacreBLEU's compute_bleu: an order that no hypothesis reaches (total_n = 0) ends
  // the loop and leaves itself and the orders above it at 0.
  double smooth = 1;  // exp smoothing: doubles at each zero match count
  for (int n = 0; n < 4 && r.totals[n] > 0; ++n) {
    const double total = static_cast<double>(r.totals[n]);
    if (r.matches[n] > 0) {
      r.precisions[n] = 100.0 * static_cast<double>(r.matches[n]) / total;
    } else if (options.smoothing == BleuSmoothing::Exp) {
      smooth *= 2;
      r.precisions[n] = 100.0 / (smooth * total);
    }
  }
  double log_sum = 0;
  for (double p : r.precisions) {
    if (p <= 0) return r;  // a zero precision: BLEU 0 (sacreBLEU's log(0) stand-in, -9999999999, gives 0 too)
    log_sum += std::log(p);
  }
  r.bleu = r.brevity_penalty * std::exp(log_sum / 4.0);
  return r;
}

BleuResult corpus_bleu_text(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                            const BleuOptions& options) {
  ATTN_CHECK(hypotheses.size() == references.size(), "corpus_bleu_text",
             hypotheses.size() << " hypotheses but " << references.size() << " references (one each)");
  std::vector<std::vector<std::string>> h, ref;
  h.reserve(hypotheses.size());
  ref.reserve(references.size());
  for (const auto& s : hypotheses) h.push_back(tokenize_13a(py_rstrip(s)));
  for (const auto& s : references) ref.push_back(tokenize_13a(py_rstrip(s)));
  return corpus_bleu(h, ref, options);
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                   int char_order, double beta) {
  ATTN_CHECK(hypotheses.size() == references.size(), "corpus_chrf",
             hypotheses.size() << " hypotheses but " << references.size() << " references (one each)");
  ATTN_CHECK(char_order >= 1, "corpus_chrf", "char_order must be at least 1, got " << char_order);
  ATTN_CHECK(beta > 0, "corpus_chrf", "beta must be positive, got " << beta);
  const size_t N = static_cast<size_t>(char_order);
  std::vector<int64_t> hyp_n(N, 0), ref_n(N, 0), match_n(N, 0);
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const std::u32string h = code_points_without_space(hypotheses[i]);
    const std::u32string ref = code_points_without_space(references[i]);
    for (size_t n = 1; n <= N; ++n) {
      std::unordered_map<std::u32string_view, int64_t> rc;
      for (size_t k = 0; k + n <= ref.size(); ++k) ++rc[std::u32string_view(ref).substr(k, n)];
      std::unordered_map<std::u32string_view, int64_t> hc;
      for (size_t k = 0; k + n <= h.size(); ++k) ++hc[std::u32string_view(h).substr(k, n)];
      int64_t hyp_count = 0, match = 0, ref_count = 0;
      for (const auto& [g, c] : hc) {
        hyp_count += c;
        const auto it = rc.find(g);
        if (it != rc.end()) match += std::min(c, it->second);
      }
      for (const auto& [g, c] : rc) ref_count += c;
      hyp_n[n - 1] += rc.empty() ? 0 : hyp_count;  // sacreBLEU: no reference n-grams, no hypothesis ones
      ref_n[n - 1] += ref_count;
      match_n[n - 1] += match;
    }
  }
  double avg_p = 0, avg_r = 0;
  int effective = 0;
  for (size_t n = 0; n < N; ++n) {
    if (hyp_n[n] > 0 && ref_n[n] > 0) {
      avg_p += static_cast<double>(match_n[n]) / static_cast<double>(hyp_n[n]);
      avg_r += static_cast<double>(match_n[n]) / static_cast<double>(ref_n[n]);
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  avg_p /= effective;
  avg_r /= effective;
  if (avg_p + avg_r == 0) return 0.0;
  const double b2 = beta * beta;
  return 100.0 * (1 + b2) * avg_p * avg_r / (b2 * avg_p + avg_r);
}

const std::vector<LengthBucket>& default_length_buckets() {
  static const std::vector<LengthBucket> b = {{"4-8", 4, 8}, {"9-14", 9, 14}, {"15+", 15, 1 << 30}};
  return b;
}

std::vector<TranslationScore> score_translations(const std::vector<std::string>& hyps,
                                                 const std::vector<std::string>& refs,
                                                 const std::vector<int64_t>& words,
                                                 const std::vector<LengthBucket>& buckets) {
  ATTN_CHECK(hyps.size() == refs.size() && refs.size() == words.size(), "score_translations",
             hyps.size() << " hypotheses, " << refs.size() << " references and " << words.size()
                         << " source lengths: they must be as many");
  auto score = [&](const std::string& label, int64_t lo, int64_t hi) {
    std::vector<std::string> h, r;
    for (size_t i = 0; i < hyps.size(); ++i)
      if (words[i] >= lo && words[i] <= hi) h.push_back(hyps[i]), r.push_back(refs[i]);
    TranslationScore s{label, static_cast<int64_t>(h.size()), 0, 0};
    if (!h.empty()) s.bleu = corpus_bleu_text(h, r).bleu, s.chrf = corpus_chrf(h, r);
    return s;
  };
  std::vector<TranslationScore> out = {score("all", 0, INT64_MAX)};
  for (const LengthBucket& b : buckets) out.push_back(score(b.label, b.min_words, b.max_words));
  return out;
}

}  // namespace attn::train
