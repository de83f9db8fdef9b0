#include "settlement/ach.h"
#include "common/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace tally {
namespace {

using ::testing::HasSubstr;
using namespace std::literals;

const CurrencyTable& table() {
  static const CurrencyTable t;
  return t;
}
Currency cur(std::string_view code) {
  return *table().find(code);
}
Amount usd(std::string_view text) {
  return *parse_amount(text, cur("USD"), "test");
}
Date day(int y, unsigned m, unsigned d) {
  return Date{date::year{y} / m / d};
}

NachaFileInfo info() {
  NachaFileInfo i;
  i.immediate_destination = "091000019";
  i.immediate_destination_name = "Wells Fargo";
  i.immediate_origin = "1234567890";
  i.immediate_origin_name = "Shop Inc";
  i.company_name = "Shop Inc";
  i.company_id = "1234567890";
  i.odfi_routing = "021000021";
  i.entry_description = "Payout";
  i.effective_date = day(2026, 1, 6);
  i.creation_date = day(2026, 1, 5);
  i.creation_time = "0630";
  i.file_id_modifier = 'A';
  return i;
}

NachaCredit credit(std::string id, std::string_view amount, std::string name, std::string routing,
                   std::string account, AchAccountType type = AchAccountType::checking,
                   AchReceiverKind kind = AchReceiverKind::individual) {
  return NachaCredit{std::move(id),      cur("USD"),         usd(amount), std::move(name),
                     std::move(routing), std::move(account), type,        kind,
                     std::nullopt};
}

std::vector<NachaCredit> example() {
  return {
      credit("po-3", "0.01", "Zoë O'Brien", "121000248", "0000123", AchAccountType::savings),
      credit("po-1", "1250.00", "José Núñez", "011000015", "12345678"),
      credit("po-2", "99.99", "Acme Widgets, Inc.", "026009593", "987654321",
             AchAccountType::checking, AchReceiverKind::company),
  };
}

// Left-justified in `n` characters (the test writes the spaces it means this way).
std::string pad(std::string_view s, size_t n) {
  std::string out(s);
  out.resize(n, ' ');
  return out;
}

std::string cat(std::initializer_list<std::string> fields) {
  std::string out;
  for (const std::string& f : fields) out += f;
  return out;
}

std::vector<std::string> records(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// --- ABA routing numbers ---------------------------------------------------------------------

TEST(AchRoutingTest, CheckDigit) {
  // Published routing numbers: Federal Reserve banks, JPMorgan Chase, Bank of America, Wells
  // Fargo. 3*d1 + 7*d2 + d3 + 3*d4 + ... is a multiple of 10 for each.
  for (std::string_view good :
       {"011000015", "021000021", "026009593", "121000248", "091000019", "000000000"})
    EXPECT_TRUE(aba_routing_ok(good)) << good;
  // One digit off, two digits swapped (0 2 1 -> 2 0 1 changes the weighted sum by 3*2 - 7*2),
  // wrong lengths, non-digits.
  std::vector<std::string_view> bad = {"021000022", "201000021", "02100002",   "0210000210",  "",
                                       "02100002a", " 21000021", "０21000021", "02100002\0"sv};
  for (std::string_view b : bad) EXPECT_FALSE(aba_routing_ok(b)) << b;
  // Every single-digit change of a valid number is caught.
  std::string r = "026009593";
  for (size_t i = 0; i < 9; ++i) {
    for (char c = '0'; c <= '9'; ++c) {
      if (c == r[i]) continue;
      std::string changed = r;
      changed[i] = c;
      EXPECT_FALSE(aba_routing_ok(changed)) << changed;
    }
  }
}

TEST(AchRoutingTest, Names) {
  EXPECT_EQ(parse_ach_account_type("savings"), AchAccountType::savings);
  EXPECT_EQ(parse_ach_account_type("checking"), AchAccountType::checking);
  EXPECT_EQ(parse_ach_account_type("Checking"), std::nullopt);
  EXPECT_EQ(parse_ach_receiver_kind("company"), AchReceiverKind::company);
  EXPECT_EQ(parse_ach_receiver_kind("individual"), AchReceiverKind::individual);
  EXPECT_EQ(parse_ach_receiver_kind("person"), std::nullopt);
  EXPECT_EQ(ach_account_type_name(AchAccountType::savings), "savings");
  EXPECT_EQ(ach_receiver_kind_name(AchReceiverKind::company), "company");
}

// --- The file --------------------------------------------------------------------------------

TEST(AchNachaTest, ExactFileWithHandComputedControls) {
  std::vector<NachaCredit> credits = example();
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  // Batches: CCD (po-2), then PPD (po-1, po-3), both effective 2026-01-06.
  // Entry hashes: CCD 02600959; PPD 01100001 + 12100024 = 13200025; file 15800984.
  // Totals: CCD 9999; PPD 125000 + 1 = 125001; file 135000 cents.
  // Records: 1 + 3 + 4 + 1 = 9, so 1 block and one record of 9s.
  // Field by field, as docs/payout-rails.md lists them.
  std::vector<std::string> expected = {
      cat({"1", "01", " 091000019", "1234567890", "260105", "0630", "A", "094", "10", "1",
           pad("WELLS FARGO", 23), pad("SHOP INC", 23), pad("", 8)}),
      cat({"5", "220", pad("SHOP INC", 16), pad("", 20), "1234567890", "CCD", pad("PAYOUT", 10),
           pad("", 6), "260106", "   ", "1", "02100002", "0000001"}),
      cat({"6", "22", "02600959", "3", pad("987654321", 17), "0000009999", pad("po-2", 15),
           pad("ACME WIDGETS, INC.", 22), "  ", "0", "021000020000001"}),
      cat({"8", "220", "000001", "0002600959", "000000000000", "000000009999", "1234567890",
           pad("", 19), pad("", 6), "02100002", "0000001"}),
      cat({"5", "220", pad("SHOP INC", 16), pad("", 20), "1234567890", "PPD", pad("PAYOUT", 10),
           pad("", 6), "260106", "   ", "1", "02100002", "0000002"}),
      cat({"6", "22", "01100001", "5", pad("12345678", 17), "0000125000", pad("po-1", 15),
           pad("JOSE NUNEZ", 22), "  ", "0", "021000020000002"}),
      cat({"6", "32", "12100024", "8", pad("0000123", 17), "0000000001", pad("po-3", 15),
           pad("ZOE O'BRIEN", 22), "  ", "0", "021000020000003"}),
      cat({"8", "220", "000002", "0013200025", "000000000000", "000000125001", "1234567890",
           pad("", 19), pad("", 6), "02100002", "0000002"}),
      cat({"9", "000002", "000001", "00000003", "0015800984", "000000000000", "000000135000",
           pad("", 39)}),
      std::string(94, '9'),
  };
  std::vector<std::string> got = records(f->text);
  ASSERT_EQ(got.size(), expected.size()) << f->text;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].size(), 94u) << "record " << i + 1 << ": " << got[i];
    EXPECT_EQ(expected[i].size(), 94u) << "the test's record " << i + 1;
    EXPECT_EQ(got[i], expected[i]) << "record " << i + 1;
  }
  EXPECT_EQ(f->text.back(), '\n');
  EXPECT_EQ(f->text.size(), 10u * 95u);
  EXPECT_EQ(f->traces, (std::vector<NachaTrace>{{"po-2", "021000020000001"},
                                                {"po-1", "021000020000002"},
                                                {"po-3", "021000020000003"}}));
}

TEST(AchNachaTest, BatchesPerEffectiveDateAndSecCode) {
  std::vector<NachaCredit> credits;
  for (int i = 0; i < 25; ++i) {
    NachaCredit c = credit("p" + std::to_string(100 + i), std::to_string(i + 1) + ".00",
                           "Payee " + std::to_string(i), i % 2 ? "011000015" : "121000248",
                           "A" + std::to_string(i));
    c.receiver_kind = i % 3 == 0 ? AchReceiverKind::company : AchReceiverKind::individual;
    if (i % 5 == 0) c.effective_date = day(2026, 1, 7);
    credits.push_back(c);
  }
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  std::vector<std::string> recs = records(f->text);
  std::vector<std::string> headers;
  for (const std::string& r : recs) {
    ASSERT_EQ(r.size(), 94u) << r;
    if (r[0] == '5') headers.push_back(r.substr(50, 3) + r.substr(69, 6) + r.substr(87, 7));
  }
  // (2026-01-06, CCD), (2026-01-06, PPD), (2026-01-07, CCD), (2026-01-07, PPD).
  EXPECT_EQ(headers, (std::vector<std::string>{"CCD2601060000001", "PPD2601060000002",
                                               "CCD2601070000003", "PPD2601070000004"}));
  // 25 entries + 4 * 2 + 2 = 35 records: 4 blocks, 5 records of 9s.
  EXPECT_EQ(recs.size(), 40u);
  EXPECT_EQ(recs[34].substr(0, 21), "900000400000400000025");
  for (size_t i = 35; i < 40; ++i) EXPECT_EQ(recs[i], std::string(94, '9'));
  // Traces run 1..25 in file order and name every payout once.
  ASSERT_EQ(f->traces.size(), 25u);
  for (size_t i = 0; i < 25; ++i) {
    char seq[8];
    std::snprintf(seq, sizeof seq, "%07zu", i + 1);
    EXPECT_EQ(f->traces[i].trace_number, std::string("02100002") + seq);
  }
}

TEST(AchNachaTest, DeterministicForShuffledInput) {
  std::vector<NachaCredit> credits = example();
  for (int i = 0; i < 30; ++i)
    credits.push_back(credit("x" + std::to_string(i * 7 % 30), "1.0" + std::to_string(i % 10), "N",
                             "026009593", "1"));
  Result<NachaFile> first = payout_nacha(info(), credits);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(credits.begin(), credits.end(), rng);
    Result<NachaFile> again = payout_nacha(info(), credits);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->text, first->text);
    EXPECT_EQ(again->traces, first->traces);
  }
}

TEST(AchNachaTest, IdsAndNamesAreMadeToFit) {
  EXPECT_EQ(nacha_id("po-1"), "po-1");
  EXPECT_EQ(nacha_id("123456789012345"), "123456789012345");
  std::string long_id = "shop:2026-01-05:payee-42:USD";
  std::string id = nacha_id(long_id);
  EXPECT_EQ(id.size(), 15u);
  EXPECT_EQ(id[0], '#');
  EXPECT_EQ(id, nacha_id(long_id));  // the same every time
  EXPECT_NE(id, nacha_id("shop:2026-01-05:payee-43:USD"));
  EXPECT_EQ(id.find_first_not_of("#0123456789ABCDEF"), std::string::npos);
  EXPECT_EQ(nacha_id("payé").size(), 15u);
  EXPECT_EQ(nacha_id("").size(), 15u);

  std::vector<NachaCredit> credits = {
      credit(long_id, "1.00", "  Æsa Ørsted-Müller de la Peña y Gómez  ", "011000015", "1")};
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  std::string entry = records(f->text)[2];
  EXPECT_EQ(entry.substr(39, 15), id);
  EXPECT_EQ(entry.substr(54, 22), "AESA ORSTED-MULLER DE ");  // cut to 22
  EXPECT_EQ(f->traces[0].payout_id, long_id);
}

TEST(AchNachaTest, EveryBadCreditIsReported) {
  CurrencyTable t;
  std::vector<NachaCredit> credits = {
      credit("a", "1.00", "", "021000022", "12 34"),
      credit("b", "0.00", "Ann", "011000015", std::string(18, '1')),
      credit("c", "100000000.00", "日本", "01100001", ""),
      credit("a", "1.00", "Dup", "011000015", "1"),
      credit("d", "1.00", "D", "011000015", "1"),
  };
  credits[4].currency = cur("EUR");
  credits[4].effective_date = day(2100, 1, 1);
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, Code::bad_request);
  EXPECT_EQ(
      f.error().message,
      "payout \"a\": receiver name \"\" must be non-empty printable ASCII or Latin-1 letters\n"
      "payout \"a\": routing number \"021000022\" is not 9 digits with a valid check digit\n"
      "payout \"a\": account \"12 34\" must be 1..17 printable ASCII characters without "
      "spaces\n"
      "payout \"b\": amount 0.00 is not positive\n"
      "payout \"b\": account \"111111111111111111\" must be 1..17 printable ASCII "
      "characters without spaces\n"
      "payout \"c\": amount 100000000.00 does not fit the entry's 10 digits (at most "
      "99999999.99)\n"
      "payout \"c\": receiver name \"日本\" must be non-empty printable ASCII or Latin-1 "
      "letters\n"
      "payout \"c\": routing number \"01100001\" is not 9 digits with a valid check digit\n"
      "payout \"c\": account \"\" must be 1..17 printable ASCII characters without spaces\n"
      "payout \"a\": duplicate payout id\n"
      "payout \"d\": currency \"EUR\" cannot be paid by ACH (USD only)\n"
      "payout \"d\": effective date 2100-01-01 is outside 2000..2099");
}

TEST(AchNachaTest, CodesOfSingleProblems) {
  std::vector<NachaCredit> c = {credit("a", "1.00", "A", "011000015", "1")};
  c[0].amount = Amount::from_minor(-1);
  EXPECT_EQ(payout_nacha(info(), c).error().code, Code::bad_amount);
  c[0].amount = Amount::from_minor(10'000'000'000);
  EXPECT_EQ(payout_nacha(info(), c).error().code, Code::overflow);
  c[0].amount = Amount::from_minor(9'999'999'999);  // the largest entry
  Result<NachaFile> ok = payout_nacha(info(), c);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(records(ok->text)[2].substr(29, 10), "9999999999");
  c[0].currency = *Currency::make("USD", 3);
  EXPECT_EQ(payout_nacha(info(), c).error().code, Code::bad_currency);
}

TEST(AchNachaTest, TotalsBeyond12DigitsAreRefused) {
  std::vector<NachaCredit> credits;
  for (int i = 0; i < 100; ++i)
    credits.push_back(credit("p" + std::to_string(i), "99999999.99", "N", "011000015", "1"));
  // 100 * 9999999999 = 999999999900 < 10^12: fits.
  Result<NachaFile> ok = payout_nacha(info(), credits);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_THAT(ok->text, HasSubstr("000000000000999999999900"));
  credits.push_back(credit("q", "1.00", "N", "011000015", "1"));
  Result<NachaFile> r = payout_nacha(info(), credits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::overflow);
  EXPECT_THAT(r.error().message, HasSubstr("the credit total reaches 12 digits"));
}

TEST(AchNachaTest, FileInfoProblemsAreAllReported) {
  NachaFileInfo i = info();
  i.immediate_destination = "91000019";
  i.immediate_destination_name = std::string(24, 'B');
  i.immediate_origin = "12345678";
  i.immediate_origin_name = "";
  i.company_name = "Shop Incorporated";  // 17
  i.company_id = "123456789";
  i.odfi_routing = "021000022";
  i.entry_description = "Payout\tnow";
  i.effective_date = day(1999, 12, 31);
  i.creation_date = day(2100, 1, 1);
  i.creation_time = "2400";
  i.file_id_modifier = 'a';
  std::vector<NachaCredit> none;
  Result<NachaFile> f = payout_nacha(i, none);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message,
            "nacha: a file needs at least one credit\n"
            "nacha: immediate_destination \"91000019\" is not a routing number (9 digits, check "
            "digit)\n"
            "nacha: immediate_destination_name \"BBBBBBBBBBBBBBBBBBBBBBBB\" must be 1..23 "
            "printable ASCII characters\n"
            "nacha: immediate_origin \"12345678\" must be 9 or 10 digits\n"
            "nacha: immediate_origin_name \"\" must be 1..23 printable ASCII characters\n"
            "nacha: company_name \"Shop Incorporated\" must be 1..16 printable ASCII characters\n"
            "nacha: company_id \"123456789\" must be exactly 10 printable ASCII characters\n"
            "nacha: odfi_routing \"021000022\" is not a routing number (9 digits, check digit)\n"
            "nacha: entry_description \"Payout\tnow\" must be 1..10 printable ASCII characters\n"
            "nacha: effective_date 1999-12-31 is outside 2000..2099\n"
            "nacha: creation_date 2100-01-01 is outside 2000..2099\n"
            "nacha: creation_time \"2400\" is not HHMM\n"
            "nacha: file_id_modifier \"a\" must be A..Z or 0..9");
  // A 9-digit origin is written after a blank.
  i = info();
  i.immediate_origin = "021000021";
  std::vector<NachaCredit> one = {credit("a", "1.00", "A", "011000015", "1")};
  Result<NachaFile> ok = payout_nacha(i, one);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->text.substr(0, 23), "101 091000019 021000021");
}

TEST(AchNachaTest, CollidingIndividualIdsAreRefused) {
  // "#" + 14 hex digits is itself an id of 15 printable characters: one that equals another
  // payout's mapped id is refused rather than written twice.
  std::string long_id(40, 'z');
  std::vector<NachaCredit> credits = {credit(long_id, "1.00", "A", "011000015", "1"),
                                      credit(nacha_id(long_id), "1.00", "B", "011000015", "1")};
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.error().message, HasSubstr("is already used by payout \"" + long_id + "\""));
}

// --- An independent parser -------------------------------------------------------------------

// Runs tests/nacha_check/check.js (an npm NACHA parser) on a file tally wrote: it recounts every
// count, hash and total from the parsed entries.
void expect_independent_check(const std::string& text, const std::string& name) {
  std::string dir = std::string(TALLY_SOURCE_DIR) + "/tests/nacha_check";
  if (std::system("command -v node >/dev/null 2>&1") != 0)
    TALLY_PREREQUISITE_MISSING("node is not installed: the independent NACHA check is skipped");
  if (!std::filesystem::exists(dir + "/node_modules"))
    TALLY_PREREQUISITE_MISSING("no " << dir
                                     << "/node_modules: run `npm ci --prefix "
                                        "tests/nacha_check` (scripts/test does) to run the "
                                        "independent NACHA check");
  std::string file = ::testing::TempDir() + "/tally_nacha_" + name + ".ach";
  std::string log = file + ".log";
  std::ofstream(file, std::ios::binary) << text;
  std::string cmd = "node '" + dir + "/check.js' '" + file + "' >'" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out << "\n" << text;
  EXPECT_THAT(out, HasSubstr("ok:"));
  std::filesystem::remove(file);
  std::filesystem::remove(log);
}

TEST(AchIndependentCheckTest, ExampleFile) {
  std::vector<NachaCredit> credits = example();
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  expect_independent_check(f->text, "example");
}

TEST(AchIndependentCheckTest, ManyBatchesAndBlocks) {
  std::vector<NachaCredit> credits;
  const char* routings[] = {"011000015", "021000021", "026009593", "121000248", "091000019"};
  for (int i = 0; i < 237; ++i) {
    NachaCredit c = credit("p" + std::to_string(i), std::to_string(i * 97 % 100000) + ".37",
                           "Payee " + std::to_string(i), routings[i % 5], std::to_string(i));
    c.account_type = i % 4 ? AchAccountType::checking : AchAccountType::savings;
    c.receiver_kind = i % 3 ? AchReceiverKind::individual : AchReceiverKind::company;
    c.effective_date = day(2026, 1, 6 + i % 3);
    credits.push_back(c);
  }
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  expect_independent_check(f->text, "many");
}

TEST(AchIndependentCheckTest, TheCheckCatchesABadTotal) {
  std::vector<NachaCredit> credits = example();
  Result<NachaFile> f = payout_nacha(info(), credits);
  ASSERT_TRUE(f.ok()) << f.error().message;
  std::string dir = std::string(TALLY_SOURCE_DIR) + "/tests/nacha_check";
  if (std::system("command -v node >/dev/null 2>&1") != 0 ||
      !std::filesystem::exists(dir + "/node_modules"))
    TALLY_PREREQUISITE_MISSING(
        "node or tests/nacha_check/node_modules missing: run `npm ci --prefix tests/nacha_check`");
  // The file control's total credit is the last 12 digits before the reserved field.
  std::string text = f->text;
  size_t file_control = text.find("\n9000002") + 1;
  text[file_control + 54] = '1';  // 135000 -> 135001
  std::string file = ::testing::TempDir() + "/tally_nacha_bad.ach";
  std::ofstream(file, std::ios::binary) << text;
  std::string cmd = "node '" + dir + "/check.js' '" + file + "' >/dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace tally
