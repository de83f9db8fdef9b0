#include "settlement/ach.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>

#include "settlement/bank_text.h"
#include "settlement/config.h"

namespace tally {

namespace {

constexpr size_t kRecordChars = 94;
constexpr size_t kBlockingFactor = 10;  // records per block
constexpr size_t kIdChars = 15;         // Individual Identification Number
constexpr size_t kIdHashDigits = 14;    // '#' + 14 hex digits = 15
constexpr size_t kNameChars = 22;       // Individual / Receiving Company Name
constexpr size_t kAccountCharsMax = 17;
constexpr size_t kDestinationNameMax = 23, kOriginNameMax = 23, kCompanyNameMax = 16;
constexpr size_t kCompanyIdChars = 10, kDescriptionMax = 10;
constexpr uint64_t kEntryHashBound = 10'000'000'000;  // entry hash keeps its low 10 digits
constexpr uint64_t kBlocksMax = 999'999;              // file control, 6 digits
constexpr int kYearMin = 2000, kYearMax = 2099;       // YYMMDD says nothing of the century

// Latin-1 letters U+00C0..U+00FF as upper-case ASCII; "" for the two that are not letters (x and
// division signs).
constexpr std::array<const char*, 64> kLatin1 = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
    "D", "N", "O", "O", "O", "O", "O",  "",  "O", "U", "U", "U", "U", "Y", "TH", "SS",
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
    "D", "N", "O", "O", "O", "O", "O",  "",  "O", "U", "U", "U", "U", "Y", "TH", "Y"};

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// A receiver's name as NACHA text: upper-case printable ASCII, Latin-1 letters transliterated,
// surrounding spaces dropped, cut to 22 characters. nullopt when it is empty or has any other
// character.
std::optional<std::string> ach_name(std::string_view name) {
  if (!bank_text_length(name)) return std::nullopt;  // not UTF-8, or control characters
  std::string out;
  for (size_t i = 0; i < name.size();) {
    auto b = static_cast<unsigned char>(name[i]);
    if (b < 0x80) {
      out += upper(name[i]);
      ++i;
      continue;
    }
    // Valid UTF-8 (checked above): C3 80..BF is U+00C0..U+00FF; nothing else is accepted.
    if (b != 0xC3) return std::nullopt;
    const char* ascii = kLatin1[static_cast<unsigned char>(name[i + 1]) - 0x80];
    if (*ascii == '\0') return std::nullopt;
    out += ascii;
    i += 2;
  }
  std::string_view t = trim_spaces(out);
  if (t.empty()) return std::nullopt;
  return std::string(t.substr(0, kNameChars));
}

int year_of(Date d) {
  return int(date::year_month_day{d}.year());
}

bool nacha_year(Date d) {
  return year_of(d) >= kYearMin && year_of(d) <= kYearMax;
}

// YYMMDD of a date in 2000..2099.
std::string yymmdd(Date d) {
  date::year_month_day ymd{d};
  std::string out;
  put_number(out, uint64_t(int(ymd.year()) % 100), 2);
  put_number(out, unsigned(ymd.month()), 2);
  put_number(out, unsigned(ymd.day()), 2);
  return out;
}

bool valid_hhmm(std::string_view s) {
  return s.size() == 4 && all_digits(s) && (s[0] - '0') * 10 + (s[1] - '0') <= 23 &&
         (s[2] - '0') * 10 + (s[3] - '0') <= 59;
}

uint64_t digits_value(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = v * 10 + uint64_t(c - '0');
  return v;
}

std::string_view sec_code(AchReceiverKind k) {
  return k == AchReceiverKind::individual ? "PPD" : "CCD";
}

// An info text field: 1..max printable ASCII characters, not all spaces.
void check_info_text(std::string_view field, std::string_view value, size_t max,
                     Problems& problems) {
  if (trim_spaces(value).empty() || value.size() > max || !printable_ascii(value))
    problems.add(Code::bad_request, "nacha: " + std::string(field) + " " + in_quotes(value) +
                                        " must be 1.." + std::to_string(max) +
                                        " printable ASCII characters");
}

// One credit, checked and ready to write.
struct Entry {
  const NachaCredit* credit;
  Date effective;
  std::string id, name;
  uint64_t cents = 0;
};

}  // namespace

std::string_view ach_account_type_name(AchAccountType t) {
  return t == AchAccountType::checking ? "checking" : "savings";
}
std::optional<AchAccountType> parse_ach_account_type(std::string_view name) {
  for (AchAccountType t : {AchAccountType::checking, AchAccountType::savings})
    if (ach_account_type_name(t) == name) return t;
  return std::nullopt;
}
std::string_view ach_receiver_kind_name(AchReceiverKind k) {
  return k == AchReceiverKind::individual ? "individual" : "company";
}
std::optional<AchReceiverKind> parse_ach_receiver_kind(std::string_view name) {
  for (AchReceiverKind k : {AchReceiverKind::individual, AchReceiverKind::company})
    if (ach_receiver_kind_name(k) == name) return k;
  return std::nullopt;
}

std::string nacha_id(std::string_view payout_id) {
  if (!payout_id.empty() && payout_id.size() <= kIdChars && printable_ascii(payout_id))
    return std::string(payout_id);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%014llX",
                static_cast<unsigned long long>(fnv1a64(payout_id) & 0x00FF'FFFF'FFFF'FFFFull));
  return "#" + std::string(hex, kIdHashDigits);
}

Result<NachaFile> payout_nacha(const NachaFileInfo& info, std::span<const NachaCredit> credits) {
  Problems problems;
  if (credits.empty()) problems.add(Code::bad_request, "nacha: a file needs at least one credit");
  if (!aba_routing_ok(info.immediate_destination))
    problems.add(Code::bad_request, "nacha: immediate_destination " +
                                        in_quotes(info.immediate_destination) +
                                        " is not a routing number (9 digits, check digit)");
  check_info_text("immediate_destination_name", info.immediate_destination_name,
                  kDestinationNameMax, problems);
  if (!all_digits(info.immediate_origin) ||
      (info.immediate_origin.size() != 9 && info.immediate_origin.size() != 10))
    problems.add(Code::bad_request, "nacha: immediate_origin " + in_quotes(info.immediate_origin) +
                                        " must be 9 or 10 digits");
  check_info_text("immediate_origin_name", info.immediate_origin_name, kOriginNameMax, problems);
  check_info_text("company_name", info.company_name, kCompanyNameMax, problems);
  if (info.company_id.size() != kCompanyIdChars || !printable_ascii(info.company_id) ||
      trim_spaces(info.company_id).empty())
    problems.add(Code::bad_request, "nacha: company_id " + in_quotes(info.company_id) +
                                        " must be exactly 10 printable ASCII characters");
  if (!aba_routing_ok(info.odfi_routing))
    problems.add(Code::bad_request, "nacha: odfi_routing " + in_quotes(info.odfi_routing) +
                                        " is not a routing number (9 digits, check digit)");
  check_info_text("entry_description", info.entry_description, kDescriptionMax, problems);
  if (!nacha_year(info.effective_date))
    problems.add(Code::bad_date, "nacha: effective_date " + format_date(info.effective_date) +
                                     " is outside 2000..2099");
  if (!nacha_year(info.creation_date))
    problems.add(Code::bad_date, "nacha: creation_date " + format_date(info.creation_date) +
                                     " is outside 2000..2099");
  if (!valid_hhmm(info.creation_time))
    problems.add(Code::bad_time,
                 "nacha: creation_time " + in_quotes(info.creation_time) + " is not HHMM");
  char m = info.file_id_modifier;
  if (!((m >= 'A' && m <= 'Z') || (m >= '0' && m <= '9')))
    problems.add(Code::bad_request, "nacha: file_id_modifier " + in_quotes(std::string(1, m)) +
                                        " must be A..Z or 0..9");

  // Checked in input order, so that problems read in the order the caller gave the credits.
  std::vector<Entry> entries;
  entries.reserve(credits.size());
  std::set<std::string_view> seen;
  std::map<std::string, std::string_view> ids;  // nacha_id -> payout id
  for (const NachaCredit& c : credits) {
    std::string who = "payout " + in_quotes(c.payout_id);
    Entry e{&c, c.effective_date.value_or(info.effective_date), nacha_id(c.payout_id), "", 0};
    if (c.payout_id.empty()) {
      problems.add(Code::bad_request, "payout \"\": empty payout id");
    } else if (!seen.insert(c.payout_id).second) {
      problems.add(Code::bad_request, who + ": duplicate payout id");
    } else if (auto [it, fresh] = ids.emplace(e.id, c.payout_id); !fresh) {
      problems.add(Code::bad_request, who + ": individual id " + in_quotes(e.id) +
                                          " is already used by payout " + in_quotes(it->second));
    }
    if (c.currency.code() != "USD" || c.currency.exponent() != 2)
      problems.add(Code::bad_currency, who + ": currency " + in_quotes(c.currency.code()) +
                                           " cannot be paid by ACH (USD only)");
    if (!c.amount.is_positive())
      problems.add(Code::bad_amount,
                   who + ": amount " + format_amount(c.amount, 2) + " is not positive");
    else if (c.amount.minor() >= i128(nacha_amount_cents_bound))
      problems.add(Code::overflow, who + ": amount " + format_amount(c.amount, 2) +
                                       " does not fit the entry's 10 digits (at most "
                                       "99999999.99)");
    else
      e.cents = static_cast<uint64_t>(c.amount.minor());
    if (std::optional<std::string> n = ach_name(c.receiver_name))
      e.name = *n;
    else
      problems.add(Code::bad_request, who + ": receiver name " + in_quotes(c.receiver_name) +
                                          " must be non-empty printable ASCII or Latin-1 "
                                          "letters");
    if (!aba_routing_ok(c.routing))
      problems.add(Code::bad_request, who + ": routing number " + in_quotes(c.routing) +
                                          " is not 9 digits with a valid check digit");
    if (c.account.empty() || c.account.size() > kAccountCharsMax || !printable_ascii(c.account) ||
        c.account.find(' ') != std::string::npos)
      problems.add(Code::bad_request, who + ": account " + in_quotes(c.account) +
                                          " must be 1..17 printable ASCII characters without "
                                          "spaces");
    if (c.effective_date && !nacha_year(*c.effective_date))
      problems.add(Code::bad_date, who + ": effective date " + format_date(*c.effective_date) +
                                       " is outside 2000..2099");
    entries.push_back(std::move(e));
  }
  if (!problems.empty()) return problems.rejection();

  // File order: effective date, SEC code (CCD before PPD), payout id. Ids are unique here.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    std::string_view sa = sec_code(a.credit->receiver_kind), sb = sec_code(b.credit->receiver_kind);
    if (a.effective != b.effective) return a.effective < b.effective;
    if (sa != sb) return sa < sb;
    return a.credit->payout_id < b.credit->payout_id;
  });
  struct Batch {
    size_t begin, end;
    uint64_t hash = 0, total = 0;
  };
  std::vector<Batch> batches;
  uint64_t file_hash = 0, file_total = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (batches.empty() || entries[batches.back().begin].effective != e.effective ||
        entries[batches.back().begin].credit->receiver_kind != e.credit->receiver_kind)
      batches.push_back(Batch{i, i});
    Batch& b = batches.back();
    b.end = i + 1;
    uint64_t rdfi = digits_value(std::string_view(e.credit->routing).substr(0, 8));
    b.hash += rdfi;  // < 10^8 each, at most 10^7 of them: no overflow
    file_hash += rdfi;
    b.total += e.cents;  // < 10^10 each: no overflow below 10^7 entries
    file_total += e.cents;
    std::string where = "nacha: at payout " + in_quotes(e.credit->payout_id) + ", ";
    if (b.end - b.begin > nacha_entries_per_batch_max)
      return reject(Code::overflow, where +
                                        "a batch has more than 999999 entries; split the "
                                        "payouts over several files");
    if (b.total >= nacha_total_cents_bound || file_total >= nacha_total_cents_bound)
      return reject(Code::overflow, where +
                                        "the credit total reaches 12 digits (10^12 cents); "
                                        "split the payouts over several files");
  }
  if (info.first_trace_sequence == 0)
    return reject(Code::bad_request, "nacha: first_trace_sequence must be 1..9999999");
  if (uint64_t(info.first_trace_sequence) + entries.size() - 1 > nacha_entries_per_file_max)
    return reject(Code::overflow,
                  "nacha: trace sequences " + std::to_string(info.first_trace_sequence) +
                      " and on do not "
                      "fit 7 digits for " +
                      std::to_string(entries.size()) + " entries; start the file's traces lower");
  size_t records = 2 + 2 * batches.size() + entries.size();
  size_t blocks = (records + kBlockingFactor - 1) / kBlockingFactor;
  if (entries.size() > nacha_entries_per_file_max || blocks > kBlocksMax)
    return reject(Code::overflow, "nacha: " + std::to_string(entries.size()) +
                                      " entries do not fit one file; split the payouts over "
                                      "several files");

  NachaFile file;
  std::string& out = file.text;
  out.reserve(blocks * kBlockingFactor * (kRecordChars + 1));
  std::string odfi = info.odfi_routing.substr(0, 8);
  std::string description = upper(info.entry_description);
  auto end_record = [&out](size_t start) {
    TALLY_ASSERT(out.size() - start == kRecordChars,
                 "record of " + std::to_string(out.size() - start) + " characters");
    out += '\n';
  };

  // File header.
  size_t start = out.size();
  out += "101";
  put_alpha(out, " " + info.immediate_destination, 10);
  put_alpha(out,
            info.immediate_origin.size() == 9 ? " " + info.immediate_origin : info.immediate_origin,
            10);
  out += yymmdd(info.creation_date);
  out += info.creation_time;
  out += m;
  out += "094101";  // record size, blocking factor, format code
  put_alpha(out, upper(info.immediate_destination_name), 23);
  put_alpha(out, upper(info.immediate_origin_name), 23);
  put_alpha(out, "", 8);  // reference code
  end_record(start);

  uint64_t sequence = info.first_trace_sequence - 1;
  file.traces.reserve(entries.size());
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    const Batch& b = batches[bi];
    const Entry& first = entries[b.begin];
    start = out.size();
    out += "5220";  // service class 220: credits only
    put_alpha(out, upper(info.company_name), 16);
    put_alpha(out, "", 20);  // company discretionary data
    out += info.company_id;
    out += sec_code(first.credit->receiver_kind);
    put_alpha(out, description, 10);
    put_alpha(out, "", 6);  // company descriptive date
    out += yymmdd(first.effective);
    out += "   1";  // settlement date (the ACH operator's), originator status code 1
    out += odfi;
    put_number(out, bi + 1, 7);
    end_record(start);

    for (size_t i = b.begin; i < b.end; ++i) {
      const Entry& e = entries[i];
      const NachaCredit& c = *e.credit;
      start = out.size();
      out += '6';
      out += c.account_type == AchAccountType::checking ? "22" : "32";
      out += c.routing;  // 8 digits of the RDFI, then its check digit
      put_alpha(out, c.account, 17);
      put_number(out, e.cents, 10);
      put_alpha(out, e.id, 15);
      put_alpha(out, e.name, 22);
      out += "  0";  // discretionary data, no addenda
      std::string trace = odfi;
      put_number(trace, ++sequence, 7);
      out += trace;
      end_record(start);
      file.traces.push_back(NachaTrace{c.payout_id, std::move(trace)});
    }

    start = out.size();
    out += "8220";
    put_number(out, b.end - b.begin, 6);
    put_number(out, b.hash % kEntryHashBound, 10);
    put_number(out, 0, 12);  // total debits
    put_number(out, b.total, 12);
    out += info.company_id;
    put_alpha(out, "", 25);  // message authentication code (19), reserved (6)
    out += odfi;
    put_number(out, bi + 1, 7);
    end_record(start);
  }

  start = out.size();
  out += '9';
  put_number(out, batches.size(), 6);
  put_number(out, blocks, 6);
  put_number(out, entries.size(), 8);
  put_number(out, file_hash % kEntryHashBound, 10);
  put_number(out, 0, 12);
  put_number(out, file_total, 12);
  put_alpha(out, "", 39);
  end_record(start);
  for (size_t r = records; r < blocks * kBlockingFactor; ++r) {
    out.append(kRecordChars, '9');
    out += '\n';
  }
  return file;
}

}  // namespace tally
