// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of OpsResult<T> (a std::variant; the value is only read when it was set), as in rpc/server.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "ops/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <kj/vector.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace tally {

namespace {

OpsResult<std::string> read_file(const std::string& path, const char* what) {
  if (path.empty()) return OpsError::invalid(std::string(what) + ": no file given");
  std::ifstream in(path, std::ios::binary);
  if (!in) return OpsError::io(std::string(what) + ": cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return OpsError::io(std::string(what) + ": cannot read " + path);
  return ss.str();
}

std::string kj_message(const kj::Exception& e) {
  return e.getDescription().cStr();
}

// Each "-----BEGIN CERTIFICATE-----" block of a PEM text, in order.
std::vector<std::string> certificate_blocks(const std::string& pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string::npos) {
    size_t end = pem.find(kEnd, pos);
    if (end == std::string::npos) break;
    end += kEnd.size();
    out.push_back(pem.substr(pos, end - pos) + "\n");
    pos = end;
  }
  return out;
}

// Does the private key belong to the (first) certificate? OpenSSL directly: KJ does not check.
bool key_matches_certificate(const std::string& cert_pem, const std::string& key_pem) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  bool ok = cert && key && X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
  ERR_clear_error();
  return ok;
}

kj::TlsContext::Options base_options() {
  kj::TlsContext::Options o;
  o.minVersion = kj::TlsVersion::TLS_1_2;
  return o;
}

}  // namespace

OpsResult<kj::Own<kj::TlsContext>> make_tls_server_context(const TlsServerFiles& files) {
  auto cert_pem = read_file(files.cert_file, "TLS certificate");
  if (!cert_pem.ok()) return cert_pem.error();
  auto key_pem = read_file(files.key_file, "TLS private key");
  if (!key_pem.ok()) return key_pem.error();
  kj::Own<kj::TlsContext> ctx;
  std::string stage = "TLS certificate " + files.cert_file;
  auto failed = kj::runCatchingExceptions([&] {
    kj::TlsCertificate cert(kj::StringPtr(cert_pem->c_str(), cert_pem->size()));
    stage = "TLS private key " + files.key_file;
    kj::TlsPrivateKey key(kj::StringPtr(key_pem->c_str(), key_pem->size()));
    kj::TlsKeypair pair{kj::mv(key), kj::mv(cert)};
    stage = "TLS server context";
    auto o = base_options();
    o.useSystemTrustStore = false;
    o.defaultKeypair = pair;
    ctx = kj::heap<kj::TlsContext>(kj::mv(o));  // copies what it needs from the keypair
  });
  KJ_IF_MAYBE (e, failed) {
    return OpsError::invalid(stage + ": " + kj_message(*e));
  }
  if (!key_matches_certificate(*cert_pem, *key_pem))
    return OpsError::invalid("TLS private key " + files.key_file +
                             " does not belong to the certificate " + files.cert_file);
  return kj::mv(ctx);
}

OpsResult<kj::Own<kj::TlsContext>> make_tls_client_context(const TlsClientFiles& files) {
  std::vector<std::string> blocks;
  if (!files.ca_file.empty()) {
    auto pem = read_file(files.ca_file, "TLS CA file");
    if (!pem.ok()) return pem.error();
    blocks = certificate_blocks(*pem);
    if (blocks.empty())
      return OpsError::invalid("TLS CA file " + files.ca_file + ": no PEM certificate in it");
  }
  kj::Own<kj::TlsContext> ctx;
  auto failed = kj::runCatchingExceptions([&] {
    // One TlsCertificate per CA: KJ trusts only the first certificate of each.
    kj::Vector<kj::TlsCertificate> cas;
    for (const auto& b : blocks) cas.add(kj::StringPtr(b.c_str(), b.size()));
    auto o = base_options();
    o.useSystemTrustStore = blocks.empty();
    o.trustedCertificates = cas.asPtr();
    ctx = kj::heap<kj::TlsContext>(kj::mv(o));  // adds the CAs to its own store
  });
  KJ_IF_MAYBE (e, failed) {
    return OpsError::invalid("TLS CA file " + files.ca_file + ": " + kj_message(*e));
  }
  return kj::mv(ctx);
}

std::string host_of_address(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close != std::string_view::npos) return std::string(address.substr(1, close - 1));
  }
  size_t colon = address.rfind(':');
  if (colon != std::string_view::npos && address.find(':') == colon)
    return std::string(address.substr(0, colon));
  return std::string(address);
}

namespace {

using StreamResult = OpsResult<kj::Own<kj::AsyncIoStream>>;

kj::Promise<StreamResult> bounded(kj::Timer& timer, kj::Promise<StreamResult> p,
                                  uint64_t timeout_ms, std::string what) {
  return p.exclusiveJoin(timer.afterDelay(timeout_ms * kj::MILLISECONDS).then([timeout_ms, what] {
    return StreamResult(
        OpsError::timeout(what + ": not done within " + std::to_string(timeout_ms) + " ms"));
  }));
}

}  // namespace

kj::Promise<StreamResult> tls_connect(kj::TlsContext& tls, kj::Network& network, kj::Timer& timer,
                                      std::string address, std::string server_name,
                                      uint64_t timeout_ms) {
  if (server_name.empty()) server_name = host_of_address(address);
  std::string what = "TLS connect to " + address;
  auto connected =
      kj::evalNow([&] { return network.parseAddress(address.c_str()); })
          .then(
              [](kj::Own<kj::NetworkAddress> addr) { return addr->connect().attach(kj::mv(addr)); })
          .then(
              [&tls, server_name, what](kj::Own<kj::AsyncIoStream> stream) {
                return tls.wrapClient(kj::mv(stream), server_name.c_str())
                    .then([](kj::Own<kj::AsyncIoStream> s) { return StreamResult(kj::mv(s)); },
                          [what](kj::Exception&& e) {
                            return StreamResult(
                                OpsError::invalid(what + ": TLS handshake: " + kj_message(e)));
                          });
              },
              [what](kj::Exception&& e) {
                return kj::Promise<StreamResult>(
                    StreamResult(OpsError::unavailable(what + ": " + kj_message(e))));
              });
  return bounded(timer, kj::mv(connected), timeout_ms, what);
}

kj::Promise<StreamResult> tls_accept(kj::TlsContext& tls, kj::Timer& timer,
                                     kj::Own<kj::AsyncIoStream> stream, uint64_t timeout_ms) {
  auto accepted =
      kj::evalNow([&] { return tls.wrapServer(kj::mv(stream)); })
          .then([](kj::Own<kj::AsyncIoStream> s) { return StreamResult(kj::mv(s)); },
                [](kj::Exception&& e) {
                  return StreamResult(OpsError::invalid("TLS accept: handshake: " + kj_message(e)));
                });
  return bounded(timer, kj::mv(accepted), timeout_ms, "TLS accept");
}

}  // namespace tally
