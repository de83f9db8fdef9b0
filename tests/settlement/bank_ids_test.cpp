#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "settlement/bank_account.h"
#include "settlement/bank_ids.h"

namespace tally {
namespace {

TEST(BankIdsTest, IbanBicAndText) {
  EXPECT_TRUE(looks_like_iban("FR7630006000011234567890189"));
  EXPECT_TRUE(iban_checksum_ok("FR7630006000011234567890189"));
  EXPECT_TRUE(iban_checksum_ok("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_checksum_ok("NO9386011117947"));
  EXPECT_FALSE(iban_checksum_ok("GB82WEST12345698765433"));
  EXPECT_FALSE(looks_like_iban("20012345678"));
  EXPECT_FALSE(looks_like_iban("FR76 3000 6000 0112 3456 7890 189"));
  EXPECT_EQ(*parse_bank_account("FR76 3000 6000 0112 3456 7890 189", "f"),
            (BankAccount{true, "FR7630006000011234567890189"}));
  EXPECT_EQ(*parse_bank_account("20012345678", "f"), (BankAccount{false, "20012345678"}));
  EXPECT_EQ(parse_bank_account("GB82WEST12345698765433", "f").error().message,
            "f: \"GB82WEST12345698765433\" fails the IBAN checksum");
  EXPECT_FALSE(parse_bank_account("", "f").ok());
  EXPECT_FALSE(parse_bank_account("12 34", "f").ok());
  EXPECT_FALSE(parse_bank_account(std::string(35, '1'), "f").ok());
  EXPECT_TRUE(parse_bank_account(std::string(34, '1'), "f").ok());
  EXPECT_TRUE(valid_bic("AGRIFRPPXXX"));
  EXPECT_TRUE(valid_bic("DEUTDEFF"));
  EXPECT_FALSE(valid_bic("DEUTDEF"));
  EXPECT_FALSE(valid_bic("DEUTDE1F"));  // 7th: a letter or 2-9
  EXPECT_FALSE(valid_bic("DEUTDEFO"));  // 8th: not O
  EXPECT_FALSE(valid_bic("deutdeff"));
  EXPECT_EQ(bank_text_length("Shop SAS"), 8u);
  EXPECT_EQ(bank_text_length("Café Zoë"), 8u);
  EXPECT_EQ(bank_text_length(""), 0u);
  EXPECT_FALSE(bank_text_length("a\nb").has_value());
  EXPECT_FALSE(bank_text_length("\xC3").has_value());          // truncated
  EXPECT_FALSE(bank_text_length("\xC0\xAF").has_value());      // overlong
  EXPECT_FALSE(bank_text_length("\xED\xA0\x80").has_value());  // surrogate
  EXPECT_FALSE(bank_text_length("\xC2\x85").has_value());      // C1 control
}

TEST(BankIdsTest, AbaRoutingNumbers) {
  for (std::string_view ok : {"091000019", "021000021", "011000015", "026009593", "121000358"})
    EXPECT_TRUE(aba_routing_ok(ok)) << ok;
  for (std::string_view bad :
       {"091000018", "021000022", "12345678", "1234567890", "09100001x", " 91000019", ""})
    EXPECT_FALSE(aba_routing_ok(bad)) << bad;
}

TEST(BankIdsTest, NitCheckDigits) {
  // Published NITs: the DIAN itself, Bancolombia, Ecopetrol.
  EXPECT_EQ(nit_check_digit("800197268"), 4);
  EXPECT_EQ(nit_check_digit("890903938"), 8);
  EXPECT_EQ(nit_check_digit("899999068"), 1);
  EXPECT_EQ(nit_check_digit("900123456"), 8);
  // The remainder r of the weighted sum mod 11 gives 11 - r, except 0 and 1 which stand.
  EXPECT_EQ(nit_check_digit("1"), 8);  // 1 * 3 = 3: 11 - 3
  EXPECT_EQ(nit_check_digit("4"), 1);  // 4 * 3 = 12: r = 1
  EXPECT_EQ(nit_check_digit("0"), 0);
  EXPECT_EQ(nit_check_digit("10"), 4);                          // 1 * 7 + 0 * 3 = 7: 11 - 7
  EXPECT_TRUE(nit_check_digit("123456789012345").has_value());  // 15 digits, the last weight
  EXPECT_FALSE(nit_check_digit("").has_value());
  EXPECT_FALSE(nit_check_digit("1234567890123456").has_value());  // 16 digits
  EXPECT_FALSE(nit_check_digit("900.123").has_value());
}

}  // namespace
}  // namespace tally
