// Payout files of a stored run and what exporting them does to the payouts (SPEC section 8:
// "sent (in a file finance exported; the file is recorded with its format and hash)").
//
// Three layers, each usable alone:
//  1. Pure writers of a run's files: payout_csv_of_run, payout_pain001_of_run,
//     payout_nacha_of_run, payout_co_dispersion_of_run. They take a stored run (its rows carry the
//     creditor details the run paid to, rails included) and the marketplace's config (the debtor
//     account, the `ach` and `co_dispersion` originators); the same input gives the same bytes.
//  2. record_payout_file_op: the WriteOp that records a file (run, format, SHA-256, time, the
//     payouts it carries, NACHA trace numbers) and moves its payouts from instructed to sent.
//  3. export_payout_file: both in one call, what `tally payouts RUN --format F` does: make the
//     file (re-using the NACHA trace range of an earlier export of the run), record it, return the
//     bytes. The service layer calls this one.
//
// Rules (docs/settlement.md, "Payout files and the lifecycle"):
//  - One file per run and format. Exporting it again gives the same bytes and changes nothing
//    (already_recorded); bytes that differ from the recorded file's (the originator's config
//    changed since) are refused (id_conflict): its payouts were sent already.
//  - The bank formats (pain001, nacha, co-dispersion) SEND: recording one moves its payouts from
//    instructed to sent. A payout is sent by one file only: a bank file carrying a payout that is
//    past instructed (sent in another file, or settled by a payout_result) is refused whole
//    (payout_already_settled, naming each), since the bank would pay it twice. csv is a listing
//    for people: it is recorded (format, hash) and changes no state.
//  - Which payouts a format carries: nacha the run's USD payouts, co-dispersion its COP payouts,
//    csv and pain001 all of them, or those of the currencies asked for. So a run of USD and COP
//    payouts goes out as one NACHA file and one dispersion file.
//  - NACHA trace numbers are unique across a marketplace's files: each file of an ODFI takes the
//    next range of trace sequences (table nacha_sequences), and its file id modifier the next of
//    A..Z, 0..9; a re-export re-uses the recorded range. A bank return names the original entry
//    by that trace (settlement/report_import.h).
//
// Thread safety: the writers are pure; export_payout_file may be called from any thread (it reads
// snapshots and submits one op to the ledger's writer).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "settlement/ach.h"
#include "settlement/co_dispersion.h"
#include "settlement/payout_file.h"
#include "settlement/rules.h"
#include "settlement/run.h"

namespace tally {

enum class PayoutFileFormat : uint8_t { csv, pain001, nacha, co_dispersion };
// "csv", "pain001", "nacha", "co-dispersion" (as `tally payouts --format` takes them).
std::string_view payout_file_format_name(PayoutFileFormat f);
std::optional<PayoutFileFormat> parse_payout_file_format(std::string_view name);
// Does recording a file of this format send its payouts? (csv: no; the bank formats: yes.)
bool payout_file_sends(PayoutFileFormat f);
// The id of a run's file: "RUN:FORMAT" ("shop:2026-01-26:pain001"), the payouts' `file`.
std::string payout_file_id(std::string_view run_id, PayoutFileFormat f);

// The lines of `run` a file of format `f` carries: nacha USD, co-dispersion COP, csv and pain001
// every currency, or only `currencies` when that is not empty (any format).
std::vector<PayoutLine> payout_file_lines(const SettlementRun& run, PayoutFileFormat f,
                                          const std::vector<std::string>& currencies = {});

// --- 1. the writers -----------------------------------------------------------------------------

// CSV of the run's lines (payout_csv).
Result<std::string> payout_csv_of_run(const SettlementRun& run,
                                      const std::vector<std::string>& currencies = {});
// pain.001 of the run's lines (payout_pain001), MsgId the run id, ReqdExctnDt the pay date,
// CreDtTm the run's completion time, the debtor the marketplace's payout_account.
Result<std::string> payout_pain001_of_run(const SettlementRun& run, const MarketplaceConfig& mk,
                                          const std::vector<std::string>& currencies = {});

// Where a NACHA file's traces start and its file id modifier.
struct NachaSequence {
  uint32_t first_trace_sequence = 1;
  char file_id_modifier = 'A';
};
// The NACHA file of the run's USD payouts (payout_nacha), from the marketplace's `ach`
// originator: effective entry date the pay date, creation date and time the run's completion time
// (UTC), each credit to the ACH details the run captured for its payee. Rejections: no `ach`
// originator, a run not complete, no USD payouts (bad_request); a payee without ACH details
// (bad_request, naming every one); payout_nacha's.
Result<NachaFile> payout_nacha_of_run(const SettlementRun& run, const MarketplaceConfig& mk,
                                      const NachaSequence& sequence = {});
// The Colombian dispersion CSV of the run's COP payouts (payout_co_dispersion), pay_date the pay
// date, each line to the Colombian details the run captured for its payee. Rejections: no
// `co_dispersion` originator, no COP payouts (bad_request); a payee without Colombian details
// (bad_request, naming every one); payout_co_dispersion's.
Result<std::string> payout_co_dispersion_of_run(const SettlementRun& run,
                                                const MarketplaceConfig& mk);

// --- 2. recording a file ------------------------------------------------------------------------

struct PayoutFileRecord {
  std::string run;  // "M:YYYY-MM-DD", a complete run
  PayoutFileFormat format = PayoutFileFormat::csv;
  Digest sha256{};                   // of the file's bytes (sha256(bytes))
  std::vector<std::string> payouts;  // the payout ids it carries, each a payout of the run
  // nacha: each payout's trace number (one per payout id), the ODFI (8 digits) and the sequence
  // the file was made with, which must be the ODFI's next range when the file is new (else the
  // op reports `conflict`: another file took it meanwhile; make the file again).
  std::vector<NachaTrace> traces;
  std::string odfi;
  NachaSequence sequence;
};
struct PayoutFileRecorded {
  enum class Kind : uint8_t { recorded, already_recorded, conflict };
  Kind kind = Kind::recorded;
  tables::PayoutFileValue file;  // as recorded (recorded, already_recorded)
  uint64_t sent = 0;             // payouts moved from instructed to sent by this op
};
// The op. Its ItemResult is ok (recorded, or conflict: nothing written), duplicate
// (already_recorded) or an error: unknown_run, run_in_progress (the run is not complete),
// bad_request (a payout that is not the run's, traces that do not match the payouts),
// id_conflict (the run was recorded in this format with other bytes), payout_already_settled
// (a bank file with payouts past instructed, each named). `out` is reset each time it applies.
std::unique_ptr<WriteOp> record_payout_file_op(const Rules& rules, PayoutFileRecord record,
                                               std::shared_ptr<PayoutFileRecorded> out);

// --- 3. export = make + record ----------------------------------------------------------------

struct PayoutExportOptions {
  std::vector<std::string> currencies;  // only these currencies' payouts (empty: the format's)
};
struct PayoutFileExport {
  std::string run, file_id;
  PayoutFileFormat format = PayoutFileFormat::csv;
  std::string bytes;  // the file
  Digest sha256{};
  std::vector<std::string> payouts;  // carried, in file order
  std::vector<NachaTrace> traces;    // nacha
  uint64_t sent = 0;                 // moved from instructed to sent by this export
  bool already_recorded = false;     // the same file was exported before: nothing changed
  TimeNs recorded_ns = 0;            // when the file was (first) recorded
};
// Makes run `run_id`'s file in `format` and records it (see the rules above). Rejections: those
// of the writers and of record_payout_file_op; unknown_marketplace when the run's marketplace is
// no longer configured. A store failure is `internal` / `store_full`.
Result<PayoutFileExport> export_payout_file(const Rules& rules, std::string_view run_id,
                                            PayoutFileFormat format,
                                            const PayoutExportOptions& options = {});

// The stored run with all its rows (unknown_run).
Result<SettlementRun> load_run(const Rules& rules, std::string_view run_id);

}  // namespace tally
