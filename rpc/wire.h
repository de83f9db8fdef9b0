// Conversions between tally's plain C++ values and the Cap'n Proto wire types of rpc/tally.capnp.
// Used by the server (rpc/server.cpp) and the client (rpc/client.cpp); nothing here does I/O.
//
// Encoding never fails. Decoding what a peer sent never trusts it: a value outside its domain
// (an unknown enum value, a malformed currency, a time outside the supported range) is a
// Rejection naming the field, never an assertion.
//
// Thread safety: pure functions over builders and readers the caller owns.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "rpc/tally.capnp.h"
#include "service/results.h"
#include "service/server_info.h"
#include "service/service.h"

namespace tally::wire {

// --- values -------------------------------------------------------------------------------------

void set_amount(Amount128::Builder b, Amount a);
Amount get_amount(Amount128::Reader r);

// The ledger's currency with a code (built-ins and declared assets), as the server decodes
// money it is sent; nullopt when unknown.
using FindCurrency = std::function<std::optional<tally::Currency>(std::string_view code)>;
// A code a client sent, looked up: bad_currency naming `field` when malformed or unknown.
Result<tally::Currency> find_code(capnp::Text::Reader code, const FindCurrency& find,
                                  std::string_view field);

void set_currency(Currency::Builder b, const tally::Currency& c);
// bad_currency when the code is malformed or the exponent out of range.
Result<tally::Currency> get_currency(Currency::Reader r, std::string_view field);

::tally::wire::ErrorCode to_wire(Code c);
Code from_wire(::tally::wire::ErrorCode c);  // an unknown value reads as Code::internal

std::string text(capnp::Text::Reader r);  // copies
// An optional RFC 3339 time a client sent: null is absent (nullopt); present but empty or
// malformed is bad_time naming `field`.
Result<std::optional<TimeNs>> get_opt_time_text(bool has, capnp::Text::Reader r,
                                                std::string_view field);
// An id as echoed in results: cut to limits::entry_id_bytes_max bytes (an oversized id is bad_id
// and never travels back whole).
std::string_view echoed_id(std::string_view id);
// `s` as Cap'n Proto text. capnp::Text::Reader (a kj::StringPtr) must be NUL-terminated, which a
// view need not be (an id cut to its limit, a 12-byte currency code): so a NUL-terminated copy,
// converted where a Text::Reader is taken, alive to the end of the full expression.
struct TextOf {
  std::string text;
  operator capnp::Text::Reader() const {  // NOLINT: implicit by design
    return capnp::Text::Reader(text.c_str(), text.size());
  }
};
inline TextOf text_of(std::string_view s) {
  return TextOf{std::string(s)};
}

// --- posting ------------------------------------------------------------------------------------

// Client side: one item into a List(Item) element.
void encode_item(Item::Builder b, const PostItem& item);
// Server side: the item, or a Rejection naming the field (the item is then reported as an error
// without reaching the writer). Money is validated as JSON input is: the code looked up with
// `find`, the decimal text parsed exactly with its exponent.
Result<PostItem> decode_item(Item::Reader r, const FindCurrency& find);

void encode_result(ItemResult::Builder b, const tally::ItemResult& r);
tally::ItemResult decode_result(ItemResult::Reader r);

// --- reads --------------------------------------------------------------------------------------

void encode_error(Error::Builder b, const Rejection& r);
Rejection decode_error(Error::Reader r);

void encode(BalanceResult::Builder b, const tally::BalanceResult& v);
Result<tally::BalanceResult> decode(BalanceResult::Reader r);
void encode(BalancesResult::Builder b, const tally::BalancesResult& v);
Result<tally::BalancesResult> decode(BalancesResult::Reader r);
void encode(StatementResult::Builder b, const tally::StatementResult& v);
Result<tally::StatementResult> decode(StatementResult::Reader r);
void encode(StatementQuery::Builder b, const tally::StatementQuery& q);
Result<tally::StatementQuery> decode(StatementQuery::Reader r);
void encode(Entry::Builder b, const tally::Entry& e);
// An entry a client sent (server side), money validated as in decode_item.
Result<tally::Entry> decode(Entry::Reader r, const FindCurrency& find);
void encode(EntryView::Builder b, const tally::EntryView& v);
Result<tally::EntryView> decode(EntryView::Reader r);
void encode(TrialBalance::Builder b, const tally::TrialBalanceResult& v);
Result<tally::TrialBalanceResult> decode(TrialBalance::Reader r);
void encode(VerifyReport::Builder b, const tally::VerifyReport& v);
tally::VerifyReport decode(VerifyReport::Reader r);
void encode(ServerInfo::Builder b, const tally::ServerInfo& v);
tally::ServerInfo decode(ServerInfo::Reader r);
void encode(ExportSummary::Builder b, const tally::ExportSummary& v);
tally::ExportSummary decode(ExportSummary::Reader r);
void encode(ClosePeriodResult::Builder b, const tally::ClosePeriodResult& v);
tally::ClosePeriodResult decode(ClosePeriodResult::Reader r);
void encode(Run::Builder b, const tally::RunResult& v);
Result<tally::RunResult> decode(Run::Reader r);
// The rows of a RunRows.rows call.
void encode_rows(RunRows::RowsParams::Builder b, const tally::RunRowsResult& v);
Result<tally::RunRowsResult> decode_rows(RunRows::RowsParams::Reader r);
void encode(RunSummary::Builder b, const tally::RunSummary& v);
Result<tally::RunSummary> decode(RunSummary::Reader r);

// --- the payout lifecycle (wire_payouts.cpp) ---------------------------------------------------
::tally::wire::PayoutFormat to_wire(tally::PayoutFormat f);
Result<tally::PayoutFormat> from_wire(::tally::wire::PayoutFormat f, std::string_view field);
// The file's bytes are not in the info (they went to the sink): decode leaves `bytes` empty and
// gives the trailer in `size` and `sha256`.
void encode(PayoutFileInfo::Builder b, const tally::PayoutFileResult& v);
struct PayoutFileTrailer {
  tally::PayoutFileResult info;  // bytes empty
  uint64_t size = 0;
};
Result<PayoutFileTrailer> decode(PayoutFileInfo::Reader r);
void encode(RunPayouts::Builder b, const tally::RunPayoutsResult& v);
Result<tally::RunPayoutsResult> decode(RunPayouts::Reader r);
void encode(PayoutQuery::Builder b, const tally::PayoutQuery& q);
tally::PayoutQuery decode(PayoutQuery::Reader r);
void encode(PayoutPage::Builder b, const tally::PayoutPageResult& v);
Result<tally::PayoutPageResult> decode(PayoutPage::Reader r);
void encode(ReportImport::Builder b, const tally::ImportReportResult& v);
tally::ImportReportResult decode(ReportImport::Reader r);

}  // namespace tally::wire
