// Failures of the operations layer (etcd, TLS, the metrics endpoint) as values.
//
// Everything in ops/ talks to the environment: an etcd cluster, certificate files, a listening
// socket. Those fail in ordinary ways (etcd unreachable, a request timed out, a file missing),
// so every call returns an OpsResult<T>: a value or an OpsError naming what failed, with the
// HTTP status and etcd (gRPC) code when there is one. Nothing here aborts on a failure of the
// environment; kj exceptions raised by the network stack are caught at the boundary of each
// call and turned into an OpsError.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace tally {

struct OpsError {
  enum class Kind : uint8_t {
    unavailable,  // could not connect, connection dropped, I/O error on the wire
    timeout,      // no answer within the call's timeout
    http,         // an HTTP status other than 200 without an etcd error body
    etcd,         // etcd answered with an error (etcd_code is its gRPC code)
    protocol,     // the reply could not be understood (bad JSON, bad base64, missing field)
    io,           // a local file or socket could not be used (TLS files, binding a port)
    invalid,      // the caller's arguments or configuration are wrong
  };

  // gRPC status codes etcd uses in its error bodies that callers act on.
  static constexpr int kEtcdNotFound = 5;  // e.g. "etcdserver: requested lease not found"

  Kind kind = Kind::unavailable;
  std::string message;
  int http_status = 0;  // 0 when no HTTP reply was read
  int etcd_code = -1;   // -1 when etcd sent no error code

  static OpsError unavailable(std::string m) { return {Kind::unavailable, std::move(m)}; }
  static OpsError timeout(std::string m) { return {Kind::timeout, std::move(m)}; }
  static OpsError protocol(std::string m) { return {Kind::protocol, std::move(m)}; }
  static OpsError io(std::string m) { return {Kind::io, std::move(m)}; }
  static OpsError invalid(std::string m) { return {Kind::invalid, std::move(m)}; }
  static OpsError http(int status, std::string m) { return {Kind::http, std::move(m), status, -1}; }
  static OpsError etcd(int status, int code, std::string m) {
    return {Kind::etcd, std::move(m), status, code};
  }

  bool not_found() const { return kind == Kind::etcd && etcd_code == kEtcdNotFound; }
  // "timeout: lease keep-alive: no reply within 500 ms", "etcd (HTTP 404, code 5): ...".
  std::string to_string() const;
};

std::string_view ops_error_kind_name(OpsError::Kind kind);

template <class T>
class [[nodiscard]] OpsResult {
 public:
  OpsResult(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  OpsResult(OpsError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const OpsError& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, OpsError> v_;
};

}  // namespace tally
