#include "settlement/bank_ids.h"

#include <algorithm>
#include <array>

namespace tally {

namespace {
bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

bool aba_routing_ok(std::string_view r) {
  if (r.size() != 9 || !all_digits(r)) return false;
  constexpr std::array<int, 3> kWeights = {3, 7, 1};
  int sum = 0;
  for (size_t i = 0; i < 9; ++i) sum += kWeights[i % 3] * (r[i] - '0');
  return sum % 10 == 0;
}

std::optional<int> nit_check_digit(std::string_view nit) {
  constexpr std::array<int, 15> kWeights = {3,  7,  13, 17, 19, 23, 29, 37,
                                            41, 43, 47, 53, 59, 67, 71};
  if (nit.empty() || nit.size() > kWeights.size() || !all_digits(nit)) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < nit.size(); ++i) sum += kWeights[i] * (nit[nit.size() - 1 - i] - '0');
  int r = sum % 11;
  return r <= 1 ? r : 11 - r;
}

}  // namespace tally
