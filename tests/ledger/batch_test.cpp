// Batches and linked chains (ledger/batch.h): the chain rule every layer applies through it.
#include "ledger/batch.h"

#include <gtest/gtest.h>

#include <memory>

#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

std::vector<Chain> chains_of(std::initializer_list<bool> flags) {
  std::vector<char> v(flags.begin(), flags.end());
  std::unique_ptr<bool[]> b(new bool[v.size()]);
  for (size_t i = 0; i < v.size(); ++i) b[i] = v[i];
  return linked_chains(std::span<const bool>(b.get(), v.size()));
}

TEST(BatchTest, ChainsAreMaximalLinkedRuns) {
  auto c = chains_of({false, true, true, false, false, true, false});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].first, 0u);
  EXPECT_EQ(c[0].last, 0u);
  EXPECT_EQ(c[1].first, 1u);
  EXPECT_EQ(c[1].last, 3u);
  EXPECT_EQ(c[2].first, 4u);
  EXPECT_EQ(c[2].last, 4u);
  EXPECT_EQ(c[3].first, 5u);
  EXPECT_EQ(c[3].last, 6u);
  EXPECT_TRUE(chains_of({}).empty());
  auto open = chains_of({false, true});
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[1].first, 1u);
  EXPECT_EQ(open[1].last, 1u);
}

TEST(BatchTest, PackingNeverSplitsAChainAndKeepsALongOneWhole) {
  auto c = chains_of({true, true, false, false, true, false, false, true, true, true, false});
  auto packed = pack_chains(c, 4);
  // chains: [0,2] [3,3] [4,5] [6,6] [7,10]; batches of at most 4 items: [0,3] [4,6] [7,10]
  ASSERT_EQ(packed.size(), 3u);
  EXPECT_EQ(packed[0].first, 0u);
  EXPECT_EQ(packed[0].last, 3u);
  EXPECT_EQ(packed[1].first, 4u);
  EXPECT_EQ(packed[1].last, 6u);
  EXPECT_EQ(packed[2].first, 7u);
  EXPECT_EQ(packed[2].last, 10u);
  auto tight = pack_chains(c, 2);  // the chain of 4 goes alone and whole
  ASSERT_EQ(tight.back().first, 7u);
  EXPECT_EQ(tight.back().last, 10u);
}

TEST(BatchTest, ARefusedItemSinksItsChainOnlyAndResultsComeBackInOrder) {
  ItemResult refused = ItemResult::error(reject(Code::bad_currency, "no such currency"), "b");
  std::vector<BatchItem> items = {{"a", true, nullptr},
                                  {"b", false, &refused},
                                  {"c", false, nullptr},
                                  {"d", true, nullptr},
                                  {"e", false, nullptr}};
  Triage t = triage_batch(items);
  EXPECT_EQ(t.apply, (std::vector<size_t>{2, 3, 4}));
  ASSERT_TRUE(t.decided[0].has_value());
  EXPECT_EQ(t.decided[0]->code, Code::linked_failed);
  EXPECT_EQ(t.decided[0]->id, "a");
  EXPECT_NE(t.decided[0]->message.find("item 1"), std::string::npos) << t.decided[0]->message;
  EXPECT_EQ(t.decided[1]->code, Code::bad_currency);
  std::vector<ItemResult> applied(3);
  applied[0].id = "c", applied[1].id = "d", applied[2].id = "e";
  auto out = stitch_results(std::move(t), std::move(applied));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].id, "a");
  EXPECT_EQ(out[1].id, "b");
  EXPECT_EQ(out[2].id, "c");
  EXPECT_EQ(out[4].id, "e");
}

TEST(BatchTest, ALinkedLastItemLeavesItsChainOpenAndItFailsWhole) {
  std::vector<BatchItem> items = {
      {"a", false, nullptr}, {"b", true, nullptr}, {"c", true, nullptr}};
  Triage t = triage_batch(items, [](size_t i) { return "line " + std::to_string(i + 1); });
  EXPECT_EQ(t.apply, (std::vector<size_t>{0}));
  EXPECT_EQ(t.decided[1]->code, Code::linked_failed);
  EXPECT_NE(t.decided[1]->message.find("line 3"), std::string::npos) << t.decided[1]->message;
  EXPECT_EQ(t.decided[2]->code, Code::linked_chain_open);
  EXPECT_EQ(t.decided[2]->id, "c");
}

// The writer applies the same rule to a batch submitted directly.
TEST(BatchTest, TheWriterRefusesAnOpenChainAndCommitsTheRest) {
  TempDir dir;
  auto ledger = open_ledger(dir.sub("d"));
  ASSERT_TRUE(
      ledger
          ->submit_and_wait(batch(make_open_account(account("a", AccountKind::asset, {"USD"})),
                                  make_open_account(account("b", AccountKind::asset, {"USD"}))))[0]
          .ok());
  auto e1 = make_post_entry(entry("e1", {debit("a", "1.00"), credit("b", "1.00")}));
  auto e2 = make_post_entry(entry("e2", {debit("a", "1.00"), credit("b", "1.00")}));
  auto e3 = make_post_entry(entry("e3", {debit("a", "1.00"), credit("b", "1.00")}));
  e2->linked = true;
  e3->linked = true;
  auto r = ledger->submit_and_wait(batch(std::move(e1), std::move(e2), std::move(e3)));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok());
  EXPECT_EQ(r[1].code, Code::linked_failed);
  EXPECT_EQ(r[2].code, Code::linked_chain_open);
  EXPECT_EQ(ledger->snapshot()->last_seq(), 1u);
}

}  // namespace
}  // namespace tally
