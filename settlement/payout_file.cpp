#include "settlement/payout_file.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

namespace tally {

namespace {

constexpr size_t kIdMax = 35;        // Max35Text: MsgId, PmtInfId, EndToEndId
constexpr size_t kIdPrefixMax = 18;  // 18 + '-' + 16 hex digits = 35
constexpr size_t kNameMax = 140;     // Max140Text
constexpr int kExponentMax = 5;      // ActiveOrHistoricCurrencyAndAmount: 5 fraction digits
constexpr i128 kDigitsBound = i128(1'000'000'000'000'000'000);  // 10^18: totalDigits 18

bool printable_ascii(char c) {
  return c >= ' ' && c < 0x7F;
}

// Lines in file order: currency code, then payout id (bytewise).
std::vector<const PayoutLine*> sorted(std::span<const PayoutLine> lines) {
  std::vector<const PayoutLine*> out;
  out.reserve(lines.size());
  for (const PayoutLine& l : lines) out.push_back(&l);
  // Stable: lines with equal keys (duplicates, which are refused) keep their order, so even the
  // problems are reported the same way every time.
  std::stable_sort(out.begin(), out.end(), [](const PayoutLine* a, const PayoutLine* b) {
    if (a->currency.code() != b->currency.code()) return a->currency.code() < b->currency.code();
    return a->payout_id < b->payout_id;
  });
  return out;
}

// Problems of a whole file, reported together.
class Problems {
 public:
  void add(Code code, std::string text) {
    if (list_.empty()) first_ = code;
    list_.push_back(std::move(text));
  }
  bool empty() const { return list_.empty(); }
  Rejection rejection() const {
    std::string message;
    for (const std::string& p : list_) message += (message.empty() ? "" : "\n") + p;
    return Rejection{first_, std::move(message)};
  }

 private:
  Code first_ = Code::bad_request;
  std::vector<std::string> list_;
};

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string line_name(const PayoutLine& l) {
  return "payout " + in_quotes(l.payout_id);
}

// Checks shared by both formats; `seen` collects payout ids. True when the id is non-empty and
// not seen before.
bool check_common(const PayoutLine& l, std::set<std::string_view>& seen, Problems& problems) {
  if (!l.amount.is_positive())
    problems.add(Code::bad_amount, line_name(l) + ": amount " +
                                       format_amount(l.amount, l.currency) + " is not positive");
  if (l.payout_id.empty()) {
    problems.add(Code::bad_request, "payout \"\": empty payout id");
    return false;
  }
  if (!seen.insert(l.payout_id).second) {
    problems.add(Code::bad_request, line_name(l) + ": duplicate payout id");
    return false;
  }
  return true;
}

// RFC 4180: quote a field only when it needs it.
void csv_field(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// Text content: the three characters XML reserves there.
std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The first `n` characters of valid UTF-8 `s`.
std::string_view utf8_prefix(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t chars = 0; i < s.size() && chars < n; ++chars) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return s.substr(0, i);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

bool digits_at(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

unsigned num_at(std::string_view s, size_t pos, size_t n) {
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + unsigned(s[i] - '0');
  return v;
}

// xs:dateTime as tally writes one: YYYY-MM-DDThh:mm:ss, optional .fraction (1..9 digits),
// optional Z or +hh:mm / -hh:mm. A real calendar date; hour 24 is refused.
bool valid_xs_datetime(std::string_view s) {
  if (s.size() < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  if (!parse_date(s.substr(0, 10), "").ok()) return false;
  if (!digits_at(s, 11, 2) || !digits_at(s, 14, 2) || !digits_at(s, 17, 2)) return false;
  if (num_at(s, 11, 2) > 23 || num_at(s, 14, 2) > 59 || num_at(s, 17, 2) > 59) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 9) return false;
  }
  std::string_view zone = s.substr(i);
  if (zone.empty() || zone == "Z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits_at(zone, 1, 2) &&
         zone[3] == ':' && digits_at(zone, 4, 2) && num_at(zone, 1, 2) <= 14 &&
         num_at(zone, 4, 2) <= 59;
}

i128 pow10(int n) {
  i128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// An account's pain.001 form: <IBAN> or <Othr><Id>. nullopt (with a problem added) when it is
// neither.
std::optional<std::string> account_xml(std::string_view account, std::string_view who,
                                       Problems& problems) {
  Result<BankAccount> a = parse_bank_account(account, std::string(who) + " account");
  if (!a.ok()) {
    problems.add(a.error().code, a.error().message);
    return std::nullopt;
  }
  if (a->is_iban) return "<IBAN>" + a->id + "</IBAN>";
  return "<Othr><Id>" + xml_text(a->id) + "</Id></Othr>";
}

// A name for Nm: valid bank text, cut to 140 characters.
std::optional<std::string> name_xml(std::string_view name, std::string_view who,
                                    Problems& problems) {
  std::optional<size_t> len = bank_text_length(name);
  if (!len || *len == 0) {
    problems.add(Code::bad_request, std::string(who) +
                                        ": name must be non-empty UTF-8 without control "
                                        "characters");
    return std::nullopt;
  }
  return xml_text(utf8_prefix(name, kNameMax));
}

}  // namespace

std::string pain001_id(std::string_view id) {
  if (!id.empty() && id.size() <= kIdMax && std::all_of(id.begin(), id.end(), printable_ascii))
    return std::string(id);
  std::string out;
  for (char c : id) {
    if (!printable_ascii(c) || out.size() == kIdPrefixMax) break;
    out += c;
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(id)));
  return out + "-" + hash;
}

Result<std::string> payout_csv(std::span<const PayoutLine> lines) {
  Problems problems;
  std::set<std::string_view> seen;
  for (const PayoutLine& l : lines) check_common(l, seen, problems);
  if (!problems.empty()) return problems.rejection();

  std::string out = "payout,payee,currency,amount,creditor_name,creditor_account\n";
  for (const PayoutLine* l : sorted(lines)) {
    csv_field(out, l->payout_id);
    out += ',';
    csv_field(out, l->payee);
    out += ',';
    csv_field(out, l->currency.code());
    out += ',';
    out += format_amount(l->amount, l->currency);
    out += ',';
    csv_field(out, l->creditor_name);
    out += ',';
    csv_field(out, l->creditor_account);
    out += '\n';
  }
  return out;
}

Result<std::string> payout_pain001(const PayoutRunInfo& run, std::span<const PayoutLine> lines) {
  Problems problems;
  if (lines.empty())
    problems.add(Code::bad_request, "pain.001: a file needs at least one payout (run " +
                                        in_quotes(run.run_id) + " has none)");
  if (run.run_id.empty()) problems.add(Code::bad_request, "pain.001: empty run id");
  if (!valid_xs_datetime(run.created_at))
    problems.add(Code::bad_time, "pain.001: created_at " + in_quotes(run.created_at) +
                                     " is not a date-time YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm]");
  std::optional<std::string> debtor_name = name_xml(run.debtor.name, "debtor", problems);
  std::optional<std::string> debtor_account = account_xml(run.debtor.iban, "debtor", problems);
  if (!valid_bic(run.debtor.bic))
    problems.add(Code::bad_request, "debtor: BIC " + in_quotes(run.debtor.bic) + " is not a BIC");

  std::vector<const PayoutLine*> order = sorted(lines);
  std::set<std::string_view> seen;
  std::set<std::string> end_to_end_ids;
  struct Tx {
    std::string id, name, account;
  };
  std::vector<Tx> txs(order.size());
  int max_exponent = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const PayoutLine& l = *order[i];
    std::string who = line_name(l);
    bool unique_id = check_common(l, seen, problems);
    std::string_view code = l.currency.code();
    if (code.size() != 3 ||
        !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
      problems.add(Code::bad_currency,
                   who + ": currency " + in_quotes(code) + " is not an ISO 4217 code ([A-Z]{3})");
    if (l.currency.exponent() > kExponentMax)
      problems.add(Code::bad_currency, who + ": currency " + in_quotes(code) + " has " +
                                           std::to_string(l.currency.exponent()) +
                                           " decimals, pain.001 amounts at most 5");
    else
      max_exponent = std::max(max_exponent, l.currency.exponent());
    if (l.amount.minor() >= kDigitsBound)
      problems.add(Code::overflow, who + ": amount has more than 18 digits");
    txs[i].id = pain001_id(l.payout_id);
    if (i > 0 && order[i - 1]->currency.code() == code &&
        order[i - 1]->currency.exponent() != l.currency.exponent())
      problems.add(Code::bad_currency,
                   who + ": currency " + in_quotes(code) + " appears with two different exponents");
    if (unique_id && !end_to_end_ids.insert(txs[i].id).second)
      problems.add(Code::bad_request, who + ": end-to-end id " + in_quotes(txs[i].id) +
                                          " is already used by another payout");
    if (auto n = name_xml(l.creditor_name, who, problems)) txs[i].name = *n;
    if (auto a = account_xml(l.creditor_account, who, problems)) txs[i].account = *a;
    if (!l.creditor_bic.empty() && !valid_bic(l.creditor_bic))
      problems.add(Code::bad_request, who + ": BIC " + in_quotes(l.creditor_bic) + " is not a BIC");
  }
  if (!problems.empty()) return problems.rejection();

  // Control sums. Each amount is < 10^18 minor units here; a sum of them may not be, which the
  // schema's 18 total digits cannot carry. The group's sum adds every currency (as pain.001
  // defines CtrlSum), in units of the largest exponent present.
  struct Group {
    size_t begin, end;
    i128 sum;
  };
  std::vector<Group> groups;
  i128 total = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const PayoutLine& l = *order[i];
    if (groups.empty() || order[groups.back().begin]->currency.code() != l.currency.code())
      groups.push_back(Group{i, i, 0});
    Group& g = groups.back();
    g.end = i + 1;
    g.sum += l.amount.minor();  // each < 10^18 and the sum checked below: no overflow
    total += l.amount.minor() * pow10(max_exponent - l.currency.exponent());
    if (g.sum >= kDigitsBound || total >= kDigitsBound) {
      return reject(Code::overflow, "pain.001: the control sum reaches 18 digits at " +
                                        line_name(l) + "; split the payouts over several files");
    }
  }

  std::string x;
  x.reserve(512 + order.size() * 512);
  x += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\">\n";
  x += "  <CstmrCdtTrfInitn>\n";
  x += "    <GrpHdr>\n";
  x += "      <MsgId>" + xml_text(pain001_id(run.run_id)) + "</MsgId>\n";
  x += "      <CreDtTm>" + run.created_at + "</CreDtTm>\n";
  x += "      <NbOfTxs>" + std::to_string(order.size()) + "</NbOfTxs>\n";
  x += "      <CtrlSum>" + format_amount(Amount::from_minor(total), max_exponent) + "</CtrlSum>\n";
  x += "      <InitgPty>\n        <Nm>" + *debtor_name + "</Nm>\n      </InitgPty>\n";
  x += "    </GrpHdr>\n";
  for (const Group& g : groups) {
    const Currency& c = order[g.begin]->currency;
    std::string ccy(c.code());
    x += "    <PmtInf>\n";
    x += "      <PmtInfId>" + xml_text(pain001_id(run.run_id + "-" + ccy)) + "</PmtInfId>\n";
    x += "      <PmtMtd>TRF</PmtMtd>\n";
    x += "      <NbOfTxs>" + std::to_string(g.end - g.begin) + "</NbOfTxs>\n";
    x += "      <CtrlSum>" + format_amount(Amount::from_minor(g.sum), c) + "</CtrlSum>\n";
    x += "      <ReqdExctnDt>" + format_date(run.pay_date) + "</ReqdExctnDt>\n";
    x += "      <Dbtr>\n        <Nm>" + *debtor_name + "</Nm>\n      </Dbtr>\n";
    x += "      <DbtrAcct>\n        <Id>" + *debtor_account + "</Id>\n      </DbtrAcct>\n";
    x += "      <DbtrAgt>\n        <FinInstnId>\n          <BIC>" + run.debtor.bic +
         "</BIC>\n        </FinInstnId>\n      </DbtrAgt>\n";
    x += "      <ChrgBr>SLEV</ChrgBr>\n";
    for (size_t i = g.begin; i < g.end; ++i) {
      const PayoutLine& l = *order[i];
      x += "      <CdtTrfTxInf>\n";
      x += "        <PmtId>\n          <EndToEndId>" + xml_text(txs[i].id) +
           "</EndToEndId>\n        </PmtId>\n";
      x += "        <Amt>\n          <InstdAmt Ccy=\"" + ccy + "\">" + format_amount(l.amount, c) +
           "</InstdAmt>\n        </Amt>\n";
      if (!l.creditor_bic.empty()) {
        x += "        <CdtrAgt>\n          <FinInstnId>\n            <BIC>" + l.creditor_bic +
             "</BIC>\n          </FinInstnId>\n        </CdtrAgt>\n";
      }
      x += "        <Cdtr>\n          <Nm>" + txs[i].name + "</Nm>\n        </Cdtr>\n";
      x += "        <CdtrAcct>\n          <Id>" + txs[i].account + "</Id>\n        </CdtrAcct>\n";
      x += "      </CdtTrfTxInf>\n";
    }
    x += "    </PmtInf>\n";
  }
  x += "  </CstmrCdtTrfInitn>\n";
  x += "</Document>\n";
  return x;
}

}  // namespace tally
