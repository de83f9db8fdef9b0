#include "settlement/market_verify.h"

#include <algorithm>
#include <map>

namespace tally {

namespace {

using Sums = std::map<std::pair<std::string, std::string>, i128>;  // (name, currency) -> minor

// Sums a (marketplace \0 payee \0 currency \0 origin -> HoldValue) table of one marketplace by
// payee and currency. Returns a problem, or empty.
std::string sum_table(Snapshot& snap, TableId table, const char* what, const std::string& mk,
                      Sums& into, uint64_t& rows) {
  std::string prefix = mk + '\0';
  std::string problem;
  snap.scan(table, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = k.substr(prefix.size());
    size_t a = rest.find('\0');
    size_t b = a == std::string_view::npos ? a : rest.find('\0', a + 1);
    tables::HoldValue hv;
    std::string where = std::string(what) + " " + mk + ":" + std::string(rest.substr(0, a));
    if (b == std::string_view::npos || !tables::decode_hold(v, hv)) {
      problem = where + ": record does not decode";
      return false;
    }
    std::string payee(rest.substr(0, a)), code(rest.substr(a + 1, b - a - 1));
    where += " " + code + " " + std::string(rest.substr(b + 1));
    if (hv.remaining <= 0 || hv.remaining > hv.original) {
      problem = where + ": remaining " + i128_to_string(hv.remaining) + " is outside 1.." +
                i128_to_string(hv.original);
      return false;
    }
    i128& sum = into[{payee, code}];
    if (__builtin_add_overflow(sum, hv.remaining, &sum)) {
      problem = where + ": the sum passes 128 bits";
      return false;
    }
    ++rows;
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
      Sums holds, reserves;
      if (auto p = sum_table(snap, h.holds, "hold", name, holds, r.holds); !p.empty())
        return fail(p);
      if (auto p = sum_table(snap, h.reserves, "reserve", name, reserves, r.reserves); !p.empty())
        return fail(p);
      // Every payee account's balance against its rows (and rows without an account).
      const std::string prefix = name + ":payees:";
      for (const Account& a : snap.accounts(name + ":payees")) {
        std::string_view rest = std::string_view(a.name).substr(prefix.size());
        size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) continue;
        std::string payee(rest.substr(0, colon));
        std::string_view kind = rest.substr(colon + 1);
        Sums* rows = kind == "pending" ? &holds : kind == "reserve" ? &reserves : nullptr;
        if (!rows) continue;
        for (const Currency& c : a.currencies) {
          auto b = snap.balance(a.name, c.code());
          i128 bal = b.ok() ? b->minor() : 0;
          auto it = rows->find({payee, std::string(c.code())});
          i128 sum = it == rows->end() ? 0 : it->second;
          if (it != rows->end()) rows->erase(it);
          if (bal != sum)
            return fail(a.name + " " + std::string(c.code()) + ": balance " +
                        format_amount(Amount::from_minor(bal), c) + " but its " +
                        (rows == &holds ? "holds" : "reserves") + " sum to " +
                        format_amount(Amount::from_minor(sum), c));
        }
      }
      for (const Sums* rows : {&holds, &reserves})
        if (!rows->empty())
          return fail(std::string(rows == &holds ? "holds" : "reserves") + " of " + name + ":" +
                      rows->begin()->first.first + " in " + rows->begin()->first.second +
                      " have no account");
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
