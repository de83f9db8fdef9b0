// A NACHA return file as an RDFI sends it back (docs/payout-rails.md, "NACHA return files"): one
// PPD batch of return entries (transaction code 21, the return of a checking credit), each with
// its addenda 99 naming the original entry's trace; controls computed here. Shared by the
// settlement tests and the CLI tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tally::testing {

struct NachaReturn {
  std::string original_trace;
  std::string code;  // R01, R03
  uint64_t cents;
  std::string info;
};

inline std::string nacha_return_file(const std::vector<NachaReturn>& returns) {
  std::vector<std::string> records;
  auto alpha = [](std::string s, size_t w) {
    s.resize(w, ' ');
    return s;
  };
  auto num = [](uint64_t v, size_t w) {
    std::string s = std::to_string(v);
    return std::string(w - s.size(), '0') + s;
  };
  const std::string odfi = "01100001";  // the returning bank (routing 011000015)
  records.push_back(
      "101 021000021 011000015"
      "2601201200A094101" +
      alpha("JPMORGAN CHASE", 23) + alpha("FEDERAL RESERVE BANK", 23) + alpha("", 8));
  records.push_back("5220" + alpha("SHOPPER US", 16) + alpha("", 20) + "1812345678" + "PPD" +
                    alpha("PAYOUT", 10) + alpha("", 6) + "260120" + "020" + "1" + odfi + num(1, 7));
  uint64_t hash = 0, total = 0;
  for (size_t i = 0; i < returns.size(); ++i) {
    const NachaReturn& r = returns[i];
    std::string trace = odfi + num(i + 1, 7);
    records.push_back(
        "6"
        "21"
        "02100002"
        "1" +
        alpha("ACCOUNT" + std::to_string(i), 17) + num(r.cents, 10) + alpha("RETURN", 15) +
        alpha("PAYEE", 22) + "  " + "1" + trace);
    records.push_back("799" + r.code + r.original_trace + alpha("", 6) + "02100002" +
                      alpha(r.info, 44) + trace);
    hash += 2100002;
    total += r.cents;
  }
  records.push_back("8220" + num(2 * returns.size(), 6) + num(hash % 10000000000, 10) + num(0, 12) +
                    num(total, 12) + "1812345678" + alpha("", 25) + odfi + num(1, 7));
  size_t blocks = (records.size() + 1 + 9) / 10;
  records.push_back("9" + num(1, 6) + num(blocks, 6) + num(2 * returns.size(), 8) +
                    num(hash % 10000000000, 10) + num(0, 12) + num(total, 12) + alpha("", 39));
  while (records.size() % 10) records.push_back(std::string(94, '9'));
  std::string out;
  for (auto& r : records) {
    EXPECT_EQ(r.size(), 94u) << r;
    out += r + "\n";
  }
  return out;
}

}  // namespace tally::testing
