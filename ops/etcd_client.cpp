// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of OpsResult<T> (a std::variant; the value is only read when it was set), as in rpc/server.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "ops/etcd_client.h"

#include <simdjson.h>

#include <charconv>

#include "ops/base64.h"

namespace tally {

namespace {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string quoted_b64(std::string_view bytes) {
  return "\"" + base64_encode(bytes) + "\"";
}
std::string quoted_int(int64_t v) {
  return "\"" + std::to_string(v) + "\"";
}

// The gateway writes 64-bit integers as decimal strings and leaves out fields equal to zero
// (proto3), so an absent field is 0.
OpsResult<int64_t> int_field(const object& o, std::string_view name) {
  element e;
  if (o[name].get(e) != SUCCESS) return int64_t(0);
  int64_t i = 0;
  if (e.get(i) == SUCCESS) return i;
  std::string_view s;
  if (e.get(s) == SUCCESS) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
  }
  return OpsError::protocol("field \"" + std::string(name) + "\" is not an integer");
}

bool bool_field(const object& o, std::string_view name) {
  bool b = false;
  element e;
  if (o[name].get(e) != SUCCESS || e.get(b) != SUCCESS) return false;
  return b;
}

OpsResult<std::string> b64_field(const object& o, std::string_view name) {
  element e;
  if (o[name].get(e) != SUCCESS) return std::string();
  std::string_view s;
  if (e.get(s) != SUCCESS)
    return OpsError::protocol("field \"" + std::string(name) + "\" is not a string");
  auto d = base64_decode(s);
  if (!d) return OpsError::protocol("field \"" + std::string(name) + "\" is not base64");
  return std::move(*d);
}

OpsResult<EtcdKeyValue> parse_kv(const element& e) {
  object o;
  if (e.get(o) != SUCCESS) return OpsError::protocol("a kvs entry is not an object");
  EtcdKeyValue kv;
  auto key = b64_field(o, "key");
  if (!key.ok()) return key.error();
  auto value = b64_field(o, "value");
  if (!value.ok()) return value.error();
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  for (auto [name, dst] : {std::pair<const char*, int64_t*>{"create_revision", &kv.create_revision},
                           {"mod_revision", &kv.mod_revision},
                           {"version", &kv.version},
                           {"lease", &kv.lease}}) {
    auto v = int_field(o, name);
    if (!v.ok()) return v.error();
    *dst = *v;
  }
  return kv;
}

// The first entry of a range response's "kvs", if any.
OpsResult<std::optional<EtcdKeyValue>> first_kv(const object& range) {
  element kvs;
  if (range["kvs"].get(kvs) != SUCCESS) return std::optional<EtcdKeyValue>();
  array a;
  if (kvs.get(a) != SUCCESS) return OpsError::protocol("\"kvs\" is not an array");
  for (element e : a) {
    auto kv = parse_kv(e);
    if (!kv.ok()) return kv.error();
    return std::optional<EtcdKeyValue>(std::move(*kv));
  }
  return std::optional<EtcdKeyValue>();
}

OpsResult<int64_t> header_revision(const object& o) {
  object header;
  if (o["header"].get(header) != SUCCESS) return OpsError::protocol("reply has no header");
  return int_field(header, "revision");
}

std::string clipped(std::string_view s) {
  constexpr size_t kBytesMax = 200;
  std::string out(s.substr(0, kBytesMax));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > kBytesMax) out += "...";
  return out;
}

// An etcd error body: {"error": "...", "code": 5, "message": "..."} for unary calls, or
// {"error": {"grpc_code": 5, "message": "...", ...}} inside a streamed reply.
std::optional<OpsError> etcd_error(const object& o, int http_status) {
  element err;
  if (o["error"].get(err) != SUCCESS) return std::nullopt;
  int64_t code = -1;
  std::string_view message;
  object inner;
  // Each field is optional: whatever is missing stays -1 or empty.
  element c;
  if (err.get(inner) == SUCCESS) {
    if (inner["grpc_code"].get(c) != SUCCESS || c.get(code) != SUCCESS) code = -1;
    if (inner["message"].get(message) != SUCCESS) message = {};
  } else {
    if (o["code"].get(c) != SUCCESS || c.get(code) != SUCCESS) code = -1;
    if (o["message"].get(message) != SUCCESS && err.get(message) != SUCCESS) message = {};
  }
  return OpsError::etcd(http_status, static_cast<int>(code), clipped(message));
}

}  // namespace

struct EtcdClient::Endpoint {
  std::string host_port;
  kj::Own<kj::NetworkAddress> address;
  kj::Own<kj::HttpClient> http;
  kj::Maybe<kj::ForkedPromise<void>> resolving;
};

struct EtcdClient::Reply {
  uint status = 0;
  std::string body;
};

EtcdClient::EtcdClient(kj::Timer& timer, kj::Network& network, EtcdOptions options)
    : timer_(timer),
      network_(network),
      options_(std::move(options)),
      header_table_(kj::heap<kj::HttpHeaderTable>()) {
  for (const auto& e : options_.endpoints) {
    auto ep = std::make_unique<Endpoint>();
    std::string_view hp = e;
    if (hp.substr(0, 7) == "http://") hp.remove_prefix(7);
    while (!hp.empty() && hp.back() == '/') hp.remove_suffix(1);
    ep->host_port = std::string(hp);
    endpoints_.push_back(std::move(ep));
  }
}

EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::current_endpoint() const {
  static const std::string kNone;
  return endpoints_.empty() ? kNone : endpoints_[current_]->host_port;
}

kj::Promise<OpsResult<EtcdClient::Reply>> EtcdClient::send(Endpoint& ep, const char* path,
                                                           std::string body) {
  kj::Promise<void> ready = kj::READY_NOW;
  if (!ep.http) {
    if (ep.resolving == nullptr) {
      ep.resolving =
          network_.parseAddress(ep.host_port.c_str())
              .then([this, &ep](kj::Own<kj::NetworkAddress> a) {
                ep.address = kj::mv(a);
                // A connection per request: etcd's error replies end with an
                // HTTP trailer that kj's client leaves unread, which would break the
                // next response read on a reused connection.
                kj::HttpClientSettings settings;
                settings.idleTimeout = 0 * kj::SECONDS;
                ep.http = kj::newHttpClient(timer_, *header_table_, *ep.address, kj::mv(settings));
              })
              .fork();
    }
    KJ_IF_MAYBE (r, ep.resolving) {
      ready = r->addBranch();
    }
  }
  return ready.then([this, &ep, path, body = std::move(body)]() mutable {
    kj::HttpHeaders headers(*header_table_);
    headers.set(kj::HttpHeaderId::HOST, ep.host_port.c_str());
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, "application/json");
    auto owned = kj::heap<std::string>(std::move(body));
    auto req = ep.http->request(kj::HttpMethod::POST, path, headers, owned->size());
    auto write =
        req.body->write(owned->data(), owned->size()).attach(kj::mv(req.body), kj::mv(owned));
    uint64_t limit = options_.reply_bytes_max;
    auto response = req.response.then([limit](kj::HttpClient::Response&& r) {
      uint status = r.statusCode;
      return r.body->readAllText(limit).attach(kj::mv(r.body)).then([status](kj::String text) {
        return OpsResult<Reply>(Reply{status, std::string(text.cStr(), text.size())});
      });
    });
    return write.then([response = kj::mv(response)]() mutable { return kj::mv(response); });
  });
}

kj::Promise<OpsResult<std::string>> EtcdClient::post(const char* what, const char* path,
                                                     std::string body) {
  if (endpoints_.empty()) return OpsResult<std::string>(OpsError::invalid("no etcd endpoints"));
  size_t idx = current_;
  Endpoint& ep = *endpoints_[idx];
  uint64_t timeout_ms = options_.request_timeout_ms;
  auto attempt = kj::evalNow([&] { return send(ep, path, std::move(body)); })
                     .then([](OpsResult<Reply> r) { return r; },
                           [](kj::Exception&& e) -> OpsResult<Reply> {
                             return OpsError::unavailable(clipped(e.getDescription().cStr()));
                           });
  auto timeout = timer_.afterDelay(timeout_ms * kj::MILLISECONDS).then([timeout_ms]() {
    return OpsResult<Reply>(
        OpsError::timeout("no reply within " + std::to_string(timeout_ms) + " ms"));
  });
  return attempt.exclusiveJoin(kj::mv(timeout))
      .then([this, idx, what](OpsResult<Reply> r) -> OpsResult<std::string> {
        std::string prefix = std::string(what) + " at " + endpoints_[idx]->host_port + ": ";
        if (!r.ok()) {
          // The endpoint may be down or stuck: the next call tries the next one. An address that
          // failed to resolve is resolved again next time.
          if (!endpoints_[idx]->http) endpoints_[idx]->resolving = nullptr;
          if (current_ == idx) current_ = (idx + 1) % endpoints_.size();
          OpsError e = r.error();
          e.message = prefix + e.message;
          return e;
        }
        if (r->status == 200) return std::move(r->body);
        element root;
        object o;
        simdjson::dom::parser parser;
        if (parser.parse(r->body).get(root) == SUCCESS && root.get(o) == SUCCESS) {
          if (auto e = etcd_error(o, static_cast<int>(r->status))) {
            e->message = prefix + e->message;
            return *e;
          }
        }
        return OpsError::http(static_cast<int>(r->status), prefix + clipped(r->body));
      });
}

namespace {

// Parses a 200 reply's JSON object and hands it to `f`, which returns an OpsResult<T>. A
// streamed reply ({"result": {...}}) is unwrapped first.
template <class T, class F>
OpsResult<T> with_object(const OpsResult<std::string>& body, const char* what, F&& f) {
  if (!body.ok()) return body.error();
  simdjson::dom::parser parser;
  element root;
  object o;
  if (parser.parse(*body).get(root) != SUCCESS || root.get(o) != SUCCESS)
    return OpsError::protocol(std::string(what) +
                              ": reply is not a JSON object: " + clipped(*body));
  if (auto e = etcd_error(o, 200)) {
    e->message = std::string(what) + ": " + e->message;
    return *e;
  }
  object result;
  if (o["result"].get(result) == SUCCESS) o = result;
  OpsResult<T> r = f(o);
  if (!r.ok() && r.error().kind == OpsError::Kind::protocol) {
    OpsError e = r.error();
    e.message = std::string(what) + ": " + e.message;
    return e;
  }
  return r;
}

template <class T>
kj::Promise<OpsResult<T>> ready_error(OpsError e) {
  return OpsResult<T>(std::move(e));
}

}  // namespace

kj::Promise<OpsResult<EtcdLease>> EtcdClient::lease_grant(int64_t ttl_seconds) {
  if (ttl_seconds < 1) return ready_error<EtcdLease>(OpsError::invalid("lease TTL must be >= 1 s"));
  return post("lease grant", "/v3/lease/grant", "{\"TTL\":" + quoted_int(ttl_seconds) + "}")
      .then([](OpsResult<std::string> body) {
        return with_object<EtcdLease>(
            body, "lease grant", [](const object& o) -> OpsResult<EtcdLease> {
              EtcdLease lease;
              auto id = int_field(o, "ID");
              if (!id.ok()) return id.error();
              auto ttl = int_field(o, "TTL");
              if (!ttl.ok()) return ttl.error();
              if (*id == 0 || *ttl <= 0)
                return OpsError::protocol("no lease ID or TTL in the reply");
              lease.id = *id;
              lease.ttl_seconds = *ttl;
              return lease;
            });
      });
}

kj::Promise<OpsResult<int64_t>> EtcdClient::lease_keep_alive(int64_t lease_id) {
  return post("lease keep-alive", "/v3/lease/keepalive", "{\"ID\":" + quoted_int(lease_id) + "}")
      .then([](OpsResult<std::string> body) {
        return with_object<int64_t>(body, "lease keep-alive", [](const object& o) {
          auto ttl = int_field(o, "TTL");
          if (ttl.ok() && *ttl < 0) return OpsResult<int64_t>(int64_t(0));
          return ttl;
        });
      });
}

kj::Promise<OpsResult<bool>> EtcdClient::lease_revoke(int64_t lease_id) {
  return post("lease revoke", "/v3/lease/revoke", "{\"ID\":" + quoted_int(lease_id) + "}")
      .then([](OpsResult<std::string> body) -> OpsResult<bool> {
        if (!body.ok() && body.error().not_found()) return false;
        return with_object<bool>(body, "lease revoke",
                                 [](const object&) { return OpsResult<bool>(true); });
      });
}

kj::Promise<OpsResult<int64_t>> EtcdClient::put(std::string key, std::string value,
                                                int64_t lease_id) {
  if (key.empty()) return ready_error<int64_t>(OpsError::invalid("put: empty key"));
  std::string body = "{\"key\":" + quoted_b64(key) + ",\"value\":" + quoted_b64(value);
  if (lease_id != 0) body += ",\"lease\":" + quoted_int(lease_id);
  body += "}";
  return post("put", "/v3/kv/put", std::move(body)).then([](OpsResult<std::string> body) {
    return with_object<int64_t>(body, "put", [](const object& o) { return header_revision(o); });
  });
}

kj::Promise<OpsResult<std::optional<EtcdKeyValue>>> EtcdClient::get(std::string key) {
  using R = std::optional<EtcdKeyValue>;
  if (key.empty()) return ready_error<R>(OpsError::invalid("get: empty key"));
  return post("get", "/v3/kv/range", "{\"key\":" + quoted_b64(key) + "}")
      .then([](OpsResult<std::string> body) {
        return with_object<R>(body, "get", [](const object& o) { return first_kv(o); });
      });
}

kj::Promise<OpsResult<std::vector<EtcdKeyValue>>> EtcdClient::get_prefix(std::string prefix) {
  using R = std::vector<EtcdKeyValue>;
  if (prefix.empty()) return ready_error<R>(OpsError::invalid("get_prefix: empty prefix"));
  // range_end: the prefix with its last byte incremented (etcd's "every key with this prefix").
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return ready_error<R>(OpsError::invalid("get_prefix: prefix of 0xff bytes"));
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return post("range", "/v3/kv/range",
              "{\"key\":" + quoted_b64(prefix) + ",\"range_end\":" + quoted_b64(end) + "}")
      .then([](OpsResult<std::string> body) {
        return with_object<R>(body, "range", [](const object& o) -> OpsResult<R> {
          R out;
          element kvs;
          if (o["kvs"].get(kvs) != SUCCESS) return out;
          array a;
          if (kvs.get(a) != SUCCESS) return OpsError::protocol("\"kvs\" is not an array");
          for (element e : a) {
            auto kv = parse_kv(e);
            if (!kv.ok()) return kv.error();
            out.push_back(std::move(*kv));
          }
          return out;
        });
      });
}

kj::Promise<OpsResult<int64_t>> EtcdClient::remove(std::string key) {
  if (key.empty()) return ready_error<int64_t>(OpsError::invalid("delete: empty key"));
  return post("delete", "/v3/kv/deleterange", "{\"key\":" + quoted_b64(key) + "}")
      .then([](OpsResult<std::string> body) {
        return with_object<int64_t>(body, "delete",
                                    [](const object& o) { return int_field(o, "deleted"); });
      });
}

namespace {

std::string compare_create(const std::string& key, int64_t create_revision) {
  return "{\"result\":\"EQUAL\",\"target\":\"CREATE\",\"key\":" + quoted_b64(key) +
         ",\"create_revision\":" + quoted_int(create_revision) + "}";
}

std::string put_op(const std::string& key, const std::string& value, int64_t lease_id) {
  std::string s =
      "{\"request_put\":{\"key\":" + quoted_b64(key) + ",\"value\":" + quoted_b64(value);
  if (lease_id != 0) s += ",\"lease\":" + quoted_int(lease_id);
  return s + "}}";
}

std::string txn(const std::string& compare, const std::string& success,
                const std::string& failure) {
  return "{\"compare\":[" + compare + "],\"success\":[" + success + "],\"failure\":[" + failure +
         "]}";
}

}  // namespace

kj::Promise<OpsResult<EtcdCampaign>> EtcdClient::campaign(std::string key, std::string value,
                                                          int64_t lease_id) {
  if (key.empty()) return ready_error<EtcdCampaign>(OpsError::invalid("campaign: empty key"));
  std::string body = txn(compare_create(key, 0), put_op(key, value, lease_id),
                         "{\"request_range\":{\"key\":" + quoted_b64(key) + "}}");
  return post("campaign", "/v3/kv/txn", std::move(body))
      .then(
          [key = std::move(key), value = std::move(value), lease_id](OpsResult<std::string> body) {
            return with_object<EtcdCampaign>(
                body, "campaign", [&](const object& o) -> OpsResult<EtcdCampaign> {
                  EtcdCampaign c;
                  c.won = bool_field(o, "succeeded");
                  if (c.won) {
                    auto rev = header_revision(o);
                    if (!rev.ok()) return rev.error();
                    c.holder = EtcdKeyValue{key, value, *rev, *rev, 1, lease_id};
                    return c;
                  }
                  array responses;
                  if (o["responses"].get(responses) != SUCCESS)
                    return OpsError::protocol("no \"responses\" in a failed transaction");
                  for (element r : responses) {
                    object range;
                    if (r["response_range"].get(range) != SUCCESS) break;
                    auto kv = first_kv(range);
                    if (!kv.ok()) return kv.error();
                    // The compare said the key exists, and the read ran in the same transaction.
                    if (!kv->has_value())
                      return OpsError::protocol("the key exists but was not read");
                    c.holder = std::move(**kv);
                    return c;
                  }
                  return OpsError::protocol("no range response in a failed transaction");
                });
          });
}

kj::Promise<OpsResult<bool>> EtcdClient::proclaim(std::string key, std::string value,
                                                  int64_t lease_id, int64_t create_revision) {
  if (key.empty() || create_revision <= 0)
    return ready_error<bool>(OpsError::invalid("proclaim: empty key or no create revision"));
  std::string body = txn(compare_create(key, create_revision), put_op(key, value, lease_id), "");
  return post("proclaim", "/v3/kv/txn", std::move(body)).then([](OpsResult<std::string> body) {
    return with_object<bool>(body, "proclaim", [](const object& o) {
      return OpsResult<bool>(bool_field(o, "succeeded"));
    });
  });
}

kj::Promise<OpsResult<bool>> EtcdClient::resign(std::string key, int64_t create_revision) {
  if (key.empty() || create_revision <= 0)
    return ready_error<bool>(OpsError::invalid("resign: empty key or no create revision"));
  std::string body = txn(compare_create(key, create_revision),
                         "{\"request_delete_range\":{\"key\":" + quoted_b64(key) + "}}", "");
  return post("resign", "/v3/kv/txn", std::move(body)).then([](OpsResult<std::string> body) {
    return with_object<bool>(body, "resign", [](const object& o) {
      return OpsResult<bool>(bool_field(o, "succeeded"));
    });
  });
}

kj::Promise<OpsResult<std::optional<EtcdKeyValue>>> EtcdClient::wait_for_change(
    std::string key, int64_t seen_mod_revision, uint64_t poll_interval_ms, uint64_t wait_ms) {
  using R = std::optional<EtcdKeyValue>;
  if (poll_interval_ms == 0)
    return ready_error<R>(OpsError::invalid("wait_for_change: poll interval must be > 0"));
  kj::TimePoint deadline = timer_.now() + wait_ms * kj::MILLISECONDS;
  return get(key).then([this, key, seen_mod_revision, poll_interval_ms,
                        deadline](OpsResult<R> r) mutable -> kj::Promise<OpsResult<R>> {
    if (!r.ok()) return kj::mv(r);
    int64_t mod = r->has_value() ? (*r)->mod_revision : 0;
    if (mod != seen_mod_revision || timer_.now() >= deadline) return kj::mv(r);
    kj::Duration left = deadline - timer_.now();
    kj::Duration step = kj::min(left, poll_interval_ms * kj::MILLISECONDS);
    uint64_t left_ms = (left - step) / kj::MILLISECONDS;
    return timer_.afterDelay(step).then(
        [this, key = std::move(key), seen_mod_revision, poll_interval_ms, left_ms]() mutable {
          return wait_for_change(std::move(key), seen_mod_revision, poll_interval_ms, left_ms);
        });
  });
}

}  // namespace tally
