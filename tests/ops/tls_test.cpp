// TLS contexts from PEM files: an echo over TLS on loopback with a self-signed certificate made
// by the openssl command-line tool, and the handshakes that must fail.
// GCC 12: false "maybe-uninitialized" inside kj::_::ExceptionOr<OpsResult<T>> (see ops/*.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include "common/test_util.h"
#include "ops/tls.h"

namespace tally {
namespace {

constexpr const char* kOpenssl = "/usr/bin/openssl";

// A self-signed certificate for `name` (and its key) in dir/<stem>.pem, dir/<stem>.key.
bool make_self_signed(const std::string& dir, const std::string& stem, const std::string& name) {
  std::string cmd = std::string(kOpenssl) +
                    " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
                    " -subj /CN=" +
                    name + " -addext subjectAltName=DNS:" + name + " -keyout " + dir + "/" + stem +
                    ".key -out " + dir + "/" + stem + ".pem >" + dir + "/openssl.log 2>&1";
  return std::system(cmd.c_str()) == 0;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kOpenssl, X_OK) != 0) TALLY_PREREQUISITE_MISSING("no " << kOpenssl << " to make certificates");
    ASSERT_TRUE(make_self_signed(dir_.path(), "server", "localhost"));
    ASSERT_TRUE(make_self_signed(dir_.path(), "other", "localhost"));
  }
  std::string file(const std::string& name) const { return dir_.sub(name); }

  testing::TempDir dir_;
};

// An echo server on 127.0.0.1:<port>: every accepted connection is TLS-wrapped, then whatever
// it reads is written back. Handshakes that fail are counted, not fatal.
struct EchoServer {
  EchoServer(kj::AsyncIoContext& io, kj::TlsContext& tls)
      : io(io),
        tls(tls),
        listener(
            io.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen()),
        tasks(errors) {
    accepting = accept_loop().eagerlyEvaluate(nullptr);
  }
  kj::Promise<void> accept_loop() {
    return listener->accept().then([this](kj::Own<kj::AsyncIoStream> s) {
      tasks.add(tls_accept(tls, io.provider->getTimer(), kj::mv(s))
                    .then([this](OpsResult<kj::Own<kj::AsyncIoStream>> r) -> kj::Promise<void> {
                      if (!r.ok()) {
                        ++failed_handshakes;
                        return kj::READY_NOW;
                      }
                      auto stream = kj::mv(*r);
                      auto& ref = *stream;
                      return echo(ref).attach(kj::mv(stream));
                    }));
      return accept_loop();
    });
  }
  static kj::Promise<void> echo(kj::AsyncIoStream& s) {
    auto buf = kj::heapArray<char>(4096);
    auto ptr = buf.begin();
    auto size = buf.size();
    return s.tryRead(ptr, 1, size)
        .then([&s, buf = kj::mv(buf)](size_t n) mutable -> kj::Promise<void> {
          if (n == 0) return kj::READY_NOW;
          auto w = s.write(buf.begin(), n);
          return w.attach(kj::mv(buf)).then([&s] { return echo(s); });
        });
  }
  std::string address() { return "127.0.0.1:" + std::to_string(listener->getPort()); }

  struct Errors : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}
  } errors;
  kj::AsyncIoContext& io;
  kj::TlsContext& tls;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::TaskSet tasks;
  kj::Promise<void> accepting = nullptr;
  int failed_handshakes = 0;
};

TEST_F(Tls, EchoesOverTlsWithTheCaAndTheRightName) {
  auto io = kj::setupAsyncIo();
  auto server_tls = make_tls_server_context({file("server.pem"), file("server.key")});
  ASSERT_TRUE(server_tls.ok()) << server_tls.error().to_string();
  auto client_tls = make_tls_client_context({file("server.pem")});
  ASSERT_TRUE(client_tls.ok()) << client_tls.error().to_string();
  EchoServer server(io, **server_tls);

  auto conn = tls_connect(**client_tls, io.provider->getNetwork(), io.provider->getTimer(),
                          server.address(), "localhost")
                  .wait(io.waitScope);
  ASSERT_TRUE(conn.ok()) << conn.error().to_string();
  const std::string msg = "hello tally over TLS";
  (*conn)->write(msg.data(), msg.size()).wait(io.waitScope);
  std::string got(msg.size(), '\0');
  (*conn)->read(got.data(), got.size()).wait(io.waitScope);  // exactly msg.size() bytes
  EXPECT_EQ(got, msg);
  EXPECT_EQ(server.failed_handshakes, 0);
}

TEST_F(Tls, AClientWithoutTheCaOrWithAnotherNameFailsTheHandshake) {
  auto io = kj::setupAsyncIo();
  auto server_tls = make_tls_server_context({file("server.pem"), file("server.key")});
  ASSERT_TRUE(server_tls.ok()) << server_tls.error().to_string();
  EchoServer server(io, **server_tls);

  struct Case {
    const char* what;
    TlsClientFiles files;
    std::string name;
  };
  std::vector<Case> cases = {
      {"system store only", {""}, "localhost"},
      {"another self-signed CA", {file("other.pem")}, "localhost"},
      {"the right CA, another name", {file("server.pem")}, "tally.example"},
  };
  for (auto& c : cases) {
    auto client_tls = make_tls_client_context(c.files);
    ASSERT_TRUE(client_tls.ok()) << c.what << ": " << client_tls.error().to_string();
    auto conn = tls_connect(**client_tls, io.provider->getNetwork(), io.provider->getTimer(),
                            server.address(), c.name)
                    .wait(io.waitScope);
    ASSERT_FALSE(conn.ok()) << c.what;
    EXPECT_EQ(conn.error().kind, OpsError::Kind::invalid) << c.what;
    EXPECT_NE(conn.error().message.find("handshake"), std::string::npos)
        << c.what << ": " << conn.error().message;
  }
}

TEST_F(Tls, BadFilesAreErrorsNamingTheFile) {
  auto missing = make_tls_server_context({file("nope.pem"), file("server.key")});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, OpsError::Kind::io);
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);

  auto mismatched = make_tls_server_context({file("server.pem"), file("other.key")});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error().kind, OpsError::Kind::invalid);
  EXPECT_NE(mismatched.error().message.find("does not belong"), std::string::npos)
      << mismatched.error().message;

  { std::ofstream(file("garbage.pem")) << "not a certificate\n"; }
  auto garbage = make_tls_server_context({file("garbage.pem"), file("server.key")});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().kind, OpsError::Kind::invalid);
  EXPECT_NE(garbage.error().message.find("garbage.pem"), std::string::npos);

  auto key_as_cert = make_tls_server_context({file("server.pem"), file("server.pem")});
  ASSERT_FALSE(key_as_cert.ok());
  EXPECT_EQ(key_as_cert.error().kind, OpsError::Kind::invalid);

  auto no_ca = make_tls_client_context({file("garbage.pem")});
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.error().kind, OpsError::Kind::invalid);
  auto missing_ca = make_tls_client_context({file("nope.pem")});
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_EQ(missing_ca.error().kind, OpsError::Kind::io);
}

TEST(TlsAddress, HostOfAddress) {
  EXPECT_EQ(host_of_address("tally.example:7878"), "tally.example");
  EXPECT_EQ(host_of_address("127.0.0.1:7878"), "127.0.0.1");
  EXPECT_EQ(host_of_address("[::1]:7878"), "::1");
  EXPECT_EQ(host_of_address("tally.example"), "tally.example");
}

TEST(TlsConnect, NobodyListeningIsUnavailable) {
  auto io = kj::setupAsyncIo();
  auto client_tls = make_tls_client_context({});
  ASSERT_TRUE(client_tls.ok());
  // Port 1 on loopback: nothing listens there (and it is not ours to bind).
  auto conn = tls_connect(**client_tls, io.provider->getNetwork(), io.provider->getTimer(),
                          "127.0.0.1:1", "localhost")
                  .wait(io.waitScope);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().kind, OpsError::Kind::unavailable) << conn.error().to_string();
}

}  // namespace
}  // namespace tally
