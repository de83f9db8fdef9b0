// The RPC client (contract in rpc/client.h): connecting, posting and the auditor's reads.
#include "rpc/client_impl.h"

namespace tally {

// --- Client -------------------------------------------------------------------------------------

Reply<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Client> c(new Client());
  c->impl_ = std::make_unique<Impl>(std::move(options));
  c->impl_->start();
  Impl& impl = *c->impl_;
  // Each address once, in order, until one logs in (a leader and its standbys: any will do for
  // reads; writes move on to the leader when answered not_leader).
  Reply<RoleSet> r = Failure{};
  for (size_t i = 0; i < impl.addrs.size(); ++i) {
    r = impl.call<RoleSet>([&impl](std::shared_ptr<CallerQueue>) {
      return impl.ensure().then(
          [](std::shared_ptr<Conn> conn) { return Reply<RoleSet>(conn->roles); });
    });
    if (!r.failed() || r.failure().kind != Failure::Kind::cannot_connect) break;
    impl.next_address();
  }
  if (r.failed()) return r.failure();
  c->roles_ = r.value();
  return c;
}

Client::~Client() = default;

const std::string& Client::address() const {
  return impl_->addr();
}

uint64_t Client::connections() const {
  return impl_->connections.load();
}

Reply<BatchOutcome> Client::post(std::vector<PostItem> items, PostVia via) {
  auto shared = std::make_shared<std::vector<PostItem>>(std::move(items));
  Impl& impl = *impl_;
  return impl.call<BatchOutcome>(
      [&impl, shared, via](std::shared_ptr<CallerQueue>) { return impl.post_batch(shared, via); });
}

Client::Pipelined Client::post_pipelined(std::vector<PostBatch> batches, size_t window,
                                         const ProgressFn& progress) {
  struct State {
    std::vector<std::shared_ptr<std::vector<PostItem>>> batches;
    std::vector<PostVia> vias;
    std::vector<std::optional<BatchOutcome>> out;
    size_t next = 0;
    uint64_t total_items = 0, done_items = 0;
    std::optional<std::pair<size_t, Failure>> failure;  // first failing batch index
  };
  auto st = std::make_shared<State>();
  for (auto& b : batches) {
    st->total_items += b.items.size();
    st->vias.push_back(b.via);
    st->batches.push_back(std::make_shared<std::vector<PostItem>>(std::move(b.items)));
  }
  st->out.resize(st->batches.size());
  Impl& impl = *impl_;
  const ProgressFn* prog = progress ? &progress : nullptr;
  auto r = impl.call<bool>([&impl, st, window, prog](std::shared_ptr<CallerQueue> q) {
    // Each lane posts one batch at a time, then takes the next; `window` lanes run at once.
    auto lane = std::make_shared<std::function<kj::Promise<void>()>>();
    auto* next_lane = lane.get();  // alive until the joined promise completes (attached below)
    *lane = [&impl, st, prog, q, next_lane]() -> kj::Promise<void> {
      if (st->failure || st->next >= st->batches.size()) return kj::READY_NOW;
      size_t i = st->next++;
      return impl.post_batch(st->batches[i], st->vias[i])
          .then([st, i, prog, q, next_lane](Reply<BatchOutcome> r) {
            if (r.ok()) {
              st->done_items += st->batches[i]->size();
              st->out[i] = std::move(r.value());
              if (prog) {
                uint64_t d = st->done_items, t = st->total_items;
                q->push([prog, d, t] { (*prog)(d, t); });
              }
            } else if (!st->failure || st->failure->first > i) {
              st->failure.emplace(
                  i, r.failed() ? r.failure()
                                : Failure{Failure::Kind::server_error, r.rejection().message});
            }
            return (*next_lane)();
          });
    };
    size_t lanes = std::max<size_t>(1, std::min(window, st->batches.size()));
    auto promises = kj::heapArrayBuilder<kj::Promise<void>>(lanes);
    for (size_t k = 0; k < lanes; ++k) promises.add((*lane)());
    return kj::joinPromises(promises.finish())
        .then([]() { return Reply<bool>(true); })
        .attach(kj::mv(lane));
  });
  Pipelined res;
  size_t limit = st->failure ? st->failure->first : st->batches.size();
  for (size_t i = 0; i < limit && st->out[i]; ++i) res.batches.push_back(std::move(*st->out[i]));
  if (st->failure)
    res.failure = st->failure->second;
  else if (r.failed())
    res.failure = r.failure();
  return res;
}

namespace {
// A time parameter goes as RFC 3339 text; `hold` keeps the text alive until the request is sent.
capnp::Text::Reader time_text(std::string& hold, TimeNs t) {
  hold = format_rfc3339(t);
  return capnp::Text::Reader(hold.c_str(), hold.size());
}
}  // namespace

Reply<BalanceResult> Client::balance(const BalanceQuery& q) {
  Impl& impl = *impl_;
  return impl.call<BalanceResult>([&impl, q](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<BalanceResult>([q](wire::Auditor::Client& a) {
      auto req = a.balanceRequest();
      req.setAccount(wire::text_of(q.account));
      if (q.currency) req.setCurrency(wire::text_of(*q.currency));
      std::string t;
      if (q.as_of) req.setAsOf(time_text(t, *q.as_of));
      return req.send().then([](auto resp) -> Reply<BalanceResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<BalanceResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<BalancesResult> Client::balances(const std::string& prefix, std::optional<TimeNs> as_of) {
  Impl& impl = *impl_;
  return impl.call<BalancesResult>([&impl, prefix, as_of](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<BalancesResult>([prefix, as_of](wire::Auditor::Client& a) {
      auto req = a.balancesRequest();
      req.setPrefix(wire::text_of(prefix));
      std::string t;
      if (as_of) req.setAsOf(time_text(t, *as_of));
      return req.send().then([](auto resp) -> Reply<BalancesResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<BalancesResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<StatementResult> Client::statement(const StatementQuery& q) {
  Impl& impl = *impl_;
  return impl.call<StatementResult>([&impl, q](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<StatementResult>([q](wire::Auditor::Client& a) {
      auto req = a.statementRequest();
      wire::encode(req.initQuery(), q);
      return req.send().then([](auto resp) -> Reply<StatementResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<StatementResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<EntryView> Client::entry(const std::string& id) {
  Impl& impl = *impl_;
  return impl.call<EntryView>([&impl, id](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<EntryView>([id](wire::Auditor::Client& a) {
      auto req = a.entryRequest();
      req.setId(wire::text_of(id));
      return req.send().then([](auto resp) -> Reply<EntryView> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<EntryView>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<RunPayoutsResult> Client::run_payouts(const std::string& run) {
  Impl& impl = *impl_;
  return impl.call<RunPayoutsResult>([&impl, run](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<RunPayoutsResult>([run](wire::Auditor::Client& a) {
      auto req = a.runPayoutsRequest();
      req.setRun(wire::text_of(run));
      return req.send().then([](auto resp) -> Reply<RunPayoutsResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<RunPayoutsResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<PayoutPageResult> Client::payouts_by_state(const PayoutQuery& q) {
  Impl& impl = *impl_;
  return impl.call<PayoutPageResult>([&impl, q](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<PayoutPageResult>([q](wire::Auditor::Client& a) {
      auto req = a.payoutsByStateRequest();
      wire::encode(req.initQuery(), q);
      return req.send().then([](auto resp) -> Reply<PayoutPageResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<PayoutPageResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<TrialBalanceResult> Client::trial_balance(std::optional<TimeNs> as_of) {
  Impl& impl = *impl_;
  return impl.call<TrialBalanceResult>([&impl, as_of](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<TrialBalanceResult>([as_of](wire::Auditor::Client& a) {
      auto req = a.trialBalanceRequest();
      std::string t;
      if (as_of) req.setAsOf(time_text(t, *as_of));
      return req.send().then([](auto resp) -> Reply<TrialBalanceResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<TrialBalanceResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<VerifyReport> Client::verify(const ProgressFn& progress) {
  Impl& impl = *impl_;
  StagedProgressFn staged;
  if (progress)
    staged = [&progress](uint64_t done, uint64_t total, const std::string&) {
      progress(done, total);
    };
  return impl.call<VerifyReport>([&impl, staged](std::shared_ptr<CallerQueue> q) {
    return impl.auditor_read<VerifyReport>([staged, q](wire::Auditor::Client& a) {
      auto req = a.verifyRequest();
      if (staged) req.setProgress(kj::heap<ProgressImpl>(q, staged));
      return req.send().then([](auto resp) -> Reply<VerifyReport> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        return wire::decode(resp.getResult());
      });
    });
  });
}

Reply<ExportSummary> Client::export_journal(ExportFormat format, const TextSink& sink) {
  Impl& impl = *impl_;
  const TextSink* s = &sink;
  auto got = std::make_shared<Received>();
  // Not retried: part of the text may already have reached the sink.
  auto r = impl.call<ExportSummary>([&impl, format, s, got](std::shared_ptr<CallerQueue> q) {
    return impl.ensure().then(
        [format, s, q, got](std::shared_ptr<Conn> c) -> kj::Promise<Reply<ExportSummary>> {
          KJ_IF_MAYBE (a, c->auditor) {
            auto req = a->exportJournalRequest();
            req.setFormat(format == ExportFormat::hledger ? wire::ExportFormat::HLEDGER
                                                          : wire::ExportFormat::CSV);
            req.setSink(kj::heap<SinkImpl>(q, s, got));
            return req.send()
                .then([](auto resp) -> Reply<ExportSummary> {
                  if (resp.hasError()) return wire::decode_error(resp.getError());
                  return wire::decode(resp.getResult());
                })
                .attach(kj::mv(c));
          }
          return Reply<ExportSummary>(role_missing("auditor"));
        });
  });
  // Every chunk the sink took has run by now (on this thread, inside call()): the trailer says
  // whether that is all the server sent.
  if (!r.ok()) return r;
  if (auto bad = trailer_mismatch("the export", r->bytes,
                                  capnp::Data::Reader(r->sha256.data(), r->sha256.size()), *got))
    return *bad;
  return r;
}

Reply<ClosePeriodResult> Client::close_period(const std::string& date) {
  Impl& impl = *impl_;
  return impl.call<ClosePeriodResult>([&impl, date](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<Reply<ClosePeriodResult>>(Conn&)> fn =
        [date](Conn& c) -> kj::Promise<Reply<ClosePeriodResult>> {
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->closePeriodRequest();
        req.setDate(wire::text_of(date));
        return req.send().then([](auto resp) -> Reply<ClosePeriodResult> {
          if (resp.hasError()) return wire::decode_error(resp.getError());
          return wire::decode(resp.getResult());
        });
      }
      return Reply<ClosePeriodResult>(role_missing("finance"));
    };
    return impl.retry<Reply<ClosePeriodResult>>(fn);
  });
}

}  // namespace tally
