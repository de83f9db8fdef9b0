// The Cap'n Proto RPC server (SPEC sections 5 and 7): `tally serve`.
//
// Every connection gets its own TwoPartyVatNetwork with the limits of ServerLimits (message
// traversal and nesting limits, a flow limit on in-flight calls, a cap on what it may send before
// logging in, no further reads while its unread replies exceed a bound); a message over a limit,
// or bytes that are not Cap'n Proto, close that connection only. A connection that has not logged
// in within the login timeout, or stays idle past the idle timeout, is closed; refused logins on
// one connection are answered later and later and the last allowed closes it
// (docs/operations.md, "Hostile peers and limits"). The bootstrap capability `Tally`
// exchanges a token for the role capabilities it grants (rpc/tally.capnp); tokens are compared
// as SHA-256 digests in constant time and never logged.
//
// Posting goes through Service::post; the ledger's writer thread fulfils a cross-thread promise
// once the batch is durable, so a slow fsync never stalls the event loop. Reads run on a
// Snapshot; the long ones (verify, export) on a thread of their own.
//
// Shutdown (SIGTERM, SIGINT, ServerThread::stop): stop accepting, refuse new calls with a
// DISCONNECTED error (clients retry elsewhere or after the restart), let the batches in flight
// commit and their replies reach the wire, then close.
//
// Thread safety: RpcServer lives on one thread's kj event loop and is used only there.
// ServerThread's methods may be called from any one thread (the owner's).
#pragma once

#include <kj/async-io.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "ledger/limits.h"
#include "ledger/status.h"
#include "ops/json_log.h"
#include "ops/server_metrics.h"
#include "ops/tls.h"
#include "rpc/serving_role.h"
#include "service/service.h"

namespace tally {

// What one connection may do and hold; defaults from ledger/limits.h.
struct ServerLimits {
  // Largest incoming message, in 8-byte words (also caps what a message may make the reader
  // traverse).
  uint64_t message_words_max = limits::message_words_max;
  int message_nesting_max = limits::message_nesting_max;
  // Words of calls in flight per connection before the server stops reading from it.
  size_t call_words_in_flight_max = limits::call_words_in_flight_max;
  size_t connections_max = limits::connections_max;  // more are accepted and closed at once
  // Not logged in after this: closed (0: never).
  uint64_t login_timeout_ms = limits::login_timeout_ms;
  // Logged in, no call in progress and none for this long: closed (0: never).
  uint64_t idle_timeout_ms = limits::idle_timeout_ms;
  // Bytes a peer may send before a login succeeds; more closes the connection.
  size_t unauthenticated_bytes_max = limits::unauthenticated_bytes_max;
  // Calls in progress on one connection; one more is refused with an OVERLOADED error.
  size_t calls_in_flight_max = limits::calls_in_flight_max;
  // Replies queued to a peer that does not read them: past this, no further call is read from it.
  size_t reply_queued_bytes_max = limits::reply_queued_bytes_max;
  size_t batch_items_max = limits::batch_items_max;  // per post call; more: batch_too_large
  size_t long_reads_max = limits::long_reads_max;    // verify/export/settle at once; more wait
};

struct ServerOptions {
  // "host:port" (port 0 picks a free one), "tls:host:port" (TLS with `tls`'s files) or
  // "unix:/path/to/socket".
  std::string listen = "127.0.0.1:7878";
  ServerLimits limits;
  TlsServerFiles tls;  // for a "tls:" address: certificate and key (ops/tls.h)
  // Optional, owned by the caller and outliving the server: updated as connections come and go,
  // logins succeed or are refused, and posts are answered (docs/operations.md, "Metrics").
  ServerMetrics* metrics = nullptr;
  // Optional: refused logins (with the peer, never the token), connections refused or failed.
  JsonLog* log = nullptr;
  // Replication (docs/operations.md "Standbys"). A leader with sync_standbys N > 0 answers a
  // write only once N standbys hold it (its ledger must hold its results: LedgerOptions::
  // hold_until_replicated). A standby (role says whose) refuses writes with
  // not_leader and serves reads.
  unsigned sync_standbys = 0;
  // Whom the server serves as, owned by the caller (may change while it serves: failover);
  // null: always the leader.
  const ServingRole* role = nullptr;
  // The etcd lease TTL of a failover node (--lease-ttl-s), reported by `server`; 0: no etcd.
  uint64_t lease_ttl_s = 0;
};

inline constexpr int kDefaultPort = 7878;

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over connections_max
  uint64_t connections_open = 0;
  uint64_t connections_failed = 0;  // closed on a protocol error (limits, garbage)
  uint64_t logins_refused = 0;
  uint64_t batches_in_flight = 0;
};

class RpcServerImpl;

// A server on the calling thread's kj event loop (which must be a kj::setupAsyncIo loop).
class RpcServer {
 public:
  // `service` must outlive the server.
  RpcServer(Service& service, ServerOptions options, kj::AsyncIoContext& io);
  ~RpcServer();

  // Binds options.listen and starts accepting. Resolves to the bound address ("127.0.0.1:40017"
  // for port 0, "unix:/path"). A stale unix socket file (nobody listening) is replaced; a live
  // one is an error.
  kj::Promise<std::string> listen();
  // Stops accepting, refuses new calls, waits for batches in flight to be answered and their
  // replies flushed (at most `grace_ms`), then closes every connection.
  kj::Promise<void> shutdown(uint64_t grace_ms = 30000);
  ServerStats stats() const;

 private:
  kj::Own<RpcServerImpl> impl_;
};

// A server on a thread of its own with its own event loop: for tests, the demo and embedding.
class ServerThread {
 public:
  // Starts the thread and waits until it listens (or failed to: the error says why). Sets
  // SIGPIPE to be ignored, process-wide: a peer that leaves makes writes fail, not the process.
  static Result<std::unique_ptr<ServerThread>> start(Service& service, ServerOptions options);
  ~ServerThread();  // stop()

  const std::string& address() const { return address_; }
  // Graceful shutdown (RpcServer::shutdown) and join. Idempotent.
  void stop();
  ServerStats stats() const;

  struct State;

 private:
  ServerThread() = default;
  std::string address_;
  std::shared_ptr<State> state_;
};

struct ServeOptions {
  std::string data_dir;
  std::string config_file;
  std::string listen;                // empty: ServerOptions' default
  uint64_t settle_chunk_payees = 0;  // 0: the default
  std::string metrics_listen;        // "host:port" for GET /metrics; empty: no endpoint
  LogLevel log_level = LogLevel::info;
  TlsServerFiles tls;  // for a "tls:" listen address
  // --connections-max, --login-timeout-ms, --idle-timeout-ms (the others keep their defaults).
  ServerLimits limits;
  // Replication (docs/operations.md "Standbys"): --replication-log keeps the log standbys follow;
  // --sync-standbys N (implies it) answers writes once N standbys hold them; --standby-of ADDR
  // makes this server a standby of ADDR, logging in with `token` (the CLI's --token or
  // TALLY_TOKEN; a replica-role token of the leader's config) and trusting `tls_ca_file` for a
  // tls: leader.
  bool replication_log = false;
  unsigned sync_standbys = 0;
  std::string standby_of;
  std::string token;
  std::string tls_ca_file;
  // Failover (docs/operations.md "Failover"): etcd's members (comma-separated host:port), the
  // cluster's name and this server's address as clients and standbys reach it. Implies the
  // replication log; the node starts as a standby until etcd makes it leader.
  std::string etcd;
  std::string cluster;
  std::string advertise;
  uint64_t lease_ttl_s = limits::lease_ttl_s_default;  // --lease-ttl-s: the leader's etcd lease
};

// `tally serve [--data DIR] [--listen ADDR] [--config FILE] [--settle-chunk-payees N]
// [--metrics ADDR] [--log-level L] [--tls-cert F --tls-key F] [--connections-max N]
// [--login-timeout-ms MS] [--idle-timeout-ms MS]` (also reached as
// run_serve_command from the CLI, cli/commands.h). Opens the service, completes the settlement
// runs a crash left in progress (on a thread of their own, while serving), listens, logs on
// `err` as JSON Lines (ops/json_log.h): {"msg":"listening","address":ADDR} once listening,
// {"msg":"metrics listening","address":ADDR} for --metrics, a run's start, chunks and end, refused
// logins with their peer; checks the books on a thread of its own while serving (marketplace
// invariants, then the journal's verify) and logs a failure at error level ("books fail verify at
// start"); serves until SIGTERM or SIGINT, drains and returns 0. 2 for usage errors
// (a config that does not load included), 3 when the data directory or an address cannot be used,
// 4 when a standby stopped because it diverged from its leader or cannot follow it any more, 5
// when a leader elected through etcd lost its tenure (restart it: it rejoins as a standby). A
// node elected through etcd whose store diverged from the leader's (a deposed leader's
// unacknowledged tail) sets the store aside as DATA.diverged-<unix seconds> and serves again
// from an empty one, following the leader from its first txn (at most
// limits::serve_rejoins_max times per process; then 4).
int serve_main(const ServeOptions& options, std::ostream& err);

}  // namespace tally
