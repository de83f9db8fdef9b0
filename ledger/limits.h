// Every limit of tally, in one place, with its unit last in its name (TIGER_STYLE): what outside
// input, traffic or the store may reach before it is refused. The layers read their limits from
// here (the ledger, the marketplace layer, the RPC server and client, the CLI); the options that
// let an operator change one (LedgerOptions, ServerLimits) take their defaults from here.
// Where two limits must agree, a static_assert says so.
//
// Thread safety: constants.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tally::limits {

// --- an entry (SPEC section 2) ------------------------------------------------------------------
inline constexpr size_t account_name_bytes_max = 200;
inline constexpr size_t entry_id_bytes_max = 128;
inline constexpr size_t entry_kind_bytes_max = 64;
inline constexpr size_t meta_bytes_max = 4096;  // keys and values, in all
inline constexpr size_t postings_per_entry_min = 2;
inline constexpr size_t postings_per_entry_max = 1024;
inline constexpr size_t currencies_per_account_max = 64;

// --- batches and the writer ---------------------------------------------------------------------
inline constexpr size_t batch_items_max = 10000;  // per submitted batch (and per post call)
// Items (WriteOp::weight) per write transaction: it bounds the pages one transaction dirties,
// whose buffers LMDB keeps until the store closes (docs/performance.md, "Memory").
inline constexpr size_t group_items_max = 10000;
inline constexpr size_t queued_items_max = 200000;  // waiting for the writer: back-pressure
static_assert(batch_items_max <= queued_items_max, "one batch always fits the queue");

// --- the store ----------------------------------------------------------------------------------
inline constexpr size_t map_bytes_initial = size_t(1) << 32;  // address space, not disk
inline constexpr size_t map_bytes_max = size_t(1) << 40;      // growth stops here: store_full
// Book names a reader keeps decoded while it walks entries (BookNames); past it the cache starts
// over, so a walk of the whole journal (verify, an export) holds a bounded number.
inline constexpr size_t book_names_cached_max = size_t(1) << 16;
inline constexpr unsigned readers_max = 1024;       // LMDB reader slots: snapshots open at once
inline constexpr unsigned tables_max = 64;          // LMDB named databases: the ledger's and extras
inline constexpr unsigned ledger_tables = 11;       // meta, accounts, account_names, books, ...
inline constexpr size_t table_key_bytes_max = 511;  // LMDB's key limit (MDB_MAXKEYSIZE)
inline constexpr uint64_t map_grow_wait_ms = 5000;  // for readers to leave before growing
// Transactions the replication log keeps (ledger/replication.h): a standby further behind is
// seeded again from a backup.
inline constexpr uint64_t replog_txns_kept = 100000;
inline constexpr unsigned sync_standbys_max = 8;  // tally serve --sync-standbys
// Times one `tally serve --etcd` process sets a diverged store aside and rejoins empty before it
// stops for a person (exit 4).
inline constexpr unsigned serve_rejoins_max = 3;
// The etcd lease a failover leader holds (`tally serve --lease-ttl-s`, docs/operations.md
// "Failover"): a dead or cut-off leader is replaced about a TTL after its last keep-alive. Below
// 2 s a keep-alive round (two requests of up to 500 ms each, every TTL/3) may not fit before the
// lease's deadline; etcd also raises a TTL below its own minimum (2 s with default settings).
inline constexpr uint64_t lease_ttl_s_default = 3;
inline constexpr uint64_t lease_ttl_s_min = 2;
inline constexpr uint64_t lease_ttl_s_max = 600;
// LMDB reports a write cut short by a full disk as EIO, not ENOSPC: a commit failing with EIO
// while the data directory's filesystem has less than this free is store_full, not internal.
inline constexpr uint64_t disk_free_bytes_full = uint64_t(1) << 20;

// --- the marketplace layer ----------------------------------------------------------------------
inline constexpr size_t marketplace_name_bytes_max = 64;
inline constexpr size_t reason_bytes_max = 512;  // a payee hold's or a payout result's reason
inline constexpr uint64_t settle_chunk_payees_default = 5000;
inline constexpr uint64_t settle_chunk_payees_max = 100000;
static_assert(settle_chunk_payees_max <= queued_items_max,
              "a chunk weighs its payees: it must fit the writer's queue");

// --- the RPC server ------------------------------------------------------------------------------
// Largest incoming message, in 8-byte words (it also caps what a message may make the reader
// traverse): 8 Mi words = 64 MiB.
inline constexpr uint64_t message_words_max = uint64_t(8) << 20;
inline constexpr int message_nesting_max = 64;
// Words of calls one connection has in flight (read, not yet answered) before the server stops
// reading from it: 2 Mi words = 16 MiB (a larger single call is still read when none is in
// flight).
inline constexpr size_t call_words_in_flight_max = size_t(2) << 20;
inline constexpr size_t connections_max = 256;
// A connection that has not logged in within this is closed (`tally serve --login-timeout-ms`).
inline constexpr uint64_t login_timeout_ms = 5000;
// A logged-in connection with no call in progress and none started for this long is closed
// (`--idle-timeout-ms`; 0: never). A call in progress (export, follow) keeps it open.
inline constexpr uint64_t idle_timeout_ms = 600000;
// What a peer may send before a login succeeds: a login is a few hundred bytes; more closes it.
inline constexpr size_t unauthenticated_bytes_max = 64 * 1024;
// Calls one connection may have in progress at once (a follow or an export counts until it
// returns); one more is refused at once with an OVERLOADED error (retry later), so the replies
// one connection can make the server build are bounded.
inline constexpr size_t calls_in_flight_max = 64;
// Replies queued to one connection that does not read them: past this, the server reads no
// further call from it until they drain (its next calls wait in the kernel, not in our memory).
inline constexpr size_t reply_queued_bytes_max = size_t(16) << 20;
// Refused logins on one connection: the first login_failures_free answer at once, each further
// one after a delay doubling from login_failure_delay_ms_first up to login_failure_delay_ms_max
// (on the event loop's timer); the login_failures_max-th closes the connection.
inline constexpr unsigned login_failures_free = 3;
inline constexpr unsigned login_failures_max = 10;
inline constexpr uint64_t login_failure_delay_ms_first = 50;
inline constexpr uint64_t login_failure_delay_ms_max = 2000;
static_assert(login_failures_free < login_failures_max, "some failures are slowed");
inline constexpr size_t long_reads_max = 2;  // verify, export, settlement running at once
static_assert(connections_max + long_reads_max * 4 < readers_max,
              "every connection's read and every long read can hold a reader slot");
inline constexpr size_t stream_chunk_bytes = 64 * 1024;         // text streamed to a client
inline constexpr size_t stream_queued_bytes_max = 1024 * 1024;  // ahead of a slow client

// --- the CLI
// --------------------------------------------------------------------------------------
inline constexpr size_t json_line_bytes_max = size_t(1) << 20;  // a line of `tally post`
static_assert(json_line_bytes_max * 8 < message_words_max * 8,
              "a line the CLI accepts fits one message to the server");

}  // namespace tally::limits
