// Payout files of a settlement run (SPEC section 4): CSV and ISO 20022 pain.001.001.03 credit
// transfer initiation XML.
//
// Both are pure functions of their input: the creation time is supplied by the caller and lines
// are sorted (currency code, then payout id) before writing, so the same run always gives the
// same bytes whatever order the lines arrive in. Every problem with the input is reported at
// once, one per line, in one Rejection (its code is the first problem's). docs/settlement.md
// ("Payout files") gives the rules.
//
// Thread safety: pure functions; call them from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "ledger/money.h"
#include "ledger/status.h"
#include "settlement/calendar.h"
#include "settlement/config.h"
#include "settlement/payee_rails.h"

namespace tally {

// One payout of a run, with the payee's bank details from the payee directory.
struct PayoutLine {
  std::string payout_id;  // unique within the run
  std::string payee;      // payee id
  Currency currency;
  Amount amount;                 // > 0
  std::string creditor_name;     // the account holder
  std::string creditor_account;  // an IBAN, or another bank account id
  std::string creditor_bic;      // empty when unknown
  // The rails' details the run paid to (from the payee directory when the run was made), for
  // NACHA and dispersion files (settlement/payout_export.h); absent when the payee had none.
  std::optional<PayeeAchDetails> ach{};
  std::optional<PayeeCoDetails> co{};
};

// What a pain.001 file says about its run.
struct PayoutRunInfo {
  std::string run_id;      // becomes MsgId (made to fit 35 characters: pain001_id)
  Date pay_date;           // ReqdExctnDt
  std::string created_at;  // CreDtTm, an xs:dateTime ("2026-01-05T00:00:00Z"); never the clock
  PayoutAccount debtor;    // the marketplace's payout_account; its name is also InitgPty/Nm
};

// CSV, header `payout,payee,currency,amount,creditor_name,creditor_account`, one line per payout,
// lines ending in "\n". Fields are quoted (RFC 4180: in double quotes, inner quotes doubled) only
// when they contain a comma, a double quote, CR or LF. Amounts print with exactly the currency's
// exponent digits. Rejected: an amount <= 0 (bad_amount), an empty or duplicate payout id
// (bad_request). No lines gives the header alone.
Result<std::string> payout_csv(std::span<const PayoutLine> lines);

// pain.001.001.03 XML that validates against the ISO 20022 schema: one PmtInf per currency, one
// CdtTrfTxInf per payout. Rejected, each line that has it: an amount <= 0 (bad_amount); a
// currency code not of the form [A-Z]{3} or an exponent above 5 (bad_currency: the schema's
// amounts have at most 5 fraction digits); an amount or control sum of more than 18 digits
// (overflow); a creditor name that is empty or not UTF-8 without control characters, an account
// that is neither an IBAN (checksum verified) nor 1..34 printable ASCII characters, a BIC of the
// wrong form, an empty or duplicate payout id (bad_request); and for the run: no lines, a
// created_at that is not an xs:dateTime (bad_time). Names longer than 140 characters are cut to
// 140 (banks match on the account, not the name).
Result<std::string> payout_pain001(const PayoutRunInfo& run, std::span<const PayoutLine> lines);

// An id as it appears in a pain.001 file (MsgId, PmtInfId, EndToEndId: at most 35 characters).
// An id of 1..35 printable ASCII characters is itself; any other becomes its first (up to 18)
// printable ASCII characters, '-' and 16 hex digits of its 64-bit FNV-1a hash: exactly the same
// text every time, so a bank's report can be matched back to the payout with this function.
std::string pain001_id(std::string_view id);

}  // namespace tally
