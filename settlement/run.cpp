// Settlement runs: listing payees, planning chunks in parallel, committing them one by one
// (contract in settlement/run.h; the chunk's commit in settlement/run_chunk.h).
#include "settlement/run.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "settlement/payee_settlement.h"
#include "settlement/run_chunk.h"
#include "settlement/run_journal.h"

namespace tally {

namespace {

// Payee ids of a marketplace, every "M:payees:P:..." account, in payee order; only those after
// `after` (all when it is empty).
std::vector<std::string> payees_of(Snapshot& snap, const std::string& mk,
                                   const std::string& after) {
  std::string prefix = mk + ":payees:";
  std::vector<std::string> out;
  // Names only: no account record is decoded (a run walks two accounts per payee).
  snap.account_names(prefix, [&](std::string_view name) {
    std::string_view rest = name.substr(prefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return true;
    std::string_view p = rest.substr(0, colon);
    if (out.empty() || out.back() != p) out.emplace_back(p);
    return true;
  });
  // A payee's accounts are adjacent, so each id came once; but "p10:..." sorts before "p1:...",
  // so the ids need sorting unless (as with fixed-width ids) they came in order already.
  if (!std::is_sorted(out.begin(), out.end())) std::sort(out.begin(), out.end());
  TALLY_ASSERT(std::adjacent_find(out.begin(), out.end()) == out.end(), "payee listed twice");
  if (!after.empty()) out.erase(out.begin(), std::upper_bound(out.begin(), out.end(), after));
  return out;
}

// Runs f on `threads` worker threads (0: oneTBB's default).
template <class F>
void in_arena(int threads, F&& f) {
  if (threads > 0)
    tbb::task_arena(threads).execute(f);
  else
    f();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
std::string ms_text(std::chrono::steady_clock::time_point t0) {
  return std::to_string(static_cast<long long>(seconds_since(t0) * 1000)) + " ms";
}

// Plans the payees [begin, end) of `payees` in parallel, each worker on a read snapshot of its
// own (an LMDB read transaction belongs to one thread).
std::vector<PayeeWork> plan_chunk(Ledger& ledger, const tables::Handles& h,
                                  const MarketplaceConfig& mk, const std::string& run_id,
                                  TimeNs cutoff, const std::vector<std::string>& payees,
                                  size_t begin, size_t end, const SettleOptions& opt,
                                  const std::function<void(uint64_t)>& planned) {
  std::vector<PayeeWork> work(end - begin);
  // A snapshot per worker, with what its marketplace has (payee terms, reserves) read once.
  struct Reader {
    std::unique_ptr<Snapshot> snap;
    MarketTables market;
  };
  tbb::enumerable_thread_specific<Reader> readers([&] {
    Reader r{ledger.snapshot(), {}};
    r.market = read_market_tables(*r.snap, h, mk.name);
    return r;
  });
  std::atomic<uint64_t> done{0};
  // A real run plans the next chunk while the writer commits this one: one core is the writer's.
  int threads = opt.threads;
  if (threads == 0 && !opt.dry_run)
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  in_arena(threads, [&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(begin, end, 64), [&](const auto& range) {
      auto& r = readers.local();
      for (size_t i = range.begin(); i != range.end(); ++i)
        work[i - begin] =
            payee_work(payees[i], read_payee_state(*r.snap, h, mk, r.market, payees[i], cutoff), mk,
                       run_id, cutoff, !opt.dry_run);
      if (planned) planned(done.fetch_add(range.size()) + range.size());
    });
  });
  return work;
}

// Adds a planned chunk to a preview: its rows go out, its totals are summed.
Result<bool> add_planned(SettlementRun& run, std::vector<PayeeWork>& work,
                         const std::function<void(RunRows&&)>& emit) {
  RunRows rows;
  for (auto& w : work) rows.append(std::move(w.rows));
  auto totals = totals_with(std::move(run.totals), rows);
  if (!totals)
    return reject(Code::overflow, "run " + run.run + ": a total of the run does not fit 128 bits");
  run.totals = std::move(*totals);
  emit(std::move(rows));
  return true;
}

}  // namespace

// --- the gate: one caller per run in this process ----------------------------------------------

class Settlement::RunGate {
 public:
  RunGate(Settlement& s, std::string run) : s_(s), run_(std::move(run)) {
    std::unique_lock lock(s_.gate_mu_);
    s_.gate_cv_.wait(lock, [&] { return !s_.busy_.contains(run_); });
    s_.busy_.insert(run_);
  }
  ~RunGate() {
    {
      std::lock_guard lock(s_.gate_mu_);
      s_.busy_.erase(run_);
    }
    s_.gate_cv_.notify_all();
  }

 private:
  Settlement& s_;
  std::string run_;
};

Result<SettlementRun> Settlement::settle(std::string_view marketplace, std::string_view pay_date,
                                         const SettleOptions& opt) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk)
    return reject(
        Code::unknown_marketplace,
        "marketplace: \"" + std::string(marketplace.substr(0, 64)) + "\" is not configured");
  auto date = parse_date(pay_date, "date");
  if (!date) return date.error();
  auto pd = pay_date_for(*mk, *date);
  if (!pd || pd->date != *date) {
    auto next = tally::next_pay_dates(*mk, *date, 1);
    return reject(Code::not_a_pay_date,
                  "date: " + std::string(pay_date) + " is not a pay date of " + mk->name +
                      (next.empty() ? "" : "; the next is " + format_date(next[0].date)));
  }
  auto cutoff = tally::cutoff(*mk, *date);
  if (!cutoff) return cutoff.error();
  if (*cutoff > rules_.ledger().options().clock())
    return reject(Code::bad_date, "date: the cut-off " + format_rfc3339(*cutoff) +
                                      " has not passed yet; a run cannot know its holds before it");
  if (opt.chunk_payees > limits::settle_chunk_payees_max)
    return reject(Code::bad_request, "chunk_payees: at most " +
                                         std::to_string(limits::settle_chunk_payees_max) +
                                         " payees a chunk");
  if (opt.dry_run) return settle_once(*mk, *date, *cutoff, opt);
  RunGate gate(*this, mk->name + ":" + format_date(*date));
  return settle_once(*mk, *date, *cutoff, opt);
}

Result<SettlementRun> Settlement::settle_once(const MarketplaceConfig& mk, Date date, TimeNs cutoff,
                                              const SettleOptions& opt) {
  Ledger& ledger = rules_.ledger();
  const tables::Handles& h = rules_.tables();
  const std::string day = format_date(date);
  const std::string run_id = mk.name + ":" + day;
  const uint64_t chunk_payees =
      opt.chunk_payees ? opt.chunk_payees : limits::settle_chunk_payees_default;
  const auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string& line) {
    if (opt.log) opt.log("run " + run_id + ": " + line);
  };
  // Rows go to the caller's sink, or into the result. A caller that has seen a payee's rows never
  // sees them again, even when the run must be picked up again from the journal (conflict).
  SettlementRun result;
  std::string emitted_through;  // the last payee whose rows went out
  auto emit = [&](RunRows&& rows) {
    if (!emitted_through.empty()) {
      auto before = [&](const auto& v) { return v.payee <= emitted_through; };
      std::erase_if(rows.released, before);
      std::erase_if(rows.carried, before);
      std::erase_if(rows.reserved, before);
      std::erase_if(rows.reserve_released, before);
      for (size_t i = rows.payouts.size(); i-- > 0;)
        if (rows.payouts[i].payee <= emitted_through) {
          rows.payouts.erase(rows.payouts.begin() + static_cast<long>(i));
          rows.lines.erase(rows.lines.begin() + static_cast<long>(i));
        }
    }
    auto last = [](const auto& v, std::string& into) {
      if (!v.empty() && v.back().payee > into) into = v.back().payee;
    };
    std::string through = emitted_through;
    last(rows.released, through), last(rows.payouts, through), last(rows.carried, through);
    last(rows.reserved, through), last(rows.reserve_released, through);
    emitted_through = through;
    if (rows.empty()) return;
    if (opt.rows)
      opt.rows(std::move(rows));
    else
      result.append(std::move(rows));
  };
  std::mutex progress_mu;  // planning threads report too: one report at a time
  auto progress = [&](RunProgress::Phase phase, uint64_t done, uint64_t total, uint64_t chunks_done,
                      uint64_t chunks_total) {
    if (!opt.progress) return;
    std::lock_guard lock(progress_mu);
    opt.progress(RunProgress{phase, done, total, chunks_done, chunks_total});
  };

  bool committed_any = false;  // by this call
  for (uint64_t attempt = 0;; ++attempt) {
    // The journal says where the run is.
    auto snap = ledger.snapshot();
    std::optional<RunRecord> rec = load_run_record(*snap, h, mk.name, day);
    if (rec && rec->state == RunState::complete) {
      SettlementRun header = run_header(*rec);
      progress(RunProgress::Phase::replaying, 0, rec->payees, 0, rec->chunks);
      visit_run_rows(*snap, h, *rec, emit);
      static_cast<RunRows&>(header) = std::move(static_cast<RunRows&>(result));
      header.replayed = !committed_any;
      return header;
    }
    if (!rec && !opt.dry_run) {
      std::optional<std::string> other;
      visit_run_records(*snap, h, mk.name, [&](const RunRecord& r) {
        if (r.state == RunState::in_progress) other = r.run;
        return !other;
      });
      if (other)
        return reject(Code::run_in_progress,
                      "run " + *other + " is in progress; it completes before another run of " +
                          mk.name + " starts (settle it again to complete it)");
    }
    SettlementRun header;
    if (rec) {
      header = run_header(*rec);
      visit_run_rows(*snap, h, *rec, emit);  // what the run did before: its output is whole
    } else {
      header.run = run_id;
      header.marketplace = mk.name;
      header.pay_date = day;
      header.cutoff = cutoff;
      header.currencies = mk.currencies;
      std::sort(header.currencies.begin(), header.currencies.end());
      header.state = RunState::in_progress;
    }
    header.dry_run = opt.dry_run;
    const std::vector<std::string> payees = payees_of(*snap, mk.name, rec ? rec->last_payee : "");
    snap.reset();     // a run can fill the map: the writer grows it only with no reader open
    if (!opt.rows) {  // the rows gather here: room for a row of each kind per payee, at once
      auto room = [&](auto& v) { v.reserve(v.size() + payees.size()); };
      room(result.released), room(result.payouts), room(result.lines);
    }
    const uint64_t first_chunk = rec ? rec->chunks : 0;
    const uint64_t chunks =
        std::max<uint64_t>(1, (payees.size() + chunk_payees - 1) / chunk_payees);
    const uint64_t payees_before = rec ? rec->payees : 0;
    const uint64_t payees_total = payees_before + payees.size();
    if (attempt == 0)
      log(std::string(opt.dry_run ? "preview"
                      : rec       ? "resumed"
                                  : "started") +
          ", " + std::to_string(payees.size()) + " payees to go in " + std::to_string(chunks) +
          " chunks of at most " + std::to_string(chunk_payees) +
          (rec ? " (" + std::to_string(rec->payees) + " done before)" : ""));

    auto plan = [&](uint64_t k) {
      auto p = std::make_shared<ChunkPlan>();
      p->marketplace = &mk;
      p->run_id = run_id;
      p->pay_date = day;
      p->cutoff = cutoff;
      p->chunk = first_chunk + k;
      size_t begin = std::min<size_t>(payees.size(), k * chunk_payees);
      size_t end = std::min<size_t>(payees.size(), begin + chunk_payees);
      p->after_payee = begin == 0 ? (rec ? rec->last_payee : "") : payees[begin - 1];
      p->last = k + 1 == chunks;
      p->payees =
          plan_chunk(ledger, h, mk, run_id, cutoff, payees, begin, end, opt, [&](uint64_t n) {
            progress(RunProgress::Phase::planning, payees_before + begin + n, payees_total,
                     first_chunk + k, first_chunk + chunks);
          });
      return p;
    };

    if (opt.dry_run) {
      for (uint64_t k = 0; k < chunks; ++k) {
        auto p = plan(k);
        if (auto added = add_planned(header, p->payees, emit); !added) return added.error();
        header.payees += p->payees.size();
        header.chunks += 1;
      }
      header.state = RunState::complete;
      static_cast<RunRows&>(header) = std::move(static_cast<RunRows&>(result));
      log("preview done in " + ms_text(t0));
      return header;
    }

    // The writer never waits for this thread: chunk k+1 is planned while chunk k commits, and is
    // handed over the moment chunk k is durable, before chunk k's rows go out and its plan is
    // freed (so that work, too, overlaps a commit).
    struct InFlight {
      std::shared_ptr<ChunkOutcome> out = std::make_shared<ChunkOutcome>();
      std::promise<std::vector<ItemResult>> done;
      std::chrono::steady_clock::time_point c0, c1;  // handed over; reported durable
    };
    auto submit = [&](const std::shared_ptr<ChunkPlan>& p) {
      auto f = std::make_shared<InFlight>();
      Batch b;
      b.push_back(make_chunk_op(rules_, p, f->out));
      f->c0 = std::chrono::steady_clock::now();
      ledger.submit(std::move(b), [f](std::vector<ItemResult> r) {  // f outlives any return
        f->c1 = std::chrono::steady_clock::now();
        f->done.set_value(std::move(r));
      });
      return f;
    };
    std::shared_ptr<ChunkPlan> current = plan(0);
    std::shared_ptr<InFlight> flight = submit(current);
    bool restart = false;
    for (uint64_t k = 0; k < chunks && !restart; ++k) {
      std::shared_ptr<ChunkPlan> next = k + 1 < chunks ? plan(k + 1) : nullptr;
      std::vector<ItemResult> r = flight->done.get_future().get();
      ChunkOutcome& out = *flight->out;
      if (!r[0].ok() && out.kind != ChunkOutcome::Kind::refused) {
        log("chunk " + std::to_string(first_chunk + k + 1) + " failed: " + r[0].message);
        return Rejection{r[0].code, r[0].message};  // a store failure: nothing of the chunk
      }
      switch (out.kind) {
        case ChunkOutcome::Kind::refused:
          log("refused: " + out.why->message);
          return *out.why;
        case ChunkOutcome::Kind::conflict:
          // Another caller moved the run (another process on this store): pick it up again from
          // its journal.
          log("moved by another caller at chunk " + std::to_string(first_chunk + k + 1) +
              "; picking it up from the journal");
          restart = true;
          continue;
        case ChunkOutcome::Kind::committed:
        case ChunkOutcome::Kind::stopped:
          break;
      }
      const bool interrupted = opt.stop && opt.stop->load() && next;
      std::shared_ptr<InFlight> done = std::move(flight);
      if (out.kind == ChunkOutcome::Kind::committed && next && !interrupted) flight = submit(next);
      committed_any = true;
      const auto commit = done->c1 - done->c0;
      header.redecided += out.redecided.size();
      header.commit_wait_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(commit).count();
      SettlementRun now = run_header(out.record);
      now.dry_run = false;
      now.redecided = header.redecided;
      now.commit_wait_ns = header.commit_wait_ns;
      header = std::move(now);
      emit(take_rows(*current, out));
      log("chunk " + std::to_string(out.record.chunks) + "/" +
          std::to_string(first_chunk + chunks) + ": " + std::to_string(out.payees) + " payees (" +
          std::to_string(out.redecided.size()) + " decided again) in " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(commit).count()) +
          " ms");
      progress(RunProgress::Phase::committing, out.record.payees, payees_total, out.record.chunks,
               first_chunk + chunks);
      if (out.kind == ChunkOutcome::Kind::stopped) {
        log("stopped: " + out.why->message);
        return *out.why;
      }
      if (interrupted) {
        log("interrupted after chunk " + std::to_string(out.record.chunks) + "; in progress");
        return reject(Code::interrupted, "run " + run_id + ": interrupted after " +
                                             std::to_string(out.record.payees) +
                                             " payees; settle it again to complete it");
      }
      current = std::move(next);  // the committed chunk's plan is freed while the next commits
    }
    if (restart) continue;
    TALLY_ASSERT(header.state == RunState::complete, "run " + run_id + " ended in progress");
    log("complete in " + ms_text(t0) + ": " + std::to_string(header.payees) + " payees, " +
        std::to_string(header.redecided) + " decided again at commit");
    static_cast<RunRows&>(header) = std::move(static_cast<RunRows&>(result));
    return header;
  }
}

Result<std::vector<SettlementRunSummary>> Settlement::runs(std::string_view marketplace) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk)
    return reject(
        Code::unknown_marketplace,
        "marketplace: \"" + std::string(marketplace.substr(0, 64)) + "\" is not configured");
  auto snap = rules_.ledger().snapshot();
  std::vector<SettlementRunSummary> out;
  visit_run_records(*snap, rules_.tables(), mk->name, [&](const RunRecord& r) {
    out.push_back({r.run, r.pay_date, r.cutoff, r.committed_ns, r.state, r.chunks, r.payees,
                   r.payout_rows, r.totals});
    return true;
  });
  return out;
}

std::vector<std::pair<std::string, std::string>> Settlement::runs_in_progress() {
  auto snap = rules_.ledger().snapshot();
  std::vector<std::pair<std::string, std::string>> out;
  visit_run_records(*snap, rules_.tables(), "", [&](const RunRecord& r) {
    if (r.state == RunState::in_progress) out.emplace_back(r.marketplace, r.pay_date);
    return true;
  });
  return out;
}

std::vector<std::string> Settlement::next_pay_dates(std::string_view marketplace, size_t n) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk) return {};
  TimeNs now = rules_.ledger().options().clock();
  Date from = Date(date::days(now / kNsPerDay));
  auto done = runs(marketplace);
  if (done.ok() && !done->empty()) {
    auto last = parse_date(done->back().pay_date, "date");
    if (last.ok() && *last + date::days(1) > from) from = *last + date::days(1);
  }
  std::vector<std::string> out;
  for (auto& pd : tally::next_pay_dates(*mk, from, n)) out.push_back(format_date(pd.date));
  return out;
}

Result<SettlementRun> Settlement::run(std::string_view run_id,
                                      const std::function<void(RunRows&&)>& rows) {
  auto colon = run_id.rfind(':');
  if (colon == std::string_view::npos)
    return reject(Code::unknown_run, "run: \"" + std::string(run_id.substr(0, 128)) +
                                         "\" is not a run id (M:YYYY-MM-DD)");
  auto snap = rules_.ledger().snapshot();
  auto rec =
      load_run_record(*snap, rules_.tables(), run_id.substr(0, colon), run_id.substr(colon + 1));
  if (!rec)
    return reject(Code::unknown_run,
                  "run: \"" + std::string(run_id.substr(0, 128)) + "\" has not been run");
  SettlementRun r = run_header(*rec);
  r.replayed = true;
  visit_run_rows(*snap, rules_.tables(), *rec, [&](RunRows&& part) {
    if (rows)
      rows(std::move(part));
    else
      r.append(std::move(part));
  });
  return r;
}

}  // namespace tally
