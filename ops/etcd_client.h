// A small etcd v3 client over etcd's JSON gateway (plain HTTP/1.1 POSTs to /v3/..., keys and
// values base64, 64-bit numbers as decimal strings), on a kj event loop with kj::HttpClient.
// What tally needs for leader election (ops/election.h) and nothing more: leases, put, get,
// delete, and the compare-and-swap transactions of an election.
//
// Every call:
//  - resolves to an OpsResult, never rejects: a refused connection, a dropped one, an HTTP error,
//    an etcd error body ({"error","code","message"}) or an unreadable reply is an OpsError;
//  - is bounded by EtcdOptions::request_timeout_ms (a kj timer): past it the request is cancelled
//    and the result is OpsError::Kind::timeout. A timed-out write may or may not have been
//    applied by etcd; the election protocol is built so that either is safe (docs/operations.md);
//  - goes to the current endpoint; a transport failure or a timeout moves the next call to the
//    next endpoint of EtcdOptions::endpoints (round robin). A call is never retried by the client
//    itself, so its time bound holds.
//
// Watching is by polling (wait_for_change): the gateway's /v3/watch is a long-lived streamed
// response, and a standby that polls a single key every few hundred milliseconds costs etcd
// nothing worth a streaming parser. A change between two polls that is undone before the next
// one (deleted and re-created) is seen as the new value, which is all a standby needs.
//
// Thread safety: an EtcdClient belongs to the thread whose kj event loop it was created on and is
// used only there. The timer and network must outlive it, and the promises it returned must be
// resolved or dropped (which cancels them) before it is destroyed.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/http.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/ops_result.h"

namespace tally {

struct EtcdOptions {
  // "host:port" or "http://host:port" (the JSON gateway speaks plain HTTP; no TLS to etcd yet).
  std::vector<std::string> endpoints;
  // Every call's bound, from sending to the whole reply read.
  uint64_t request_timeout_ms = 500;
  // A reply larger than this is a protocol error (tally's keys and values are tiny).
  uint64_t reply_bytes_max = 1 << 20;
};

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // revision of the put that created the key (since last delete)
  int64_t mod_revision = 0;     // revision of the last put
  int64_t version = 0;          // puts since creation
  int64_t lease = 0;            // 0: none
};

struct EtcdLease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // as granted: etcd raises a TTL below its minimum (2 s by default)
};

struct EtcdCampaign {
  bool won = false;
  // Won: our key as written (create_revision = mod_revision = the put's revision). Lost: the
  // holder's key as it was when the transaction ran.
  EtcdKeyValue holder;
};

class EtcdClient {
 public:
  EtcdClient(kj::Timer& timer, kj::Network& network, EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // POST /v3/lease/grant. ttl_seconds >= 1.
  kj::Promise<OpsResult<EtcdLease>> lease_grant(int64_t ttl_seconds);
  // POST /v3/lease/keepalive, one round: the lease's TTL as renewed, or 0 when etcd no longer
  // has the lease (expired or revoked; etcd answers that with an empty TTL, not an error).
  kj::Promise<OpsResult<int64_t>> lease_keep_alive(int64_t lease_id);
  // POST /v3/lease/revoke: deletes every key attached to the lease. False when etcd no longer
  // had the lease (already expired or revoked), which is not an error.
  kj::Promise<OpsResult<bool>> lease_revoke(int64_t lease_id);

  // POST /v3/kv/put. lease_id 0: no lease. The revision of the put.
  kj::Promise<OpsResult<int64_t>> put(std::string key, std::string value, int64_t lease_id = 0);
  // POST /v3/kv/range of one key. nullopt when it does not exist.
  kj::Promise<OpsResult<std::optional<EtcdKeyValue>>> get(std::string key);
  // Every key starting with `prefix` (non-empty), in key order.
  kj::Promise<OpsResult<std::vector<EtcdKeyValue>>> get_prefix(std::string prefix);
  // POST /v3/kv/deleterange of one key. How many keys were deleted (0 or 1).
  kj::Promise<OpsResult<int64_t>> remove(std::string key);

  // One transaction: if the key does not exist (create_revision == 0), put `value` attached to
  // `lease_id`; otherwise read it. Exactly one contender's put creates the key.
  kj::Promise<OpsResult<EtcdCampaign>> campaign(std::string key, std::string value,
                                                int64_t lease_id);
  // If the key's create_revision is still `create_revision` (our tenure), replace its value
  // (keeping it attached to `lease_id`). False when the key is gone or someone else's.
  kj::Promise<OpsResult<bool>> proclaim(std::string key, std::string value, int64_t lease_id,
                                        int64_t create_revision);
  // If the key's create_revision is still `create_revision`, delete it. False when the key is
  // gone or someone else's (nothing is deleted then).
  kj::Promise<OpsResult<bool>> resign(std::string key, int64_t create_revision);

  // Polls `key` every poll_interval_ms until its mod_revision differs from `seen_mod_revision`
  // (0 for "absent": a deletion of a key seen at revision R is a change, and so is a creation of
  // an absent key), or until wait_ms has passed. Resolves to the key's state at the last poll
  // (unchanged when the wait ran out); the first failed poll ends the wait with its error.
  kj::Promise<OpsResult<std::optional<EtcdKeyValue>>> wait_for_change(std::string key,
                                                                      int64_t seen_mod_revision,
                                                                      uint64_t poll_interval_ms,
                                                                      uint64_t wait_ms);

  // The endpoint the next call goes to ("127.0.0.1:2379").
  const std::string& current_endpoint() const;

 private:
  struct Endpoint;
  struct Reply;
  kj::Promise<OpsResult<std::string>> post(const char* what, const char* path, std::string body);
  kj::Promise<OpsResult<Reply>> send(Endpoint& ep, const char* path, std::string body);

  kj::Timer& timer_;
  kj::Network& network_;
  EtcdOptions options_;
  kj::Own<kj::HttpHeaderTable> header_table_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  size_t current_ = 0;
};

}  // namespace tally
