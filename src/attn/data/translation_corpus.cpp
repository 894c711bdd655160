#include "attn/data/translation_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include "attn/core/error.h"

namespace attn::data {

namespace {

constexpr const char* kOp = "load_trans_de_en";

// Splits `s` on every occurrence of `sep`.
std::vector<std::string_view> split_on(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string_view::npos; start = at + sep.size())
    out.push_back(s.substr(start, at - start));
  out.push_back(s.substr(start));
  return out;
}

bool ends_sentence(std::string_view s) {
  // The last character that is not a closing quote must be . ! or ?
  static const std::vector<std::string_view> closers = {"\"",       "'",        "\xe2\x80\x9c", "\xe2\x80\x9d",
                                                        "\xc2\xbb", "\xc2\xab", "\xe2\x80\x99"};
  bool trimmed = true;
  while (trimmed && !s.empty()) {
    trimmed = false;
    for (std::string_view c : closers)
      if (s.size() >= c.size() && s.substr(s.size() - c.size()) == c) {
        s.remove_suffix(c.size());
        trimmed = true;
      }
  }
  return !s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == '?');
}

// 64-bit FNV-1a.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), size_t{0}); }
  size_t find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void unite(size_t a, size_t b) { parent[find(a)] = find(b); }
};

}  // namespace

std::string clean_dictionary_entry(std::string_view entry) {
  std::string out;
  out.reserve(entry.size());
  char closing = 0;  // inside {…}, […] or <…>: the bracket that ends it
  for (char c : entry) {
    if (closing) {
      if (c == closing) closing = 0;
      continue;
    }
    if (c == '{') closing = '}';
    else if (c == '[') closing = ']';
    else if (c == '<') closing = '>';
    else out += c;
  }
  // Collapse whitespace runs and trim.
  std::string collapsed;
  bool space = false;
  for (char c : out) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !collapsed.empty();
      continue;
    }
    if (space) collapsed += ' ';
    space = false;
    collapsed += c;
  }
  // Tags before punctuation leave "word ." — rejoin the space the tag left.
  std::string fixed;
  for (size_t i = 0; i < collapsed.size(); ++i) {
    if (collapsed[i] == ' ' && i + 1 < collapsed.size() &&
        (collapsed[i + 1] == '.' || collapsed[i + 1] == ',' || collapsed[i + 1] == '!' || collapsed[i + 1] == '?' ||
         collapsed[i + 1] == ';' || collapsed[i + 1] == ':') &&
        (i + 2 == collapsed.size() || collapsed[i + 2] == ' '))
      continue;
    fixed += collapsed[i];
  }
  return fixed;
}

std::string held_out_key(std::string_view text) {
  std::string k;
  for (char c : text) k += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  while (!k.empty()) {
    const unsigned char last = static_cast<unsigned char>(k.back());
    // . ! ? ' " space, and the last byte of UTF-8 closing quotes („“” «» ’: 0x9c 0x9d 0xbb 0xab 0x99) — strip
    // the whole multi-byte quote when its last byte matches.
    if (last == '.' || last == '!' || last == '?' || last == '"' || last == '\'' || last == ' ') {
      k.pop_back();
    } else if (k.size() >= 2 && (last == 0xbb || last == 0xab) && static_cast<unsigned char>(k[k.size() - 2]) == 0xc2) {
      k.resize(k.size() - 2);
    } else if (k.size() >= 3 && (last == 0x9c || last == 0x9d || last == 0x99) &&
               static_cast<unsigned char>(k[k.size() - 3]) == 0xe2 &&
               static_cast<unsigned char>(k[k.size() - 2]) == 0x80) {
      k.resize(k.size() - 3);
    } else {
      break;
    }
  }
  return k;
}

std::string clean_phrase(std::string_view text) {
  std::string out;
  int depth = 0;  // inside ( … )
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (depth == 0) out += c;
  }
  // "/AHU/": an abbreviation between slashes, after a space.
  std::string no_abbr;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '/' && (i == 0 || out[i - 1] == ' ')) {
      const size_t end = out.find('/', i + 1);
      if (end != std::string::npos && out.find(' ', i + 1) > end) {
        i = end;
        continue;
      }
    }
    no_abbr += out[i];
  }
  return clean_dictionary_entry(no_abbr);  // collapses the spaces left behind
}

int64_t count_words(std::string_view text) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

std::string TranslationCorpusReport::to_string() const {
  std::ostringstream os;
  os << "  dictionary entries read          " << lines << "\n"
     << "  entries with unaligned sides     " << mismatched_lines << " (skipped)\n"
     << "  aligned sub-entry pairs          " << sub_entries << "\n"
     << "  sentence pairs (both sides)      " << sentences << "\n"
     << "  dropped: ' / ' alternatives      " << alternatives << "\n"
     << "  dropped: exact duplicates        " << duplicates << "\n"
     << "  groups sharing a sentence        " << groups << "\n"
     << "  train / validation / test pairs  " << train << " / " << val << " / " << test << "\n"
     << "  phrase pairs (training only)     " << phrases << " (" << phrases_held_out
     << " dropped: a side equals a held-out sentence)\n";
  return os.str();
}

TranslationSplits load_trans_de_en(const TranslationCorpusOptions& o) {
  ATTN_CHECK(o.min_words >= 1 && o.max_words >= o.min_words, kOp,
             "need 1 <= min_words <= max_words, got " << o.min_words << ", " << o.max_words);
  ATTN_CHECK(o.val_fraction >= 0 && o.test_fraction >= 0 && o.val_fraction + o.test_fraction < 1, kOp,
             "val_fraction + test_fraction must be in [0, 1)");
  std::ifstream in(o.path);
  ATTN_CHECK(in, kOp, "cannot read " << o.path << " (Debian package trans-de-en; scripts/setup.sh installs it)");
  TranslationSplits out;
  TranslationCorpusReport& r = out.report;
  std::vector<SentencePair> pairs;
  std::vector<SentencePair> phrase_candidates;  // every other aligned sub-entry (cleaned of tags)
  std::set<std::pair<std::string, std::string>> seen;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sep = line.find(" :: ");
    if (sep == std::string::npos) continue;
    ++r.lines;
    const auto de_parts = split_on(std::string_view(line).substr(0, sep), " | ");
    const auto en_parts = split_on(std::string_view(line).substr(sep + 4), " | ");
    if (de_parts.size() != en_parts.size()) {
      ++r.mismatched_lines;
      continue;
    }
    for (size_t i = 0; i < de_parts.size(); ++i) {
      std::string de = clean_dictionary_entry(de_parts[i]), en = clean_dictionary_entry(en_parts[i]);
      if (de.empty() || en.empty()) continue;
      ++r.sub_entries;
      const int64_t wd = count_words(de), we = count_words(en);
      if (wd < o.min_words || we < o.min_words || wd > o.max_words || we > o.max_words || !ends_sentence(de) ||
          !ends_sentence(en)) {
        if (o.phrases) phrase_candidates.push_back({std::move(de), std::move(en)});
        continue;
      }
      ++r.sentences;
      if (de.find(" / ") != std::string::npos || en.find(" / ") != std::string::npos) {
        ++r.alternatives;
        continue;
      }
      if (!seen.emplace(de, en).second) {
        ++r.duplicates;
        continue;
      }
      pairs.push_back({std::move(de), std::move(en)});
    }
  }
  ATTN_CHECK(!pairs.empty(), kOp, o.path << " gave no sentence pairs (is it the trans-de-en dictionary?)");

  // Link pairs that share a German or an English sentence; each group goes to one split.
  UnionFind uf(pairs.size());
  std::unordered_map<std::string, size_t> by_de, by_en;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto [d, dn] = by_de.emplace(pairs[i].de, i);
    if (!dn) uf.unite(i, d->second);
    auto [e, en] = by_en.emplace(pairs[i].en, i);
    if (!en) uf.unite(i, e->second);
  }
  std::unordered_map<size_t, std::string> group_key;  // root -> smallest German sentence
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto [it, fresh] = group_key.emplace(uf.find(i), pairs[i].de);
    if (!fresh && pairs[i].de < it->second) it->second = pairs[i].de;
  }
  r.groups = static_cast<int64_t>(group_key.size());
  const auto val_cut = static_cast<uint64_t>(o.val_fraction * 10000),
             test_cut = static_cast<uint64_t>((o.val_fraction + o.test_fraction) * 10000);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const uint64_t bucket = fnv1a(group_key[uf.find(i)]) % 10000;
    (bucket < val_cut ? out.val : bucket < test_cut ? out.test : out.train).push_back(pairs[i]);
  }
  r.train = static_cast<int64_t>(out.train.size());
  r.val = static_cast<int64_t>(out.val.size());
  r.test = static_cast<int64_t>(out.test.size());

  // Phrases: synonyms paired, parentheses removed, nothing equal to a held-out sentence, no duplicates.
  std::set<std::string> held_de, held_en;
  for (const auto* split : {&out.val, &out.test})
    for (const auto& p : *split) {
      // Under both keys: as written, and as a phrase would look after clean_phrase ("(nicht)" removed).
      held_de.insert(held_out_key(p.de)), held_en.insert(held_out_key(p.en));
      held_de.insert(held_out_key(clean_phrase(p.de))), held_en.insert(held_out_key(clean_phrase(p.en)));
    }
  for (const auto& c : phrase_candidates) {
    const auto de_syn = split_on(c.de, "; "), en_syn = split_on(c.en, "; ");
    const size_t n = de_syn.size() == en_syn.size() ? de_syn.size() : 1;
    for (size_t i = 0; i < n; ++i) {
      std::string de = clean_phrase(de_syn[i]), en = clean_phrase(en_syn[i]);
      if (de.empty() || en.empty() || count_words(de) > o.max_phrase_words || count_words(en) > o.max_phrase_words)
        continue;
      if (held_de.count(held_out_key(de)) || held_en.count(held_out_key(en))) {
        ++r.phrases_held_out;
        continue;
      }
      if (!seen.emplace(de, en).second) continue;  // also skips the sentence pairs, already in `seen`
      out.phrases.push_back({std::move(de), std::move(en)});
    }
  }
  r.phrases = static_cast<int64_t>(out.phrases.size());
  return out;
}

}  // namespace attn::data
