#include "settlement/run_chunk.h"

#include <array>

#include "settlement/chart.h"

namespace tally {

namespace {

class ChunkOp final : public WriteOp {
 public:
  ChunkOp(const Rules& rules, std::shared_ptr<const ChunkPlan> plan,
          std::shared_ptr<ChunkOutcome> out)
      : h_(rules.tables()), plan_(std::move(plan)), out_(std::move(out)) {}

  size_t weight() const override { return std::max<size_t>(1, plan_->payees.size()); }

  ItemResult apply(WriteTxn& t) override {
    *out_ = ChunkOutcome{};
    const ChunkPlan& p = *plan_;
    const MarketplaceConfig& mk = *p.marketplace;
    ItemResult ok;
    ok.id = p.run_id;

    // 1. The record, exactly where the chunk was planned from.
    auto found = load_run_record(t, h_, mk.name, p.pay_date);
    RunRecord rec;
    if (found) {
      if (found->state != RunState::in_progress || found->chunks != p.chunk ||
          found->last_payee != p.after_payee) {
        out_->kind = ChunkOutcome::Kind::conflict;
        out_->record = std::move(*found);
        return ok;
      }
      rec = std::move(*found);
    } else {
      if (p.chunk != 0 || !p.after_payee.empty()) {  // the record went away: not ours to redo
        out_->kind = ChunkOutcome::Kind::conflict;
        return ok;
      }
      std::optional<std::string> other;
      visit_run_records(t, h_, mk.name, [&](const RunRecord& r) {
        if (r.state == RunState::in_progress) other = r.run;
        return !other;
      });
      if (other)
        return refuse(reject(Code::run_in_progress,
                             "run " + *other +
                                 " is in progress; it completes before another run of " + mk.name +
                                 " starts (settle it again to complete it)"));
      rec.run = p.run_id;
      rec.marketplace = mk.name;
      rec.pay_date = p.pay_date;
      rec.cutoff = p.cutoff;
      rec.currencies = mk.currencies;
      std::sort(rec.currencies.begin(), rec.currencies.end());
      rec.state = RunState::in_progress;
      rec.started_ns = t.commit_ns();
    }
    // The accounts every payee's entry may post to beyond its own: in transit, and with a payout
    // tax its expense account and cash.
    std::vector<Account> common = {
        Account{tables::in_transit(mk.name), AccountKind::liability, 0, mk.currencies}};
    if (mk.payout_tax) {
      common.push_back(Account{mk.payout_tax->account, AccountKind::expense, 0, mk.currencies});
      common.push_back(Account{tables::cash(mk.name), AccountKind::asset, 0, mk.currencies});
    }
    for (const Account& a : common) {
      auto opened = t.open_account(a);
      if (!opened)
        return refuse(reject(opened.error().code,
                             "run " + p.run_id + ": " + a.name + ": " + opened.error().message));
    }
    const MarketTables market = read_market_tables(t, h_, mk.name);

    // 2. and 3. Payee by payee.
    std::vector<const RunRows*> rows;  // what the chunk's rows record is made of
    rows.reserve(p.payees.size());
    for (size_t index = 0; index < p.payees.size(); ++index) {
      const PayeeWork& planned = p.payees[index];
      PayeeState now;
      for (const auto& c : planned.state.currencies) now.currencies.push_back({c.currency});
      now.closed = planned.state.closed;
      read_payee_standing(t, h_, mk.name, market, planned.payee, now);
      const bool origins = reserve_of(now, mk).has_value();
      const std::string avail = tables::available(mk.name, planned.payee);
      consumed_holds_.clear();
      consumed_reserves_.clear();
      for (size_t i = 0; i < now.currencies.size(); ++i) {
        PayeeCurrencyState& c = now.currencies[i];
        c.available = t.balance(avail, c.currency).minor();
        if (now.closed) {  // nothing is released: holds and reserves stay, what is due is moot
          const PayeeCurrencyState& was = planned.state.currencies[i];
          c.due = was.due, c.holds_due = was.holds_due, c.due_holds = was.due_holds;
          c.reserve_due = was.reserve_due, c.reserves_due = was.reserves_due;
        } else {
          consume_due(t, h_.holds, planned.payee, c, origins, consumed_holds_);
          if (market.reserves)
            consume_due(t, h_.reserves, planned.payee, c, false, consumed_reserves_);
        }
      }
      PayeeWork fresh;
      const PayeeWork* w = &planned;
      bool redecided = false;
      if (!(now == planned.state)) {
        fresh = payee_work(planned.payee, now, mk, p.run_id, p.cutoff);
        w = &fresh;
        redecided = true;
      }
      std::optional<PreparedEntry> prepared;
      bool savepoint = false;  // the payee's reserve account is opened in one
      if (w->entry) {
        savepoint = open_reserve_account(t, *w);
        auto r = t.prepare_entry(w->entry->first, w->entry->second);
        if (!r && savepoint) t.end_savepoint(false), savepoint = false;
        if (!r && r.error().code == Code::account_closed && !now.closed) {
          // Closed since the plan: nothing is released or paid; the payee is carried.
          put_back(t);
          now.closed = true;
          fresh = payee_work(planned.payee, now, mk, p.run_id, p.cutoff);
          w = &fresh;
          redecided = true;
          TALLY_ASSERT(!w->entry, "a closed payee has no entry");
        } else if (!r) {
          put_back(t);
          return stop(t, std::move(rec), rows,
                      reject(r.error().code,
                             "run " + p.run_id + ": payee " + w->payee + ": " + r.error().message));
        } else {
          prepared = std::move(*r);
        }
      }
      auto totals = totals_with(rec.totals, w->rows);
      if (!totals) {
        if (savepoint) t.end_savepoint(false);
        put_back(t);
        return stop(t, std::move(rec), rows,
                    reject(Code::overflow, "run " + p.run_id + ": payee " + w->payee +
                                               ": a total of the run does not fit 128 bits"));
      }
      if (prepared) t.apply_entry(*prepared);
      for (size_t i = 0; i < w->rows.lines.size(); ++i) {
        const PayoutLine& line = w->rows.lines[i];
        tables::PayoutValue pv{mk.name,
                               w->payee,
                               std::string(line.currency.code()),
                               p.run_id,
                               line.amount.minor(),
                               tables::PayoutState::instructed,
                               ""};
        pv.tax = w->rows.payouts[i].tax.minor();
        t.put(h_.payouts, line.payout_id, tables::encode_payout(pv));
      }
      write_reserves(t, *w);
      if (savepoint) t.end_savepoint(true);
      rec.totals = std::move(*totals);
      rec.released_rows += w->rows.released.size();
      rec.payout_rows += w->rows.payouts.size();
      rec.carried_rows += w->rows.carried.size();
      rec.payees += 1;
      rec.last_payee = w->payee;
      out_->payees += 1;
      if (redecided) {
        out_->redecided.emplace_back(index, std::move(fresh));
        w = &out_->redecided.back().second;
      }
      rows.push_back(&w->rows);
    }
    finish(t, std::move(rec), p.last, rows);
    out_->kind = ChunkOutcome::Kind::committed;
    return ok;
  }

 private:
  // The holds a payee's sweep consumed, keys and values in one buffer that keeps its capacity
  // from payee to payee (10^7 holds in a run: no allocation each).
  class Consumed {
   public:
    void clear() { bytes_.clear(), ends_.clear(); }
    void add(std::string_view k, std::string_view v) {
      bytes_.append(k), ends_.push_back(bytes_.size());
      bytes_.append(v), ends_.push_back(bytes_.size());
    }
    size_t size() const { return ends_.size() / 2; }
    std::string_view key(size_t i) const { return part(2 * i); }
    std::string_view value(size_t i) const { return part(2 * i + 1); }

   private:
    std::string_view part(size_t j) const {
      size_t begin = j == 0 ? 0 : ends_[j - 1];
      return std::string_view(bytes_).substr(begin, ends_[j] - begin);
    }
    std::string bytes_;
    std::vector<size_t> ends_;
  };

  // Deletes the payee's rows of `table` (holds or reserves) in `c`'s currency due by the cut-off
  // with one cursor, and counts them into `c` (the state now): holds into due (with their origins
  // when `origins`), reserves into reserve_due. Each goes into `consumed` for put_back.
  void consume_due(WriteTxn& t, TableId table, const std::string& payee, PayeeCurrencyState& c,
                   bool origins, Consumed& consumed) {
    const bool holds = table == h_.holds;
    const std::string prefix =
        tables::hold_key(plan_->marketplace->name, payee, c.currency.code(), "");
    i128& sum = holds ? c.due : c.reserve_due;
    uint64_t& count = holds ? c.holds_due : c.reserves_due;
    t.sweep(table, prefix, [&](std::string_view k, std::string_view v) {
      if (k.substr(0, prefix.size()) != prefix) return WriteTxn::Sweep::stop;
      tables::HoldValue hv;
      if (!tables::decode_hold(v, hv))
        throw StoreCorruption(std::string(holds ? "hold" : "reserve") + " of " + payee);
      if (hv.release > plan_->cutoff) return WriteTxn::Sweep::keep;
      // They sum to the pending (reserve) balance, which fits 128 bits; a damaged store may not.
      if (__builtin_add_overflow(sum, hv.remaining, &sum))
        throw StoreCorruption(std::string(holds ? "holds" : "reserves") + " of " + payee +
                              " sum past 128 bits");
      ++count;
      if (origins) c.due_holds.push_back({std::string(k.substr(prefix.size())), hv.remaining});
      consumed.add(k, v);
      return WriteTxn::Sweep::erase;
    });
  }

  void put_back(WriteTxn& t) {
    for (size_t i = 0; i < consumed_holds_.size(); ++i)
      t.put(h_.holds, consumed_holds_.key(i), consumed_holds_.value(i));
    for (size_t i = 0; i < consumed_reserves_.size(); ++i)
      t.put(h_.reserves, consumed_reserves_.key(i), consumed_reserves_.value(i));
    consumed_holds_.clear();
    consumed_reserves_.clear();
  }

  // A payee whose entry keeps a reserve needs its reserve account: opened (with the marketplace's
  // currencies) inside a savepoint, so that a refused entry leaves no account behind. Returns
  // whether a savepoint was begun.
  bool open_reserve_account(WriteTxn& t, const PayeeWork& w) {
    const MarketplaceConfig& mk = *plan_->marketplace;
    bool needed = std::any_of(w.decision.begin(), w.decision.end(),
                              [](const PayeeCurrencyDecision& d) { return d.reserved > 0; });
    if (!needed) return false;
    std::vector<ChartAccount> account = {
        {tables::reserve(mk.name, w.payee), AccountKind::liability, kNoOverdraft}};
    auto need = check_chart_accounts(t, mk, account);
    if (!need || !*need) return false;  // a wrong kind or a closed account: the entry is refused
    t.begin_savepoint();
    open_chart_accounts(t, mk, account);
    return true;
  }

  // The reserves the payee's entry kept back, one record per origin of the released holds.
  void write_reserves(WriteTxn& t, const PayeeWork& w) {
    const ChunkPlan& p = *plan_;
    for (const auto& d : w.decision)
      for (const auto& part : d.reserve_parts) {
        std::string key =
            tables::reserve_key(p.marketplace->name, w.payee, d.currency.code(), part.origin);
        tables::HoldValue v{part.remaining, part.remaining, d.reserve_until, p.cutoff};
        // A hold is released once, so its origin gets one reserve; should a record be there
        // (an origin id reused), the two are kept as one, releasing at the later time.
        if (auto old = t.get(h_.reserves, key)) {
          tables::HoldValue was;
          if (!tables::decode_hold(*old, was)) throw StoreCorruption("reserve of " + w.payee);
          v.original += was.original, v.remaining += was.remaining;
          v.release = std::max(v.release, was.release);
        }
        t.put(h_.reserves, key, tables::encode_hold(v));
      }
  }

  // Writes the chunk's rows and the record; the run is complete after the last chunk.
  void finish(WriteTxn& t, RunRecord rec, bool last, const std::vector<const RunRows*>& rows) {
    const ChunkPlan& p = *plan_;
    t.put(h_.run_chunks, tables::run_chunk_key(rec.marketplace, rec.pay_date, rec.chunks),
          encode_run_rows(rows));
    rec.chunks += 1;
    if (last) {
      rec.state = RunState::complete;
      rec.committed_ns = t.commit_ns();
    }
    TALLY_ASSERT(rec.run == p.run_id, rec.run + " != " + p.run_id);
    t.put(h_.runs, tables::run_key(rec.marketplace, rec.pay_date), encode_run_record(rec));
    out_->record = std::move(rec);
  }

  // The chunk goes no further than the payee before the refused one: what it did so far commits.
  ItemResult stop(WriteTxn& t, RunRecord rec, const std::vector<const RunRows*>& rows,
                  Rejection why) {
    finish(t, std::move(rec), false, rows);
    out_->kind = ChunkOutcome::Kind::stopped;
    out_->why = std::move(why);
    ItemResult ok;
    ok.id = plan_->run_id;
    return ok;
  }

  // Nothing was written.
  ItemResult refuse(Rejection why) {
    out_->kind = ChunkOutcome::Kind::refused;
    out_->why = why;
    return ItemResult::error(std::move(why), plan_->run_id);
  }

  const tables::Handles& h_;
  std::shared_ptr<const ChunkPlan> plan_;
  std::shared_ptr<ChunkOutcome> out_;
  Consumed consumed_holds_, consumed_reserves_;
};

}  // namespace

RunRows take_rows(ChunkPlan& plan, ChunkOutcome& out) {
  RunRows rows;
  size_t next = 0;  // into out.redecided, which is in plan order
  auto of = [&](size_t i) -> RunRows& {
    if (next < out.redecided.size() && out.redecided[next].first == i)
      return out.redecided[next++].second.rows;
    return plan.payees[i].rows;
  };
  // Sized first, so that the rows move once.
  std::array<size_t, 6> n{};
  for (size_t i = 0; i < out.payees; ++i) {
    const RunRows& r = of(i);
    n[0] += r.released.size(), n[1] += r.payouts.size(), n[2] += r.carried.size();
    n[3] += r.lines.size(), n[4] += r.reserved.size(), n[5] += r.reserve_released.size();
  }
  rows.released.reserve(n[0]), rows.payouts.reserve(n[1]), rows.carried.reserve(n[2]);
  rows.lines.reserve(n[3]), rows.reserved.reserve(n[4]), rows.reserve_released.reserve(n[5]);
  next = 0;
  for (size_t i = 0; i < out.payees; ++i) rows.append(std::move(of(i)));
  return rows;
}

std::unique_ptr<WriteOp> make_chunk_op(const Rules& rules, std::shared_ptr<const ChunkPlan> plan,
                                       std::shared_ptr<ChunkOutcome> out) {
  return std::make_unique<ChunkOp>(rules, std::move(plan), std::move(out));
}

}  // namespace tally
