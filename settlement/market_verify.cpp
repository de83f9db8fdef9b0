#include "settlement/market_verify.h"

#include <algorithm>
#include <map>

namespace tally {

namespace {

// One payee table of a marketplace (holds against each payee's pending account, reserves against
// its reserve account: marketplace \0 payee \0 currency \0 origin -> HoldValue), in memory
// bounded by one payee, whatever the number of payees. First the table in key order: the rows of
// each (payee, currency) are summed and, when the next group starts, held against the account's
// balance. Then every such account with a balance must have rows (a balance with none would not
// meet a group in the first pass). Returns a problem, or empty.
std::string check_payee_table(Snapshot& snap, TableId table, const std::string& mk,
                              std::string_view kind, uint64_t& rows) {
  const bool holds = kind == "pending";
  const char* what = holds ? "hold" : "reserve";
  const char* plural = holds ? "holds" : "reserves";
  const std::string accounts = mk + ":payees:";
  auto mismatch = [&](const std::string& account, const Currency& c, i128 bal, i128 sum) {
    return account + " " + std::string(c.code()) + ": balance " +
           format_amount(Amount::from_minor(bal), c) + " but its " + plural + " sum to " +
           format_amount(Amount::from_minor(sum), c);
  };
  std::string payee, code, problem;  // the group being summed
  i128 sum = 0;
  auto finish = [&]() -> bool {
    if (payee.empty()) return true;
    const std::string account = accounts + payee + ":" + std::string(kind);
    auto a = snap.account(account);
    const Currency* c = nullptr;
    if (a)
      for (const Currency& x : a->currencies)
        if (x.code() == code) c = &x;
    if (c == nullptr) {
      problem =
          std::string(plural) + " of " + mk + ":" + payee + " in " + code + " have no account";
      return false;
    }
    auto b = snap.balance(account, code);
    const i128 bal = b.ok() ? b->minor() : 0;
    if (bal != sum) {
      problem = mismatch(account, *c, bal, sum);
      return false;
    }
    return true;
  };
  const std::string prefix = mk + '\0';
  snap.scan(table, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = k.substr(prefix.size());
    size_t x = rest.find('\0');
    size_t y = x == std::string_view::npos ? x : rest.find('\0', x + 1);
    tables::HoldValue hv;
    std::string where = std::string(what) + " " + mk + ":" + std::string(rest.substr(0, x));
    if (y == std::string_view::npos || !tables::decode_hold(v, hv)) {
      problem = where + ": record does not decode";
      return false;
    }
    std::string_view p = rest.substr(0, x), cur = rest.substr(x + 1, y - x - 1);
    where += " " + std::string(cur) + " " + std::string(rest.substr(y + 1));
    if (hv.remaining <= 0 || hv.remaining > hv.original) {
      problem = where + ": remaining " + i128_to_string(hv.remaining) + " is outside 1.." +
                i128_to_string(hv.original);
      return false;
    }
    if (p != payee || cur != code) {
      if (!finish()) return false;
      payee = p, code = cur, sum = 0;
    }
    if (__builtin_add_overflow(sum, hv.remaining, &sum)) {
      problem = where + ": the sum passes 128 bits";
      return false;
    }
    ++rows;
    return true;
  });
  if (!problem.empty() || !finish()) return problem;
  const std::string suffix = ":" + std::string(kind);
  snap.account_names(accounts, [&](std::string_view name) {
    if (name.size() <= accounts.size() + suffix.size() ||
        name.substr(name.size() - suffix.size()) != suffix)
      return true;
    const std::string account(name);
    const std::string_view p =
        name.substr(accounts.size(), name.size() - accounts.size() - suffix.size());
    auto a = snap.account(account);
    if (!a) return true;
    for (const Currency& c : a->currencies) {
      auto b = snap.balance(account, c.code());
      const i128 bal = b.ok() ? b->minor() : 0;
      if (bal != 0 &&
          !tables::any_with_prefix(snap, table, tables::hold_key(mk, p, c.code(), ""))) {
        problem = mismatch(account, c, bal, 0);
        return false;
      }
    }
    return true;
  });
  return problem;
}

}  // namespace

MarketVerifyReport verify_marketplace_tables(Snapshot& snap, const tables::Handles& h,
                                             const Config& config) {
  MarketVerifyReport r;
  auto fail = [&](std::string problem) {
    r.ok = false;
    r.problem = "FAILED: " + std::move(problem);
    return r;
  };
  try {
    for (const auto& [name, mk] : config.marketplaces) {
      // Every payee's pending and reserve balances against its rows, and no rows without them.
      if (auto p = check_payee_table(snap, h.holds, name, "pending", r.holds); !p.empty())
        return fail(p);
      if (auto p = check_payee_table(snap, h.reserves, name, "reserve", r.reserves); !p.empty())
        return fail(p);
      // In transit against the payouts that have not left it.
      std::map<std::string, i128> open;
      std::string problem;
      const std::string& marketplace = name;  // a lambda cannot capture a binding in clang 14
      tables::visit_payouts(
          snap, h, name + ":", "", [&](std::string_view id, const tables::PayoutValue& v) {
            ++r.payouts;
            if (v.marketplace != marketplace) return true;
            if (v.state == tables::PayoutState::instructed || v.state == tables::PayoutState::sent)
              open[v.currency] += v.amount;
            if (v.state == tables::PayoutState::sent && v.file.empty()) {
              problem = "payout " + std::string(id) + ": sent, but in no file";
              return false;
            }
            if (!v.file.empty()) {
              auto colon = v.file.rfind(':');
              if (colon == std::string::npos ||
                  !snap.get(h.payout_files,
                            tables::payout_file_key(std::string_view(v.file).substr(0, colon),
                                                    std::string_view(v.file).substr(colon + 1)))) {
                problem = "payout " + std::string(id) + ": its file " + v.file + " is not recorded";
                return false;
              }
            }
            return true;
          });
      if (!problem.empty()) return fail(problem);
      const std::string transit = tables::in_transit(name);
      for (const Currency& c : mk.currencies) {
        auto b = snap.balance(transit, c.code());
        i128 bal = b.ok() ? b->minor() : 0;
        i128 sum = open[std::string(c.code())];
        if (bal != sum)
          return fail(transit + " " + std::string(c.code()) + ": balance " +
                      format_amount(Amount::from_minor(bal), c) +
                      " but the payouts instructed or sent sum to " +
                      format_amount(Amount::from_minor(sum), c));
      }
    }
    // References bank reports are matched by.
    std::string problem;
    snap.scan(h.payout_refs, "", [&](std::string_view k, std::string_view v) {
      char kind = k.empty() ? 0 : k[0];
      std::string target(v);
      bool found = false;
      if (kind == 'e' || kind == 't') {
        found = snap.get(h.payouts, target).has_value();
      } else if (kind == 'm' || kind == 'b') {
        std::string run = target.substr(0, target.find('\0'));
        auto colon = run.rfind(':');
        found = colon != std::string::npos &&
                snap.get(h.runs, tables::run_key(std::string_view(run).substr(0, colon),
                                                 std::string_view(run).substr(colon + 1)));
      }
      if (!found) {
        std::string key(k);
        std::replace(key.begin(), key.end(), '\0', ' ');
        problem = "payout reference \"" + key + "\" names nothing recorded";
      }
      return found;
    });
    if (!problem.empty()) return fail(problem);
  } catch (const StoreCorruption& e) {
    return fail(e.what());
  }
  return r;
}

}  // namespace tally
