#include "ledger/status.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(Status, CodeNamesRoundTrip) {
  for (uint16_t i = 0; i <= static_cast<uint16_t>(kCodeLast); ++i) {
    auto c = static_cast<Code>(i);
    auto back = code_from_name(code_name(c));
    ASSERT_TRUE(back.has_value()) << i;
    EXPECT_EQ(*back, c);
  }
  EXPECT_FALSE(code_from_name("no_such_code").has_value());
  EXPECT_EQ(code_name(Code::unbalanced), "unbalanced");
}

TEST(Status, ResultCarriesValueOrRejection) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = reject(Code::bad_amount, "amount: bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Code::bad_amount);
}

}  // namespace
}  // namespace tally
