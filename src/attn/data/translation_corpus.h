// German–English sentence pairs from Debian's `trans-de-en` (Frank Richter's TU Chemnitz dictionary,
// /usr/share/trans/de-en), for machine translation with attention.
//
// The file is a dictionary, one entry per line:
//
//   Schiff {n} | Schiffe {pl} | Das Schiff sank. :: ship | ships | The ship sank.
//   └── German side ──────────────────────────┘    └── English side ───────────┘
//
// "::" separates the languages and " | " the aligned sub-entries (the i-th German one translates the i-th
// English one). A sub-entry is a headword, an inflected form, or an example sentence. We keep the pairs
// that are real sentences on both sides — at least `min_words` words and ending in . ! or ? — after
// cleaning:
//   - grammar and usage tags are removed: {m} {f} {n} {pl} {vt} …, [coll.] [techn.] [Br.] …, <abbreviations>;
//   - whitespace is collapsed; pairs offering alternatives with " / " ("schneidet … / schneidet durch …") are
//     dropped, since neither side is one sentence;
//   - exact duplicate pairs are kept once.
//
// Splitting without leaks. A German sentence may appear with two English translations (or the reverse);
// such pairs are linked, and every connected group goes to one split, so no sentence of the test split is
// seen in training on either side. The split of a group is decided by a hash (FNV-1a) of its smallest
// German sentence: deterministic, and independent of the file's order and of the other groups.
//
// Phrases: the other aligned sub-entries (~400,000 pairs once synonyms are paired) — headwords ("Schiff" :: "ship"),
// inflections, idioms,
// sentences under four words ("Das ist die Höhe!" :: "That takes the cake!") — are real parallel data for
// the vocabulary, so they are kept as a training-only list:
//   - synonyms separated by "; " are paired in order when both sides list as many, otherwise the first of
//     each side is paired ("Planungsprozess; Planungsverfahren :: planning process; planning procedure");
//   - explanations in parentheses and /ABBR/ abbreviations are removed, whitespace collapsed;
//   - no leak: a phrase is dropped when either side equals a validation or test sentence of that language,
//     as written or cleaned like a phrase, compared case-insensitively and without final punctuation
//     (`held_out_key`); duplicates are kept once.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::data {

inline constexpr const char* kTransDeEnPath = "/usr/share/trans/de-en";

struct SentencePair {
  std::string de, en;
  bool operator==(const SentencePair&) const = default;
};

struct TranslationCorpusOptions {
  std::string path = kTransDeEnPath;
  int64_t min_words = 4;       // on both sides
  int64_t max_words = 60;      // longer pairs are dropped (rare; keeps batches reasonable)
  double val_fraction = 0.05;  // of the groups, by hash
  double test_fraction = 0.05;
  bool phrases = true;            // also collect the training-only phrase pairs
  int64_t max_phrase_words = 12;  // longer phrases are dropped
};

struct TranslationCorpusReport {
  int64_t lines = 0;             // dictionary entries read (comments skipped)
  int64_t mismatched_lines = 0;  // entries whose two sides have different numbers of sub-entries (skipped)
  int64_t sub_entries = 0;       // aligned (de, en) sub-entry pairs, after cleaning, non-empty
  int64_t sentences = 0;         // of those, sentence pairs (min_words.., max_words, final . ! ?)
  int64_t alternatives = 0;      // sentence pairs dropped for " / " alternatives
  int64_t duplicates = 0;        // exact duplicate pairs dropped
  int64_t groups = 0;            // groups of pairs that share a sentence
  int64_t train = 0, val = 0, test = 0;
  int64_t phrases = 0;            // training-only phrase pairs kept
  int64_t phrases_held_out = 0;   // phrase pairs dropped because a side equals a validation or test sentence
  std::string to_string() const;  // a small table
};

struct TranslationSplits {
  std::vector<SentencePair> train, val, test;
  std::vector<SentencePair> phrases;  // training only (see above); empty unless options.phrases
  TranslationCorpusReport report;
};

// Reads, cleans, deduplicates and splits the corpus. Throws attn::Error naming the file when it is missing
// (with the package to install) or yields no pairs.
TranslationSplits load_trans_de_en(const TranslationCorpusOptions& options = TranslationCorpusOptions());

// One sub-entry without its tags and with single spaces: "Schiff {n} [naut.]" -> "Schiff".
std::string clean_dictionary_entry(std::string_view entry);
// Words separated by spaces (after cleaning).
int64_t count_words(std::string_view text);
// The key under which a phrase is compared with the held-out sentences: ASCII lower case, without final
// punctuation (. ! ? and closing quotes) and spaces. "Das Schiff sank." and "das schiff sank" share one.
std::string held_out_key(std::string_view text);
// A phrase's side without "(explanations)" and "/ABBR/" abbreviations, whitespace collapsed.
std::string clean_phrase(std::string_view text);

}  // namespace attn::data
