// Bank reports coming back about payouts (SPEC section 8, "Reports in"), parsed into one neutral
// form: ISO 20022 pain.002.001.03 (payment status report), camt.054.001.02 (debit/credit
// notification, with RtrInf returns) and NACHA return files (entries with addenda 99).
//
// A parser reads and validates the WHOLE file before it returns anything: a malformed file is one
// Rejection (bad_request) that says where (an XML element path and line, or a NACHA line) and
// why, listing every problem found. Hostile input never crashes or asserts: the input size is
// capped, XML is parsed by libxml2 with network access off, no DTD or entity loading, and a
// document with a DOCTYPE is refused before its declarations are read.
//
// This file knows nothing of runs, payouts or the store: it says what the bank said, and the
// caller matches each line's reference to its payouts (a pain.001 EndToEndId is
// pain001_id(payout id), settlement/payout_file.h; a NACHA trace number is what payout_nacha
// returned, settlement/ach.h). docs/payout-rails.md ("Bank reports") gives every mapping.
//
// Thread safety: the parse functions may be called from any thread at once (each uses its own
// libxml2 parser context; libxml2 is initialised once, thread-safely).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "settlement/calendar.h"

namespace tally {

enum class ReportFormat : uint8_t { pain002, camt054, nacha_return };
// "pain.002.001.03", "camt.054.001.02", "nacha-return".
std::string_view report_format_name(ReportFormat f);

// What the bank says happened to a payment.
enum class ReportOutcome : uint8_t {
  accepted,  // taken for execution, not final (pain.002 ACCP, ACSC, ACSP, ACTC, ACWC)
  pending,   // received or pending, nothing decided yet (PDNG, RCVD, PART; camt.054 Sts PDNG)
  paid,      // the money left the account (camt.054 booked debit)
  rejected,  // failed before settling (pain.002 RJCT)
  returned,  // sent back after it was paid (camt.054 credit with RtrInf; NACHA return)
};
// "accepted", "pending", "paid", "rejected", "returned".
std::string_view report_outcome_name(ReportOutcome o);

// What a line's reference names.
enum class ReferenceKind : uint8_t {
  end_to_end_id,           // one payment: its EndToEndId (pain001_id of the payout id)
  payment_information_id,  // every payment of one PmtInf of the original pain.001 (batch status)
  message_id,              // every payment of the original message (group status)
  trace_number,            // one NACHA entry: the trace number tally's file gave it
};
// "end_to_end_id", "payment_information_id", "message_id", "trace_number".
std::string_view reference_kind_name(ReferenceKind k);

// An amount exactly as the file gives it (never floating point): the currency code and the
// decimal text, digits with an optional '.' and 1..5 fraction digits ("120.5", "7.05"). A NACHA
// amount is in USD, written from its cents with 2 decimals. parse_amount(value, currency) turns
// it into an Amount.
struct ReportAmount {
  std::string currency;  // [A-Z]{3}
  std::string value;
  friend bool operator==(const ReportAmount&, const ReportAmount&) = default;
};

struct BankReportLine {
  // Where in the file: an XML element path with the index of each repeated element
  // ("/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[2]") or a NACHA record
  // ("record 6": the return entry's line); `line` is its 1-based line in the file.
  std::string location;
  size_t line = 0;
  ReferenceKind reference_kind = ReferenceKind::end_to_end_id;
  std::string reference;  // what to match: see ReferenceKind
  // The bank's own id for the line, when the file has one: pain.002 StsId, camt.054 AcctSvcrRef
  // (of the transaction, else of the entry), NACHA the return entry's own trace number.
  std::string bank_reference;
  ReportOutcome outcome = ReportOutcome::accepted;
  // The reason code: ISO 20022 StsRsnInf/Rsn or RtrInf/Rsn (Cd, or Prtry when there is no Cd),
  // e.g. "AC04"; NACHA the return reason code, e.g. "R03". Empty when the file gives none.
  std::string reason;
  // Free text: ISO AddtlInf elements joined by " "; NACHA the addenda information. May be empty.
  std::string reason_info;
  std::optional<ReportAmount> amount;  // when the file gives it
  std::optional<Date> date;  // camt.054 booking date; NACHA the return batch's effective date
  friend bool operator==(const BankReportLine&, const BankReportLine&) = default;
};

struct BankReport {
  ReportFormat format = ReportFormat::pain002;
  // ISO: GrpHdr/MsgId and GrpHdr/CreDtTm as written. NACHA: immediate origin, '-', creation
  // date, time and file id modifier as written ("091000019-2601081200A"), and the creation
  // "YYYY-MM-DDThh:mm" (or "YYYY-MM-DD" when the time is blank).
  std::string message_id;
  std::string created_at;
  std::string original_message_id;    // pain.002: OrgnlGrpInfAndSts/OrgnlMsgId; else empty
  std::string original_message_name;  // pain.002: OrgnlMsgNmId ("pain.001.001.03"); else empty
  std::vector<BankReportLine> lines;  // in file order
  // What the file holds that is not a payout outcome, one "location (line N): why" each, e.g.
  // a camt.054 credit that is not a return, a NACHA notification of change. Nothing to apply;
  // for a person to look at.
  std::vector<std::string> ignored;
};

// Reports larger than this are refused unread (bad_request). XML reports are parsed into a tree
// that takes about 13 times the file's size at peak (a 30 MB pain.002 of 100,000 transactions
// peaked at 390 MB): the cap bounds that to about 450 MB.
inline constexpr size_t bank_report_bytes_max = size_t(32) << 20;  // 32 MiB

// Detects the format from the content and parses it: after an optional UTF-8 byte order mark
// and white space, '<' is XML (pain.002.001.03 or camt.054.001.02, told apart by the Document
// namespace); a file whose first record is a NACHA file header ('1', record size "094") is a
// NACHA return file. Anything else is refused (bad_request).
Result<BankReport> parse_bank_report(std::string_view bytes);

// The two halves of parse_bank_report, for a caller that knows what it has. The ISO parser takes
// either namespace and refuses any other.
Result<BankReport> parse_iso20022_report(std::string_view xml);
Result<BankReport> parse_nacha_return(std::string_view text);

}  // namespace tally
