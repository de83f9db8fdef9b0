// TLS for tally's TCP listeners and clients (SPEC section 9): kj::TlsContext (KJ TLS over
// OpenSSL) built from PEM files, with failures as values.
//
// Server: a certificate file (the server's certificate, then any intermediates) and an
// unencrypted private key file; the key must belong to the certificate (checked when loading,
// not at the first handshake). Client: the CAs of a PEM file (one or more certificates), or the
// system's trust store when none is given; the server's certificate must name the host the client
// asked for (DNS name in subjectAltName, or the CN), which KJ checks at every handshake and which
// cannot be turned off. Both sides refuse protocol versions below TLS 1.2.
//
// Connect to an IP address with `server_name` set to the certificate's DNS name: host name
// verification matches DNS names, not IP addresses.
//
// Thread safety: a TlsContext may be shared by the connections of one event loop; the helpers are
// called on that loop.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <cstdint>
#include <string>

#include "ops/ops_result.h"

namespace tally {

inline constexpr uint64_t kTlsHandshakeTimeoutMs = 10000;

struct TlsServerFiles {
  std::string cert_file;  // PEM: certificate, then intermediates
  std::string key_file;   // PEM: private key, not encrypted
};

struct TlsClientFiles {
  std::string ca_file;  // PEM: the CAs to trust; empty: the system trust store
};

// A missing or unreadable file is Kind::io; a file that is not the PEM expected, or a key that
// does not belong to the certificate, Kind::invalid (naming the file).
OpsResult<kj::Own<kj::TlsContext>> make_tls_server_context(const TlsServerFiles& files);
OpsResult<kj::Own<kj::TlsContext>> make_tls_client_context(const TlsClientFiles& files);

// The host part of "host:port" or "[v6]:port" (what a client verifies when no server name is
// given).
std::string host_of_address(std::string_view address);

// Connects to `address` ("host:port") and completes the TLS handshake as a client, verifying the
// certificate chain and that it names `server_name` (empty: the host of `address`). Within
// timeout_ms, or Kind::timeout. A refused connection is Kind::unavailable; a failed handshake
// (untrusted certificate, wrong name) Kind::invalid with OpenSSL's reason.
kj::Promise<OpsResult<kj::Own<kj::AsyncIoStream>>> tls_connect(
    kj::TlsContext& tls, kj::Network& network, kj::Timer& timer, std::string address,
    std::string server_name, uint64_t timeout_ms = kTlsHandshakeTimeoutMs);

// Completes the TLS handshake of an accepted connection as the server, within timeout_ms (a peer
// that connects and sends nothing must not hold a connection forever).
kj::Promise<OpsResult<kj::Own<kj::AsyncIoStream>>> tls_accept(
    kj::TlsContext& tls, kj::Timer& timer, kj::Own<kj::AsyncIoStream> stream,
    uint64_t timeout_ms = kTlsHandshakeTimeoutMs);

}  // namespace tally
