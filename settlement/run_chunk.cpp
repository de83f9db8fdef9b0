#include "settlement/run_chunk.h"

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
    auto opened = t.open_account(
        Account{tables::in_transit(mk.name), AccountKind::liability, 0, mk.currencies});
    if (!opened)
      return refuse(reject(
          opened.error().code,
          "run " + p.run_id + ": " + tables::in_transit(mk.name) + ": " + opened.error().message));

    // 2. and 3. Payee by payee.
    std::vector<const RunRows*> rows;  // what the chunk's rows record is made of
    rows.reserve(p.payees.size());
    for (size_t index = 0; index < p.payees.size(); ++index) {
      const PayeeWork& planned = p.payees[index];
      PayeeState now;
      for (const auto& c : planned.state.currencies) now.currencies.push_back({c.currency});
      now.closed = planned.state.closed;
      read_payee_standing(t, h_, mk.name, planned.payee, now);
      const std::string avail = tables::available(mk.name, planned.payee);
      consumed_.clear();
      for (size_t i = 0; i < now.currencies.size(); ++i) {
        PayeeCurrencyState& c = now.currencies[i];
        c.available = t.balance(avail, c.currency).minor();
        if (now.closed) {  // nothing is released: the holds stay, and what is due is moot
          c.due = planned.state.currencies[i].due;
          c.holds_due = planned.state.currencies[i].holds_due;
        } else {
          consume_due_holds(t, planned.payee, c);
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
      if (w->entry) {
        auto r = t.prepare_entry(w->entry->first, w->entry->second);
        if (!r && r.error().code == Code::account_closed && !now.closed) {
          // Closed since the plan: nothing is released or paid; the payee is carried.
          put_back(t);
          consumed_.clear();
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
        put_back(t);
        return stop(t, std::move(rec), rows,
                    reject(Code::overflow, "run " + p.run_id + ": payee " + w->payee +
                                               ": a total of the run does not fit 128 bits"));
      }
      if (prepared) t.apply_entry(*prepared);
      for (const auto& line : w->rows.lines) {
        tables::PayoutValue pv{mk.name,
                               w->payee,
                               std::string(line.currency.code()),
                               p.run_id,
                               line.amount.minor(),
                               tables::PayoutState::instructed,
                               ""};
        t.put(h_.payouts, line.payout_id, tables::encode_payout(pv));
      }
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
  // Deletes the payee's holds in `c`'s currency due by the cut-off with one cursor, and counts
  // them into `c` (the state now), keeping each in consumed_ for put_back.
  void consume_due_holds(WriteTxn& t, const std::string& payee, PayeeCurrencyState& c) {
    const std::string prefix =
        tables::hold_key(plan_->marketplace->name, payee, c.currency.code(), "");
    t.sweep(h_.holds, prefix, [&](std::string_view k, std::string_view v) {
      if (k.substr(0, prefix.size()) != prefix) return WriteTxn::Sweep::stop;
      tables::HoldValue hv;
      if (!tables::decode_hold(v, hv)) throw StoreCorruption("hold of " + payee);
      if (hv.release > plan_->cutoff) return WriteTxn::Sweep::keep;
      // The holds sum to the pending balance, which fits 128 bits; a damaged store may not.
      if (__builtin_add_overflow(c.due, hv.remaining, &c.due))
        throw StoreCorruption("holds of " + payee + " sum past 128 bits");
      ++c.holds_due;
      consumed_.add(k, v);
      return WriteTxn::Sweep::erase;
    });
  }

  void put_back(WriteTxn& t) {
    for (size_t i = 0; i < consumed_.size(); ++i)
      t.put(h_.holds, consumed_.key(i), consumed_.value(i));
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

  const tables::Handles& h_;
  std::shared_ptr<const ChunkPlan> plan_;
  std::shared_ptr<ChunkOutcome> out_;
  Consumed consumed_;
};

}  // namespace

RunRows take_rows(ChunkPlan& plan, ChunkOutcome& out) {
  RunRows rows;
  size_t next = 0;  // into out.redecided, which is in plan order
  for (size_t i = 0; i < out.payees; ++i) {
    if (next < out.redecided.size() && out.redecided[next].first == i)
      rows.append(std::move(out.redecided[next++].second.rows));
    else
      rows.append(std::move(plan.payees[i].rows));
  }
  return rows;
}

std::unique_ptr<WriteOp> make_chunk_op(const Rules& rules, std::shared_ptr<const ChunkPlan> plan,
                                       std::shared_ptr<ChunkOutcome> out) {
  return std::make_unique<ChunkOp>(rules, std::move(plan), std::move(out));
}

}  // namespace tally
