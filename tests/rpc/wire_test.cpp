// The wire conversions of rpc/wire.h: exact amounts, the error codes' mirror of tally::Code, and
// items that survive a round trip through a Cap'n Proto message unchanged.
#include "rpc/wire.h"

#include <capnp/message.h>
#include <capnp/schema.h>

#include <cctype>

#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

// The server's currency lookup, over the built-in currencies only.
std::optional<Currency> find_builtin(std::string_view code) {
  static const CurrencyTable table;
  return table.find(code);
}

std::string camel(std::string_view snake) {
  std::string out;
  bool up = false;
  for (char c : snake) {
    if (c == '_') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

TEST(WireTest, Amount128RoundTripsAtTheExtremes) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<wire::Amount128>();
  for (Amount a :
       {Amount(), Amount::from_minor(1), Amount::from_minor(-1), Amount::max(), Amount::min(),
        Amount::from_minor(i128(1) << 64), Amount::from_minor(-(i128(1) << 64) - 7)}) {
    wire::set_amount(b, a);
    EXPECT_EQ(wire::get_amount(b.asReader()), a) << i128_to_string(a.minor());
  }
  wire::set_amount(b, Amount::from_minor(-1));
  EXPECT_EQ(b.getHi(), -1);
  EXPECT_EQ(b.getLo(), UINT64_MAX);
}

TEST(WireTest, ErrorCodeMirrorsCodeNameForName) {
  auto enumerants = capnp::Schema::from<wire::ErrorCode>().getEnumerants();
  for (unsigned i = 0; i < enumerants.size(); ++i) {
    auto name = enumerants[i].getProto().getName();
    Code c = static_cast<Code>(i);
    EXPECT_EQ(camel(code_name(c)), std::string(name.cStr())) << i;
    EXPECT_EQ(wire::from_wire(wire::to_wire(c)), c);
  }
  // A code this build does not know reads as internal.
  EXPECT_EQ(wire::from_wire(static_cast<wire::ErrorCode>(enumerants.size() + 5)), Code::internal);
  // Every Code has a wire value: the one after the last enumerant has no name.
  EXPECT_FALSE(code_from_name("no_such_code").has_value());
  EXPECT_EQ(code_from_name(code_name(static_cast<Code>(enumerants.size() - 1))),
            static_cast<Code>(enumerants.size() - 1));
}

TEST(WireTest, ItemsRoundTrip) {
  std::vector<PostItem> items;
  items.push_back(PostItem{
      OpenItem{account("ops:bank", AccountKind::asset, {"USD", "JPY"}, kNoOverdraft)}, true});
  Entry e = entry("e-1", {debit("ops:bank", "12.34"), credit("ops:wallet", "12.34")});
  e.meta = {{"a", "1"}, {"b", "2"}};
  items.push_back(PostItem{e});
  Event sale;
  sale.header = EventHeader{"o-1", 1'767'607'200'000'000'000, "shop", {{"k", "v"}}};
  sale.body = SaleEvent{"p1", "120.00", "EUR", "product", std::string("a7")};
  items.push_back(PostItem{sale});
  Event no_aff = sale;
  no_aff.body = SaleEvent{"p1", "1", "EUR", "product", std::nullopt};
  items.push_back(PostItem{no_aff});
  Event cb = sale;
  cb.body = ChargebackEvent{"o-1", "5.00", std::string("")};  // present but empty: kept
  items.push_back(PostItem{cb});
  Event pr = sale;
  pr.body = PayoutResultEvent{"po-1", false, "closed account"};
  items.push_back(PostItem{pr});
  items.push_back(PostItem{CloseAccountItem{"ops:old"}});
  items.push_back(PostItem{DeclareAssetItem{"PTS", 3}});

  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<wire::Poster::PostParams>();
  auto l = root.initItems(static_cast<unsigned>(items.size()));
  for (size_t i = 0; i < items.size(); ++i)
    wire::encode_item(l[static_cast<unsigned>(i)], items[i]);
  auto r = root.asReader().getItems();
  for (size_t i = 0; i < items.size(); ++i) {
    auto back = wire::decode_item(r[static_cast<unsigned>(i)], find_builtin);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->linked, items[i].linked);
    EXPECT_EQ(post_type_name(back->body), post_type_name(items[i].body));
    if (auto* ev = std::get_if<Event>(&items[i].body)) {
      EXPECT_EQ(canonical_event_bytes(std::get<Event>(back->body)), canonical_event_bytes(*ev));
    }
    if (auto* en = std::get_if<Entry>(&items[i].body)) {
      EXPECT_EQ(canonical_entry_bytes(std::get<Entry>(back->body)), canonical_entry_bytes(*en));
    }
  }
  auto open = std::get<OpenItem>(wire::decode_item(r[0], find_builtin)->body);
  EXPECT_EQ(open.account.currencies.size(), 2u);
  EXPECT_EQ(open.account.currencies[1].exponent(), 0);
  EXPECT_TRUE(open.account.no_overdraft());
  EXPECT_FALSE(
      std::get<SaleEvent>(std::get<Event>(wire::decode_item(r[3], find_builtin)->body).body)
          .affiliate);
}

// payee_terms (issue 18) on the wire: every field back as it was sent, reserve and
// minimum_balance optional, and the digest unchanged (so a retry over RPC stays a duplicate).
TEST(WireTest, PayeeTermsRoundTrip) {
  std::vector<Event> events;
  Event full;
  full.header = EventHeader{"pt-1", 1'767'345'000'000'000'000, "shop", {{"why", "contract"}}};
  full.body = PayeeTermsEvent{"p2", PayeeTermsEvent::Reserve{"5%", 28}, {{"EUR", "20.00"}}};
  events.push_back(full);
  Event reserve_only = full;
  reserve_only.body = PayeeTermsEvent{"a7", PayeeTermsEvent::Reserve{"0%", 1}, {}};
  events.push_back(reserve_only);
  Event minimum_only = full;
  minimum_only.body = PayeeTermsEvent{"p4", std::nullopt, {{"EUR", "20.00"}, {"USD", "0"}}};
  events.push_back(minimum_only);
  Event neither = full;  // back to the marketplace's terms
  neither.body = PayeeTermsEvent{"p4", std::nullopt, {}};
  events.push_back(neither);
  Event out_of_range = full;  // carried as given: the rules refuse it (reserve.days)
  out_of_range.body = PayeeTermsEvent{"p4", PayeeTermsEvent::Reserve{"ten", -5}, {}};
  events.push_back(out_of_range);

  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<wire::Finance::PostParams>();
  auto l = root.initItems(static_cast<unsigned>(events.size()));
  for (size_t i = 0; i < events.size(); ++i)
    wire::encode_item(l[static_cast<unsigned>(i)], PostItem{events[i]});
  auto r = root.asReader().getItems();
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(r[static_cast<unsigned>(i)].getEvent().isPayeeTerms());
    auto back = wire::decode_item(r[static_cast<unsigned>(i)], find_builtin);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(post_type_name(back->body), "payee_terms");
    const Event& ev = std::get<Event>(back->body);
    EXPECT_EQ(canonical_event_bytes(ev), canonical_event_bytes(events[i]));
    const auto& want = std::get<PayeeTermsEvent>(events[i].body);
    const auto& got = std::get<PayeeTermsEvent>(ev.body);
    EXPECT_EQ(got.payee, want.payee);
    ASSERT_EQ(got.reserve.has_value(), want.reserve.has_value());
    if (want.reserve) {
      EXPECT_EQ(got.reserve->rate, want.reserve->rate);
      EXPECT_EQ(got.reserve->days, want.reserve->days);
    }
    EXPECT_EQ(got.minimum_balance, want.minimum_balance);
    EXPECT_EQ(ev.header.meta, events[i].header.meta);
  }
}

TEST(WireTest, DecodingRejectsWhatThePeerGotWrong) {
  capnp::MallocMessageBuilder m;
  auto item = m.initRoot<wire::Item>();
  auto e = item.initEntry();
  e.setId("x");
  e.setAt("2026-01-05T10:00:00Z");
  auto ps = e.initPostings(1);
  ps[0].setCurrency("usd");  // malformed code
  ps[0].setAmount("1.00");
  auto r = wire::decode_item(item.asReader(), find_builtin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_currency);
  EXPECT_NE(r.error().message.find("postings[0].currency"), std::string::npos);

  ps[0].setCurrency("USD");
  e.setAt("1066-10-14T09:00:00Z");  // outside the years the ledger holds
  r = wire::decode_item(item.asReader(), find_builtin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_time);

  e.setAt("2026-01-05T10:00:00Z");
  // Money is validated as JSON input is: exact for its currency, decimal text only.
  for (const char* bad : {"1.005", "1e2", "+1.00", "1,000.00", " 1.00", "NaN", ""}) {
    ps[0].setAmount(bad);
    r = wire::decode_item(item.asReader(), find_builtin);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::bad_amount) << bad;
    EXPECT_EQ(r.error().message.rfind("postings[0].amount", 0), 0u) << r.error().message;
  }
  ps[0].setAmount("1.00");
  ps[0].setCurrency("ZZZ");  // well formed, unknown to the ledger
  r = wire::decode_item(item.asReader(), find_builtin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_currency);
  ps[0].setCurrency("USD");

  e.setAt("2026-01-05T10:00:00Z");
  ps[0].setSide(static_cast<wire::Side>(7));
  r = wire::decode_item(item.asReader(), find_builtin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_request);
}

}  // namespace
}  // namespace tally
