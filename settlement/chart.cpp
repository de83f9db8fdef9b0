#include "settlement/chart.h"

#include <algorithm>

#include "settlement/tables.h"

namespace tally {

std::vector<ChartAccount> payee_chart_accounts(const MarketplaceConfig& mk,
                                               const std::string& payee) {
  return {{tables::pending(mk.name, payee), AccountKind::liability, kNoOverdraft},
          {tables::available(mk.name, payee), AccountKind::liability, 0}};
}

Result<bool> check_chart_accounts(WriteTxn& t, const MarketplaceConfig& mk,
                                  const std::vector<ChartAccount>& accounts) {
  bool needs_open = false;
  for (const auto& s : accounts) {
    auto a = t.account(s.name);
    if (!a) {
      needs_open = true;
      continue;
    }
    if (a->kind != s.kind || (a->flags & kNoOverdraft) != (s.flags & kNoOverdraft))
      return reject(Code::account_exists,
                    "account \"" + s.name + "\" exists as " + std::string(kind_name(a->kind)) +
                        ", the marketplace chart needs " + std::string(kind_name(s.kind)));
    if (a->closed()) return reject(Code::account_closed, "account \"" + s.name + "\" is closed");
    for (const auto& c : mk.currencies)
      if (std::none_of(a->currencies.begin(), a->currencies.end(),
                       [&](const Currency& x) { return x == c; }))
        needs_open = true;
  }
  return needs_open;
}

void open_chart_accounts(WriteTxn& t, const MarketplaceConfig& mk,
                         const std::vector<ChartAccount>& accounts) {
  for (const auto& s : accounts) {
    Account a{s.name, s.kind, s.flags, mk.currencies};
    auto r = t.open_account(a);
    TALLY_ASSERT(r.ok(), "chart account checked: " + r.error().message);
  }
}

}  // namespace tally
