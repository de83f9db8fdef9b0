#include "settlement/co_dispersion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tally {
namespace {

using ::testing::HasSubstr;

const CurrencyTable& table() {
  static const CurrencyTable t;
  return t;
}
Currency cur(std::string_view code) {
  return *table().find(code);
}
Amount cop(std::string_view text) {
  return *parse_amount(text, cur("COP"), "test");
}

CoDispersionLine line(std::string id, std::string_view amount, std::string name, std::string bank,
                      CoAccountType type, std::string account, CoDocumentType doc,
                      std::string number) {
  return CoDispersionLine{std::move(id),    cur("COP"), cop(amount),        std::move(name),
                          std::move(bank),  type,       std::move(account), doc,
                          std::move(number)};
}

CoDispersionInfo info() {
  return CoDispersionInfo{Date{date::year{2026} / 1 / 5}};
}

// --- NIT check digits ------------------------------------------------------------------------

TEST(CoNitTest, KnownCheckDigits) {
  // Published NITs: Bancolombia 890.903.938-8, DIAN 800.197.268-4, Ecopetrol 899.999.068-1.
  EXPECT_EQ(nit_check_digit("890903938"), 8);
  EXPECT_EQ(nit_check_digit("800197268"), 4);
  EXPECT_EQ(nit_check_digit("899999068"), 1);
  // By hand: "15" -> 5*3 + 1*7 = 22, 22 mod 11 = 0 -> 0; "4" -> 12 mod 11 = 1 -> 1;
  // "1" -> 3 -> 11 - 3 = 8.
  EXPECT_EQ(nit_check_digit("15"), 0);
  EXPECT_EQ(nit_check_digit("4"), 1);
  EXPECT_EQ(nit_check_digit("1"), 8);
  // 15 digits is the most the weights cover.
  EXPECT_TRUE(nit_check_digit("123456789012345").has_value());
  EXPECT_EQ(nit_check_digit("1234567890123456"), std::nullopt);
  EXPECT_EQ(nit_check_digit(""), std::nullopt);
  EXPECT_EQ(nit_check_digit("89090393a"), std::nullopt);
  EXPECT_EQ(nit_check_digit("890.903.938"), std::nullopt);
}

TEST(CoNitTest, ParsesTheWrittenForms) {
  EXPECT_EQ(parse_nit("890903938-8"), (Nit{"890903938", 8}));
  EXPECT_EQ(parse_nit("890.903.938-8"), (Nit{"890903938", 8}));
  EXPECT_EQ(parse_nit("1.234.567.890-" + std::to_string(*nit_check_digit("1234567890"))),
            (Nit{"1234567890", *nit_check_digit("1234567890")}));
  EXPECT_TRUE(nit_ok("899999068-1"));
  for (std::string_view bad :
       {"890903938-7", "8909039388", "890903938", "890903938-", "890903938-88", "-8",
        "89.0903.938-8", "890.903.938.-8", ".890.903.938-8", "890..903.938-8", "890 903 938-8",
        "090903938-2", "12-" /* too short */, "8909039388-x", ""})
    EXPECT_FALSE(nit_ok(bad)) << bad;
}

TEST(CoNitTest, EverySingleDigitChangeIsCaught) {
  // Each weight is non-zero mod 11, so changing one digit changes the sum mod 11. 890903938 has
  // r = 3, the only remainder whose check digit is 8: every changed number fails "-8".
  std::string n = "890903938";
  for (size_t i = 0; i < n.size(); ++i) {
    for (char c = '0'; c <= '9'; ++c) {
      if (c == n[i]) continue;
      std::string m = n;
      m[i] = c;
      EXPECT_FALSE(nit_ok(m + "-8")) << m;
      if (m[0] != '0') {
        EXPECT_TRUE(nit_ok(m + "-" + std::to_string(*nit_check_digit(m)))) << m;
      }
    }
  }
}

// --- Documents, banks, accounts --------------------------------------------------------------

TEST(CoDocumentTest, Forms) {
  EXPECT_EQ(parse_co_document(CoDocumentType::nit, "890.903.938-8", "d").value(),
            (CoDocument{CoDocumentType::nit, "890903938", 8}));
  EXPECT_EQ(parse_co_document(CoDocumentType::cc, "1020304050", "d").value(),
            (CoDocument{CoDocumentType::cc, "1020304050", std::nullopt}));
  EXPECT_TRUE(parse_co_document(CoDocumentType::ce, "456789", "d").ok());
  EXPECT_TRUE(parse_co_document(CoDocumentType::pa, "AB123456", "d").ok());
  EXPECT_EQ(parse_co_document(CoDocumentType::nit, "890903938-7", "d").error().message,
            "d: NIT \"890903938-7\" has the wrong check digit (DIAN's is 8)");
  EXPECT_EQ(parse_co_document(CoDocumentType::nit, "890903938", "d").error().message,
            "d: NIT \"890903938\" is not a NIT with its check digit (3..15 digits, '-', the "
            "check digit: \"890903938-8\")");
  EXPECT_EQ(parse_co_document(CoDocumentType::cc, "01234", "d").error().message,
            "d: CC \"01234\" must be 3..10 digits, not starting with 0");
  for (std::string_view bad : {"12", "12345678901", "1.020.304", "", "12a4"}) {
    EXPECT_FALSE(parse_co_document(CoDocumentType::cc, bad, "d").ok()) << bad;
    EXPECT_FALSE(parse_co_document(CoDocumentType::ce, bad, "d").ok()) << bad;
  }
  for (std::string_view bad : {"ab123456", "AB 12345", "AB", "A1234567890123456789X"})
    EXPECT_FALSE(parse_co_document(CoDocumentType::pa, bad, "d").ok()) << bad;
  EXPECT_EQ(parse_co_document_type("NIT"), CoDocumentType::nit);
  EXPECT_EQ(parse_co_document_type("PA"), CoDocumentType::pa);
  EXPECT_EQ(parse_co_document_type("cc"), std::nullopt);
  EXPECT_EQ(parse_co_document_type("TI"), std::nullopt);
  EXPECT_EQ(parse_co_account_type("checking"), CoAccountType::checking);
  EXPECT_EQ(parse_co_account_type("ahorros"), std::nullopt);
}

TEST(CoDocumentTest, BankCodes) {
  for (std::string_view good : {"007", "1007", "051", "1551"}) EXPECT_TRUE(co_bank_code_ok(good));
  for (std::string_view bad : {"7", "07", "10070", "000", "0000", "1O07", ""})
    EXPECT_FALSE(co_bank_code_ok(bad)) << bad;
}

// --- The file --------------------------------------------------------------------------------

TEST(CoDispersionTest, ExactText) {
  std::vector<CoDispersionLine> lines = {
      line("po-2", "1500000.00", "Ferretería \"El Tornillo\", S.A.S.", "1007",
           CoAccountType::checking, "00012345678", CoDocumentType::nit,
           "900.123.456-" + std::to_string(*nit_check_digit("900123456"))),
      line("po-1", "0.50", "María José Pérez", "1051", CoAccountType::savings, "4567890123",
           CoDocumentType::cc, "1020304050"),
      line("po-3", "250000", "John Smith", "007", CoAccountType::savings, "1234",
           CoDocumentType::pa, "X1234567"),
  };
  Result<std::string> csv = payout_co_dispersion(info(), lines);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(*csv,
            "payout,pay_date,bank_code,account_type,account_number,document_type,document_number,"
            "check_digit,name,amount_cop\n"
            "po-1,2026-01-05,1051,savings,4567890123,CC,1020304050,,María José Pérez,0.50\n"
            "po-2,2026-01-05,1007,checking,00012345678,NIT,900123456," +
                std::to_string(*nit_check_digit("900123456")) +
                ",\"Ferretería \"\"El Tornillo\"\", S.A.S.\",1500000.00\n"
                "po-3,2026-01-05,007,savings,1234,PA,X1234567,,John Smith,250000.00\n");
}

TEST(CoDispersionTest, EmptyIsTheHeaderAlone) {
  EXPECT_EQ(*payout_co_dispersion(info(), {}),
            "payout,pay_date,bank_code,account_type,account_number,document_type,document_number,"
            "check_digit,name,amount_cop\n");
}

TEST(CoDispersionTest, DeterministicForShuffledInput) {
  std::vector<CoDispersionLine> lines;
  for (int i = 0; i < 40; ++i)
    lines.push_back(line("co-" + std::to_string(i * 13 % 40), std::to_string(1000 + i) + ".00",
                         "Beneficiario " + std::to_string(i), "1007", CoAccountType::savings,
                         "9876" + std::to_string(i), CoDocumentType::cc,
                         std::to_string(10000 + i)));
  Result<std::string> first = payout_co_dispersion(info(), lines);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::mt19937 rng(57);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(lines.begin(), lines.end(), rng);
    EXPECT_EQ(*payout_co_dispersion(info(), lines), *first);
  }
}

TEST(CoDispersionTest, EveryBadLineIsReported) {
  std::vector<CoDispersionLine> lines = {
      line("a", "0", "", "10", CoAccountType::savings, "12-34", CoDocumentType::nit, "890903938-7"),
      line("b", "1.00", "Ok", "1007", CoAccountType::savings, "1234", CoDocumentType::cc, "0123"),
      line("a", "1.00", "Ok", "1007", CoAccountType::savings, "1234", CoDocumentType::pa, "X12345"),
      line("", "1.00", "Ok", "1007", CoAccountType::savings, "123", CoDocumentType::ce, "123"),
  };
  lines[1].currency = cur("USD");
  Result<std::string> r = payout_co_dispersion(info(), lines);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_amount);
  EXPECT_EQ(r.error().message,
            "payout \"a\": amount 0.00 is not positive\n"
            "payout \"a\": name must be non-empty UTF-8 without control characters\n"
            "payout \"a\": bank code \"10\" must be 3 or 4 digits, not all zero\n"
            "payout \"a\": account number \"12-34\" must be 4..20 digits\n"
            "payout \"a\" document: NIT \"890903938-7\" has the wrong check digit (DIAN's is 8)\n"
            "payout \"b\": currency \"USD\" cannot be paid by Colombian dispersion (COP only)\n"
            "payout \"b\" document: CC \"0123\" must be 3..10 digits, not starting with 0\n"
            "payout \"a\": duplicate payout id\n"
            "payout \"\": empty payout id\n"
            "payout \"\": account number \"123\" must be 4..20 digits");
}

TEST(CoDispersionTest, CopWithAnotherExponentIsRefused) {
  std::vector<CoDispersionLine> lines = {
      line("a", "1.00", "Ok", "1007", CoAccountType::savings, "1234", CoDocumentType::cc, "12345")};
  lines[0].currency = *Currency::make("COP", 0);
  Result<std::string> r = payout_co_dispersion(info(), lines);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_currency);
  EXPECT_THAT(r.error().message, HasSubstr("COP only"));
}

}  // namespace
}  // namespace tally
