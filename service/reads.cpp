// Auditor reads on a Snapshot (contract in rpc/reads.h).
#include "service/reads.h"

#include <algorithm>

namespace tally {

namespace {
Rejection unknown_account(const std::string& name) {
  return reject(Code::unknown_account, "account: \"" + name + "\" was never opened");
}
// Names and ids from a peer are checked before they reach the store (whose keys have limits).
std::optional<Rejection> bad_name(const std::string& name) {
  if (auto r = validate_account_name(name, "account"); !r) return r.error();
  return std::nullopt;
}
}  // namespace

Result<BalanceResult> read_balance(Snapshot& snap, const BalanceQuery& q) {
  if (auto r = bad_name(q.account)) return *r;
  auto acct = snap.account(q.account);
  if (!acct) return unknown_account(q.account);
  BalanceResult out;
  out.account = acct->name;
  out.kind = acct->kind;
  out.flags = acct->flags;
  out.as_of = q.as_of ? *q.as_of : snap.last_commit_ns();
  out.opened_ns = snap.account_opened_ns(acct->name);
  if (q.currency && std::none_of(acct->currencies.begin(), acct->currencies.end(),
                                 [&](const Currency& c) { return c.code() == *q.currency; }))
    return reject(Code::currency_not_allowed,
                  "currency: \"" + acct->name + "\" does not hold " + *q.currency);
  // As of a time before the account's open commit: not yet opened, never a zero balance.
  if (q.as_of && out.opened_ns && *q.as_of < *out.opened_ns) {
    out.not_yet_opened = true;
    return out;
  }
  for (const auto& c : acct->currencies) {
    if (q.currency && c.code() != *q.currency) continue;
    auto b = snap.balance(acct->name, c.code(), q.as_of);
    if (!b) return b.error();
    out.balances.push_back(CurrencyTotal{c, *b});
  }
  if (q.currency && out.balances.empty())
    return reject(Code::currency_not_allowed,
                  "currency: \"" + acct->name + "\" does not hold " + *q.currency);
  return out;
}

Result<BalancesResult> read_balances(Snapshot& snap, const std::string& prefix,
                                     std::optional<TimeNs> as_of) {
  BalancesResult out;
  out.prefix = prefix;
  out.as_of = as_of ? *as_of : snap.last_commit_ns();
  // No account name is longer than limits::account_name_bytes_max, so neither is a prefix that
  // holds one.
  if (prefix.size() <= limits::account_name_bytes_max) out.balances = snap.balances(prefix, as_of);
  // A total that does not fit is an error, never a wrapped or zeroed figure (SPEC 1).
  for (const auto& t : out.balances.totals)
    if (t.overflow)
      return reject(Code::overflow, "totals." + std::string(t.currency.code()) +
                                        ": the sum of the balances under \"" + prefix +
                                        "\" does not fit 128 bits");
  return out;
}

Result<StatementResult> read_statement(Snapshot& snap, const StatementQuery& q) {
  if (auto r = bad_name(q.account)) return *r;
  auto acct = snap.account(q.account);
  if (!acct) return unknown_account(q.account);
  auto st = snap.statement(q);
  if (!st) return st.error();
  StatementResult out;
  out.account = acct->name;
  out.kind = acct->kind;
  out.statement = std::move(*st);
  return out;
}

Result<EntryView> read_entry(Snapshot& snap, const std::string& id) {
  if (auto r = validate_entry_id(id, "id"); !r) return r.error();
  auto e = snap.entry(id);
  if (!e) return reject(Code::unknown_entry, "id: no entry \"" + id + "\"");
  return std::move(*e);
}

Result<TrialBalanceResult> read_trial_balance(Snapshot& snap, std::optional<TimeNs> as_of) {
  TrialBalanceResult out;
  out.as_of = as_of ? *as_of : snap.last_commit_ns();
  out.currencies = snap.trial_balance(as_of);
  for (const auto& row : out.currencies)
    if (row.overflow)
      return reject(Code::overflow, "currencies." + std::string(row.currency.code()) +
                                        ": its debits or credits do not fit 128 bits");
  return out;
}

}  // namespace tally
