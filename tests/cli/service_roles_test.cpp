// The service layer's role checks: who may post what (SPEC section 5).
#include "cli/cli.h"

#include <simdjson.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli_fixture.h"
#include "common/test_util.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

// --- Service: role checks ------------------------------------------------------------------------

Entry deposit(std::string id) {
  return entry(std::move(id), {debit("ops:bank", "1.00"), credit("ops:wallets:w1", "1.00")});
}

Event payout_result(std::string id) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = 1'767'607'200'000'000'000;
  e.header.marketplace = "shop";
  e.body = PayoutResultEvent{"po-1", true, ""};
  return e;
}

TEST(ServiceTest, RolesDecideWhoPostsWhat) {
  RoleSet poster{Role::poster}, finance{Role::finance}, auditor{Role::auditor};
  Entry e = deposit("x");
  EXPECT_TRUE(role_may_post(e, poster));
  EXPECT_FALSE(role_may_post(e, finance));
  EXPECT_FALSE(role_may_post(e, auditor));
  Event hold;
  hold.body = PayeeHoldEvent{};
  EXPECT_TRUE(role_may_post(hold, poster));
  EXPECT_TRUE(role_may_post(hold, finance));
  EXPECT_FALSE(role_may_post(hold, auditor));
  Event details;
  details.body = PayeeDetailsEvent{};
  EXPECT_FALSE(role_may_post(details, poster));
  EXPECT_TRUE(role_may_post(details, finance));
  EXPECT_FALSE(role_may_post(payout_result("p"), poster));
  EXPECT_TRUE(role_may_post(payout_result("p"), finance));
  EXPECT_EQ(post_type_name(payout_result("p")), "payout_result");
  EXPECT_EQ(post_type_name(OpenItem{}), "open");
}

TEST(ServiceTest, NotAllowedItemsNeverReachTheWriterAndSinkTheirChain) {
  TempDir dir;
  ServiceOptions o;
  o.data_dir = dir.sub("data");
  std::unique_ptr<Service> s;
  ASSERT_TRUE(Service::open(std::move(o), &s).ok());
  RoleSet poster{Role::poster};
  std::vector<PostItem> setup;
  setup.push_back({OpenItem{account("ops:bank", AccountKind::asset, {"USD"})}, false});
  setup.push_back({OpenItem{account("ops:wallets:w1", AccountKind::liability, {"USD"})}, false});
  for (auto& r : s->post_and_wait(std::move(setup), poster)) ASSERT_TRUE(r.ok()) << r.message;

  std::vector<PostItem> items;
  items.push_back({deposit("a"), false});
  items.push_back({payout_result("pr-1"), false});  // alone: not_allowed
  items.push_back({deposit("b"), true});            // chain b, pr-2, c
  items.push_back({payout_result("pr-2"), true});
  items.push_back({deposit("c"), false});
  items.push_back({deposit("d"), false});
  auto r = s->post_and_wait(std::move(items), poster);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].status, ItemStatus::ok) << r[0].message;
  EXPECT_EQ(r[1].code, Code::not_allowed);
  EXPECT_EQ(r[1].message, "not_allowed: a poster token may not post payout_result");
  EXPECT_EQ(r[1].id, "pr-1");
  EXPECT_EQ(r[2].code, Code::linked_failed);
  EXPECT_EQ(r[2].id, "b");
  EXPECT_EQ(r[3].code, Code::not_allowed);
  EXPECT_EQ(r[4].code, Code::linked_failed);
  EXPECT_EQ(r[5].status, ItemStatus::ok);
  EXPECT_EQ(r[5].seq, 2u);  // only a and d were written
  EXPECT_EQ(s->snapshot()->balance("ops:bank", "USD").value(), amt("2.00"));

  // An auditor may post nothing; with nothing left for the writer, results come back at once.
  std::vector<PostItem> more;
  more.push_back({deposit("e"), false});
  auto r2 = s->post_and_wait(std::move(more), RoleSet{Role::auditor});
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].message, "not_allowed: an auditor token may not post entry");
  EXPECT_EQ(s->ledger().commits(), 2u);
}

}  // namespace
}  // namespace tally
