#include "service/export.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "ledger/json_writer.h"

namespace tally {

namespace {

std::string utc_date(TimeNs t) {
  // Floor division: a time before 1970 belongs to the day that starts before it.
  int64_t days = t / kNsPerDay;
  if (t % kNsPerDay < 0) --days;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

char hledger_type(AccountKind k) {
  switch (k) {
    case AccountKind::asset:
      return 'A';
    case AccountKind::liability:
      return 'L';
    case AccountKind::equity:
      return 'E';
    case AccountKind::revenue:
      return 'R';
    case AccountKind::expense:
      return 'X';
  }
  return 'A';
}

// Comment text on one line: control characters (a meta value may hold a newline) become spaces.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

void write_hledger_header(Snapshot& snap, std::string& out) {
  out += "; tally export (hledger/ledger journal) as of seq " + std::to_string(snap.last_seq()) +
         "\n; Amounts are exact; credits are negative. Dates are the entries' business time "
         "in UTC.\n\n";
  std::vector<Account> accounts = snap.accounts("");
  std::map<std::string, Currency> currencies;
  for (auto& a : accounts)
    for (auto& c : a.currencies) currencies.emplace(std::string(c.code()), c);
  for (auto& [code, c] : currencies) {
    out += "commodity " + hledger_commodity(code) + "\n";
    // "format" under "commodity" is the one spelling both hledger and ledger accept; no
    // thousands separator, so '.' can only be the decimal mark. A currency without decimals
    // gets no format: hledger insists on a decimal mark in one ("1000."), which ledger refuses;
    // both print whole amounts as written.
    if (c.exponent() == 0) continue;
    i128 sample = 1000;
    for (int i = 0; i < c.exponent(); ++i) sample *= 10;
    out += "    format " + format_amount(Amount::from_minor(sample), c) + " " +
           hledger_commodity(code) + "\n";
  }
  if (!currencies.empty()) out += "\n";
  for (auto& a : accounts) {
    out += "account " + a.name + "  ; type: ";
    out.push_back(hledger_type(a.kind));
    if (a.no_overdraft()) out += ", no_overdraft:";
    if (a.closed()) out += ", closed:";
    out += "\n";
  }
  if (!accounts.empty()) out += "\n";
}

void write_hledger_entry(const EntryView& v, std::string& out) {
  const Entry& e = v.entry;
  out += utc_date(e.at) + " " + one_line(e.kind) + " " + one_line(e.id) +
         "  ; seq: " + std::to_string(v.seq) + ", at: " + format_rfc3339(e.at) + "\n";
  if (!e.meta.empty()) {
    JsonWriter w;
    w.begin_object();
    for (auto& [k, val] : e.meta) w.field(k, val);
    w.end_object();
    out += "    ; meta: " + one_line(w.str()) + "\n";
  }
  for (auto& p : e.postings) {
    Amount signed_amount = p.amount;
    if (p.side == Side::credit) {
      // A posting amount is > 0 and at most max(), so its negation cannot overflow.
      auto neg = checked_neg(p.amount);
      TALLY_ASSERT(neg.has_value(), "posting amount negates");
      signed_amount = *neg;
    }
    out += "    " + p.account + "  " + format_amount(signed_amount, p.currency) + " " +
           hledger_commodity(p.currency.code()) + "\n";
  }
  out += "\n";
}

void write_csv_entry(const EntryView& v, std::string& out) {
  const Entry& e = v.entry;
  std::string prefix = std::to_string(v.seq) + "," + csv_field(e.id) + "," + format_rfc3339(e.at) +
                       "," + csv_field(e.kind) + ",";
  for (auto& p : e.postings) {
    out += prefix + csv_field(p.account) + "," + std::string(p.currency.code()) + "," +
           std::string(side_name(p.side)) + "," + format_amount(p.amount, p.currency) + "\n";
  }
}

}  // namespace

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string hledger_commodity(std::string_view code) {
  bool letters = std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (letters) return std::string(code);
  return "\"" + std::string(code) + "\"";
}

ExportSummary export_journal(Snapshot& snap, ExportFormat format,
                             const std::function<bool(std::string_view)>& sink,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
  ExportSummary sum;
  sum.last_seq = snap.last_seq();
  std::string out;
  if (format == ExportFormat::hledger) {
    write_hledger_header(snap, out);
  } else {
    out += "seq,id,at,kind,account,currency,side,amount\n";
  }
  bool go = sink(out);
  if (!go) return sum;
  out.clear();
  snap.entries(0, [&](const EntryView& v) {
    if (v.seq > sum.last_seq) return false;
    if (format == ExportFormat::hledger) {
      write_hledger_entry(v, out);
    } else {
      write_csv_entry(v, out);
    }
    ++sum.entries;
    sum.postings += v.entry.postings.size();
    // Hand over text in chunks of about 64 KiB: few calls, bounded memory.
    if (out.size() >= 64 * 1024) {
      go = sink(out);
      out.clear();
      if (progress) progress(sum.entries, sum.last_seq);
    }
    return go;
  });
  if (go && !out.empty()) sink(out);
  if (progress) progress(sum.entries, sum.last_seq);
  return sum;
}

}  // namespace tally
