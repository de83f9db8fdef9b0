// NACHA return files: entries sent back to the originator, each with an addenda record of type
// 99 naming the return reason and the original entry's trace number (contract in
// settlement/bank_report.h, layout in docs/payout-rails.md).
#include <optional>
#include <vector>

#include "settlement/ach.h"
#include "settlement/bank_report.h"
#include "settlement/bank_text.h"

namespace tally {

namespace {

constexpr size_t kRecordChars = 94;
constexpr size_t kBlockingFactor = 10;
constexpr uint64_t kEntryHashBound = 10'000'000'000;  // the low 10 digits

struct Record {
  std::string_view text;
  size_t line;  // 1-based
};

// Reads fields of fixed-width records, collecting problems.
class Fields {
 public:
  explicit Fields(Problems& problems) : problems_(problems) {}

  void fail(const Record& r, const std::string& why) {
    problems_.add(Code::bad_request, "nacha: line " + std::to_string(r.line) + ": " + why);
  }
  // Positions as the NACHA layout numbers them: 1-based, inclusive.
  static std::string_view field(const Record& r, size_t from, size_t to) {
    return r.text.substr(from - 1, to - from + 1);
  }
  static std::string range(size_t from, size_t to) {
    return "(positions " + std::to_string(from) + "-" + std::to_string(to) + ")";
  }
  // A numeric field: all digits.
  std::optional<uint64_t> number(const Record& r, size_t from, size_t to, std::string_view name) {
    std::string_view f = field(r, from, to);
    if (!all_digits(f)) {
      fail(r, std::string(name) + " " + range(from, to) + " " + in_quotes(f) + " is not digits");
      return std::nullopt;
    }
    uint64_t v = 0;
    for (char c : f) v = v * 10 + uint64_t(c - '0');
    return v;
  }
  // YYMMDD, a real date of 2000..2099.
  std::optional<Date> yymmdd(const Record& r, size_t from, std::string_view name) {
    std::string_view f = field(r, from, from + 5);
    auto two = [&f](size_t at) { return unsigned((f[at] - '0') * 10 + (f[at + 1] - '0')); };
    std::optional<date::year_month_day> d;
    if (all_digits(f))
      d = date::year_month_day{date::year{2000 + int(two(0))}, date::month{two(2)},
                               date::day{two(4)}};
    if (!d || !d->ok()) {
      fail(r, std::string(name) + " " + range(from, from + 5) + " " + in_quotes(f) +
                  " is not a date YYMMDD");
      return std::nullopt;
    }
    return Date{*d};
  }
  // A field that must equal another record's.
  void same(const Record& r, size_t from, size_t to, std::string_view want, std::string_view name,
            const Record& header) {
    std::string_view got = field(r, from, to);
    if (got != want)
      fail(r, std::string(name) + " " + range(from, to) + " " + in_quotes(got) +
                  " differs from the batch header's " + in_quotes(want) + " (line " +
                  std::to_string(header.line) + ")");
  }
  // A count or total that must equal what the records add up to.
  void total(const Record& r, size_t from, size_t to, uint64_t want, std::string_view name) {
    std::optional<uint64_t> got = number(r, from, to, name);
    if (got && *got != want)
      fail(r, std::string(name) + " " + range(from, to) + " says " + std::to_string(*got) +
                  ", the records add up to " + std::to_string(want));
  }

 private:
  Problems& problems_;
};

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool all_spaces(std::string_view s) {
  return s.find_first_not_of(' ') == std::string_view::npos;
}

bool padding(const Record& r) {
  return r.text.find_first_not_of('9') == std::string_view::npos;
}

// The records of a file: lines ending in "\n" (a "\r" before it is dropped; blank lines at the
// end are dropped), or, in a file without newlines, consecutive blocks of 94 characters. Every
// record must have 94 printable ASCII characters.
std::vector<Record> split(std::string_view text, Problems& problems) {
  std::vector<Record> out;
  if (text.find('\n') == std::string_view::npos && text.size() % kRecordChars == 0) {
    for (size_t at = 0; at < text.size(); at += kRecordChars)
      out.push_back(Record{text.substr(at, kRecordChars), out.size() + 1});
  } else {
    for (size_t at = 0; at < text.size();) {
      size_t nl = text.find('\n', at);
      std::string_view line = text.substr(at, nl == std::string_view::npos ? text.npos : nl - at);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      out.push_back(Record{line, out.size() + 1});
      if (nl == std::string_view::npos) break;
      at = nl + 1;
    }
  }
  // Blank lines at the very end (an editor's or a transfer's) are not records.
  while (!out.empty() && out.back().text.empty()) out.pop_back();
  for (const Record& r : out) {
    if (r.text.size() != kRecordChars)
      problems.add(Code::bad_request, "nacha: line " + std::to_string(r.line) + ": " +
                                          std::to_string(r.text.size()) +
                                          " characters; a NACHA record has 94");
    else if (!printable_ascii(r.text))
      problems.add(Code::bad_request, "nacha: line " + std::to_string(r.line) +
                                          ": a character outside printable ASCII");
  }
  return out;
}

}  // namespace

Result<BankReport> parse_nacha_return(std::string_view text) {
  if (text.size() > bank_report_bytes_max)
    return reject(Code::bad_request,
                  "bank report: " + std::to_string(text.size()) + " bytes, more than the " +
                      std::to_string(bank_report_bytes_max >> 20) + " MiB a report may have");
  Problems problems;
  std::vector<Record> recs = split(text, problems);
  if (recs.empty()) return reject(Code::bad_request, "nacha: the file is empty");
  if (!problems.empty()) return problems.rejection();

  Fields f(problems);
  BankReport out;
  out.format = ReportFormat::nacha_return;
  size_t i = 0;
  auto type = [&](size_t at) { return at < recs.size() ? recs[at].text[0] : '\0'; };
  // The structure is lost at an unexpected record: report it and stop.
  auto misplaced = [&](std::string_view expected) {
    if (i < recs.size())
      f.fail(recs[i], "record type '" + std::string(1, recs[i].text[0]) + "' where " +
                          std::string(expected) + " is expected");
    else
      f.fail(recs.back(), "the file ends where " + std::string(expected) + " is expected");
    return problems.rejection();
  };

  // File header.
  const Record& fh = recs[0];
  if (type(0) != '1') return misplaced("a file header (1)");
  f.number(fh, 2, 3, "priority code");
  if (f.field(fh, 35, 37) != "094" || f.field(fh, 38, 39) != "10" || f.field(fh, 40, 40) != "1")
    f.fail(fh, "record size, blocking factor and format code (positions 35-40) must be \"094101\"");
  std::optional<Date> created = f.yymmdd(fh, 24, "file creation date");
  std::string_view time = f.field(fh, 30, 33);
  if (!all_spaces(time)) f.number(fh, 30, 33, "file creation time");
  char modifier = fh.text[33];
  if (!((modifier >= 'A' && modifier <= 'Z') || (modifier >= '0' && modifier <= '9')))
    f.fail(fh, "file id modifier (position 34) must be A..Z or 0..9");
  out.message_id =
      std::string(trim_spaces(f.field(fh, 14, 23))) + "-" + std::string(f.field(fh, 24, 34));
  if (created) {
    out.created_at = format_date(*created);
    if (!all_spaces(time))
      out.created_at += "T" + std::string(time.substr(0, 2)) + ":" + std::string(time.substr(2, 2));
  }
  i = 1;

  uint64_t batches = 0, file_count = 0, file_hash = 0, file_credit = 0, file_debit = 0;
  while (type(i) == '5') {
    const Record& bh = recs[i++];
    ++batches;
    std::string_view service = f.field(bh, 2, 4);
    if (service != "200" && service != "220" && service != "225")
      f.fail(bh, "service class code (positions 2-4) " + in_quotes(service) +
                     " is not 200, 220 or 225");
    std::optional<Date> effective = f.yymmdd(bh, 70, "effective entry date");
    f.number(bh, 80, 87, "originating DFI");
    f.number(bh, 88, 94, "batch number");
    uint64_t count = 0, hash = 0, credit = 0, debit = 0;
    if (type(i) != '6') return misplaced("an entry detail (6)");
    while (type(i) == '6') {
      const Record& e = recs[i++];
      std::optional<uint64_t> code = f.number(e, 2, 3, "transaction code");
      std::optional<uint64_t> rdfi = f.number(e, 4, 11, "receiving DFI");
      std::optional<uint64_t> amount = f.number(e, 30, 39, "amount");
      std::optional<uint64_t> trace = f.number(e, 80, 94, "trace number");
      if (rdfi && !aba_routing_ok(f.field(e, 4, 12)))
        f.fail(e, "receiving DFI and check digit (positions 4-12) " + in_quotes(f.field(e, 4, 12)) +
                      " fail the routing number check");
      ++count;
      if (rdfi) hash += *rdfi;
      // Second digit 0..4: a credit (21 and 31 return credits); 5..9: a debit.
      if (code && amount) (*code % 10 <= 4 ? credit : debit) += *amount;
      char indicator = e.text[78];
      if (indicator != '1') {
        f.fail(e, indicator == '0'
                      ? "an entry without an addenda record: a return carries an addenda 99"
                      : "addenda record indicator (position 79) must be 0 or 1");
        while (type(i) == '7') ++i;
        continue;
      }
      if (type(i) != '7') return misplaced("the entry's addenda record (7)");
      const Record& a = recs[i++];
      ++count;
      if (type(i) == '7') f.fail(recs[i], "a second addenda record: a return has exactly one");
      while (type(i) == '7') ++i, ++count;
      std::string_view addenda_type = f.field(a, 2, 3);
      std::string_view reason = f.field(a, 4, 6);
      std::optional<uint64_t> original = f.number(a, 7, 21, "original entry trace number");
      std::optional<uint64_t> addenda_trace = f.number(a, 80, 94, "trace number");
      if (addenda_trace && trace && *addenda_trace != *trace)
        f.fail(a, "trace number (positions 80-94) " + in_quotes(f.field(a, 80, 94)) +
                      " differs from its entry's " + in_quotes(f.field(e, 80, 94)) + " (line " +
                      std::to_string(e.line) + ")");
      f.number(a, 28, 35, "original receiving DFI");
      if (addenda_type == "98") {
        out.ignored.push_back("line " + std::to_string(e.line) + ": notification of change " +
                              std::string(reason) + " (corrected data " +
                              in_quotes(trim_spaces(f.field(a, 36, 64))) + ") for trace " +
                              std::string(f.field(a, 7, 21)) +
                              ": not a payout outcome; update the payee's bank details");
        continue;
      }
      if (addenda_type != "99") {
        f.fail(a, "addenda type code (positions 2-3) " + in_quotes(addenda_type) +
                      ": a return file's entries carry 99 (return) or 98 (notification of "
                      "change)");
        continue;
      }
      if (reason[0] != 'R' || !all_digits(reason.substr(1)))
        f.fail(a, "return reason code (positions 4-6) " + in_quotes(reason) +
                      " is not R and two "
                      "digits");
      std::string_view death = f.field(a, 22, 27);
      if (!all_spaces(death)) f.yymmdd(a, 22, "date of death");
      if (!original || !trace || !amount) continue;
      BankReportLine line;
      line.location = "record " + std::to_string(e.line);
      line.line = e.line;
      line.reference_kind = ReferenceKind::trace_number;
      line.reference = std::string(f.field(a, 7, 21));
      line.bank_reference = std::string(f.field(e, 80, 94));
      line.outcome = ReportOutcome::returned;
      line.reason = std::string(reason);
      line.reason_info = std::string(trim_spaces(f.field(a, 36, 79)));
      line.amount = ReportAmount{"USD", format_amount(Amount::from_minor(i128(*amount)), 2)};
      line.date = effective;
      out.lines.push_back(std::move(line));
    }
    if (type(i) != '8') return misplaced("an entry detail (6) or a batch control (8)");
    const Record& bc = recs[i++];
    f.same(bc, 2, 4, service, "service class code", bh);
    f.total(bc, 5, 10, count, "entry/addenda count");
    f.total(bc, 11, 20, hash % kEntryHashBound, "entry hash");
    f.total(bc, 21, 32, debit, "total debit");
    f.total(bc, 33, 44, credit, "total credit");
    f.same(bc, 45, 54, f.field(bh, 41, 50), "company identification", bh);
    f.same(bc, 80, 87, f.field(bh, 80, 87), "originating DFI", bh);
    f.same(bc, 88, 94, f.field(bh, 88, 94), "batch number", bh);
    file_count += count, file_hash += hash, file_credit += credit, file_debit += debit;
  }
  if (type(i) != '9' || padding(recs[i]))
    return misplaced("a batch header (5) or the file control (9)");
  const Record& fc = recs[i++];
  uint64_t blocks = (i + kBlockingFactor - 1) / kBlockingFactor;
  f.total(fc, 2, 7, batches, "batch count");
  f.total(fc, 8, 13, blocks, "block count");
  f.total(fc, 14, 21, file_count, "entry/addenda count");
  f.total(fc, 22, 31, file_hash % kEntryHashBound, "entry hash");
  f.total(fc, 32, 43, file_debit, "total debit");
  f.total(fc, 44, 55, file_credit, "total credit");
  for (; i < recs.size(); ++i) {
    if (!padding(recs[i])) {
      f.fail(recs[i], "after the file control only records of 94 '9's may follow");
      break;
    }
  }
  if (recs.size() > blocks * kBlockingFactor)
    f.fail(recs.back(), std::to_string(recs.size()) + " records, more than the " +
                            std::to_string(blocks) + " blocks of 10 the file control counts");
  if (!problems.empty()) return problems.rejection();
  return out;
}

}  // namespace tally
