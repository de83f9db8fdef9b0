// The etcd client against a real etcd (tests/ops/etcd_fixture.h), and its failures as values
// against endpoints that refuse or never answer.
// GCC 12: false "maybe-uninitialized" inside kj::_::ExceptionOr<OpsResult<T>> (see ops/*.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "ops/base64.h"
#include "ops/etcd_client.h"
#include "ops/etcd_fixture.h"

namespace tally {
namespace {

using testing::EtcdProcess;

// A distinct key space per test, so tests sharing one etcd never see each other's keys.
std::string test_key(std::string_view leaf) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string("/tally-test/") + info->test_suite_name() + "/" + info->name() + "/" +
         std::string(leaf);
}

EtcdOptions options_for(std::string endpoint) {
  EtcdOptions o;
  o.endpoints = {std::move(endpoint)};
  o.request_timeout_ms = 5000;  // generous: the machine is shared; nothing here measures time
  return o;
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string s = bytes.substr(bytes.size() - n);
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.has_value()) << n;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("/tally/c/leader"), "L3RhbGx5L2MvbGVhZGVy");
}

TEST(Base64, RefusesAnythingNotCanonical) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v=", "Zh==", "Zm9=", "Zm 9v", "Zm9-", "Zm9_",
                          "=Zm9", "Zg==Zg==", "Zm\n9v"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(EtcdClient, GrantPutGetRevoke) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(), options_for(etcd->endpoint()));
  auto& ws = io.waitScope;
  std::string key = test_key("k");

  auto lease = c.lease_grant(30).wait(ws);
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  EXPECT_NE(lease->id, 0);
  EXPECT_GE(lease->ttl_seconds, 30);

  auto rev1 = c.put(key, "v1", lease->id).wait(ws);
  ASSERT_TRUE(rev1.ok()) << rev1.error().to_string();
  auto kv = c.get(key).wait(ws);
  ASSERT_TRUE(kv.ok()) << kv.error().to_string();
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->key, key);
  EXPECT_EQ((*kv)->value, "v1");
  EXPECT_EQ((*kv)->create_revision, *rev1);
  EXPECT_EQ((*kv)->mod_revision, *rev1);
  EXPECT_EQ((*kv)->version, 1);
  EXPECT_EQ((*kv)->lease, lease->id);

  // A second put moves mod_revision, not create_revision.
  auto rev2 = c.put(key, "v2", lease->id).wait(ws);
  ASSERT_TRUE(rev2.ok());
  EXPECT_GT(*rev2, *rev1);
  kv = c.get(key).wait(ws);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "v2");
  EXPECT_EQ((*kv)->create_revision, *rev1);
  EXPECT_EQ((*kv)->mod_revision, *rev2);
  EXPECT_EQ((*kv)->version, 2);

  auto ttl = c.lease_keep_alive(lease->id).wait(ws);
  ASSERT_TRUE(ttl.ok()) << ttl.error().to_string();
  EXPECT_GE(*ttl, 30);

  // Revoking deletes the attached key; etcd then no longer knows the lease.
  auto revoked = c.lease_revoke(lease->id).wait(ws);
  ASSERT_TRUE(revoked.ok()) << revoked.error().to_string();
  EXPECT_TRUE(*revoked);
  kv = c.get(key).wait(ws);
  ASSERT_TRUE(kv.ok());
  EXPECT_FALSE(kv->has_value());
  revoked = c.lease_revoke(lease->id).wait(ws);
  ASSERT_TRUE(revoked.ok()) << revoked.error().to_string();
  EXPECT_FALSE(*revoked);
  ttl = c.lease_keep_alive(lease->id).wait(ws);
  ASSERT_TRUE(ttl.ok()) << ttl.error().to_string();
  EXPECT_EQ(*ttl, 0);

  // The connection is still good after the error replies above.
  auto rev3 = c.put(key, "v3").wait(ws);
  ASSERT_TRUE(rev3.ok()) << rev3.error().to_string();
}

TEST(EtcdClient, PutGetRemoveKeepEveryByte) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(), options_for(etcd->endpoint()));
  auto& ws = io.waitScope;
  std::string key = test_key(std::string("bin\0\xff\"\\", 7));
  std::string value;
  for (int i = 0; i < 256; ++i) value += static_cast<char>(i);

  ASSERT_TRUE(c.put(key, value).wait(ws).ok());
  auto kv = c.get(key).wait(ws);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->key, key);
  EXPECT_EQ((*kv)->value, value);
  EXPECT_EQ((*kv)->lease, 0);

  auto empty = test_key("empty-value");
  ASSERT_TRUE(c.put(empty, "").wait(ws).ok());
  kv = c.get(empty).wait(ws);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "");

  auto n = c.remove(key).wait(ws);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  n = c.remove(key).wait(ws);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  kv = c.get(key).wait(ws);
  ASSERT_TRUE(kv.ok());
  EXPECT_FALSE(kv->has_value());
}

TEST(EtcdClient, CampaignProclaimResign) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdClient a(io.provider->getTimer(), io.provider->getNetwork(), options_for(etcd->endpoint()));
  EtcdClient b(io.provider->getTimer(), io.provider->getNetwork(), options_for(etcd->endpoint()));
  std::string key = test_key("leader");
  auto la = a.lease_grant(30).wait(ws);
  auto lb = b.lease_grant(30).wait(ws);
  ASSERT_TRUE(la.ok() && lb.ok());

  auto ca = a.campaign(key, "a:1", la->id).wait(ws);
  ASSERT_TRUE(ca.ok()) << ca.error().to_string();
  EXPECT_TRUE(ca->won);
  EXPECT_EQ(ca->holder.value, "a:1");
  EXPECT_GT(ca->holder.create_revision, 0);
  EXPECT_EQ(ca->holder.lease, la->id);

  auto cb = b.campaign(key, "b:1", lb->id).wait(ws);
  ASSERT_TRUE(cb.ok()) << cb.error().to_string();
  EXPECT_FALSE(cb->won);
  EXPECT_EQ(cb->holder.value, "a:1");
  EXPECT_EQ(cb->holder.create_revision, ca->holder.create_revision);
  EXPECT_EQ(cb->holder.lease, la->id);

  // Only the holder's tenure (its create_revision) may change or delete the key.
  int64_t term = ca->holder.create_revision;
  auto p = b.proclaim(key, "b:2", lb->id, term + 1000).wait(ws);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  p = a.proclaim(key, "a:2", la->id, term).wait(ws);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_TRUE(*p);
  auto kv = b.get(key).wait(ws);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "a:2");
  EXPECT_EQ((*kv)->create_revision, term);
  EXPECT_GT((*kv)->mod_revision, term);

  auto r = b.resign(key, term + 1000).wait(ws);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  kv = b.get(key).wait(ws);
  ASSERT_TRUE(kv.ok() && kv->has_value());
  r = a.resign(key, term).wait(ws);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(*r);
  kv = b.get(key).wait(ws);
  ASSERT_TRUE(kv.ok());
  EXPECT_FALSE(kv->has_value());

  // Now b wins, with a later revision.
  cb = b.campaign(key, "b:1", lb->id).wait(ws);
  ASSERT_TRUE(cb.ok());
  EXPECT_TRUE(cb->won);
  EXPECT_GT(cb->holder.create_revision, term);
  EXPECT_TRUE(a.lease_revoke(la->id).wait(ws).ok());
  EXPECT_TRUE(b.lease_revoke(lb->id).wait(ws).ok());
}

TEST(EtcdClient, EtcdErrorsAreValues) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(), options_for(etcd->endpoint()));
  auto& ws = io.waitScope;
  // A put attached to a lease etcd never granted.
  auto r = c.put(test_key("k"), "v", 12345).wait(ws);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpsError::Kind::etcd);
  EXPECT_EQ(r.error().etcd_code, OpsError::kEtcdNotFound);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_NE(r.error().message.find("lease not found"), std::string::npos) << r.error().message;
  // Arguments checked before anything is sent.
  auto g = c.lease_grant(0).wait(ws);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, OpsError::Kind::invalid);
  auto e = c.get("").wait(ws);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, OpsError::Kind::invalid);
}

TEST(EtcdClient, NobodyListeningIsUnavailable) {
  auto io = kj::setupAsyncIo();
  int port = testing::free_loopback_port();
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(),
               options_for("127.0.0.1:" + std::to_string(port)));
  auto r = c.get("/k").wait(io.waitScope);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpsError::Kind::unavailable) << r.error().to_string();
  auto l = c.lease_keep_alive(1).wait(io.waitScope);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().kind, OpsError::Kind::unavailable) << l.error().to_string();
}

TEST(EtcdClient, APeerThatNeverAnswersTimesOut) {
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  // Accepts connections and holds them without a byte of reply.
  auto listener = io.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(ws)->listen();
  kj::Vector<kj::Own<kj::AsyncIoStream>> held;
  std::function<kj::Promise<void>()> accept_loop = [&]() {
    return listener->accept().then([&](kj::Own<kj::AsyncIoStream> s) {
      held.add(kj::mv(s));
      return accept_loop();
    });
  };
  auto accepting = accept_loop().eagerlyEvaluate(nullptr);
  EtcdOptions o = options_for("127.0.0.1:" + std::to_string(listener->getPort()));
  o.request_timeout_ms = 200;
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(), o);
  auto r = c.lease_grant(3).wait(ws);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpsError::Kind::timeout) << r.error().to_string();
  EXPECT_GE(held.size(), 1u);
}

TEST(EtcdClient, ATransportFailureMovesToTheNextEndpoint) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdOptions o = options_for("127.0.0.1:" + std::to_string(testing::free_loopback_port()));
  o.endpoints.push_back("http://" + etcd->endpoint());
  EtcdClient c(io.provider->getTimer(), io.provider->getNetwork(), o);
  auto first = c.get(test_key("k")).wait(ws);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, OpsError::Kind::unavailable);
  EXPECT_EQ(c.current_endpoint(), etcd->endpoint());
  auto second = c.get(test_key("k")).wait(ws);
  EXPECT_TRUE(second.ok()) << second.error().to_string();
}

TEST(EtcdClient, WaitForChangeSeesAPutAndAnUnchangedKeyWhenTheWaitEnds) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdClient watcher(io.provider->getTimer(), io.provider->getNetwork(),
                     options_for(etcd->endpoint()));
  EtcdClient writer(io.provider->getTimer(), io.provider->getNetwork(),
                    options_for(etcd->endpoint()));
  std::string key = test_key("k");

  // Absent (0) until the writer puts it, a little after the watcher starts polling.
  auto waiting = watcher.wait_for_change(key, 0, 20, 60000).eagerlyEvaluate(nullptr);
  auto put = io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([&] {
    return writer.put(key, "new");
  });
  auto rev = put.wait(ws);
  ASSERT_TRUE(rev.ok());
  auto seen = waiting.wait(ws);
  ASSERT_TRUE(seen.ok()) << seen.error().to_string();
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->value, "new");
  EXPECT_EQ((*seen)->mod_revision, *rev);

  // Nothing changes: the wait ends with the key as it was.
  auto same = watcher.wait_for_change(key, *rev, 20, 100).wait(ws);
  ASSERT_TRUE(same.ok());
  ASSERT_TRUE(same->has_value());
  EXPECT_EQ((*same)->mod_revision, *rev);

  // A deletion is a change too.
  auto gone = watcher.wait_for_change(key, *rev, 20, 60000).eagerlyEvaluate(nullptr);
  ASSERT_TRUE(writer.remove(key).wait(ws).ok());
  auto after = gone.wait(ws);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

}  // namespace
}  // namespace tally
