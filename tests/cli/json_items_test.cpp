// JSON Lines in and out: every item type parses into the right value; every rejection names
// its field; the writer escapes per RFC 8259.
#include "cli/json_items.h"

#include <simdjson.h>

#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

class JsonTest : public ::testing::Test {
 protected:
  JsonTest()
      : parser_([this](std::string_view code) -> std::optional<Currency> {
          if (code == "ABC1") return Currency::make("ABC1", 6);
          return table_.find(code);
        }) {}

  PostItem ok(std::string_view line) {
    auto r = parser_.parse(line);
    EXPECT_TRUE(r.ok()) << line << "\n" << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r.value()) : PostItem{};
  }
  Rejection bad(std::string_view line) {
    auto r = parser_.parse(line);
    EXPECT_FALSE(r.ok()) << line;
    return r.ok() ? Rejection{} : r.error();
  }
  template <class T>
  T event_body(const PostItem& item) {
    const Event* e = std::get_if<Event>(&item.body);
    EXPECT_NE(e, nullptr);
    if (!e) return T{};
    const T* t = std::get_if<T>(&e->body);
    EXPECT_NE(t, nullptr);
    return t ? *t : T{};
  }

  CurrencyTable table_;
  LineParser parser_;
};

constexpr TimeNs kJan5_10h = 1'767'607'200'000'000'000;  // 2026-01-05T10:00:00Z

TEST_F(JsonTest, OpenWithFlags) {
  auto item = ok(
      R"({"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD","EUR"],"flags":["no_overdraft"]})");
  auto* o = std::get_if<OpenItem>(&item.body);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->account.name, "ops:wallets:w1");
  EXPECT_EQ(o->account.kind, AccountKind::liability);
  EXPECT_TRUE(o->account.no_overdraft());
  ASSERT_EQ(o->account.currencies.size(), 2u);
  EXPECT_EQ(o->account.currencies[0].code(), "EUR");  // sorted
  EXPECT_EQ(o->account.currencies[1].code(), "USD");
  EXPECT_FALSE(item.linked);
}

TEST_F(JsonTest, EntryWithMetaAndExactAmounts) {
  auto item = ok(
      R"({"type":"entry","id":"dep-1","at":"2026-01-05T11:00:00+01:00","kind":"deposit","meta":{"ref":"r1"},)"
      R"("postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"100.00"},)"
      R"({"account":"ops:w","currency":"JPY","side":"credit","amount":"7"},)"
      R"({"account":"ops:x","currency":"BHD","side":"credit","amount":"0.125"}],"linked":true})");
  auto* e = std::get_if<Entry>(&item.body);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->id, "dep-1");
  EXPECT_EQ(e->at, kJan5_10h);
  EXPECT_EQ(e->kind, "deposit");
  ASSERT_EQ(e->meta.size(), 1u);
  EXPECT_EQ(e->meta[0].first, "ref");
  EXPECT_EQ(e->meta[0].second, "r1");
  ASSERT_EQ(e->postings.size(), 3u);
  EXPECT_EQ(e->postings[0].amount, Amount::from_minor(10000));
  EXPECT_EQ(e->postings[0].side, Side::debit);
  EXPECT_EQ(e->postings[1].amount, Amount::from_minor(7));
  EXPECT_EQ(e->postings[1].side, Side::credit);
  EXPECT_EQ(e->postings[2].amount, Amount::from_minor(125));
  EXPECT_TRUE(item.linked);
}

TEST_F(JsonTest, CloseAndAsset) {
  auto c = ok(R"({"type":"close","account":"ops:old"})");
  ASSERT_TRUE(std::holds_alternative<CloseAccountItem>(c.body));
  EXPECT_EQ(std::get<CloseAccountItem>(c.body).account, "ops:old");
  auto a = ok(R"({"type":"asset","code":"POINTS","exponent":0})");
  ASSERT_TRUE(std::holds_alternative<DeclareAssetItem>(a.body));
  EXPECT_EQ(std::get<DeclareAssetItem>(a.body).code, "POINTS");
  EXPECT_EQ(std::get<DeclareAssetItem>(a.body).exponent, 0);
}

TEST_F(JsonTest, EveryEventType) {
  const std::string h = R"("id":"e-1","at":"2026-01-05T10:00:00Z","marketplace":"shop",)";
  auto sale = ok(
      R"({"type":"sale",)" + h +
      R"("seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7","meta":{"order":"o-1"}})");
  {
    auto& e = std::get<Event>(sale.body);
    EXPECT_EQ(e.header.id, "e-1");
    EXPECT_EQ(e.header.at, kJan5_10h);
    EXPECT_EQ(e.header.marketplace, "shop");
    ASSERT_EQ(e.header.meta.size(), 1u);
    auto s = event_body<SaleEvent>(sale);
    EXPECT_EQ(s.seller, "p1");
    EXPECT_EQ(s.amount, "120.00");
    EXPECT_EQ(s.currency, "EUR");
    EXPECT_EQ(s.category, "product");
    EXPECT_EQ(s.affiliate, std::optional<std::string>("a7"));
  }
  EXPECT_EQ(event_body<DeliveredEvent>(ok(R"({"type":"delivered",)" + h + R"("sale":"o-1"})")).sale,
            "o-1");
  auto refund =
      event_body<RefundEvent>(ok(R"({"type":"refund",)" + h + R"("sale":"o-1","amount":"10.00"})"));
  EXPECT_EQ(refund.sale, "o-1");
  EXPECT_EQ(refund.amount, "10.00");
  auto cb = event_body<ChargebackEvent>(
      ok(R"({"type":"chargeback",)" + h + R"("sale":"o-1","amount":"120.00","fee":"15.00"})"));
  EXPECT_EQ(cb.fee, std::optional<std::string>("15.00"));
  auto earning = event_body<EarningEvent>(
      ok(R"({"type":"earning",)" + h +
         R"("payee":"s1","basis":"250.00","currency":"USD","rule":"session"})"));
  EXPECT_EQ(earning.basis, "250.00");
  EXPECT_EQ(earning.rule, "session");
  auto pt = event_body<PassThroughEvent>(
      ok(R"({"type":"pass_through",)" + h +
         R"("payer":"p1","vendor":"ups","amount":"7.40","currency":"USD"})"));
  EXPECT_EQ(pt.vendor, "ups");
  auto hold = event_body<PayeeHoldEvent>(
      ok(R"({"type":"payee_hold",)" + h + R"("payee":"p1","on":false,"reason":"kyc done"})"));
  EXPECT_FALSE(hold.on);
  EXPECT_EQ(hold.reason, "kyc done");
  auto det = event_body<PayeeDetailsEvent>(
      ok(R"({"type":"payee_details",)" + h +
         R"("payee":"p1","name":"Ann","account":"FR76","bic":"AGRIFRPPXXX"})"));
  EXPECT_EQ(det.name, "Ann");
  EXPECT_EQ(det.bic, "AGRIFRPPXXX");
  auto pr =
      event_body<PayoutResultEvent>(ok(R"({"type":"payout_result",)" + h +
                                       R"("payout":"po-1","status":"failed","reason":"closed"})"));
  EXPECT_FALSE(pr.paid);
  EXPECT_EQ(pr.reason, "closed");
  EXPECT_TRUE(event_body<PayoutResultEvent>(
                  ok(R"({"type":"payout_result",)" + h + R"("payout":"po-1","status":"paid"})"))
                  .paid);
  // SPEC section 8: a return with the bank's code; payee details with the rails' fields.
  auto ret = event_body<PayoutResultEvent>(
      ok(R"({"type":"payout_result",)" + h +
         R"("payout":"po-1","status":"returned","reason":"no account","reason_code":"R03"})"));
  EXPECT_EQ(ret.status(), PayoutResultStatus::returned);
  EXPECT_EQ(ret.reason_code, "R03");
  auto rails = event_body<PayeeDetailsEvent>(ok(
      R"({"type":"payee_details",)" + h +
      R"("payee":"ana","name":"Ana","account":"3104567890","ach":{"routing":"021000021","account":"000123456789","account_type":"checking","receiver_kind":"individual"},"co":{"bank_code":"1007","account_type":"savings","account_number":"3104567890","document_type":"CC","document_number":"52123456"}})"));
  ASSERT_TRUE(rails.ach.has_value());
  EXPECT_EQ(rails.ach->routing, "021000021");
  EXPECT_EQ(rails.ach->receiver_kind, "individual");
  ASSERT_TRUE(rails.co.has_value());
  EXPECT_EQ(rails.co->document_number, "52123456");
  EXPECT_FALSE(det.ach.has_value());
}

TEST_F(JsonTest, NumberAmountIsRejectedNamingTheField) {
  auto r = bad(
      R"({"type":"entry","id":"x","at":"2026-01-05T10:00:00Z","kind":"k","postings":[{"account":"a","currency":"USD","side":"debit","amount":12.5},{"account":"b","currency":"USD","side":"credit","amount":"12.50"}]})");
  EXPECT_EQ(r.code, Code::bad_amount);
  EXPECT_EQ(r.message, R"(postings[0].amount: must be a string like "12.50", not a JSON number)");
  auto s = bad(
      R"({"type":"sale","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p","amount":120,"currency":"EUR","category":"product"})");
  EXPECT_EQ(s.code, Code::bad_amount);
  EXPECT_EQ(s.message, R"(amount: must be a string like "12.50", not a JSON number)");
}

TEST_F(JsonTest, RejectionsNameTheField) {
  struct Case {
    std::string line;
    Code code;
    std::string message_start;
  };
  const std::string p0 = R"({"account":"a","currency":"USD","side":"debit","amount":"1.00"})";
  const std::string e = R"({"type":"entry","id":"x","at":"2026-01-05T10:00:00Z","kind":"k",)";
  std::vector<Case> cases = {
      {R"({"type":"open","account":"a","kind":"asset","currencies":["USD"],"colour":"red"})",
       Code::bad_request, "colour: unknown field"},
      {R"({"type":"open","account":"a","kind":"asset"})", Code::bad_request, "currencies: missing"},
      {R"({"type":"open","account":"a","kind":"asset","currencies":"USD"})", Code::bad_request,
       "currencies: must be an array, not a string"},
      {R"({"type":"open","account":"a","kind":"thing","currencies":["USD"]})", Code::bad_request,
       "kind: must be asset"},
      {R"({"type":"open","account":"a","kind":"asset","currencies":["USD","XYZ"]})",
       Code::bad_currency, "currencies[1]: unknown currency \"XYZ\""},
      {R"({"type":"open","account":"a","kind":"asset","currencies":["USD"],"flags":["closed"]})",
       Code::bad_request, "flags[0]: unknown flag"},
      {R"({"type":"open","account":7,"kind":"asset","currencies":["USD"]})", Code::bad_request,
       "account: must be a string, not a number"},
      {R"({"type":"open","account":"a","account":"b","kind":"asset","currencies":["USD"]})",
       Code::bad_request, "account: duplicate field"},
      {e + R"("postings":[)" + p0 + R"(,{"account":"b","currency":"USD","amount":"1.00"}]})",
       Code::bad_request, "postings[1].side: missing"},
      {e + R"("postings":[)" + p0 +
           R"(,{"account":"b","currency":"USD","side":"up","amount":"1.00"}]})",
       Code::bad_request, "postings[1].side: must be \"debit\" or \"credit\""},
      {e + R"("postings":[)" + p0 +
           R"(,{"account":"b","currency":"USD","side":"credit","amount":"1.005"}]})",
       Code::bad_amount, "postings[1].amount"},
      {e + R"("postings":[)" + p0 +
           R"(,{"account":"b","currency":"EURO","side":"credit","amount":"1.00"}]})",
       Code::bad_currency, "postings[1].currency: unknown currency \"EURO\""},
      {e + R"("postings":[)" + p0 +
           R"(,{"account":"b","currency":"USD","side":"credit","amount":"1.00","memo":"x"}]})",
       Code::bad_request, "postings[1].memo: unknown field"},
      {e + R"("postings":[)" + p0 + R"(,5]})", Code::bad_request,
       "postings[1]: must be an object, not a number"},
      {e + R"("postings":{}})", Code::bad_request, "postings: must be an array, not an object"},
      {e + R"("meta":{"ref":1},"postings":[]})", Code::bad_meta, "meta.ref: must be a string"},
      {e + R"("meta":[],"postings":[]})", Code::bad_meta, "meta: must be an object"},
      {e + R"("linked":"yes","postings":[]})", Code::bad_request,
       "linked: must be true or false, not a string"},
      {R"({"type":"entry","id":"x","at":"2026-01-05 10:00","kind":"k","postings":[]})",
       Code::bad_time, "at"},
      {R"({"type":"entry","id":"x","kind":"k","postings":[]})", Code::bad_request, "at: missing"},
      {R"({"type":"asset","code":"PTS","exponent":"2"})", Code::bad_request,
       "exponent: must be an integer 0..18, not a string"},
      {R"({"type":"asset","code":"PTS","exponent":2.0})", Code::bad_request,
       "exponent: must be an integer 0..18, not a number"},
      {R"({"type":"asset","code":"PTS","exponent":19})", Code::bad_currency, "exponent"},
      {R"({"type":"asset","code":"pts","exponent":2})", Code::bad_currency, "code"},
      {R"({"type":"sale","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p","amount":"1.00","currency":"EUR"})",
       Code::bad_request, "category: missing"},
      {R"({"type":"sale","id":"o","at":"2026-01-05T10:00:00Z","seller":"p","amount":"1.00","currency":"EUR","category":"c"})",
       Code::bad_request, "marketplace: missing"},
      {R"({"type":"refund","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","sale":"s","amount":"1.00","fee":"1.00"})",
       Code::bad_request, "fee: unknown field"},
      {R"({"type":"payee_hold","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p","on":"yes","reason":"r"})",
       Code::bad_request, "on: must be true or false"},
      {R"({"type":"payout_result","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","payout":"p","status":"lost"})",
       Code::bad_request, "status: must be \"paid\", \"failed\" or \"returned\""},
      {R"({"type":"payee_details","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p","name":"n","account":"a","ach":{"routing":"021000021","account":"1"}})",
       Code::bad_request, "ach.account_type: missing"},
      {R"({"type":"payee_details","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p","name":"n","account":"a","co":"1007"})",
       Code::bad_request, "co: must be an object, not a string"},
      {R"({"type":"payee_details","id":"o","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p","name":"n","account":"a","ach":{"routing":"021000021","account":"1","account_type":"checking","receiver_kind":"individual","memo":"x"}})",
       Code::bad_request, "ach.memo: unknown field"},
      {R"({"type":"transfer","id":"x"})", Code::bad_request, "type: unknown type \"transfer\""},
      {R"({"id":"x"})", Code::bad_request, "type: missing"},
      {R"([1,2])", Code::bad_request, "line: must be a JSON object, not an array"},
      {R"({"type":"open",)", Code::bad_request, "line: malformed JSON: "},
      {"", Code::bad_request, "line: malformed JSON: "},
  };
  for (auto& c : cases) {
    auto r = bad(c.line);
    EXPECT_EQ(r.code, c.code) << c.line << "\n" << r.message;
    EXPECT_EQ(r.message.substr(0, c.message_start.size()), c.message_start) << c.line;
  }
}

TEST_F(JsonTest, OverlongLineIsRejected) {
  std::string line =
      R"({"type":"close","account":")" + std::string(limits::json_line_bytes_max, 'a') + "\"}";
  auto r = bad(line);
  EXPECT_EQ(r.code, Code::bad_request);
  EXPECT_EQ(r.message, "line: longer than 1048576 bytes");
}

TEST_F(JsonTest, RejectedLineStillReportsIdAndLinked) {
  LineInfo info;
  auto r = parser_.parse(
      R"({"type":"entry","id":"dep-9","at":"nope","kind":"k","postings":[],"linked":true})", &info);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(info.id, "dep-9");
  EXPECT_TRUE(info.linked);
  r = parser_.parse(R"({"type":"open","account":"ops:x","kind":"asset"})", &info);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(info.id, "ops:x");
  EXPECT_FALSE(info.linked);
}

// An id over the limit is refused by the reader, as the wire refuses it (a fuzzer found events'
// were not), and is reported cut to the limit, never whole.
TEST_F(JsonTest, IdOverTheLimitIsRefusedAndNotEchoedWhole) {
  const std::string id(limits::entry_id_bytes_max + 1, 'x');
  const std::string sale =
      R"({"type":"sale","id":")" + id +
      R"(","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"1.00","currency":"EUR","category":"c"})";
  const std::string entry = R"({"type":"entry","id":")" + id +
                            R"(","at":"2026-01-05T10:00:00Z","kind":"k","postings":[]})";
  for (const std::string& line : {sale, entry}) {
    LineInfo info;
    auto r = parser_.parse(line, &info);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().code, Code::bad_id);
    EXPECT_EQ(r.error().message, "id: 129 bytes, at most 128");
    EXPECT_EQ(info.id, id.substr(0, limits::entry_id_bytes_max));
  }
  // At the limit it reads.
  ok(R"({"type":"delivered","id":")" + std::string(limits::entry_id_bytes_max, 'x') +
     R"(","at":"2026-01-05T10:00:00Z","marketplace":"shop","sale":"s1"})");
}

TEST_F(JsonTest, DeclaredAssetsComeFromTheLookup) {
  auto item = ok(
      R"({"type":"entry","id":"x","at":"2026-01-05T10:00:00Z","kind":"k","postings":[{"account":"a","currency":"ABC1","side":"debit","amount":"0.000001"},{"account":"b","currency":"ABC1","side":"credit","amount":"0.000001"}]})");
  EXPECT_EQ(std::get<Entry>(item.body).postings[0].amount, Amount::from_minor(1));
}

}  // namespace
TEST(JsonWriterTest, ResultLineShapes) {
  ItemResult ok;
  ok.id = "dep-1";
  ok.seq = 3;
  ok.commit_ns = kJan5_10h;
  EXPECT_EQ(
      post_result_line(3, ok),
      R"({"line":3,"id":"dep-1","status":"ok","code":"ok","message":"","seq":3,"committed":"2026-01-05T10:00:00Z"})");
  ItemResult dup = ok;
  dup.status = ItemStatus::duplicate;
  dup.detail = R"({"fee":"3.73"})";
  EXPECT_EQ(
      post_result_line(4, dup),
      R"({"line":4,"id":"dep-1","status":"duplicate","code":"ok","message":"","seq":3,"committed":"2026-01-05T10:00:00Z","detail":{"fee":"3.73"}})");
  auto err =
      ItemResult::error(reject(Code::unbalanced, "unbalanced: USD debits 1.00 != credits 2.00"));
  EXPECT_EQ(
      post_result_line(5, err),
      R"({"line":5,"id":null,"status":"error","code":"unbalanced","message":"unbalanced: USD debits 1.00 != credits 2.00"})");
}

}  // namespace tally
