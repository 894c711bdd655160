// Translation metrics: corpus BLEU (Papineni et al. 2002) on the "13a" tokenization, and chrF
// (Popović 2015), both computed the way sacreBLEU (Post 2018) computes them, so that the numbers can be
// compared with published ones.
//
// BLEU-4 over a corpus of hypotheses h_i with one reference r_i each (token lists):
//
//   match_n = Σ_i Σ_{g ∈ n-grams(h_i)} min(count_{h_i}(g), count_{r_i}(g))   clipped n-gram matches
//   total_n = Σ_i (|h_i| - n + 1)⁺                                          hypothesis n-grams
//   p_n     = match_n / total_n                                             modified precision, n = 1..4
//   c = Σ_i |h_i|,  r = Σ_i |r_i|                                           corpus lengths
//   BP      = 1 if c ≥ r, else exp(1 - r / c)   (0 when c = 0)              brevity penalty
//   BLEU    = 100 · BP · exp(¼ Σ_n log p_n)                                 in [0, 100]
//
// The counts are summed over the whole corpus before dividing: corpus BLEU is not the mean of sentence
// BLEUs. Without smoothing a single p_n = 0 makes BLEU 0. sacreBLEU's "exp" smoothing (mteval-v13a's)
// replaces the k-th zero precision (k = 1, 2, ...) by 1 / (2^k · total_n).
//
// chrF_β over character n-grams of order n = 1..N (N = 6, β = 2 by default; whitespace removed, a
// "character" is a Unicode code point):
//
//   P_n = match_n / hyp_n,  R_n = match_n / ref_n      with the counts summed over the corpus
//   P = mean of P_n, R = mean of R_n                   over the orders where hyp_n > 0 and ref_n > 0
//   chrF_β = 100 · (1 + β²) P R / (β² P + R)           (0 when P + R = 0); β = 2 weighs recall 4x
//
// The 13a tokenizer (mteval-v13a.pl, sacreBLEU's default) splits punctuation off words but keeps
// numbers such as "3.14" and "1,000" whole; see tokenize_13a.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::train {

// sacreBLEU's "13a" tokenization of one line, token for token (byte for byte) as its Python:
//   1. remove "<skipped>"; join "-\n" (a word broken at a line end); other "\n" become spaces;
//      unescape &quot; &amp; &lt; &gt; (in that order); pad the line with a space on each side;
//   2. pad every ASCII symbol but ' , - . with spaces:  [{-~ [-` space-& (-+ :-@ /]  ->  " \1 "
//   3. ([^0-9])([.,]) -> "\1 \2 "     a period/comma after a non-digit is split off
//   4. ([.,])([^0-9]) -> " \1 \2"     and one before a non-digit
//   5. ([0-9])(-)     -> "\1 \2 "     a hyphen after a digit ("x-5" stays, "5-x" splits)
//   6. split on whitespace (Python's str.split(): Unicode whitespace, NBSP and U+3000 included).
// Each rewrite is one left-to-right pass of non-overlapping matches, as re.sub. Input is UTF-8; bytes
// other than ASCII pass through unchanged (invalid UTF-8 too, which Python could not have read).
std::vector<std::string> tokenize_13a(std::string_view line);

enum class BleuSmoothing {
  None,  // a zero precision gives BLEU 0 (sacreBLEU's "none"; NLTK's corpus_bleu default, too)
  Exp,   // sacreBLEU's default "exp": the k-th zero match count counts as 1 / 2^k
};

struct BleuOptions {
  BleuSmoothing smoothing = BleuSmoothing::None;
  // NLTK's corpus_bleu adds max(1, sentence n-gram count) to total_n for every sentence, so a
  // hypothesis shorter than n still adds 1 to the n-gram denominator. Off: the standard (sacreBLEU's,
  // Papineni's) totals. The two agree when every hypothesis has at least 4 tokens.
  bool nltk_denominators = false;
};

struct BleuResult {
  double bleu = 0;                             // in [0, 100]
  std::array<double, 4> precisions{};          // p_1..p_4 in percent (after smoothing; 0 when not reached)
  double brevity_penalty = 0, ratio = 0;       // BP and c / r (0 when r = 0)
  int64_t hyp_len = 0, ref_len = 0;            // c and r
  std::array<int64_t, 4> matches{}, totals{};  // match_n and total_n
};

// Corpus BLEU-4 of tokenized hypotheses against one tokenized reference each (same count).
BleuResult corpus_bleu(const std::vector<std::vector<std::string>>& hypotheses,
                       const std::vector<std::vector<std::string>>& references, const BleuOptions& options = {});

// The same on raw lines, each tokenized with tokenize_13a after trailing whitespace is removed (as
// sacreBLEU's BLEU does): corpus_bleu_text(hyps, refs, {BleuSmoothing::Exp}) is `sacrebleu` on
// default settings.
BleuResult corpus_bleu_text(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                            const BleuOptions& options = {});

// Corpus chrF_β in [0, 100] (sacreBLEU 2's CHRF(char_order, word_order=0, beta), whitespace removed, no
// eps smoothing). One reference per hypothesis. A sentence whose reference has no n-grams of order n
// adds none of its hypothesis n-grams to hyp_n either (as sacreBLEU).
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                   int char_order = 6, double beta = 2.0);

}  // namespace attn::train

namespace attn::train {

// BLEU and chrF of a set of translations, overall and by source length (in words), as the translation
// evaluation reports them.
struct TranslationScore {
  std::string label;  // "all", or a bucket: "4-8", "9-14", "15+"
  int64_t sentences = 0;
  double bleu = 0, chrf = 0;
};
struct LengthBucket {
  std::string label;
  int64_t min_words = 0, max_words = 0;  // inclusive
};
// 4-8, 9-14 and 15+ source words (the corpus keeps pairs of 4..60 words).
const std::vector<LengthBucket>& default_length_buckets();
// The first entry is "all"; then one per bucket (a bucket with no sentence scores 0).
std::vector<TranslationScore> score_translations(const std::vector<std::string>& hypotheses,
                                                 const std::vector<std::string>& references,
                                                 const std::vector<int64_t>& source_words,
                                                 const std::vector<LengthBucket>& buckets = default_length_buckets());

}  // namespace attn::train
