// DatesTask: human-written dates -> ISO 8601, with gold alignments. Determinism, every example's date
// read back from its source by an independent parser (std::regex, std::chrono for weekdays), the gold
// indices pointing at the right characters, the batch layout, alignment_accuracy by hand, and a Seq2Seq
// forward pass on a batch.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/data/dates_task.h"
#include "attn/models/seq2seq.h"
#include "test_util.h"

namespace attn::data {
namespace {

using Gold = std::vector<std::vector<int64_t>>;

const char* kMonthNames[12] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};
const char* kDayNames[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

int month_of_word(const std::string& w) {  // "March", "Mar", "mar" -> 3; 0 if none
  for (int m = 0; m < 12; ++m) {
    const std::string full = kMonthNames[m], abbr = full.substr(0, 3);
    std::string low = abbr;
    low[0] = static_cast<char>(low[0] - 'A' + 'a');
    if (w == full || w == abbr || w == low) return m + 1;
  }
  return 0;
}

// The weekday by std::chrono (independent of the task's own calendar code): 0 = Monday.
int chrono_weekday(int y, int m, int d) {
  using namespace std::chrono;
  const weekday wd{sys_days{year{y} / month{static_cast<unsigned>(m)} / day{static_cast<unsigned>(d)}}};
  return static_cast<int>(wd.iso_encoding()) - 1;
}

int expand_two_digit_year(int yy) { return yy >= 50 ? 1900 + yy : 2000 + yy; }

struct Parsed {
  int year = 0, month = 0, day = 0;
  bool ok = false;
};

// Reads a source back into a date, by its format's pattern; checks the weekday and ordinal when shown.
Parsed parse_source(const std::string& s, DateFormat f) {
  static const std::string kMonth = "([A-Za-z]+)";
  std::smatch m;
  Parsed p;
  auto num = [&](int i) { return std::stoi(m[i].str()); };
  auto weekday_ok = [&](const std::string& name) {
    const int wd = chrono_weekday(p.year, p.month, p.day);
    return name == kDayNames[wd] || name == std::string(kDayNames[wd]).substr(0, 3);
  };
  switch (f) {
    case DateFormat::OrdinalOf:
      if (!std::regex_match(s, m, std::regex("the ([0-9]{1,2})(st|nd|rd|th) of " + kMonth + " ([0-9]{4})"))) return p;
      p = {num(4), month_of_word(m[3]), num(1), true};
      {
        const std::string suffix = m[2];
        const int d = p.day;
        const std::string want = (d % 10 == 1 && d != 11)   ? "st"
                                 : (d % 10 == 2 && d != 12) ? "nd"
                                 : (d % 10 == 3 && d != 13) ? "rd"
                                                            : "th";
        if (suffix != want) p.ok = false;
      }
      return p;
    case DateFormat::DayMonthYear:
      if (!std::regex_match(s, m, std::regex("([0-9]{1,2}) " + kMonth + " ([0-9]{4})"))) return p;
      return {num(3), month_of_word(m[2]), num(1), true};
    case DateFormat::MonthDayYear:
      if (!std::regex_match(s, m, std::regex(kMonth + " ([0-9]{1,2}), ([0-9]{4})"))) return p;
      return {num(3), month_of_word(m[1]), num(2), true};
    case DateFormat::WeekdayDayMonth:
      if (!std::regex_match(s, m, std::regex("([A-Za-z]+), ([0-9]{1,2}) " + kMonth + " ([0-9]{4})"))) return p;
      p = {num(4), month_of_word(m[3]), num(2), true};
      p.ok = p.month > 0 && weekday_ok(m[1]);
      return p;
    case DateFormat::WeekdayMonthAbbr:
      if (!std::regex_match(s, m, std::regex("([A-Z][a-z]{2}), ([A-Z][a-z]{2}) ([0-9]{1,2}), ([0-9]{4})"))) return p;
      p = {num(4), month_of_word(m[2]), num(3), true};
      p.ok = p.month > 0 && weekday_ok(m[1]);
      return p;
    case DateFormat::AbbrevShortYear:
      if (!std::regex_match(s, m, std::regex("([0-9]{1,2}) ([a-z]{3}) ([0-9]{2})"))) return p;
      return {expand_two_digit_year(num(3)), month_of_word(m[2]), num(1), true};
    case DateFormat::DottedShortYear:
      if (!std::regex_match(s, m, std::regex("([0-9]{2})\\.([0-9]{2})\\.([0-9]{2})"))) return p;
      return {expand_two_digit_year(num(3)), num(2), num(1), true};
    case DateFormat::DottedLong:
      if (!std::regex_match(s, m, std::regex("([1-9][0-9]?)\\.([1-9][0-9]?)\\.([0-9]{4})"))) return p;
      return {num(3), num(2), num(1), true};
    case DateFormat::UsSlash:
      if (!std::regex_match(s, m, std::regex("([1-9][0-9]?)/([1-9][0-9]?)/([0-9]{4})"))) return p;
      return {num(3), num(1), num(2), true};
  }
  return p;
}

TEST(DataDatesTask, ExamplesOfEveryFormat) {
  const DatesTask task;
  const std::map<DateFormat, std::string> want = {{DateFormat::OrdinalOf, "the 3rd of March 2021"},
                                                  {DateFormat::DayMonthYear, "3 March 2021"},
                                                  {DateFormat::MonthDayYear, "March 3, 2021"},
                                                  {DateFormat::WeekdayDayMonth, "Wednesday, 3 March 2021"},
                                                  {DateFormat::WeekdayMonthAbbr, "Wed, Mar 3, 2021"},
                                                  {DateFormat::AbbrevShortYear, "3 mar 21"},
                                                  {DateFormat::DottedShortYear, "03.03.21"},
                                                  {DateFormat::DottedLong, "3.3.2021"},
                                                  {DateFormat::UsSlash, "3/3/2021"}};
  ASSERT_EQ(static_cast<int>(want.size()), kNumDateFormats);
  for (const auto& [f, source] : want) {
    const DateExample e = task.example(2021, 3, 3, f);
    EXPECT_EQ(e.source, source) << date_format_name(f);
    EXPECT_EQ(e.target, "2021-03-03");
    EXPECT_EQ(date_format_from_name(date_format_name(f)), f);
  }
  EXPECT_NE(attn::testing::error_of([] { date_format_from_name("iso"); }).find("us_slash"), std::string::npos);

  // Gold alignments, spelled out for three of them.
  //   "the 3rd of March 2021": year 2021 at 17..20, "March" at 11..15, day "3" at 4.
  EXPECT_EQ(task.example(2021, 3, 3, DateFormat::OrdinalOf).alignment,
            (Gold{{17}, {18}, {19}, {20}, {}, {11, 12, 13, 14, 15}, {11, 12, 13, 14, 15}, {}, {4}, {4}}));
  //   "03.03.21": the century and the first year digit from "2" at 6.
  EXPECT_EQ(task.example(2021, 3, 3, DateFormat::DottedShortYear).alignment,
            (Gold{{6}, {6}, {6}, {7}, {}, {3}, {4}, {}, {0}, {1}}));
  //   "12/25/1999": month "12" at 0..1, day "25" at 3..4, year at 6..9.
  const DateExample xmas = task.example(1999, 12, 25, DateFormat::UsSlash);
  EXPECT_EQ(xmas.source, "12/25/1999");
  EXPECT_EQ(xmas.target, "1999-12-25");
  EXPECT_EQ(xmas.alignment, (Gold{{6}, {7}, {8}, {9}, {}, {0}, {1}, {}, {3}, {4}}));
  // Ordinals: 1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 23rd 31st.
  for (auto [d, s] : std::vector<std::pair<int, std::string>>{{1, "1st"},
                                                              {2, "2nd"},
                                                              {3, "3rd"},
                                                              {4, "4th"},
                                                              {11, "11th"},
                                                              {12, "12th"},
                                                              {13, "13th"},
                                                              {21, "21st"},
                                                              {22, "22nd"},
                                                              {23, "23rd"},
                                                              {31, "31st"}})
    EXPECT_EQ(task.example(2000, 1, d, DateFormat::OrdinalOf).source, "the " + s + " of January 2000");
}

TEST(DataDatesTask, CalendarAndTwoDigitYears) {
  EXPECT_TRUE(is_leap_year(2000));
  EXPECT_TRUE(is_leap_year(2024));
  EXPECT_FALSE(is_leap_year(1900));
  EXPECT_FALSE(is_leap_year(2021));
  EXPECT_EQ(days_in_month(2020, 2), 29);
  EXPECT_EQ(days_in_month(2100, 2), 28);
  EXPECT_EQ(days_in_month(2021, 4), 30);
  EXPECT_EQ(day_of_week(2021, 3, 3), 2);   // a Wednesday
  EXPECT_EQ(day_of_week(1970, 1, 1), 3);   // a Thursday
  EXPECT_EQ(day_of_week(2000, 2, 29), 1);  // a Tuesday
  const DatesTask task;
  EXPECT_EQ(task.example(2020, 2, 29, DateFormat::DayMonthYear).source, "29 February 2020");
  EXPECT_THROW(task.example(2021, 2, 29, DateFormat::DayMonthYear), Error);
  EXPECT_THROW(task.example(2021, 4, 31, DateFormat::DayMonthYear), Error);
  EXPECT_THROW(task.example(2021, 13, 1, DateFormat::DayMonthYear), Error);
  // The pivot: 50..99 -> 19xx, 00..49 -> 20xx; other years cannot be written with two digits.
  EXPECT_EQ(task.example(1950, 1, 2, DateFormat::DottedShortYear).source, "02.01.50");
  EXPECT_EQ(task.example(2049, 12, 31, DateFormat::AbbrevShortYear).source, "31 dec 49");
  EXPECT_EQ(task.example(2000, 6, 9, DateFormat::DottedShortYear).source, "09.06.00");
  EXPECT_THROW(task.example(1949, 1, 1, DateFormat::DottedShortYear), Error);
  EXPECT_THROW(task.example(2050, 1, 1, DateFormat::AbbrevShortYear), Error);
  // Wider ranges leave the short-year formats out where they cannot be used; only they: an error.
  DatesTask wide;
  wide.min_year = 1800;
  wide.max_year = 2200;
  Generator g(5);
  for (const auto& e : wide.sample_examples(500, g)) {
    EXPECT_TRUE(e.year >= 1800 && e.year <= 2200);
    if (e.year < 1950 || e.year > 2049) {
      EXPECT_FALSE(date_format_short_year(e.format)) << e.source;
    }
  }
  wide.formats = {DateFormat::DottedShortYear};
  wide.min_year = wide.max_year = 1900;
  EXPECT_THROW(wide.sample_example(g), Error);
}

TEST(DataDatesTask, SameSeedSameData) {
  const DatesTask task;
  Generator a(42), b(42), c(43);
  const auto ea = task.sample_examples(200, a), eb = task.sample_examples(200, b), ec = task.sample_examples(200, c);
  int differ = 0;
  for (size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i].source, eb[i].source);
    EXPECT_EQ(ea[i].target, eb[i].target);
    EXPECT_EQ(ea[i].alignment, eb[i].alignment);
    differ += ea[i].source != ec[i].source;
  }
  EXPECT_GT(differ, 150);
  Generator d(7), e(7);
  const SeqBatch bd = task.sample(16, d), be = task.sample(16, e);
  EXPECT_EQ(bd.src.data, be.src.data);
  EXPECT_EQ(bd.tgt_out.data, be.tgt_out.data);
}

TEST(DataDatesTask, EveryTargetIsTheSourcesDateAndGoldPointsAtItsField) {
  const DatesTask task;
  Generator gen(2021);
  const auto examples = task.sample_examples(5000, gen);
  std::set<DateFormat> formats_seen;
  std::set<int> years_seen;
  int feb29 = 0;
  for (const auto& e : examples) {
    SCOPED_TRACE(e.source + " -> " + e.target);
    formats_seen.insert(e.format);
    years_seen.insert(e.year);
    feb29 += e.month == 2 && e.day == 29;
    // The target is a valid ISO date in range, and it is the example's date.
    ASSERT_TRUE(std::regex_match(e.target, std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}")));
    const int y = std::stoi(e.target.substr(0, 4)), m = std::stoi(e.target.substr(5, 2)),
              d = std::stoi(e.target.substr(8, 2));
    EXPECT_TRUE(is_valid_date(y, m, d));
    EXPECT_TRUE((std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(m)} /
                 std::chrono::day{static_cast<unsigned>(d)})
                    .ok());
    EXPECT_TRUE(y >= task.min_year && y <= task.max_year);
    EXPECT_EQ(y, e.year);
    EXPECT_EQ(m, e.month);
    EXPECT_EQ(d, e.day);
    // The source, read back independently, says the same date.
    const Parsed p = parse_source(e.source, e.format);
    ASSERT_TRUE(p.ok) << date_format_name(e.format);
    EXPECT_EQ(p.year, y);
    EXPECT_EQ(p.month, m);
    EXPECT_EQ(p.day, d);
    // Gold: 10 positions; hyphens empty; each index inside the source, on a character of its field.
    ASSERT_EQ(e.alignment.size(), 10u);
    EXPECT_TRUE(e.alignment[4].empty());
    EXPECT_TRUE(e.alignment[7].empty());
    auto at = [&](int64_t i) { return e.source.at(static_cast<size_t>(i)); };
    for (int t : {0, 1, 2, 3, 5, 6, 8, 9}) {
      ASSERT_FALSE(e.alignment[t].empty()) << "position " << t;
      for (int64_t i : e.alignment[t]) ASSERT_TRUE(i >= 0 && i < static_cast<int64_t>(e.source.size()));
    }
    // Year: four digits digit for digit, or two with the century read off the first.
    if (date_format_short_year(e.format)) {
      EXPECT_EQ(e.alignment[0], e.alignment[2]);
      EXPECT_EQ(e.alignment[1], e.alignment[2]);
      EXPECT_EQ(at(e.alignment[2][0]), e.target[2]);
      EXPECT_EQ(at(e.alignment[3][0]), e.target[3]);
      EXPECT_EQ(e.alignment[3][0], e.alignment[2][0] + 1);
    } else {
      for (int t = 0; t < 4; ++t) {
        ASSERT_EQ(e.alignment[t].size(), 1u);
        EXPECT_EQ(at(e.alignment[t][0]), e.target[t]);
      }
    }
    // Day (always digits) and month (digits or a word).
    for (int first : {5, 8}) {
      const auto& g1 = e.alignment[first];
      const auto& g2 = e.alignment[first + 1];
      if (std::isalpha(static_cast<unsigned char>(at(g1[0])))) {
        ASSERT_EQ(first, 5) << "only months are words";
        EXPECT_EQ(g1, g2);
        std::string word;
        for (size_t k = 0; k < g1.size(); ++k) {
          EXPECT_EQ(g1[k], g1[0] + static_cast<int64_t>(k)) << "a contiguous span";
          word += at(g1[k]);
        }
        EXPECT_EQ(month_of_word(word), e.month) << word;
        // The span is the whole word: no letter right before or after it.
        const int64_t before = g1.front() - 1, after = g1.back() + 1;
        if (before >= 0) {
          EXPECT_FALSE(std::isalpha(static_cast<unsigned char>(at(before))));
        }
        if (after < static_cast<int64_t>(e.source.size())) {
          EXPECT_FALSE(std::isalpha(static_cast<unsigned char>(at(after))));
        }
      } else {
        ASSERT_EQ(g1.size(), 1u);
        ASSERT_EQ(g2.size(), 1u);
        EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(at(g1[0]))));
        EXPECT_EQ(at(g2[0]), e.target[first + 1]);  // the last digit is the last digit
        if (g1[0] == g2[0]) {                       // a lone digit: the target pads it with a zero
          EXPECT_EQ(e.target[first], '0');
          const int64_t after = g1[0] + 1;
          if (after < static_cast<int64_t>(e.source.size())) {
            EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(at(after))));
          }
        } else {
          EXPECT_EQ(g2[0], g1[0] + 1);
          EXPECT_EQ(at(g1[0]), e.target[first]);
        }
      }
    }
  }
  EXPECT_EQ(static_cast<int>(formats_seen.size()), kNumDateFormats);
  EXPECT_GT(years_seen.size(), 95u);
  EXPECT_GT(feb29, 0);
}

TEST(DataDatesTask, BatchesAndVocabulary) {
  const DatesTask task;
  std::vector<DateExample> ex = {task.example(2021, 3, 3, DateFormat::UsSlash),
                                 task.example(1987, 11, 30, DateFormat::WeekdayDayMonth)};
  const SeqBatch b = task.make_batch(ex);
  const int64_t S = static_cast<int64_t>(ex[1].source.size());  // "Monday, 30 November 1987"
  EXPECT_EQ(ex[1].source, "Monday, 30 November 1987");
  EXPECT_EQ(b.src.shape, (Shape{2, S}));
  EXPECT_EQ(b.tgt_in.shape, (Shape{2, 11}));
  EXPECT_EQ(b.tgt_out.shape, (Shape{2, 11}));
  EXPECT_EQ(b.src_lengths, (std::vector<int64_t>{8, S}));
  const std::vector<int64_t> row0(b.src.data.begin(), b.src.data.begin() + S);
  EXPECT_EQ(DatesTask::decode_source(row0), "3/3/2021");  // padding skipped
  EXPECT_EQ(row0[8], kPad);
  EXPECT_EQ(row0[0], kFirstSymbol + ('3' - ' '));
  const std::vector<int64_t> out1(b.tgt_out.data.begin() + 11, b.tgt_out.data.end());
  EXPECT_EQ(DatesTask::decode_target(out1), "1987-11-30");
  EXPECT_EQ(out1.back(), kEos);
  EXPECT_EQ(b.tgt_in.data[11], kBos);
  EXPECT_EQ(std::vector<int64_t>(b.tgt_in.data.begin() + 12, b.tgt_in.data.end()),
            std::vector<int64_t>(out1.begin(), out1.end() - 1));
  EXPECT_EQ(DatesTask::encode_target("2021-03-03"), (std::vector<int64_t>{5, 3, 5, 4, 13, 3, 6, 13, 3, 6}));
  EXPECT_EQ(DatesTask::src_token_str(DatesTask::encode_source(" ")[0]), "\u2423");
  EXPECT_EQ(DatesTask::src_token_str(kEos), "<eos>");
  EXPECT_EQ(DatesTask::tgt_token_str(kFirstSymbol + 10), "-");
  EXPECT_THROW(DatesTask::encode_source("März"), Error);
  EXPECT_THROW(DatesTask::encode_target("2021/03/03"), Error);
  EXPECT_THROW(DatesTask::decode_target({99}), Error);
  // Every id fits the vocabularies.
  Generator g(3);
  const SeqBatch s = task.sample(64, g);
  for (int64_t id : s.src.data) EXPECT_TRUE(id >= 0 && id < DatesTask::src_vocab_size());
  for (int64_t id : s.tgt_out.data) EXPECT_TRUE(id >= 0 && id < DatesTask::tgt_vocab_size());
}

TEST(DataDatesTask, AlignmentAccuracyOnHandMadeMatrices) {
  // 4 target positions over 5 source positions; position 2 has no gold (left out).
  const Gold gold = {{0}, {1}, {}, {2, 3}};
  const Tensor attn = Tensor::from_vector({0.9f, 0.1f, 0.0f, 0.0f, 0.0f,   // argmax 0: hit
                                           0.1f, 0.2f, 0.7f, 0.0f, 0.0f,   // argmax 2: miss
                                           1.0f, 0.0f, 0.0f, 0.0f, 0.0f,   // not scored
                                           0.0f, 0.1f, 0.2f, 0.6f, 0.1f},  // argmax 3: hit
                                          {4, 5});
  EXPECT_DOUBLE_EQ(alignment_accuracy(attn, gold), 2.0 / 3.0);
  // Ties go to the first maximum (torch.argmax): 0.5 at 1 and 2 -> 1.
  const Tensor tie = Tensor::from_vector({0.f, 0.5f, 0.5f}, {1, 3});
  EXPECT_DOUBLE_EQ(alignment_accuracy(tie, {{1}}), 1.0);
  EXPECT_DOUBLE_EQ(alignment_accuracy(tie, {{2}}), 0.0);
  // Extra rows (the <eos> step) are ignored; nothing scored gives 0.
  EXPECT_DOUBLE_EQ(alignment_accuracy(attn, Gold{{0}}), 1.0);
  EXPECT_DOUBLE_EQ(alignment_accuracy(attn, Gold{{}, {}}), 0.0);
  EXPECT_THROW(alignment_accuracy(attn, Gold{{0}, {0}, {0}, {0}, {0}}), Error);  // more gold than rows
  EXPECT_THROW(alignment_accuracy(attn, Gold{{5}}), Error);                      // index outside S
  EXPECT_THROW(alignment_accuracy(Tensor::zeros({5}), Gold{{0}}), Error);

  // The batch form on a date: attention exactly on the gold's first index scores 1, on index 0 less.
  const DatesTask task;
  const std::vector<DateExample> ex = {task.example(2021, 3, 3, DateFormat::DottedShortYear),
                                       task.example(2021, 3, 3, DateFormat::DayMonthYear)};
  const int64_t S = 12, T = 11;  // "3 March 2021" is the longer source
  std::vector<float> perfect(2 * T * S, 0.f), first(2 * T * S, 0.f);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const bool has = t < 10 && !ex[b].alignment[t].empty();
      perfect[(b * T + t) * S + (has ? ex[b].alignment[t][0] : 0)] = 1.f;
      first[(b * T + t) * S] = 1.f;
    }
  EXPECT_DOUBLE_EQ(batch_alignment_accuracy(Tensor::from_vector(perfect, {2, T, S}), ex), 1.0);
  // Index 0 is gold for "03.03.21"'s day tens (position 8), and for "3 March 2021"'s day (8, 9): 3 of 16.
  EXPECT_DOUBLE_EQ(batch_alignment_accuracy(Tensor::from_vector(first, {2, T, S}), ex), 3.0 / 16.0);
  EXPECT_THROW(batch_alignment_accuracy(Tensor::from_vector(first, {2, T, S}), std::vector<DateExample>{ex[0]}), Error);
}

TEST(DataDatesTask, Seq2SeqTrainsOnItsBatches) {
  const DatesTask task;
  models::Seq2SeqConfig c;
  c.src_vocab = DatesTask::src_vocab_size();
  c.tgt_vocab = DatesTask::tgt_vocab_size();
  c.embed_dim = 8;
  c.hidden_dim = 16;
  Generator g(1), dg(2);
  models::Seq2Seq model(c, g);
  std::vector<DateExample> ex;
  const SeqBatch b = task.sample(4, dg, &ex);
  ASSERT_EQ(ex.size(), 4u);
  auto out = model.forward(b.src, b.tgt_in);
  EXPECT_EQ(out.logits.shape(), (Shape{4, 11, c.tgt_vocab}));
  ASSERT_EQ(out.attention.shape(), (Shape{4, 11, b.src.shape[1]}));
  const double acc = batch_alignment_accuracy(out.attention, ex);
  EXPECT_TRUE(acc >= 0.0 && acc <= 1.0);
}

}  // namespace
}  // namespace attn::data
