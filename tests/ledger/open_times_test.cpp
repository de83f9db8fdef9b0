// Reads that depend on when an account was opened: balances under a prefix as of a time list
// only the accounts opened by then; account_names_after seeks to a paging cursor; and a store
// written before tally recorded open times (every book's open time 0, "unknown") reads as it
// always did. Commit times come from an injected clock.
#include <string>
#include <vector>

#include "common/legacy_store.h"
#include "common/test_util.h"
#include "ledger/ledger.h"

namespace tally {
namespace {

using namespace tally::testing;

class OpenTimesTest : public ::testing::Test {
 protected:
  static constexpr TimeNs kT0 = 1'700'000'000'000'000'000;
  void SetUp() override { reopen(); }
  void reopen() {
    ledger_.reset();
    LedgerOptions o;
    o.clock = [this] { return now_; };
    ledger_ = open_ledger(dir_.sub("data"), o);
  }
  // One batch committed at `at`.
  template <class... Ops>
  void commit_at(TimeNs at, Ops... ops) {
    now_ = at;
    for (auto& r : ledger_->submit_and_wait(batch(std::move(ops)...)))
      ASSERT_TRUE(r.ok()) << r.message;
  }
  // The books at T0 + 10: ops:bank and ops:equity with 10.00 USD. ops:wallet opened at T0 + 20
  // and given 5.00 at T0 + 30; ops:bank gains EUR at T0 + 40.
  void write_books() {
    commit_at(kT0 + 10, make_open_account(account("ops:bank", AccountKind::asset, {"USD"})),
              make_open_account(account("ops:equity", AccountKind::equity, {"USD"})));
    commit_at(kT0 + 11, make_post_entry(entry(
                            "e1", {debit("ops:bank", "10.00"), credit("ops:equity", "10.00")})));
    commit_at(kT0 + 20, make_open_account(account("ops:wallet", AccountKind::liability, {"USD"})));
    commit_at(kT0 + 30, make_post_entry(entry(
                            "e2", {debit("ops:bank", "5.00"), credit("ops:wallet", "5.00")})));
    commit_at(kT0 + 40, make_open_account(account("ops:bank", AccountKind::asset, {"EUR"})));
  }
  // "account CUR balance" per row, then "total CUR balance" per currency.
  std::vector<std::string> rows(std::string_view prefix, std::optional<TimeNs> as_of) {
    std::vector<std::string> out;
    auto b = ledger_->snapshot()->balances(prefix, as_of);
    for (const auto& r : b.accounts)
      out.push_back(r.account + " " + std::string(r.currency.code()) + " " +
                    format_amount(r.balance, r.currency));
    for (const auto& t : b.totals)
      out.push_back("total " + std::string(t.currency.code()) + " " +
                    format_amount(t.balance, t.currency));
    return out;
  }
  std::vector<std::string> names_after(std::string_view prefix, std::string_view after) {
    std::vector<std::string> out;
    ledger_->snapshot()->account_names_after(prefix, after, [&](std::string_view n) {
      out.emplace_back(n);
      return true;
    });
    return out;
  }

  TempDir dir_;
  TimeNs now_ = kT0;
  std::unique_ptr<Ledger> ledger_;
};

using V = std::vector<std::string>;

TEST_F(OpenTimesTest, BalancesAsOfBeforeAnOpenDoNotListTheAccount) {
  write_books();
  EXPECT_EQ(ledger_->snapshot()->account_opened_ns("ops:wallet"), kT0 + 20);
  // Before anything was opened: no account, no total (never a row of 0.00).
  EXPECT_EQ(rows("ops", kT0 + 9), V{});
  // ops:wallet did not exist yet. (ops:bank's EUR, added at T0 + 40, is listed with the
  // account, which existed: 0.00, as `balance` reports it.)
  EXPECT_EQ(rows("ops", kT0 + 19),
            (V{"ops:bank EUR 0.00", "ops:bank USD 10.00", "ops:equity USD 10.00", "total EUR 0.00",
               "total USD 20.00"}));
  // An account opened by the commit at T exists as of T (as `balance` says).
  EXPECT_EQ(rows("ops", kT0 + 20),
            (V{"ops:bank EUR 0.00", "ops:bank USD 10.00", "ops:equity USD 10.00",
               "ops:wallet USD 0.00", "total EUR 0.00", "total USD 20.00"}));
  EXPECT_EQ(rows("ops:wallet", kT0 + 19), V{});
  // A currency added to an account that existed is listed as that account's book, 0.00 before
  // the currency was added (the account's open time is its first book's).
  EXPECT_EQ(rows("ops:bank", kT0 + 30),
            (V{"ops:bank EUR 0.00", "ops:bank USD 15.00", "total EUR 0.00", "total USD 15.00"}));
  // Now: everything.
  EXPECT_EQ(rows("ops", std::nullopt),
            (V{"ops:bank EUR 0.00", "ops:bank USD 15.00", "ops:equity USD 10.00",
               "ops:wallet USD 5.00", "total EUR 0.00", "total USD 30.00"}));
}

TEST_F(OpenTimesTest, AccountNamesAfterStartsStrictlyAfterTheCursor) {
  for (const char* n : {"ops:a", "ops:b", "ops:c", "ops:c:x", "ops2:z", "opr:q"})
    commit_at(kT0 + 1, make_open_account(account(n, AccountKind::asset, {"USD"})));
  EXPECT_EQ(names_after("ops:", ""), (V{"ops:a", "ops:b", "ops:c", "ops:c:x"}));
  EXPECT_EQ(names_after("ops:", "ops:a"), (V{"ops:b", "ops:c", "ops:c:x"}));
  // A cursor that names no account (between two names, or closed and gone): the next name.
  EXPECT_EQ(names_after("ops:", "ops:bb"), (V{"ops:c", "ops:c:x"}));
  EXPECT_EQ(names_after("ops:", "ops:c"), V{"ops:c:x"});
  EXPECT_EQ(names_after("ops:", "ops:c:x"), V{});
  EXPECT_EQ(names_after("ops:", "ops:zz"), V{});
  // A cursor before the prefix's range starts at the prefix; one after it finds nothing. (Byte
  // order: '2' sorts before ':', so "ops2:z" comes before every "ops:" name.)
  EXPECT_EQ(names_after("ops:", "opr:q"), (V{"ops:a", "ops:b", "ops:c", "ops:c:x"}));
  EXPECT_EQ(names_after("ops:", "ops2:z"), (V{"ops:a", "ops:b", "ops:c", "ops:c:x"}));
  EXPECT_EQ(names_after("ops:", "opt"), V{});
  EXPECT_EQ(names_after("", "opr:q"), (V{"ops2:z", "ops:a", "ops:b", "ops:c", "ops:c:x"}));
  EXPECT_EQ(names_after("", "ops:c"), V{"ops:c:x"});
  // The visit stops the walk.
  size_t seen = 0;
  ledger_->snapshot()->account_names_after("", "", [&](std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2u);
}

// A store written before open times were recorded: every book's open time reads 0 (unknown). Its
// accounts are never "not yet opened": as-of reads list them as they always did, 0.00 before
// their first posting (docs/clients.md, "Balances before an account was opened").
TEST_F(OpenTimesTest, AStoreWithoutOpenTimesListsEveryAccountAsBefore) {
  write_books();
  ledger_.reset();
  EXPECT_EQ(forget_open_times(dir_.sub("data")), 4u);  // bank USD and EUR, equity, wallet
  reopen();
  auto snap = ledger_->snapshot();
  EXPECT_EQ(snap->account_opened_ns("ops:wallet"), std::nullopt);
  EXPECT_EQ(snap->account_opened_ns("ops:bank"), std::nullopt);
  EXPECT_EQ(rows("ops", kT0 + 9),
            (V{"ops:bank EUR 0.00", "ops:bank USD 0.00", "ops:equity USD 0.00",
               "ops:wallet USD 0.00", "total EUR 0.00", "total USD 0.00"}));
  EXPECT_EQ(rows("ops", kT0 + 19),
            (V{"ops:bank EUR 0.00", "ops:bank USD 10.00", "ops:equity USD 10.00",
               "ops:wallet USD 0.00", "total EUR 0.00", "total USD 20.00"}));
  auto wallet = snap->balance("ops:wallet", "USD", kT0 + 19);
  ASSERT_TRUE(wallet.ok());
  EXPECT_TRUE(wallet->is_zero());
  EXPECT_TRUE(snap->verify().ok);
  // Opened after the upgrade: its time is recorded, and the old ones stay unknown, even when an
  // old account gains a currency (a book with a known time beside ones without).
  commit_at(kT0 + 50, make_open_account(account("ops:late", AccountKind::asset, {"USD"})),
            make_open_account(account("ops:equity", AccountKind::equity, {"GBP"})));
  EXPECT_EQ(ledger_->snapshot()->account_opened_ns("ops:late"), kT0 + 50);
  EXPECT_EQ(ledger_->snapshot()->account_opened_ns("ops:equity"), std::nullopt);
  EXPECT_EQ(rows("ops", kT0 + 45),
            (V{"ops:bank EUR 0.00", "ops:bank USD 15.00", "ops:equity GBP 0.00",
               "ops:equity USD 10.00", "ops:wallet USD 5.00", "total EUR 0.00", "total GBP 0.00",
               "total USD 30.00"}));  // not ops:late; ops:equity listed whole
}

}  // namespace
}  // namespace tally
