// Dates: translate a date written the way people write it into ISO 8601, one character at a time — a
// small translation task whose correct alignment is known, so that attention can be graded.
//
//   "Wednesday, 3 March 2021"  ->  "2021-03-03"        "03.03.21"  ->  "2021-03-03"
//   "the 3rd of March 2021"    ->  "2021-03-03"        "3/3/2021"  ->  "2021-03-03"  (US: month first)
//
// Source formats (DateFormat), for 3 March 2021:
//   OrdinalOf          "the 3rd of March 2021"
//   DayMonthYear       "3 March 2021"
//   MonthDayYear       "March 3, 2021"
//   WeekdayDayMonth    "Wednesday, 3 March 2021"
//   WeekdayMonthAbbr   "Wed, Mar 3, 2021"
//   AbbrevShortYear    "3 mar 21"
//   DottedShortYear    "03.03.21"     day.month.year, as in German (always two digits each)
//   DottedLong         "3.3.2021"     day.month.year
//   UsSlash            "3/3/2021"     month/day/year, as in the US: the separator tells the field order
// ISO itself ("2021-03-03") is not a source: copying is not translating.
//
// Dates are drawn uniformly from [min_year-01-01, max_year-12-31] (leap years included, so 29 February
// appears only in leap years), then a format uniformly. Weekdays, where shown, are the true ones.
// Two-digit years follow the pivot rule  yy >= 50 -> 19yy,  yy < 50 -> 20yy,  so 1950..2049 round-trip;
// the short-year formats are used only for years in that window.
//
// Tokens are characters. Source: printable ASCII, id = kFirstSymbol + (c - ' '). Target: "0".."9" are
// kFirstSymbol + digit, "-" is kFirstSymbol + 10. kPad/kBos/kEos and the batch layout are toy_tasks.h's
// (SeqBatch), so models::Seq2Seq trains on DatesTask as on ToyTask.
//
// Gold alignment, gold[t] = the source character indices target character t comes from
// (target "YYYY-MM-DD", t = 0..9):
//   Y Y Y Y   a four-digit year: digit for digit.  A two-digit year "yy" at source s, s+1: the century
//             ("19"/"20", t = 0, 1) aligns to s (it is read off the first digit), then t = 2 -> s, 3 -> s+1.
//   M M, D D  written as two digits: digit for digit. As one digit "d" at s: both positions -> s (the
//             zero comes from the digit being alone). Written as a word ("March", "Mar", "mar"): both
//             positions -> every character of the word (any of them may identify the month).
//             An ordinal suffix ("rd") and a weekday are never gold: they carry nothing new.
//   - -       (t = 4, 7) empty: the hyphens come from no source character, and alignment_accuracy
//             leaves them out.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"
#include "attn/data/toy_tasks.h"

namespace attn::data {

enum class DateFormat {
  OrdinalOf,
  DayMonthYear,
  MonthDayYear,
  WeekdayDayMonth,
  WeekdayMonthAbbr,
  AbbrevShortYear,
  DottedShortYear,
  DottedLong,
  UsSlash,
};
inline constexpr int kNumDateFormats = 9;

// "ordinal_of", "day_month_year", ... (snake case of the enum); the reverse throws on an unknown name.
std::string date_format_name(DateFormat f);
DateFormat date_format_from_name(std::string_view name);
// Whether the format writes the year with two digits (then only 1950..2049 can be written).
bool date_format_short_year(DateFormat f);

// The proleptic Gregorian calendar.
bool is_leap_year(int year);
int days_in_month(int year, int month);         // month 1..12
int day_of_week(int year, int month, int day);  // 0 = Monday .. 6 = Sunday
bool is_valid_date(int year, int month, int day);

struct DateExample {
  int year = 0, month = 0, day = 0;
  DateFormat format = DateFormat::DayMonthYear;
  std::string source;                           // e.g. "the 3rd of March 2021"
  std::string target;                           // "2021-03-03"
  std::vector<std::vector<int64_t>> alignment;  // 10 entries: gold source indices per target character
};

struct DatesTask {
  int min_year = 1950, max_year = 2049;  // inclusive, within 1000..9999
  std::vector<DateFormat> formats;       // those to draw from; empty: all of them

  static constexpr int64_t kTargetLength = 10;  // "YYYY-MM-DD"

  static int64_t src_vocab_size() { return kFirstSymbol + 95; }
  static int64_t tgt_vocab_size() { return kFirstSymbol + 11; }

  // One date in one format. Throws on an invalid date, or a short-year format outside 1950..2049.
  DateExample example(int year, int month, int day, DateFormat format) const;
  // A random date in [min_year, max_year] in a random format (of `formats`, or all).
  DateExample sample_example(Generator& gen) const;
  std::vector<DateExample> sample_examples(int64_t n, Generator& gen) const;

  // The batch of `examples`, laid out as ToyTask's: src (B, S) padded, tgt_in = <bos> y_1..y_10,
  // tgt_out = y_1..y_10 <eos> (T = 11).
  SeqBatch make_batch(const std::vector<DateExample>& examples) const;
  // `batch` fresh examples; `examples` (optional) receives them, for their text and gold alignment.
  SeqBatch sample(int64_t batch, Generator& gen, std::vector<DateExample>* examples = nullptr) const;

  // Characters <-> ids. encode_* throw on a character outside the vocabulary; decode_* skip <pad>,
  // <bos>, <eos> and throw on ids outside the vocabulary.
  static std::vector<int64_t> encode_source(std::string_view text);
  static std::vector<int64_t> encode_target(std::string_view text);
  static std::string decode_source(const std::vector<int64_t>& ids);
  static std::string decode_target(const std::vector<int64_t>& ids);
  // One token for labels: the character, or "<pad>", "<bos>", "<eos>" (a space shows as "␣").
  static std::string src_token_str(int64_t id);
  static std::string tgt_token_str(int64_t id);
};

// The fraction of target positions whose attention argmax (the first maximal source position) is one
// of their gold source indices. attention: (T_tgt, S) with T_tgt >= gold.size() (rows past the gold,
// such as the <eos> step, are ignored); positions with no gold (the hyphens) are left out; 0 when no
// position has gold.
double alignment_accuracy(const Tensor& attention, const std::vector<std::vector<int64_t>>& gold);
// The same over a batch: attention (B, T, S) — Seq2SeqOutput::attention under teacher forcing — against
// each example's alignment, pooled over all scored positions.
double batch_alignment_accuracy(const Tensor& attention, const std::vector<DateExample>& examples);

}  // namespace attn::data
