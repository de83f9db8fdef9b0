// The run journal: what the store keeps of a settlement run (SPEC section 4), so that a run
// committed in chunks survives a crash at any point and is completed exactly once.
//
//  runs:       marketplace \0 YYYY-MM-DD          -> RunRecord: the run's header, its state
//                                                    (in_progress | complete), the chunks and
//                                                    payees done, the last payee done, totals
//  run_chunks: marketplace \0 YYYY-MM-DD \0 be64(k) -> the rows chunk k committed
//
// Both are written only by a chunk's WriteOp (settlement/run_chunk.h), in the transaction of the
// entries they describe: the record never claims a payee whose entries are not there, and the
// entries of a payee are never there without the record saying so.
//
// Thread safety: pure functions over bytes, and readers over a TableReader the caller owns.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "settlement/run.h"
#include "settlement/tables.h"

namespace tally {

struct RunRecord {
  std::string run, marketplace, pay_date;
  TimeNs cutoff = 0;
  std::vector<Currency> currencies;  // the marketplace's when the run started
  RunState state = RunState::in_progress;
  uint64_t chunks = 0;           // chunks committed
  uint64_t payees = 0;           // payees gone through
  std::string last_payee;        // the last payee gone through; "" before the first chunk
  std::vector<RunTotal> totals;  // currency order
  TimeNs started_ns = 0, committed_ns = 0;
  // Rows written, so that a replay can count them before reading them.
  uint64_t released_rows = 0, payout_rows = 0, carried_rows = 0;
};

std::string encode_run_record(const RunRecord& r);
// False when the bytes are not a run record this tally wrote (damage, or another version).
bool decode_run_record(std::string_view bytes, RunRecord& r);

// One chunk's rows. Amounts are stored as minor units with their currency code; `currencies`
// (the run's) gives their exponents back.
std::string encode_run_rows(const RunRows& rows);
// The same bytes for rows given in parts (a chunk's, payee by payee), without gathering them.
std::string encode_run_rows(std::span<const RunRows* const> parts);
bool decode_run_rows(std::string_view bytes, const std::vector<Currency>& currencies,
                     RunRows& rows);

// The record of run (mk, pay_date), if any. Throws StoreCorruption when it does not decode.
std::optional<RunRecord> load_run_record(TableReader& t, const tables::Handles& h,
                                         std::string_view mk, std::string_view pay_date);
// Every run record of a marketplace (pay date order), or of all marketplaces when mk is empty,
// until visit returns false. Throws StoreCorruption on a record that does not decode.
void visit_run_records(TableReader& t, const tables::Handles& h, std::string_view mk,
                       const std::function<bool(const RunRecord&)>& visit);
// The rows of chunks [0, record.chunks), in order, to `visit`. Throws StoreCorruption when a
// chunk's rows are missing or do not decode.
void visit_run_rows(TableReader& t, const tables::Handles& h, const RunRecord& record,
                    const std::function<void(RunRows&&)>& visit);

// `totals` with `rows` added (per currency, in code order); nullopt when a total would not fit 128
// bits. The one place a run's totals are summed: committed chunks and previews alike.
std::optional<std::vector<RunTotal>> totals_with(std::vector<RunTotal> totals, const RunRows& rows);

// The run's header as a SettlementRun without rows.
SettlementRun run_header(const RunRecord& r);

}  // namespace tally
