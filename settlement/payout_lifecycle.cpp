#include "settlement/payout_lifecycle.h"

#include "ledger/limits.h"
#include "settlement/chart.h"

namespace tally {

using tables::PayoutState;

std::string_view payout_state_name(PayoutState s) {
  switch (s) {
    case PayoutState::instructed:
      return "instructed";
    case PayoutState::sent:
      return "sent";
    case PayoutState::paid:
      return "paid";
    case PayoutState::failed:
      return "failed";
    case PayoutState::returned:
      return "returned";
  }
  TALLY_ASSERT(false, "payout state " + std::to_string(static_cast<int>(s)));
}

std::optional<PayoutState> parse_payout_state(std::string_view name) {
  for (auto s : {PayoutState::instructed, PayoutState::sent, PayoutState::paid, PayoutState::failed,
                 PayoutState::returned})
    if (payout_state_name(s) == name) return s;
  return std::nullopt;
}

TransitionVerdict transition_verdict(PayoutState from, PayoutResultStatus to) {
  using V = TransitionVerdict;
  using S = PayoutResultStatus;
  switch (from) {
    case PayoutState::instructed:
    case PayoutState::sent:
      return V::apply;
    case PayoutState::paid:
      // A return comes after the payment; a failure cannot.
      return to == S::paid ? V::already_applied : to == S::returned ? V::apply : V::contradictory;
    case PayoutState::failed:
      return to == S::failed ? V::already_applied : V::contradictory;
    case PayoutState::returned:
      // A returned payout was paid first: a late report of the payment is not news.
      return to == S::failed ? V::contradictory : V::already_applied;
  }
  TALLY_ASSERT(false, "payout state " + std::to_string(static_cast<int>(from)));
}

PayoutState state_after(PayoutResultStatus to) {
  switch (to) {
    case PayoutResultStatus::paid:
      return PayoutState::paid;
    case PayoutResultStatus::failed:
      return PayoutState::failed;
    case PayoutResultStatus::returned:
      return PayoutState::returned;
  }
  TALLY_ASSERT(false, "payout result " + std::to_string(static_cast<int>(to)));
}

std::string report_transition_entry_id(std::string_view payout, PayoutResultStatus status) {
  std::string suffix = ":" + std::string(payout_result_status_name(status));
  std::string id(1, kSystemIdPrefix);
  id.append(payout).append(suffix);
  if (id.size() <= limits::entry_id_bytes_max) return id;
  return std::string(1, kSystemIdPrefix) + "po#" + to_hex(sha256(payout)).substr(0, 32) + suffix;
}

std::optional<tables::PayoutValue> load_payout(TableReader& t, const tables::Handles& h,
                                               std::string_view id) {
  auto raw = t.get(h.payouts, id);
  if (!raw) return std::nullopt;
  tables::PayoutValue pv;
  if (!tables::decode_payout(*raw, pv)) throw StoreCorruption("payout record " + std::string(id));
  return pv;
}

Result<Committed> apply_payout_transition(WriteTxn& t, const tables::Handles& h,
                                          const MarketplaceConfig& mk, tables::PayoutValue pv,
                                          const PayoutTransition& tr) {
  TALLY_ASSERT(transition_verdict(pv.state, tr.status) == TransitionVerdict::apply,
               "payout " + tr.payout + ": " + std::string(payout_result_status_name(tr.status)) +
                   " from " + std::string(payout_state_name(pv.state)));
  auto c = mk.currency(pv.currency);
  if (!c)
    return reject(Code::currency_not_allowed, "payout: marketplace " + mk.name +
                                                  " no longer takes " + pv.currency +
                                                  ", the currency of payout \"" + tr.payout + "\"");
  const std::string in_transit = tables::in_transit(mk.name);
  const std::string cash = tables::cash(mk.name);
  const std::string available = tables::available(mk.name, pv.payee);
  const bool was_paid = pv.state == PayoutState::paid;
  std::vector<ChartAccount> accounts = {{in_transit, AccountKind::liability, 0}};
  Entry e{tr.entry_id, tr.at, "", tr.meta, {}};
  const Amount a = Amount::from_minor(pv.amount);
  switch (tr.status) {
    case PayoutResultStatus::paid:
      e.kind = "payout_paid";
      accounts.push_back({cash, AccountKind::asset, 0});
      e.postings.push_back({in_transit, *c, Side::debit, a});
      e.postings.push_back({cash, *c, Side::credit, a});
      break;
    case PayoutResultStatus::failed:
      e.kind = "payout_failed";
      for (auto& x : payee_chart_accounts(mk, pv.payee)) accounts.push_back(x);
      e.postings.push_back({in_transit, *c, Side::debit, a});
      e.postings.push_back({available, *c, Side::credit, a});
      break;
    case PayoutResultStatus::returned:
      e.kind = "payout_returned";
      accounts.push_back({cash, AccountKind::asset, 0});
      for (auto& x : payee_chart_accounts(mk, pv.payee)) accounts.push_back(x);
      if (!was_paid) {  // it settled before tally heard: the payment, then its return
        e.postings.push_back({in_transit, *c, Side::debit, a});
        e.postings.push_back({cash, *c, Side::credit, a});
      }
      e.postings.push_back({cash, *c, Side::debit, a});
      e.postings.push_back({available, *c, Side::credit, a});
      break;
  }
  auto need = check_chart_accounts(t, mk, accounts);
  if (!need) return need.error();
  if (*need) {
    t.begin_savepoint();
    open_chart_accounts(t, mk, accounts);
  }
  auto prepared = t.prepare_entry(std::move(e), tr.digest);
  if (!prepared) {
    if (*need) t.end_savepoint(false);
    return prepared.error();
  }
  Committed done = t.apply_entry(*prepared);
  switch (tr.status) {
    case PayoutResultStatus::paid:
      pv.result_event = tr.entry_id;
      break;
    case PayoutResultStatus::failed:
      pv.result_event = tr.entry_id;
      break;
    case PayoutResultStatus::returned:
      if (!was_paid) pv.result_event = tr.entry_id;
      pv.return_event = tr.entry_id;
      break;
  }
  pv.state = state_after(tr.status);
  if (tr.status != PayoutResultStatus::paid) {
    pv.reason_code = tr.reason_code;
    pv.reason = tr.reason;
    std::string why = tr.reason_code;
    if (!tr.reason.empty()) why += (why.empty() ? "" : " ") + tr.reason;
    tables::PayeeValue hold{true,
                            "payout " + tr.payout + " " +
                                std::string(payout_result_status_name(tr.status)) +
                                (why.empty() ? "" : ": " + why),
                            tr.at};
    t.put(h.payees, tables::payee_key(mk.name, pv.payee), tables::encode_payee(hold));
  }
  t.put(h.payouts, tr.payout, tables::encode_payout(pv));
  if (*need) t.end_savepoint(true);
  return done;
}

Result<std::vector<PayoutStatusRow>> run_payouts(TableReader& t, const tables::Handles& h,
                                                 std::string_view run_id) {
  auto colon = run_id.rfind(':');
  if (colon == std::string_view::npos ||
      !t.get(h.runs, tables::run_key(run_id.substr(0, colon), run_id.substr(colon + 1))))
    return reject(Code::unknown_run,
                  "run: \"" + std::string(run_id.substr(0, 128)) + "\" has not been run");
  std::vector<PayoutStatusRow> out;
  std::string prefix = std::string(run_id) + ":";
  tables::visit_payouts(t, h, prefix, "", [&](std::string_view id, const tables::PayoutValue& v) {
    // "M:2026-01-26:" is also the start of no other run's ids (a date has no ':'), but a payee
    // id could in principle look like another run's suffix: the record names its run.
    if (v.run == run_id) out.push_back({std::string(id), v});
    return true;
  });
  return out;
}

Result<PayoutPage> payouts_by_state(TableReader& t, const tables::Handles& h, const Config& config,
                                    std::string_view marketplace, std::optional<PayoutState> state,
                                    std::string_view after, size_t limit) {
  if (!config.marketplace(marketplace))
    return reject(
        Code::unknown_marketplace,
        "marketplace: \"" + std::string(marketplace.substr(0, 64)) + "\" is not configured");
  if (limit == 0 || limit > payout_page_limit_max)
    return reject(Code::bad_request, "limit: 1.." + std::to_string(payout_page_limit_max));
  PayoutPage page;
  std::string prefix = std::string(marketplace) + ":";
  tables::visit_payouts(t, h, prefix, after,
                        [&](std::string_view id, const tables::PayoutValue& v) {
                          if (v.marketplace != marketplace) return true;
                          if (state && v.state != *state) return true;
                          if (page.payouts.size() == limit) {
                            page.next = page.payouts.back().payout;
                            return false;
                          }
                          page.payouts.push_back({std::string(id), v});
                          return true;
                        });
  return page;
}

}  // namespace tally
