// US payouts by ACH (SPEC section 8): ABA routing numbers and the NACHA file of PPD/CCD credits
// a marketplace's bank (the ODFI) takes in.
//
// payout_nacha is a pure function of its input: the file's creation date and time are supplied
// by the caller (it never reads the clock) and credits are sorted before writing, so the same
// input gives the same bytes whatever order the credits arrive in. Every problem with the input
// is reported at once, one per line, in one Rejection whose code is the first problem's.
// docs/payout-rails.md ("NACHA") gives the layout record by record and every decision.
//
// This file knows nothing of runs, payees or the store: the caller turns its payouts and the
// payee directory's bank details into NachaCredits, and keeps the trace numbers it gets back
// (a return file names the original entry by its trace number: settlement/bank_report.h).
//
// Thread safety: pure functions; call them from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/money.h"
#include "ledger/status.h"
#include "settlement/bank_ids.h"  // aba_routing_ok
#include "settlement/calendar.h"

namespace tally {

enum class AchAccountType : uint8_t { checking, savings };     // transaction codes 22 and 32
enum class AchReceiverKind : uint8_t { individual, company };  // SEC codes PPD and CCD

// "checking", "savings" / "individual", "company": the names config and directories use.
std::string_view ach_account_type_name(AchAccountType t);
std::optional<AchAccountType> parse_ach_account_type(std::string_view name);
std::string_view ach_receiver_kind_name(AchReceiverKind k);
std::optional<AchReceiverKind> parse_ach_receiver_kind(std::string_view name);

// Who sends the file, to which bank, and when: the marketplace's ACH origination details, which
// its bank assigns. Text fields are printable ASCII; they are written in upper case.
struct NachaFileInfo {
  std::string immediate_destination;       // the receiving point's routing number (9 digits)
  std::string immediate_destination_name;  // its name, 1..23 characters
  std::string immediate_origin;       // 9 digits (written after a blank) or 10 digits, as assigned
  std::string immediate_origin_name;  // 1..23 characters
  std::string company_name;           // 1..16 characters (batch headers)
  std::string company_id;             // exactly 10 characters (often "1" + the EIN), as given
  std::string odfi_routing;       // the originating bank's routing number (9 digits, check digit
                                  // verified); its first 8 digits go in batch headers and traces
  std::string entry_description;  // 1..10 characters, e.g. "PAYOUT" (on the receiver's statement)
  Date effective_date;            // the default effective entry date (2000..2099)
  Date creation_date;             // file creation date (2000..2099)
  std::string creation_time;      // file creation time "HHMM" (00..23, 00..59)
  char file_id_modifier = 'A';    // A..Z or 0..9: tells apart files of one origin and date
  // The trace sequence of the file's first entry, 1..9,999,999; the others follow. A caller that
  // writes several files for one ODFI gives each its own range, so that trace numbers (which
  // bank returns name) stay unique across files (settlement/payout_export.h does).
  uint32_t first_trace_sequence = 1;
};

// One payout paid by ACH credit.
struct NachaCredit {
  std::string payout_id;      // unique within the file; written as nacha_id(payout_id)
  Currency currency;          // USD (exponent 2) only
  Amount amount;              // cents, > 0 and < 10^10 (the entry's 10-digit field)
  std::string receiver_name;  // UTF-8; Latin-1 letters are transliterated, cut to 22 characters
  std::string routing;        // the receiver's bank (RDFI): 9 digits, check digit verified
  std::string account;        // 1..17 printable ASCII characters without spaces
  AchAccountType account_type = AchAccountType::checking;
  AchReceiverKind receiver_kind = AchReceiverKind::individual;
  std::optional<Date> effective_date;  // when set, overrides NachaFileInfo::effective_date
};

// The trace number an entry got: a bank's return names the original entry by it.
struct NachaTrace {
  std::string payout_id;     // as in the NachaCredit
  std::string trace_number;  // 15 digits: the ODFI's 8 digits and a 7-digit sequence
  friend bool operator==(const NachaTrace&, const NachaTrace&) = default;
};

struct NachaFile {
  std::string text;                // the file: records of 94 characters, each ending in "\n"
  std::vector<NachaTrace> traces;  // one per credit, in file order
};

// Limits of the format's count fields, checked before writing (overflow, with a hint to split
// the payouts over several files).
inline constexpr size_t nacha_entries_per_file_max = 9'999'999;  // the trace's 7-digit sequence
inline constexpr size_t nacha_entries_per_batch_max = 999'999;   // batch control, 6 digits
inline constexpr uint64_t nacha_amount_cents_bound = 10'000'000'000;    // entry amount, 10 digits
inline constexpr uint64_t nacha_total_cents_bound = 1'000'000'000'000;  // control totals, 12 digits

// A NACHA file of credits: file header (1); one batch per (effective date, SEC code) in that
// order, each a batch header (5, service class 220: credits only), its entries (6) sorted by
// payout id (bytewise) and a batch control (8); the file control (9); then records of 94 '9's
// up to a multiple of 10 records (the blocking factor). Trace sequence numbers run
// first_trace_sequence, +1, ... in file order; batch numbers 1, 2, ....
//
// Rejected, each credit that has it: an empty or duplicate payout id, two ids with the same
// nacha_id (bad_request); a currency other than USD with exponent 2 (bad_currency); an amount
// <= 0 (bad_amount) or of 10^10 cents or more (overflow); a routing number that is not 9 digits
// with a valid check digit, an account that is not 1..17 printable ASCII characters without
// spaces, a name that is empty or has a character other than printable ASCII and Latin-1
// letters (bad_request); an effective date outside 2000..2099 (bad_date). For the file: no
// credits, an info field of the wrong form or length (bad_request), a creation date or
// effective date outside 2000..2099 (bad_date), a creation time not HHMM (bad_time); a batch
// or file total of 10^12 cents or more, more entries than a field can count, a trace sequence
// past 9,999,999 (overflow); first_trace_sequence 0 (bad_request).
Result<NachaFile> payout_nacha(const NachaFileInfo& info, std::span<const NachaCredit> credits);

// A payout id as an entry's Individual Identification Number (15 characters): an id of 1..15
// printable ASCII characters is itself; any other becomes '#' and the 14 upper-case hex digits
// of the low 56 bits of its 64-bit FNV-1a hash. The same text every time.
std::string nacha_id(std::string_view payout_id);

}  // namespace tally
