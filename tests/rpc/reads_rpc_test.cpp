// The marketplace layer's reads over RPC (SPEC section 5, "Reads"; issue 17 item 4): a
// marketplace's config as loaded with its next pay dates, a payee's details, holds, hold state
// and terms, accounts a page at a time, runs across marketplaces; each answers exactly what the
// service layer answers (the embedded backend's source), and a token without the auditor role
// gets not_allowed for every one. The marketplaces are fixtures/marketplaces.toml's.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <fstream>
#include <iterator>

#include "common/test_util.h"
#include "ledger/money.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/served_books.h"
#include "rpc/server.h"
#include "rpc/tally.capnp.h"
#include "service/market_reads.h"
#include "service/reads.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

constexpr TimeNs kJan6_14h = 1'767'708'000'000'000'000;  // 2026-01-06T14:00:00Z
constexpr TimeNs kJan9_14h = 1'767'967'200'000'000'000;  // 2026-01-09T14:00:00Z

Event shopper_event(std::string id, EventBody body, TimeNs at = kJan6_14h) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = at;
  e.header.marketplace = "shopper";
  e.body = std::move(body);
  return e;
}

PayeeDetailsEvent techmiami_details(std::string account) {
  PayeeDetailsEvent d{"techmiami", "Tech Miami LLC", "026009593-" + account, ""};
  d.ach = PayeeAchFields{"026009593", account, "checking", "company"};
  return d;
}

class ReadsRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_marketplaces(dir_, &service_, &server_);
    ASSERT_TRUE(server_);
    auditor_ = connect("tok-auditor");
    ASSERT_TRUE(auditor_);
  }
  void TearDown() override {
    auditor_.reset();
    server_.reset();
    service_.reset();
  }
  std::unique_ptr<Client> connect(const std::string& token) {
    ClientOptions o;
    o.address = server_->address();
    o.token = token;
    auto c = Client::connect(o);
    EXPECT_TRUE(c.ok()) << (c.failed() ? c.failure().message : "rejected");
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  template <class T>
  static std::string why(const Reply<T>& r) {
    return r.ok() ? "" : r.rejected() ? r.rejection().message : r.failure().message;
  }
  template <class T>
  static Code code_of(const Reply<T>& r) {
    return r.rejected() ? r.rejection().code : Code::ok;
  }
  void post_all(std::vector<PostItem> items) {
    auto r = service_->post_and_wait(std::move(items),
                                     RoleSet{Role::poster, Role::finance, Role::auditor});
    for (const auto& x : r) ASSERT_TRUE(x.ok()) << x.id << ": " << x.message;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
  std::unique_ptr<Client> auditor_;
};

std::string money_of(const std::vector<CurrencyTotal>& v) {
  std::string out;
  for (const auto& m : v)
    out += std::string(m.currency.code()) + " " + format_amount(m.balance, m.currency) + ";";
  return out;
}

// --- marketplace -------------------------------------------------------------------------------

TEST_F(ReadsRpcTest, MarketplaceAnswersTheSellerConfigAsLoadedWithRatesAsExactText) {
  auto r = auditor_->marketplace(MarketplaceQuery{"shop", "2026-04-01", 3});
  ASSERT_TRUE(r.ok()) << why(r);
  const MarketplaceResult& m = r.value();
  EXPECT_EQ(m.name, "shop");
  ASSERT_EQ(m.currencies.size(), 1u);
  EXPECT_EQ(m.currencies[0].code(), "EUR");
  EXPECT_EQ(m.currencies[0].exponent(), 2);
  EXPECT_EQ(m.timezone, "Europe/Paris");
  EXPECT_EQ(m.rounding, "half_even");
  ASSERT_EQ(m.commission.size(), 2u);
  EXPECT_EQ(m.commission[0].name, "product");
  EXPECT_EQ(m.commission[0].rate, "10%");
  EXPECT_EQ(m.commission[1].name, "service");
  EXPECT_EQ(m.commission[1].rate, "20%");
  EXPECT_EQ(m.affiliate_rate.value_or("none"), "7%");
  EXPECT_EQ(m.fee_rate, "2.9%");
  EXPECT_EQ(money_of(m.fee_fixed), "EUR 0.25;");
  EXPECT_EQ(m.fee_payer, "payee");
  EXPECT_EQ(m.hold_days, 14u);
  EXPECT_EQ(m.hold_from, "delivery");
  EXPECT_EQ(m.schedule.form, "weekly");
  EXPECT_EQ(m.schedule.weekdays, std::vector<std::string>{"monday"});
  EXPECT_EQ(money_of(m.minimum_payout), "EUR 10.00;");
  EXPECT_EQ(m.holidays,
            (std::vector<std::string>{"2026-04-06", "2026-05-01", "2026-05-25", "2026-12-25"}));
  EXPECT_EQ(m.payout_account_name, "Shop SAS");
  EXPECT_EQ(m.payout_account_iban, "FR7630006000011234567890189");
  EXPECT_EQ(m.payout_account_bic, "AGRIFRPPXXX");
  ASSERT_TRUE(m.reserve.has_value());
  EXPECT_EQ(m.reserve->rate, "10%");
  EXPECT_EQ(m.reserve->days, 90u);
  EXPECT_EQ(money_of(m.minimum_balance), "EUR 0.00;");
  EXPECT_FALSE(m.payout_tax.has_value());
  EXPECT_FALSE(m.ach.has_value());
  EXPECT_FALSE(m.co_dispersion.has_value());
  EXPECT_TRUE(m.earning.empty());

  // Mondays from Wednesday 2026-04-01; Easter Monday 2026-04-06 is a holiday: paid Tuesday the
  // 7th, whose cut-off is its start in Paris (CEST, +02:00).
  EXPECT_EQ(m.from, "2026-04-01");
  ASSERT_EQ(m.pay_dates.size(), 3u);
  EXPECT_EQ(m.pay_dates[0].date, "2026-04-07");
  EXPECT_EQ(m.pay_dates[0].scheduled, "2026-04-06");
  EXPECT_EQ(format_rfc3339(m.pay_dates[0].cutoff), "2026-04-06T22:00:00Z");
  EXPECT_EQ(m.pay_dates[1].date, "2026-04-13");
  EXPECT_EQ(m.pay_dates[1].scheduled, "2026-04-13");
  EXPECT_EQ(m.pay_dates[2].date, "2026-04-20");
  // The settlement calendar's own answer (one owner of pay dates).
  const MarketplaceConfig* cfg = service_->config().marketplace("shop");
  auto from = parse_date("2026-04-01", "from");
  ASSERT_TRUE(from.ok());
  auto want = next_pay_dates(*cfg, *from, 3);
  ASSERT_EQ(want.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(m.pay_dates[i].date, format_date(want[i].date));
}

TEST_F(ReadsRpcTest, MarketplaceAnswersTheRailsTaxAndEarningRules) {
  auto r = auditor_->marketplace(MarketplaceQuery{"shopper", "2026-02-01", 3});
  ASSERT_TRUE(r.ok()) << why(r);
  const MarketplaceResult& m = r.value();
  ASSERT_EQ(m.currencies.size(), 2u);
  EXPECT_EQ(m.currencies[0].code(), "USD");  // the first is the default
  EXPECT_EQ(m.currencies[1].code(), "COP");
  EXPECT_EQ(m.rounding, "half_up");
  EXPECT_FALSE(m.affiliate_rate.has_value());
  EXPECT_EQ(m.fee_rate, "3.49%");
  EXPECT_EQ(money_of(m.fee_fixed), "USD 0.30;COP 900.00;");
  EXPECT_EQ(m.fee_payer, "platform");
  EXPECT_EQ(m.hold_from, "sale");
  EXPECT_EQ(m.schedule.form, "monthly_days");
  EXPECT_EQ(m.schedule.month_days, (std::vector<uint32_t>{15, 31}));
  ASSERT_EQ(m.earning.size(), 1u);
  EXPECT_EQ(m.earning[0].name, "session");
  EXPECT_EQ(m.earning[0].rate, "8%");
  EXPECT_EQ(money_of(m.earning[0].minimum), "USD 10.00;COP 40000.00;");
  ASSERT_TRUE(m.payout_tax.has_value());
  EXPECT_EQ(m.payout_tax->rate, "0.4%");
  EXPECT_EQ(m.payout_tax->currency, "COP");
  EXPECT_EQ(m.payout_tax->account, service_->config().marketplace("shopper")->payout_tax->account);
  ASSERT_TRUE(m.ach.has_value());
  EXPECT_EQ(m.ach->company_name, "SHOPPER US");
  EXPECT_EQ(m.ach->odfi_routing, "091000019");
  EXPECT_EQ(m.ach->entry_description, "PAYOUT");
  ASSERT_TRUE(m.co_dispersion.has_value());
  EXPECT_EQ(m.co_dispersion->company_nit, "900123456-8");
  EXPECT_EQ(m.co_dispersion->account_type, "checking");
  EXPECT_FALSE(m.reserve.has_value());
  // The quincena from 2026-02-01: the last day of January (a Saturday) is paid Monday 2
  // February; the 15th (a Sunday) Monday the 16th; the 28th (a Saturday) Monday 2 March.
  ASSERT_EQ(m.pay_dates.size(), 3u);
  EXPECT_EQ(m.pay_dates[0].date, "2026-02-02");
  EXPECT_EQ(m.pay_dates[0].scheduled, "2026-01-31");
  EXPECT_EQ(m.pay_dates[1].date, "2026-02-16");
  EXPECT_EQ(m.pay_dates[1].scheduled, "2026-02-15");
  EXPECT_EQ(m.pay_dates[2].date, "2026-03-02");
  EXPECT_EQ(m.pay_dates[2].scheduled, "2026-02-28");
  EXPECT_EQ(format_rfc3339(m.pay_dates[2].cutoff), "2026-03-02T05:00:00Z");  // Bogota, -05:00

  // The RPC answer is the service's (what `tally --data` prints from).
  auto direct = marketplace_op(*service_, MarketplaceQuery{"shopper", "2026-02-01", 3});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->pay_dates.size(), m.pay_dates.size());
  EXPECT_EQ(direct->pay_dates[1].cutoff, m.pay_dates[1].cutoff);
  EXPECT_EQ(direct->earning[0].rate, m.earning[0].rate);
}

TEST_F(ReadsRpcTest, MarketplaceDefaultsAndRefusals) {
  // No `from`: today in the marketplace's zone; no `next`: pay_dates_default.
  auto r = auditor_->marketplace(MarketplaceQuery{"fulfil", std::nullopt, 0});
  ASSERT_TRUE(r.ok()) << why(r);
  EXPECT_EQ(r->pay_dates.size(), pay_dates_default);
  EXPECT_EQ(r->from.size(), 10u);
  EXPECT_LE(r->from, r->pay_dates[0].date);

  auto unknown = auditor_->marketplace(MarketplaceQuery{"nope", std::nullopt, 0});
  EXPECT_EQ(code_of(unknown), Code::unknown_marketplace);
  auto bad_date = auditor_->marketplace(MarketplaceQuery{"shop", "2026-13-01", 1});
  EXPECT_EQ(code_of(bad_date), Code::bad_date);
  EXPECT_NE(why(bad_date).find("from"), std::string::npos) << why(bad_date);
  auto too_many = auditor_->marketplace(MarketplaceQuery{"shop", "2026-01-01", pay_dates_max + 1});
  EXPECT_EQ(code_of(too_many), Code::bad_request);
  auto most = auditor_->marketplace(MarketplaceQuery{"shop", "2026-01-01", pay_dates_max});
  ASSERT_TRUE(most.ok()) << why(most);
  EXPECT_EQ(most->pay_dates.size(), pay_dates_max);
}

// --- payee ---------------------------------------------------------------------------------------

TEST_F(ReadsRpcTest, PayeeAnswersDetailsHistoryHoldsHoldStateAndTerms) {
  PayeeTermsEvent terms;
  terms.payee = "techmiami";
  terms.reserve = PayeeTermsEvent::Reserve{"5%", 30};
  terms.minimum_balance = {{"USD", "25.00"}};
  post_all({PostItem{shopper_event("pd-1", techmiami_details("1111111111"))},
            PostItem{shopper_event("pd-2", techmiami_details("2222222222"), kJan6_14h + 1000)},
            PostItem{shopper_event(
                "s-2003", SaleEvent{"techmiami", "200.10", "USD", "electronics", std::nullopt})},
            PostItem{shopper_event("ph-1", PayeeHoldEvent{"techmiami", true, "kyc review"})}});
  // payee_terms has no item of `tally post` or the wire yet: straight to the rules.
  Batch b;
  b.push_back(
      service_->rules().payee_terms_op(EventHeader{"pt-1", kJan6_14h, "shopper", {}}, terms));
  auto tr = service_->ledger().submit_and_wait(std::move(b));
  ASSERT_EQ(tr.size(), 1u);
  ASSERT_TRUE(tr[0].ok()) << tr[0].message;

  auto r = auditor_->payee("shopper", "techmiami");
  ASSERT_TRUE(r.ok()) << why(r);
  const PayeeResult& p = r.value();
  EXPECT_EQ(p.marketplace, "shopper");
  EXPECT_EQ(p.payee, "techmiami");
  EXPECT_TRUE(p.on_hold);
  EXPECT_EQ(p.hold_reason, "kyc review");
  EXPECT_TRUE(p.hold_since.has_value());
  // The history, oldest first: the current details are the last.
  ASSERT_EQ(p.details.size(), 2u);
  EXPECT_EQ(p.details[0].event_id, "pd-1");
  EXPECT_EQ(p.details[0].at, kJan6_14h);
  EXPECT_EQ(p.details[1].event_id, "pd-2");
  EXPECT_EQ(p.details[1].account, "026009593-2222222222");
  ASSERT_TRUE(p.details[1].ach.has_value());
  EXPECT_EQ(p.details[1].ach->account, "2222222222");
  EXPECT_EQ(p.details[1].ach->receiver_kind, "company");
  EXPECT_FALSE(p.details[1].co.has_value());
  // The sale's hold: 200.10 less 5% commission (10.005 -> 10.01, half_up) = 190.09, released 3
  // days after the sale.
  ASSERT_EQ(p.holds.size(), 1u);
  EXPECT_EQ(p.holds[0].origin, "s-2003");
  EXPECT_EQ(p.holds[0].currency.code(), "USD");
  EXPECT_EQ(format_amount(p.holds[0].original, p.holds[0].currency), "190.09");
  EXPECT_EQ(format_amount(p.holds[0].remaining, p.holds[0].currency), "190.09");
  ASSERT_TRUE(p.holds[0].release.has_value());
  EXPECT_EQ(*p.holds[0].release, kJan9_14h);
  EXPECT_TRUE(p.reserves.empty());
  ASSERT_EQ(p.terms.size(), 1u);
  EXPECT_EQ(p.terms[0].event_id, "pt-1");
  ASSERT_TRUE(p.terms[0].reserve.has_value());
  EXPECT_EQ(p.terms[0].reserve->rate, "5%");
  EXPECT_EQ(p.terms[0].reserve->days, 30u);
  EXPECT_EQ(money_of(p.terms[0].minimum_balance), "USD 25.00;");

  // Off hold: the state follows the last payee_hold.
  post_all({PostItem{
      shopper_event("ph-2", PayeeHoldEvent{"techmiami", false, "cleared"}, kJan6_14h + 2000)}});
  auto off = auditor_->payee("shopper", "techmiami");
  ASSERT_TRUE(off.ok()) << why(off);
  EXPECT_FALSE(off->on_hold);
  EXPECT_EQ(off->hold_reason, "cleared");
}

TEST_F(ReadsRpcTest, PayeeRefusesWhatNamesNoPayee) {
  EXPECT_EQ(code_of(auditor_->payee("nope", "p1")), Code::unknown_marketplace);
  EXPECT_EQ(code_of(auditor_->payee("shop", "never-seen")), Code::unknown_payee);
  EXPECT_EQ(code_of(auditor_->payee("shop", "Bad Name")), Code::bad_account_name);
  EXPECT_EQ(code_of(auditor_->payee("shop", "a:b")), Code::bad_account_name);
  EXPECT_EQ(code_of(auditor_->payee("shop", "")), Code::bad_account_name);
  // A payee the rules opened accounts for (a sale's seller) is known without details or holds.
  Event sale;
  sale.header = {"o-1", kJan6_14h, "shop", {}};
  sale.body = SaleEvent{"p1", "120.00", "EUR", "product", std::nullopt};
  post_all({PostItem{sale}});
  auto p = auditor_->payee("shop", "p1");
  ASSERT_TRUE(p.ok()) << why(p);
  EXPECT_FALSE(p->on_hold);
  EXPECT_FALSE(p->hold_since.has_value());
  EXPECT_TRUE(p->details.empty());
  ASSERT_EQ(p->holds.size(), 1u);
  // Held from delivery, not delivered: the release time is not known yet.
  EXPECT_FALSE(p->holds[0].release.has_value());
}

// --- accounts ------------------------------------------------------------------------------------

TEST_F(ReadsRpcTest, AccountsPageUnderAPrefixWithACursor) {
  post_all({open_item("ops:bank", AccountKind::asset, {"USD", "EUR"}),
            open_item("ops:wallets:w1", AccountKind::liability, {"USD"}, kNoOverdraft),
            open_item("ops:wallets:w2", AccountKind::liability, {"EUR"}),
            open_item("ops:wallets:w3", AccountKind::liability, {"USD"}),
            open_item("ops2:bank", AccountKind::asset, {"USD"}),
            PostItem{CloseAccountItem{"ops:wallets:w3"}}});
  std::vector<std::string> names;
  std::string after;
  int pages = 0;
  do {
    auto r = auditor_->accounts(AccountsQuery{"ops", after, 2});
    ASSERT_TRUE(r.ok()) << why(r);
    EXPECT_LE(r->accounts.size(), 2u);
    for (const auto& a : r->accounts) names.push_back(a.name);
    after = r->next;
    ASSERT_LT(++pages, 10);
  } while (!after.empty());
  // "ops" holds ops:... and not ops2:...
  EXPECT_EQ(names, (std::vector<std::string>{"ops:bank", "ops:wallets:w1", "ops:wallets:w2",
                                             "ops:wallets:w3"}));
  EXPECT_EQ(pages, 2);

  auto all = auditor_->accounts(AccountsQuery{"ops:wallets", "", 0});
  ASSERT_TRUE(all.ok()) << why(all);
  ASSERT_EQ(all->accounts.size(), 3u);
  EXPECT_TRUE(all->next.empty());
  const Account& w1 = all->accounts[0];
  EXPECT_EQ(w1.kind, AccountKind::liability);
  EXPECT_TRUE(w1.no_overdraft());
  EXPECT_FALSE(w1.closed());
  ASSERT_EQ(w1.currencies.size(), 1u);
  EXPECT_EQ(w1.currencies[0].code(), "USD");
  EXPECT_EQ(w1.currencies[0].exponent(), 2);
  EXPECT_TRUE(all->accounts[2].closed());
  auto bank = auditor_->accounts(AccountsQuery{"ops:bank", "", 0});
  ASSERT_TRUE(bank.ok());
  ASSERT_EQ(bank->accounts.size(), 1u);
  EXPECT_EQ(bank->accounts[0].currencies.size(), 2u);  // EUR and USD, code order
  EXPECT_EQ(bank->accounts[0].currencies[0].code(), "EUR");

  // The limit is bounded by a named maximum.
  EXPECT_EQ(code_of(auditor_->accounts(AccountsQuery{"", "", accounts_page_max + 1})),
            Code::bad_request);
  EXPECT_TRUE(auditor_->accounts(AccountsQuery{"", "", accounts_page_max}).ok());
  EXPECT_EQ(code_of(auditor_->accounts(AccountsQuery{"Bad Prefix", "", 1})),
            Code::bad_account_name);
  EXPECT_EQ(code_of(auditor_->accounts(AccountsQuery{"", "BAD", 1})), Code::bad_account_name);
}

// --- runs ----------------------------------------------------------------------------------------

TEST_F(ReadsRpcTest, RunsAcrossMarketplacesWithTheirState) {
  auto none = auditor_->runs_all(std::nullopt);
  ASSERT_TRUE(none.ok()) << why(none);
  EXPECT_TRUE(none->empty());
  auto finance = connect("tok-finance");
  ASSERT_TRUE(finance);
  auto a = finance->settle(SettleRequest{"shopper", "2026-01-15", false});
  ASSERT_TRUE(a.ok()) << why(a);
  auto b = finance->settle(SettleRequest{"fulfil", "2026-01-09", false});
  ASSERT_TRUE(b.ok()) << why(b);

  auto all = auditor_->runs_all(std::nullopt);
  ASSERT_TRUE(all.ok()) << why(all);
  ASSERT_EQ(all->size(), 2u);
  // Marketplace order, then pay date.
  EXPECT_EQ(all.value()[0].marketplace, "fulfil");
  EXPECT_EQ(all.value()[0].run, b->run);
  EXPECT_EQ(all.value()[1].marketplace, "shopper");
  EXPECT_EQ(all.value()[1].pay_date, "2026-01-15");
  EXPECT_EQ(all.value()[1].state, RunStateResult::complete);
  auto one = auditor_->runs_all(std::string("shopper"));
  ASSERT_TRUE(one.ok()) << why(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one.value()[0].run, a->run);
  EXPECT_EQ(code_of(auditor_->runs_all(std::string("nope"))), Code::unknown_marketplace);
  // Finance's runs carry the marketplace too.
  auto fin = finance->runs("fulfil");
  ASSERT_TRUE(fin.ok()) << why(fin);
  ASSERT_EQ(fin->size(), 1u);
  EXPECT_EQ(fin.value()[0].marketplace, "fulfil");
}

// --- balances before an account was opened -------------------------------------------------------

TEST_F(ReadsRpcTest, ABalanceAsOfBeforeTheOpenIsNotYetOpenedNeverZero) {
  post_all({open_item("ops:bank", AccountKind::asset, {"USD"}),
            open_item("ops:wallet", AccountKind::liability, {"USD"})});
  auto now = auditor_->balance(BalanceQuery{"ops:bank", std::nullopt, std::nullopt});
  ASSERT_TRUE(now.ok()) << why(now);
  ASSERT_TRUE(now->opened_ns.has_value()) << "a book opened now records its open's commit time";
  EXPECT_FALSE(now->not_yet_opened);
  const TimeNs opened = *now->opened_ns;
  // The open's commit time is the snapshot's too (one owner: the book record).
  EXPECT_EQ(service_->snapshot()->account_opened_ns("ops:bank"), opened);
  EXPECT_FALSE(service_->snapshot()->account_opened_ns("ops:never").has_value());

  // One nanosecond before the open: not yet opened, no balance at all (not 0.00).
  auto before = auditor_->balance(BalanceQuery{"ops:bank", std::nullopt, opened - 1});
  ASSERT_TRUE(before.ok()) << why(before);
  EXPECT_TRUE(before->not_yet_opened);
  EXPECT_TRUE(before->balances.empty());
  EXPECT_EQ(before->opened_ns, opened);
  auto before_usd = auditor_->balance(BalanceQuery{"ops:bank", "USD", opened - 1});
  ASSERT_TRUE(before_usd.ok()) << why(before_usd);
  EXPECT_TRUE(before_usd->not_yet_opened);
  // A currency the account never holds is still currency_not_allowed, whenever.
  EXPECT_EQ(code_of(auditor_->balance(BalanceQuery{"ops:bank", "EUR", opened - 1})),
            Code::currency_not_allowed);
  // At the open's commit time it exists, with 0.00: a real zero.
  auto at = auditor_->balance(BalanceQuery{"ops:bank", "USD", opened});
  ASSERT_TRUE(at.ok()) << why(at);
  EXPECT_FALSE(at->not_yet_opened);
  ASSERT_EQ(at->balances.size(), 1u);
  EXPECT_EQ(format_amount(at->balances[0].balance, at->balances[0].currency), "0.00");

  // Adding a currency later does not move the account's open time.
  post_all({open_item("ops:bank", AccountKind::asset, {"USD", "EUR"})});
  EXPECT_EQ(service_->snapshot()->account_opened_ns("ops:bank"), opened);
  // The service's answer is the RPC one (what `tally --data` prints from).
  auto snap = service_->snapshot();
  auto direct = read_balance(*snap, BalanceQuery{"ops:bank", std::nullopt, opened - 1});
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(direct->not_yet_opened);
}

// --- roles ---------------------------------------------------------------------------------------

TEST_F(ReadsRpcTest, EveryNewReadIsTheAuditorsOnly) {
  for (const char* token : {"tok-poster", "tok-finance"}) {
    auto c = connect(token);
    ASSERT_TRUE(c);
    auto is_refused = [&](const auto& r) {
      return r.failed() && r.failure().kind == Failure::Kind::not_allowed;
    };
    EXPECT_TRUE(is_refused(c->marketplace(MarketplaceQuery{"shop", std::nullopt, 1}))) << token;
    EXPECT_TRUE(is_refused(c->payee("shop", "p1"))) << token;
    EXPECT_TRUE(is_refused(c->accounts(AccountsQuery{}))) << token;
    EXPECT_TRUE(is_refused(c->runs_all(std::nullopt))) << token;
  }
}

// The server's side of the refusal, as an outside implementation sees it (raw Cap'n Proto, no
// C++ client, which refuses before calling): a token without the auditor role gets a capability
// whose new methods answer `notAllowed` as the result's error.
TEST_F(ReadsRpcTest, TheRefusingAuditorAnswersNotAllowedToEveryNewMethod) {
  auto io = std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo());
  auto addr = io->provider->getNetwork().parseAddress(server_->address()).wait(io->waitScope);
  auto stream = addr->connect().wait(io->waitScope);
  auto client = kj::heap<capnp::TwoPartyClient>(*stream);
  auto login = client->bootstrap().castAs<wire::Tally>().loginRequest();
  login.setToken("tok-poster");
  auto caps = login.send().wait(io->waitScope);
  auto aud = caps.getAuditor();
  auto check = [](const auto& r, const char* what) {
    ASSERT_TRUE(r.hasError()) << what;
    EXPECT_EQ(r.getError().getCode(), wire::ErrorCode::NOT_ALLOWED) << what;
    EXPECT_FALSE(r.hasResult()) << what;
  };
  {
    auto req = aud.marketplaceRequest();
    req.setName("shop");
    check(req.send().wait(io->waitScope), "marketplace");
  }
  {
    auto req = aud.payeeRequest();
    req.setMarketplace("shop");
    req.setPayee("p1");
    check(req.send().wait(io->waitScope), "payee");
  }
  check(aud.accountsRequest().send().wait(io->waitScope), "accounts");
  check(aud.runsRequest().send().wait(io->waitScope), "runs");
  // The auditor's own capability answers them (null marketplace: every one).
  auto login2 = client->bootstrap().castAs<wire::Tally>().loginRequest();
  login2.setToken("tok-auditor");
  auto caps2 = login2.send().wait(io->waitScope);
  auto good = caps2.getAuditor();
  auto runs = good.runsRequest().send().wait(io->waitScope);
  EXPECT_FALSE(runs.hasError());
  EXPECT_FALSE(runs.getResult().hasMarketplace());
  client = nullptr;
  stream = nullptr;
}

}  // namespace
}  // namespace tally
