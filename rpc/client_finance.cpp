// The RPC client (contract in rpc/client.h): the finance calls.
#include "rpc/client_impl.h"

namespace tally {

namespace {
// Finance calls with retries; decode turns the response into the reply.
template <class T, class Send>
std::function<kj::Promise<Reply<T>>(Conn&)> finance_call(Send send) {
  return [send](Conn& c) -> kj::Promise<Reply<T>> {
    KJ_IF_MAYBE (f, c.finance) {
      return send(*f);
    }
    return Reply<T>(role_missing("finance"));
  };
}

// Collects a TextSink's chunks into one string (on the I/O thread).
class StringSink final : public wire::TextSink::Server {
 public:
  explicit StringSink(std::shared_ptr<std::string> out) : out_(std::move(out)) {}
  kj::Promise<void> write(WriteContext ctx) override {
    auto d = ctx.getParams().getChunk();
    out_->append(reinterpret_cast<const char*>(d.begin()), d.size());
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<std::string> out_;
};
}  // namespace

Reply<RunResult> Client::settle(const SettleRequest& sr, const StagedProgressFn& progress) {
  Impl& impl = *impl_;
  // A settlement run is idempotent per (marketplace, pay date): retrying is safe, and a retry of a
  // run cut off part way completes it. Each attempt gets the run's rows from the start.
  StagedProgressFn staged;
  if (progress)
    staged = [&progress](uint64_t done, uint64_t total, const std::string& stage) {
      progress(done, total, stage);
    };
  return impl.call<RunResult>([&impl, sr, staged](std::shared_ptr<CallerQueue> q) {
    return impl.retry<Reply<RunResult>>(
        finance_call<RunResult>([sr, staged, q](wire::Finance::Client& f) {
          auto rows = std::make_shared<RunRowsResult>();
          auto req = f.settleRequest();
          req.setMarketplace(wire::text_of(sr.marketplace));
          req.setPayDate(wire::text_of(sr.pay_date));
          req.setDryRun(sr.dry_run);
          req.setRows(kj::heap<RunRowsImpl>(rows));
          if (staged) req.setProgress(kj::heap<ProgressImpl>(q, staged));
          return req.send().then([rows](auto resp) -> Reply<RunResult> {
            if (resp.hasError()) return wire::decode_error(resp.getError());
            auto r = wire::decode(resp.getResult());
            if (!r) return malformed<RunResult>(r.error());
            if (rows->size() != r->rows)
              return Failure{Failure::Kind::server_error,
                             "the run's rows arrived short: " + std::to_string(rows->size()) +
                                 " of " + std::to_string(r->rows)};
            static_cast<RunRowsResult&>(*r) = std::move(*rows);
            return std::move(*r);
          });
        }));
  });
}

Reply<std::vector<RunSummary>> Client::runs(const std::string& marketplace) {
  using V = std::vector<RunSummary>;
  Impl& impl = *impl_;
  return impl.call<V>([&impl, marketplace](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<V>>(finance_call<V>([marketplace](wire::Finance::Client& f) {
      auto req = f.runsRequest();
      req.setMarketplace(wire::text_of(marketplace));
      return req.send().then([](auto resp) -> Reply<V> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        V out;
        for (auto r : resp.getRuns()) {
          auto x = wire::decode(r);
          if (!x) return malformed<V>(x.error());
          out.push_back(std::move(*x));
        }
        return out;
      });
    }));
  });
}

Reply<uint64_t> Client::backup(const TextSink& sink) {
  Impl& impl = *impl_;
  const TextSink* s = &sink;
  auto got = std::make_shared<Received>();
  auto trailer = std::make_shared<std::pair<uint64_t, std::string>>();
  auto r = impl.call<uint64_t>([&impl, s, got, trailer](std::shared_ptr<CallerQueue> q) {
    return impl.ensure().then(
        [s, q, got, trailer](std::shared_ptr<Conn> c) -> kj::Promise<Reply<uint64_t>> {
          KJ_IF_MAYBE (f, c->finance) {
            auto req = f->backupRequest();
            req.setSink(kj::heap<SinkImpl>(q, s, got));
            return req.send()
                .then([trailer](auto resp) -> Reply<uint64_t> {
                  if (resp.hasError()) return wire::decode_error(resp.getError());
                  auto sha = resp.getSha256();
                  trailer->first = resp.getBytes();
                  trailer->second.assign(reinterpret_cast<const char*>(sha.begin()), sha.size());
                  return resp.getBytes();
                })
                .attach(kj::mv(c));
          }
          return Reply<uint64_t>(role_missing("finance"));
        });
  });
  // Every chunk the sink took has run by now (on this thread, inside call()).
  if (!r.ok()) return r;
  const auto* sha = reinterpret_cast<const capnp::byte*>(trailer->second.data());
  if (auto bad = trailer_mismatch("the backup", trailer->first,
                                  capnp::Data::Reader(sha, trailer->second.size()), *got))
    return *bad;
  return r;
}

Reply<std::string> Client::payouts(const std::string& run, PayoutFormat format) {
  Impl& impl = *impl_;
  return impl.call<std::string>([&impl, run, format](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<std::string>>(finance_call<std::string>([run, format](
                                                                        wire::Finance::Client& f) {
      auto text = std::make_shared<std::string>();
      auto req = f.payoutsRequest();
      req.setRun(wire::text_of(run));
      req.setFormat(format == PayoutFormat::csv ? wire::PayoutFormat::CSV
                                                : wire::PayoutFormat::PAIN001);
      req.setSink(kj::heap<StringSink>(text));
      return req.send().then([text](auto resp) -> Reply<std::string> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        Received got;
        got.add(*text);
        if (auto bad = trailer_mismatch("the payout file", resp.getBytes(), resp.getSha256(), got))
          return *bad;
        return std::move(*text);
      });
    }));
  });
}

Reply<PayoutFileResult> Client::payout_file(const std::string& run, PayoutFormat format) {
  Impl& impl = *impl_;
  return impl.call<PayoutFileResult>([&impl, run, format](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<PayoutFileResult>>(
        finance_call<PayoutFileResult>([run, format](wire::Finance::Client& f) {
          auto text = std::make_shared<std::string>();
          auto req = f.payoutFileRequest();
          req.setRun(wire::text_of(run));
          req.setFormat(wire::to_wire(format));
          req.setSink(kj::heap<StringSink>(text));
          return req.send().then([text](auto resp) -> Reply<PayoutFileResult> {
            if (resp.hasError()) return wire::decode_error(resp.getError());
            auto t = wire::decode(resp.getResult());
            if (!t) return malformed<PayoutFileResult>(t.error());
            if (t->size != text->size() || to_hex(sha256(*text)) != t->info.sha256)
              return Failure{
                  Failure::Kind::server_error,
                  "payout file arrived incomplete or altered: " + std::to_string(text->size()) +
                      " of " + std::to_string(t->size) + " bytes"};
            t->info.bytes = std::move(*text);
            return std::move(t->info);
          });
        }));
  });
}

Reply<ImportReportResult> Client::import_report(const ImportReportRequest& ir) {
  Impl& impl = *impl_;
  return impl.call<ImportReportResult>([&impl, ir](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<ImportReportResult>>(
        finance_call<ImportReportResult>([ir](wire::Finance::Client& f) {
          auto req = f.importReportRequest();
          req.setReport(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(ir.bytes.data()),
                                            ir.bytes.size()));
          req.setDryRun(ir.dry_run);
          return req.send().then([](auto resp) -> Reply<ImportReportResult> {
            if (resp.hasError()) return wire::decode_error(resp.getError());
            return wire::decode(resp.getResult());
          });
        }));
  });
}

Reply<ItemResult> Client::hold(const HoldRequest& hr) {
  Impl& impl = *impl_;
  return impl.call<ItemResult>([&impl, hr](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<Reply<ItemResult>>(Conn&)> fn =
        [hr](Conn& c) -> kj::Promise<Reply<ItemResult>> {
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->holdRequest();
        req.setMarketplace(wire::text_of(hr.marketplace));
        req.setPayee(wire::text_of(hr.payee));
        req.setOn(hr.on);
        req.setReason(wire::text_of(hr.reason));
        req.setId(wire::text_of(hr.id));
        if (hr.at) req.setAt(wire::text_of(*hr.at));
        return req.send().then([](auto resp) -> Reply<ItemResult> {
          if (resp.hasError()) return wire::decode_error(resp.getError());
          return wire::decode_result(resp.getResult());
        });
      }
      return Reply<ItemResult>(role_missing("finance"));
    };
    return impl.retry<Reply<ItemResult>>(fn);
  });
}

Reply<ServerInfo> Client::server_info() {
  using R = Reply<ServerInfo>;
  Impl& impl = *impl_;
  return impl.call<ServerInfo>([&impl](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<R>(Conn&)> fn = [](Conn& c) -> kj::Promise<R> {
      auto decode = [](auto resp) -> R {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        return wire::decode(resp.getResult());
      };
      KJ_IF_MAYBE (p, c.poster) {
        return p->serverRequest().send().then(decode);
      }
      KJ_IF_MAYBE (a, c.auditor) {
        return a->serverRequest().send().then(decode);
      }
      KJ_IF_MAYBE (f, c.finance) {
        return f->serverRequest().send().then(decode);
      }
      return R(role_missing("poster, auditor or finance"));
    };
    return impl.retry<R>(fn);
  });
}

Reply<std::optional<Currency>> Client::find_currency(const std::string& code) {
  using R = Reply<std::optional<Currency>>;
  Impl& impl = *impl_;
  return impl.call<std::optional<Currency>>([&impl, code](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<R>(Conn&)> fn = [code](Conn& c) -> kj::Promise<R> {
      auto decode = [](auto resp) -> R {
        if (!resp.hasCurrency()) return std::optional<Currency>();
        auto cur = wire::get_currency(resp.getCurrency(), "currency");
        if (!cur) return malformed<std::optional<Currency>>(cur.error());
        return std::optional<Currency>(*cur);
      };
      KJ_IF_MAYBE (p, c.poster) {
        auto req = p->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      KJ_IF_MAYBE (a, c.auditor) {
        auto req = a->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      return R(role_missing("poster, auditor or finance"));
    };
    return impl.retry<R>(fn);
  });
}

}  // namespace tally
