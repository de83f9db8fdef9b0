// `tally benchmark`: TigerBeetle's `tigerbeetle benchmark` on tally (SPEC section 6, "Throughput
// beside TigerBeetle"; figures and their commands in docs/performance.md).
//
//   tally benchmark [--accounts N] [--entries M] [--batch B] [--id-order sequential|random]
//                   [--queries Q] [--seed S] [--amount-mean MINOR] [--rate ENTRIES_PER_S]
//                   [--in-process] [--verify] [--tally PATH] [--data DIR]
//   tally --connect ADDR --token T [--tls-ca F] benchmark [...]
//
// Formats a fresh data directory (a temporary one, removed afterwards, unless --data names a new
// or empty one, which is kept), opens N accounts (default 10,000; one currency, USD), then posts
// M entries (default 10,000,000) of two postings between random distinct accounts, amounts
// exponential with mean MINOR minor units (default 10,000: 100.00 USD), in batches of B
// (default 8,189, at most limits::batch_items_max), one client with one batch in flight, durable
// (fsync before each reply). Over RPC by default: a `tally serve` child process (this program,
// or --tally PATH) on a unix socket; --in-process posts through the service in this process;
// with the global --connect ADDR (and --token, a poster and auditor token) it starts no server and
// posts to the running one at ADDR (a leader with --sync-standbys, say): accounts it finds
// already open (an earlier run's, same definitions) count as opened, entries must be new (another
// --seed with --id-order random for a second run on the same store), and the server's memory,
// storage writes and store size are not reported (not this program's to measure).
// Then Q balance queries (default 10,000) of random accounts, one at a time. --rate paces the
// batches to offer that many entries a second (latency at a fixed load); --verify runs `verify`
// and the trial balance at the end. The workload is fixed by --seed (cli/benchmark_workload.h).
//
// Prints (integers; seconds and MiB with two decimals): the setup, `N batches in S s`,
// `load offered` (with --rate), `load accepted = N tx/s`, `batch latency pK = X ms` for K = 1,
// 10, 20, ..., 100, `query latency pK = X us`, `entries posted = N`, `store size`, and the
// resident memory of this process and of the server (now, peak, anonymous).
//
// Exit codes: 0 every entry and query ok (and the books verify, with --verify); 1 an item or a
// query failed, or the books do not verify; 2 usage (a bad option, a --data directory that is not
// new or empty); 3 the store, the server or the connection failed.
//
// Thread safety: as run_cli (cli/cli.h).
#pragma once

#include <iosfwd>
#include <span>
#include <string>

#include "cli/commands.h"

namespace tally {

int run_benchmark_command(const CliGlobals& globals, std::span<const std::string> args,
                          std::ostream& out, std::ostream& err);

}  // namespace tally
