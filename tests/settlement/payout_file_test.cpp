#include "settlement/payout_file.h"
#include "common/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace tally {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const CurrencyTable& table() {
  static const CurrencyTable t;
  return t;
}
Currency cur(std::string_view code) {
  return *table().find(code);
}
Amount amt(std::string_view text, std::string_view code) {
  return *parse_amount(text, cur(code), "test");
}

PayoutLine line(std::string id, std::string payee, std::string_view ccy, std::string_view amount,
                std::string name, std::string account, std::string bic = "") {
  return PayoutLine{std::move(id),   std::move(payee),   cur(ccy),      amt(amount, ccy),
                    std::move(name), std::move(account), std::move(bic)};
}

PayoutRunInfo run() {
  return PayoutRunInfo{"shop-2026-01-05", Date{date::year{2026} / 1 / 5}, "2026-01-05T06:00:00Z",
                       PayoutAccount{"Shop SAS", "FR7630006000011234567890189", "AGRIFRPPXXX"}};
}

std::vector<PayoutLine> example() {
  return {
      line("po-3", "p3", "USD", "7.05", "Ann \"Annie\" Lee", "US-ACCT-0042"),
      line("po-1", "p1", "EUR", "120.50", "Dupont, Jean", "FR7630006000011234567890189",
           "AGRIFRPPXXX"),
      line("po-2", "p2", "EUR", "0.99", "Müller & Söhne <GmbH>", "DE89370400440532013000"),
  };
}

// Runs xmllint on `xml` against the pain.001.001.03 schema; skips when either is missing.
void expect_valid_pain001(const std::string& xml) {
  std::string schema = std::string(TALLY_SOURCE_DIR) + "/../shared/schemas/pain.001.001.03.xsd";
  if (!std::filesystem::exists(schema)) TALLY_PREREQUISITE_MISSING("no schema at " << schema);
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
    TALLY_PREREQUISITE_MISSING("no xmllint");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = ::testing::TempDir();
  std::string file = dir + "/tally_pain001_" + info->name() + ".xml";
  std::string log = file + ".log";
  std::ofstream(file, std::ios::binary) << xml;
  std::string cmd = "xmllint --noout --schema '" + schema + "' '" + file + "' >'" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out << "\n" << xml;
  std::filesystem::remove(file);
  std::filesystem::remove(log);
}

size_t count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

// --- CSV -------------------------------------------------------------------------------------

TEST(PayoutCsvTest, ExactText) {
  std::vector<PayoutLine> lines = example();
  Result<std::string> csv = payout_csv(lines);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(*csv,
            "payout,payee,currency,amount,creditor_name,creditor_account\n"
            "po-1,p1,EUR,120.50,\"Dupont, Jean\",FR7630006000011234567890189\n"
            "po-2,p2,EUR,0.99,Müller & Söhne <GmbH>,DE89370400440532013000\n"
            "po-3,p3,USD,7.05,\"Ann \"\"Annie\"\" Lee\",US-ACCT-0042\n");
}

TEST(PayoutCsvTest, ExponentsAndNewlines) {
  std::vector<PayoutLine> lines = {
      line("a", "p", "JPY", "1000", "Line\nbreak", "X1"),
      line("b", "p", "BHD", "1.5", "", ""),
  };
  EXPECT_EQ(*payout_csv(lines),
            "payout,payee,currency,amount,creditor_name,creditor_account\n"
            "b,p,BHD,1.500,,\n"
            "a,p,JPY,1000,\"Line\nbreak\",X1\n");
}

TEST(PayoutCsvTest, EmptyRunIsTheHeaderAlone) {
  EXPECT_EQ(*payout_csv({}), "payout,payee,currency,amount,creditor_name,creditor_account\n");
}

TEST(PayoutCsvTest, BadLinesAreAllReported) {
  std::vector<PayoutLine> lines = example();
  lines[0].amount = Amount();
  lines[2].payout_id = "po-1";
  Result<std::string> r = payout_csv(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_amount);
  EXPECT_EQ(r.error().message,
            "payout \"po-3\": amount 0.00 is not positive\n"
            "payout \"po-1\": duplicate payout id");
}

// --- pain.001 --------------------------------------------------------------------------------

TEST(Pain001Test, ValidatesAgainstTheSchema) {
  std::vector<PayoutLine> lines = example();
  Result<std::string> xml = payout_pain001(run(), lines);
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  expect_valid_pain001(*xml);
}

TEST(Pain001Test, ExactText) {
  std::vector<PayoutLine> lines = {
      line("po-2", "p2", "EUR", "0.99", "Müller & Söhne <GmbH>", "DE89 3704 0044 0532 0130 00"),
      line("po-1", "p1", "EUR", "120.50", "Dupont, Jean", "FR7630006000011234567890189",
           "AGRIFRPPXXX"),
  };
  Result<std::string> xml = payout_pain001(run(), lines);
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  EXPECT_EQ(*xml, R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>shop-2026-01-05</MsgId>
      <CreDtTm>2026-01-05T06:00:00Z</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>121.49</CtrlSum>
      <InitgPty>
        <Nm>Shop SAS</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>shop-2026-01-05-EUR</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>121.49</CtrlSum>
      <ReqdExctnDt>2026-01-05</ReqdExctnDt>
      <Dbtr>
        <Nm>Shop SAS</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id><IBAN>FR7630006000011234567890189</IBAN></Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <BIC>AGRIFRPPXXX</BIC>
        </FinInstnId>
      </DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>po-1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="EUR">120.50</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <BIC>AGRIFRPPXXX</BIC>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>Dupont, Jean</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id><IBAN>FR7630006000011234567890189</IBAN></Id>
        </CdtrAcct>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>po-2</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="EUR">0.99</InstdAmt>
        </Amt>
        <Cdtr>
          <Nm>Müller &amp; Söhne &lt;GmbH&gt;</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id><IBAN>DE89370400440532013000</IBAN></Id>
        </CdtrAcct>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
)");
  expect_valid_pain001(*xml);
}

TEST(Pain001Test, CountsAndControlSumsPerCurrencyAndOverall) {
  std::vector<PayoutLine> lines = {
      line("u1", "p1", "USD", "10.00", "A", "A1"),    line("u2", "p2", "USD", "0.01", "B", "B1"),
      line("j1", "p3", "JPY", "1500", "C", "C1"),     line("k1", "p4", "BHD", "2.125", "D", "D1"),
      line("e1", "p5", "EUR", "99999.99", "E", "E1"), line("u3", "p6", "USD", "5.50", "F", "F1"),
      line("f1", "p7", "CLF", "0.0001", "G", "G1"),
  };
  Result<std::string> xml = payout_pain001(run(), lines);
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  const std::string& x = *xml;
  // One PmtInf per currency, in code order; amounts exact with each currency's exponent.
  EXPECT_EQ(count(x, "<PmtInf>"), 5u);
  EXPECT_EQ(count(x, "<CdtTrfTxInf>"), 7u);
  EXPECT_THAT(x, HasSubstr("<GrpHdr>\n      <MsgId>shop-2026-01-05</MsgId>\n      <CreDtTm>"
                           "2026-01-05T06:00:00Z</CreDtTm>\n      <NbOfTxs>7</NbOfTxs>\n"
                           "      <CtrlSum>101517.6251</CtrlSum>"));
  std::vector<std::string> order;
  for (std::string_view ccy : {"BHD", "CLF", "EUR", "JPY", "USD"})
    order.push_back("<PmtInfId>shop-2026-01-05-" + std::string(ccy) + "</PmtInfId>");
  size_t at = 0;
  for (const std::string& id : order) {
    size_t next = x.find(id, at);
    ASSERT_NE(next, std::string::npos) << id;
    at = next;
  }
  EXPECT_THAT(x, HasSubstr("-BHD</PmtInfId>\n      <PmtMtd>TRF</PmtMtd>\n      <NbOfTxs>1</NbOfTxs>"
                           "\n      <CtrlSum>2.125</CtrlSum>"));
  EXPECT_THAT(x, HasSubstr("-JPY</PmtInfId>\n      <PmtMtd>TRF</PmtMtd>\n      <NbOfTxs>1</NbOfTxs>"
                           "\n      <CtrlSum>1500</CtrlSum>"));
  EXPECT_THAT(x, HasSubstr("-USD</PmtInfId>\n      <PmtMtd>TRF</PmtMtd>\n      <NbOfTxs>3</NbOfTxs>"
                           "\n      <CtrlSum>15.51</CtrlSum>"));
  EXPECT_THAT(x, HasSubstr("<InstdAmt Ccy=\"CLF\">0.0001</InstdAmt>"));
  EXPECT_THAT(x, HasSubstr("<InstdAmt Ccy=\"JPY\">1500</InstdAmt>"));
  EXPECT_THAT(x, HasSubstr("<Id><Othr><Id>A1</Id></Othr></Id>"));
  // u1 < u2 < u3 within USD.
  EXPECT_LT(x.find("<EndToEndId>u1<"), x.find("<EndToEndId>u2<"));
  EXPECT_LT(x.find("<EndToEndId>u2<"), x.find("<EndToEndId>u3<"));
  expect_valid_pain001(x);
}

TEST(Pain001Test, DeterministicForShuffledInput) {
  std::vector<PayoutLine> lines;
  for (int i = 0; i < 60; ++i) {
    std::string ccy = i % 3 == 0 ? "USD" : (i % 3 == 1 ? "EUR" : "COP");
    lines.push_back(line("po-" + std::to_string(1000 - i * 7), "p" + std::to_string(i), ccy,
                         std::to_string(i + 1) + "." + std::to_string(10 + i),
                         "Payee " + std::to_string(i), "ACCT" + std::to_string(i)));
  }
  Result<std::string> first = payout_pain001(run(), lines);
  Result<std::string> first_csv = payout_csv(lines);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first_csv.ok());
  std::mt19937 rng(20260105);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(lines.begin(), lines.end(), rng);
    EXPECT_EQ(*payout_pain001(run(), lines), *first);
    EXPECT_EQ(*payout_csv(lines), *first_csv);
  }
  expect_valid_pain001(*first);
}

TEST(Pain001Test, LongIdsAndNamesAreMadeToFit) {
  std::string long_id(80, 'x');
  std::string long_name;
  for (int i = 0; i < 100; ++i) long_name += "Zoë";  // 300 characters, 400 bytes
  PayoutRunInfo r = run();
  r.run_id = "marketplace-with-a-very-long-name:2026-01-05";
  std::vector<PayoutLine> lines = {line(long_id, "p1", "EUR", "1.00", long_name, "A1"),
                                   line("po-é", "p2", "EUR", "2.00", "B", "B1")};
  Result<std::string> xml = payout_pain001(r, lines);
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  std::string id = pain001_id(long_id);
  EXPECT_EQ(id.size(), 35u);
  EXPECT_EQ(id.substr(0, 19), std::string(18, 'x') + "-");
  EXPECT_THAT(*xml, HasSubstr("<EndToEndId>" + id + "</EndToEndId>"));
  EXPECT_THAT(*xml, HasSubstr("<MsgId>" + pain001_id(r.run_id) + "</MsgId>"));
  std::string cut;
  for (int i = 0; i < 46; ++i) cut += "Zoë";
  cut += "Zo";  // 140 characters
  EXPECT_THAT(*xml, HasSubstr("<Nm>" + cut + "</Nm>"));
  EXPECT_THAT(*xml, HasSubstr("<EndToEndId>" + pain001_id("po-é") + "</EndToEndId>"));
  expect_valid_pain001(*xml);
}

TEST(Pain001Test, IdsThatFitAreKept) {
  EXPECT_EQ(pain001_id("po-1"), "po-1");
  EXPECT_EQ(pain001_id(std::string(35, 'a')), std::string(35, 'a'));
  std::string a = pain001_id(std::string(36, 'a'));
  EXPECT_EQ(a.size(), 35u);
  EXPECT_NE(a, pain001_id(std::string(37, 'a')));
  EXPECT_EQ(a, pain001_id(std::string(36, 'a')));  // the same every time
  std::string u = pain001_id("payé");
  EXPECT_EQ(u.substr(0, 4), "pay-");
  EXPECT_EQ(u.size(), 4u + 16u);
}

TEST(Pain001Test, UnsuitableCurrenciesAreRefused) {
  CurrencyTable t;
  Currency eth = *t.declare("ETH", 18);
  Currency usdc = *t.declare("USDC", 6);
  Currency pts = *t.declare("PTS", 0);
  std::vector<PayoutLine> lines = {
      PayoutLine{"a", "p", eth, Amount::from_minor(10), "A", "A1", ""},
      PayoutLine{"b", "p", usdc, Amount::from_minor(10), "B", "B1", ""},
  };
  Result<std::string> r = payout_pain001(run(), lines);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_currency);
  EXPECT_EQ(r.error().message,
            "payout \"a\": currency \"ETH\" has 18 decimals, pain.001 amounts at most 5\n"
            "payout \"b\": currency \"USDC\" is not an ISO 4217 code ([A-Z]{3})\n"
            "payout \"b\": currency \"USDC\" has 6 decimals, pain.001 amounts at most 5");
  // CSV carries any asset.
  EXPECT_TRUE(payout_csv(lines).ok());
  // A three-letter asset with a small exponent looks like ISO 4217 to the schema: accepted.
  std::vector<PayoutLine> points = {
      PayoutLine{"c", "p", pts, Amount::from_minor(5), "C", "C1", ""}};
  EXPECT_TRUE(payout_pain001(run(), points).ok());
}

TEST(Pain001Test, EveryBadLineIsReported) {
  std::vector<PayoutLine> lines = {
      line("a", "p1", "EUR", "1.00", "", "FR7630006000011234567890188"),
      line("b", "p2", "EUR", "1.00", "Tab\there", "has space", "NOTABIC"),
      line("c", "p3", "EUR", "1.00", "C", std::string(35, '9')),
      line("d", "p4", "EUR", "1.00", "D", ""),
  };
  lines.push_back(lines[3]);
  lines.back().amount = Amount::from_minor(-5);
  PayoutRunInfo r = run();
  r.created_at = "2026-01-05 06:00";
  Result<std::string> x = payout_pain001(r, lines);
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().code, Code::bad_time);
  EXPECT_EQ(x.error().message,
            "pain.001: created_at \"2026-01-05 06:00\" is not a date-time "
            "YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm]\n"
            "payout \"a\": name must be non-empty UTF-8 without control characters\n"
            "payout \"a\" account: \"FR7630006000011234567890188\" fails the IBAN checksum\n"
            "payout \"b\": name must be non-empty UTF-8 without control characters\n"
            "payout \"b\" account: \"has space\" is neither an IBAN nor an account id of 1..34 "
            "printable ASCII characters without spaces\n"
            "payout \"b\": BIC \"NOTABIC\" is not a BIC\n"
            "payout \"c\" account: \"" +
                std::string(35, '9') +
                "\" is neither an IBAN nor an account id of 1..34 printable ASCII characters "
                "without spaces\n"
                "payout \"d\" account: \"\" is neither an IBAN nor an account id of 1..34 "
                "printable ASCII characters without spaces\n"
                "payout \"d\": amount -0.05 is not positive\n"
                "payout \"d\": duplicate payout id\n"
                "payout \"d\" account: \"\" is neither an IBAN nor an account id of 1..34 "
                "printable ASCII characters without spaces");
}

TEST(Pain001Test, RunProblemsAreRefused) {
  Result<std::string> empty = payout_pain001(run(), {});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("a file needs at least one payout"));
  std::vector<PayoutLine> lines = example();
  PayoutRunInfo r = run();
  r.debtor.bic = "";
  EXPECT_THAT(payout_pain001(r, lines).error().message, HasSubstr("debtor: BIC \"\" is not a BIC"));
  for (std::string_view t :
       {"2026-01-05T06:00:00", "2026-01-05T06:00:00.123456+01:00", "2026-01-05T23:59:59-05:00"}) {
    r = run();
    r.created_at = std::string(t);
    Result<std::string> ok = payout_pain001(r, lines);
    ASSERT_TRUE(ok.ok()) << t << ": " << ok.error().message;
    expect_valid_pain001(*ok);
  }
  for (std::string_view t : {"2026-01-05", "2026-01-05T24:00:00Z", "2026-02-30T00:00:00Z",
                             "2026-01-05T06:00:00+1:00", "2026-01-05T06:00:00.Z", ""}) {
    r = run();
    r.created_at = std::string(t);
    Result<std::string> bad = payout_pain001(r, lines);
    ASSERT_FALSE(bad.ok()) << t;
    EXPECT_EQ(bad.error().code, Code::bad_time) << t;
  }
}

TEST(Pain001Test, ControlSumOver18DigitsIsRefused) {
  // Each amount fits (17 digits), their sum does not.
  std::vector<PayoutLine> lines = {line("a", "p", "USD", "999999999999999.99", "A", "A1"),
                                   line("b", "p", "USD", "0.01", "B", "B1")};
  Result<std::string> ok = payout_pain001(run(), {lines.data(), 1});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  expect_valid_pain001(*ok);
  lines[0] = line("a", "p", "USD", "9999999999999999.99", "A", "A1");
  Result<std::string> r = payout_pain001(run(), lines);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::overflow);
  lines[0] = line("a", "p", "USD", "10000000000000000.00", "A", "A1");
  r = payout_pain001(run(), lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("payout \"a\": amount has more than 18 digits"));
}

TEST(Pain001Test, OutputHasNoUnescapedMarkupFromData) {
  std::vector<PayoutLine> lines = {
      line("<&>", "p", "EUR", "1.00", "</Nm><Evil/>", "X&Y<1>"),
  };
  Result<std::string> xml = payout_pain001(run(), lines);
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  EXPECT_THAT(*xml, Not(HasSubstr("<Evil/>")));
  EXPECT_THAT(*xml, HasSubstr("<EndToEndId>&lt;&amp;&gt;</EndToEndId>"));
  EXPECT_THAT(*xml, HasSubstr("<Othr><Id>X&amp;Y&lt;1&gt;</Id></Othr>"));
  expect_valid_pain001(*xml);
}

}  // namespace
}  // namespace tally
