#include "attn/data/dates_task.h"

#include <algorithm>
#include <cctype>

#include "attn/core/error.h"

namespace attn::data {

namespace {

constexpr const char* kMonths[12] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kWeekdays[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr const char* kFormatNames[kNumDateFormats] = {"ordinal_of",        "day_month_year",     "month_day_year",
                                                       "weekday_day_month", "weekday_month_abbr", "abbrev_short_year",
                                                       "dotted_short_year", "dotted_long",        "us_slash"};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                   // [0, 399]
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + doe - 719468;
}

// The inverse (civil_from_days).
void civil_from_days(int64_t z, int& year, int& month, int& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(yoe + era * 400 + (month <= 2));
}

std::string two_digits(int v) { return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)}; }

std::string ordinal_suffix(int day) {
  if (day % 100 >= 11 && day % 100 <= 13) return "th";
  switch (day % 10) {
    case 1:
      return "st";
    case 2:
      return "nd";
    case 3:
      return "rd";
    default:
      return "th";
  }
}

// Builds a source string piece by piece, remembering where the fields went.
struct SourceBuilder {
  std::string text;
  int64_t day_at = -1, day_len = 0, month_at = -1, month_len = 0, year_at = -1, year_len = 0;
  bool month_is_word = false;

  void lit(const std::string& s) { text += s; }
  void day(const std::string& s) { day_at = size(), day_len = len(s), text += s; }
  void month_digits(const std::string& s) { month_at = size(), month_len = len(s), text += s; }
  void month_word(const std::string& s) { month_at = size(), month_len = len(s), month_is_word = true, text += s; }
  void year(const std::string& s) { year_at = size(), year_len = len(s), text += s; }
  int64_t size() const { return static_cast<int64_t>(text.size()); }
  static int64_t len(const std::string& s) { return static_cast<int64_t>(s.size()); }
};

// Gold indices for a two-character target field written at [at, at + len) (digits, or a word).
void field_alignment(int64_t at, int64_t len, bool is_word, std::vector<int64_t>& first, std::vector<int64_t>& second) {
  if (is_word) {
    for (int64_t k = 0; k < len; ++k) first.push_back(at + k);
    second = first;
  } else if (len == 1) {
    first = {at};
    second = {at};
  } else {
    first = {at};
    second = {at + 1};
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string date_format_name(DateFormat f) {
  const int i = static_cast<int>(f);
  ATTN_CHECK(i >= 0 && i < kNumDateFormats, "date_format_name", "no date format " << i);
  return kFormatNames[i];
}

DateFormat date_format_from_name(std::string_view name) {
  for (int i = 0; i < kNumDateFormats; ++i)
    if (name == kFormatNames[i]) return static_cast<DateFormat>(i);
  std::string known;
  for (int i = 0; i < kNumDateFormats; ++i) known += std::string(i ? ", " : "") + kFormatNames[i];
  ATTN_FAIL("date_format_from_name", "unknown date format \"" << name << "\" (known: " << known << ")");
}

bool date_format_short_year(DateFormat f) {
  return f == DateFormat::AbbrevShortYear || f == DateFormat::DottedShortYear;
}

bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  ATTN_CHECK(month >= 1 && month <= 12, "days_in_month", "month " << month << " is not in 1..12");
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

bool is_valid_date(int year, int month, int day) {
  return month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

int day_of_week(int year, int month, int day) {
  ATTN_CHECK(is_valid_date(year, month, day), "day_of_week", year << "-" << month << "-" << day << " is no date");
  const int64_t z = days_from_civil(year, month, day);  // 1970-01-01 (z = 0) was a Thursday (3)
  return static_cast<int>(((z % 7) + 7 + 3) % 7);
}

DateExample DatesTask::example(int year, int month, int day, DateFormat format) const {
  ATTN_CHECK(year >= 1000 && year <= 9999, "DatesTask", "year " << year << " is not in 1000..9999");
  ATTN_CHECK(is_valid_date(year, month, day), "DatesTask",
             year << "-" << month << "-" << day << " is not a date (month 1..12, day 1.."
                  << (month >= 1 && month <= 12 ? days_in_month(year, month) : 31) << ")");
  ATTN_CHECK(!date_format_short_year(format) || (year >= 1950 && year <= 2049), "DatesTask",
             "format " << date_format_name(format) << " writes two-digit years, which stand for 1950..2049 only; got "
                       << year);
  const std::string month_name = kMonths[month - 1], month_abbr = month_name.substr(0, 3);
  const std::string weekday = kWeekdays[day_of_week(year, month, day)];
  const std::string d = std::to_string(day), m = std::to_string(month), y = std::to_string(year);
  const std::string yy = two_digits(year % 100);

  SourceBuilder b;
  switch (format) {
    case DateFormat::OrdinalOf:  // the 3rd of March 2021
      b.lit("the "), b.day(d), b.lit(ordinal_suffix(day) + " of "), b.month_word(month_name), b.lit(" "), b.year(y);
      break;
    case DateFormat::DayMonthYear:  // 3 March 2021
      b.day(d), b.lit(" "), b.month_word(month_name), b.lit(" "), b.year(y);
      break;
    case DateFormat::MonthDayYear:  // March 3, 2021
      b.month_word(month_name), b.lit(" "), b.day(d), b.lit(", "), b.year(y);
      break;
    case DateFormat::WeekdayDayMonth:  // Wednesday, 3 March 2021
      b.lit(weekday + ", "), b.day(d), b.lit(" "), b.month_word(month_name), b.lit(" "), b.year(y);
      break;
    case DateFormat::WeekdayMonthAbbr:  // Wed, Mar 3, 2021
      b.lit(weekday.substr(0, 3) + ", "), b.month_word(month_abbr), b.lit(" "), b.day(d), b.lit(", "), b.year(y);
      break;
    case DateFormat::AbbrevShortYear:  // 3 mar 21
      b.day(d), b.lit(" "), b.month_word(lower(month_abbr)), b.lit(" "), b.year(yy);
      break;
    case DateFormat::DottedShortYear:  // 03.03.21
      b.day(two_digits(day)), b.lit("."), b.month_digits(two_digits(month)), b.lit("."), b.year(yy);
      break;
    case DateFormat::DottedLong:  // 3.3.2021
      b.day(d), b.lit("."), b.month_digits(m), b.lit("."), b.year(y);
      break;
    case DateFormat::UsSlash:  // 3/3/2021
      b.month_digits(m), b.lit("/"), b.day(d), b.lit("/"), b.year(y);
      break;
    default:
      ATTN_FAIL("DatesTask", "no date format " << static_cast<int>(format));
  }

  DateExample e;
  e.year = year, e.month = month, e.day = day, e.format = format;
  e.source = std::move(b.text);
  e.target = y + "-" + two_digits(month) + "-" + two_digits(day);
  e.alignment.assign(kTargetLength, {});
  if (b.year_len == 4) {
    for (int64_t k = 0; k < 4; ++k) e.alignment[k] = {b.year_at + k};
  } else {  // "yy": the century is read off the first digit
    e.alignment[0] = e.alignment[1] = e.alignment[2] = {b.year_at};
    e.alignment[3] = {b.year_at + 1};
  }
  field_alignment(b.month_at, b.month_len, b.month_is_word, e.alignment[5], e.alignment[6]);
  field_alignment(b.day_at, b.day_len, false, e.alignment[8], e.alignment[9]);
  return e;
}

DateExample DatesTask::sample_example(Generator& gen) const {
  ATTN_CHECK(min_year >= 1000 && max_year <= 9999 && min_year <= max_year, "DatesTask",
             "need 1000 <= min_year <= max_year <= 9999, got " << min_year << ".." << max_year);
  std::vector<DateFormat> pool = formats;
  if (pool.empty())
    for (int i = 0; i < kNumDateFormats; ++i) pool.push_back(static_cast<DateFormat>(i));
  const int64_t first = days_from_civil(min_year, 1, 1), last = days_from_civil(max_year, 12, 31);
  int year, month, day;
  civil_from_days(first + gen.randint(static_cast<uint32_t>(last - first + 1)), year, month, day);
  std::vector<DateFormat> usable;
  for (DateFormat f : pool)
    if (!date_format_short_year(f) || (year >= 1950 && year <= 2049)) usable.push_back(f);
  ATTN_CHECK(
      !usable.empty(), "DatesTask",
      "no format can write the year " << year << ": the chosen formats all use two-digit years (1950..2049 only)");
  return example(year, month, day, usable[gen.randint(static_cast<uint32_t>(usable.size()))]);
}

std::vector<DateExample> DatesTask::sample_examples(int64_t n, Generator& gen) const {
  ATTN_CHECK(n >= 0, "DatesTask", "cannot sample " << n << " examples");
  std::vector<DateExample> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(sample_example(gen));
  return out;
}

SeqBatch DatesTask::make_batch(const std::vector<DateExample>& examples) const {
  ATTN_CHECK(!examples.empty(), "DatesTask", "no examples");
  const int64_t B = static_cast<int64_t>(examples.size()), T = kTargetLength + 1;
  std::vector<std::vector<int64_t>> sources;
  int64_t S = 0;
  for (const auto& e : examples) {
    sources.push_back(encode_source(e.source));
    ATTN_CHECK(!sources.back().empty(), "DatesTask", "empty source");
    S = std::max<int64_t>(S, static_cast<int64_t>(sources.back().size()));
  }
  std::vector<int64_t> src(B * S, kPad), tin(B * T, kPad), tout(B * T, kPad);
  SeqBatch b;
  for (int64_t i = 0; i < B; ++i) {
    std::copy(sources[i].begin(), sources[i].end(), src.begin() + i * S);
    const std::vector<int64_t> y = encode_target(examples[i].target);
    ATTN_CHECK(static_cast<int64_t>(y.size()) == kTargetLength, "DatesTask",
               "target \"" << examples[i].target << "\" is not YYYY-MM-DD");
    tin[i * T] = kBos;
    for (int64_t t = 0; t < kTargetLength; ++t) {
      tout[i * T + t] = y[t];
      tin[i * T + t + 1] = y[t];
    }
    tout[i * T + kTargetLength] = kEos;
    b.src_lengths.push_back(static_cast<int64_t>(sources[i].size()));
  }
  b.src = IndexTensor(src, {B, S});
  b.tgt_in = IndexTensor(tin, {B, T});
  b.tgt_out = IndexTensor(tout, {B, T});
  return b;
}

SeqBatch DatesTask::sample(int64_t batch, Generator& gen, std::vector<DateExample>* examples) const {
  std::vector<DateExample> ex = sample_examples(batch, gen);
  SeqBatch b = make_batch(ex);
  if (examples) *examples = std::move(ex);
  return b;
}

std::vector<int64_t> DatesTask::encode_source(std::string_view text) {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    ATTN_CHECK(c >= 0x20 && c <= 0x7E, "DatesTask",
               "source character " << static_cast<int>(c) << " at " << i << " is not printable ASCII");
    ids.push_back(kFirstSymbol + (c - 0x20));
  }
  return ids;
}

std::vector<int64_t> DatesTask::encode_target(std::string_view text) {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ATTN_CHECK((c >= '0' && c <= '9') || c == '-', "DatesTask",
               "target character '" << c << "' at " << i << " is not a digit or '-'");
    ids.push_back(c == '-' ? kFirstSymbol + 10 : kFirstSymbol + (c - '0'));
  }
  return ids;
}

std::string DatesTask::decode_source(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) {
    if (id == kPad || id == kBos || id == kEos) continue;
    ATTN_CHECK(id >= kFirstSymbol && id < src_vocab_size(), "DatesTask",
               "source id " << id << " is not in the vocabulary");
    s += static_cast<char>(0x20 + (id - kFirstSymbol));
  }
  return s;
}

std::string DatesTask::decode_target(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) {
    if (id == kPad || id == kBos || id == kEos) continue;
    ATTN_CHECK(id >= kFirstSymbol && id < tgt_vocab_size(), "DatesTask",
               "target id " << id << " is not in the vocabulary");
    s += id == kFirstSymbol + 10 ? '-' : static_cast<char>('0' + (id - kFirstSymbol));
  }
  return s;
}

std::string DatesTask::src_token_str(int64_t id) {
  if (id == kPad) return "<pad>";
  if (id == kBos) return "<bos>";
  if (id == kEos) return "<eos>";
  if (id == kFirstSymbol) return "\u2423";  // ␣, visible on a heatmap axis
  return decode_source({id});
}

std::string DatesTask::tgt_token_str(int64_t id) {
  if (id == kPad) return "<pad>";
  if (id == kBos) return "<bos>";
  if (id == kEos) return "<eos>";
  return decode_target({id});
}

namespace {

// Hits and scored positions of one (T, S) attention matrix at `data` against `gold`.
void score_alignment(const float* data, int64_t T, int64_t S, const std::vector<std::vector<int64_t>>& gold,
                     int64_t& hits, int64_t& scored) {
  ATTN_CHECK(static_cast<int64_t>(gold.size()) <= T, "alignment_accuracy",
             "attention has " << T << " target rows but the gold alignment has " << gold.size() << " positions");
  for (size_t t = 0; t < gold.size(); ++t) {
    if (gold[t].empty()) continue;
    const float* row = data + static_cast<int64_t>(t) * S;
    int64_t best = 0;
    for (int64_t s = 1; s < S; ++s)
      if (row[s] > row[best]) best = s;  // the first maximum, as torch.argmax
    for (int64_t g : gold[t])
      ATTN_CHECK(g >= 0 && g < S, "alignment_accuracy",
                 "gold source index " << g << " (target position " << t << ") is outside 0.." << S - 1);
    ++scored;
    hits += std::find(gold[t].begin(), gold[t].end(), best) != gold[t].end();
  }
}

}  // namespace

double alignment_accuracy(const Tensor& attention, const std::vector<std::vector<int64_t>>& gold) {
  ATTN_CHECK(attention.dim() == 2, "alignment_accuracy",
             "attention has " << attention.dim() << " dims, expected 2 (T_tgt, S)");
  const int64_t T = attention.shape()[0], S = attention.shape()[1];
  ATTN_CHECK(S > 0, "alignment_accuracy", "attention has no source positions");
  int64_t hits = 0, scored = 0;
  score_alignment(attention.data(), T, S, gold, hits, scored);
  return scored ? static_cast<double>(hits) / static_cast<double>(scored) : 0.0;
}

double batch_alignment_accuracy(const Tensor& attention, const std::vector<DateExample>& examples) {
  ATTN_CHECK(attention.dim() == 3, "batch_alignment_accuracy",
             "attention has " << attention.dim() << " dims, expected 3 (B, T, S)");
  const int64_t B = attention.shape()[0], T = attention.shape()[1], S = attention.shape()[2];
  ATTN_CHECK(B == static_cast<int64_t>(examples.size()), "batch_alignment_accuracy",
             "attention has " << B << " sequences but there are " << examples.size() << " examples");
  ATTN_CHECK(S > 0, "alignment_accuracy", "attention has no source positions");
  int64_t hits = 0, scored = 0;
  for (int64_t b = 0; b < B; ++b)
    score_alignment(attention.data() + b * T * S, T, S, examples[b].alignment, hits, scored);
  return scored ? static_cast<double>(hits) / static_cast<double>(scored) : 0.0;
}

}  // namespace attn::data
