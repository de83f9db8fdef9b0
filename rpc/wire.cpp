// Conversions between tally values and rpc/tally.capnp (contract in rpc/wire.h).
#include "rpc/wire.h"

#include <type_traits>

namespace tally::wire {

static_assert(static_cast<uint16_t>(ErrorCode::LINKED_CHAIN_OPEN) == static_cast<uint16_t>(kCodeLast),
              "ErrorCode must mirror tally::Code value for value, up to the last");
static_assert(static_cast<uint16_t>(ErrorCode::RUN_IN_PROGRESS) ==
              static_cast<uint16_t>(Code::run_in_progress));
static_assert(static_cast<uint16_t>(ErrorCode::NOT_ALLOWED) ==
              static_cast<uint16_t>(Code::not_allowed));
static_assert(static_cast<uint16_t>(ErrorCode::INTERNAL) == static_cast<uint16_t>(Code::internal));

namespace {

using AccountKind_ = ::tally::wire::AccountKind;
using Side_ = ::tally::wire::Side;

constexpr uint16_t kErrorCodeCount = static_cast<uint16_t>(kCodeLast) + 1;

// Business times the ledger accepts (years 1900..2200, as in parse_rfc3339).
const TimeNs kTimeMin = days_from_civil(1900, 1, 1) * kNsPerDay;
const TimeNs kTimeMaxExclusive = days_from_civil(2201, 1, 1) * kNsPerDay;

Result<TimeNs> get_time(int64_t ns, std::string_view field) {
  if (ns < kTimeMin || ns >= kTimeMaxExclusive)
    return reject(Code::bad_time, std::string(field) + ": " + std::to_string(ns) +
                                      " ns is outside years 1900..2200");
  return TimeNs{ns};
}

std::string at(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

AccountKind_ kind_to_wire(tally::AccountKind k);

}  // namespace

// --- values -------------------------------------------------------------------------------------

void set_amount(Amount128::Builder b, Amount a) {
  u128 u = static_cast<u128>(a.minor());
  b.setHi(static_cast<int64_t>(static_cast<uint64_t>(u >> 64)));
  b.setLo(static_cast<uint64_t>(u));
}

Amount get_amount(Amount128::Reader r) {
  u128 u = (static_cast<u128>(static_cast<uint64_t>(r.getHi())) << 64) | r.getLo();
  return Amount::from_minor(static_cast<i128>(u));
}

void set_currency(Currency::Builder b, const tally::Currency& c) {
  b.setCode(text_of(c.code()));
  b.setExponent(static_cast<uint8_t>(c.exponent()));
}

Result<tally::Currency> get_currency(Currency::Reader r, std::string_view field) {
  auto code = r.getCode();
  auto c = tally::Currency::make(std::string_view(code.begin(), code.size()), r.getExponent());
  if (!c)
    return reject(Code::bad_currency,
                  std::string(field) + ": malformed currency \"" +
                      std::string(code.begin(), std::min<size_t>(code.size(), 40)) +
                      "\" with exponent " + std::to_string(r.getExponent()));
  return *c;
}

ErrorCode to_wire(Code c) {
  return static_cast<ErrorCode>(static_cast<uint16_t>(c));
}

Code from_wire(ErrorCode c) {
  auto v = static_cast<uint16_t>(c);
  return v < kErrorCodeCount ? static_cast<Code>(v) : Code::internal;
}

std::string text(capnp::Text::Reader r) {
  return std::string(r.begin(), r.size());
}

namespace {

AccountKind_ kind_to_wire(tally::AccountKind k) {
  switch (k) {
    case tally::AccountKind::asset:
      return AccountKind_::ASSET;
    case tally::AccountKind::liability:
      return AccountKind_::LIABILITY;
    case tally::AccountKind::equity:
      return AccountKind_::EQUITY;
    case tally::AccountKind::revenue:
      return AccountKind_::REVENUE;
    case tally::AccountKind::expense:
      return AccountKind_::EXPENSE;
  }
  return AccountKind_::ASSET;
}

Result<tally::AccountKind> kind_from_wire(AccountKind_ k, std::string_view field) {
  switch (k) {
    case AccountKind_::ASSET:
      return tally::AccountKind::asset;
    case AccountKind_::LIABILITY:
      return tally::AccountKind::liability;
    case AccountKind_::EQUITY:
      return tally::AccountKind::equity;
    case AccountKind_::REVENUE:
      return tally::AccountKind::revenue;
    case AccountKind_::EXPENSE:
      return tally::AccountKind::expense;
  }
  return reject(Code::bad_request, std::string(field) + ": unknown account kind " +
                                       std::to_string(static_cast<uint16_t>(k)));
}

Side_ side_to_wire(tally::Side s) {
  return s == tally::Side::debit ? Side_::DEBIT : Side_::CREDIT;
}

Result<tally::Side> side_from_wire(Side_ s, std::string_view field) {
  switch (s) {
    case Side_::DEBIT:
      return tally::Side::debit;
    case Side_::CREDIT:
      return tally::Side::credit;
  }
  return reject(Code::bad_request,
                std::string(field) + ": unknown side " + std::to_string(static_cast<uint16_t>(s)));
}

void encode_meta(capnp::List<KeyValue>::Builder b,
                 const std::vector<std::pair<std::string, std::string>>& meta) {
  for (size_t i = 0; i < meta.size(); ++i) {
    b[i].setKey(text_of(meta[i].first));
    b[i].setValue(text_of(meta[i].second));
  }
}

std::vector<std::pair<std::string, std::string>> decode_meta(capnp::List<KeyValue>::Reader r) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(r.size());
  for (auto kv : r) out.emplace_back(text(kv.getKey()), text(kv.getValue()));
  return out;
}

// Optional text: a null pointer is absent.
std::optional<std::string> opt_text(bool has, capnp::Text::Reader r) {
  if (!has) return std::nullopt;
  return text(r);
}

void set_money(CurrencyAmount::Builder b, const tally::Currency& c, Amount a) {
  set_currency(b.initCurrency(), c);
  set_amount(b.initAmount(), a);
}

Result<CurrencyTotal> get_money(CurrencyAmount::Reader r, std::string_view field) {
  auto c = get_currency(r.getCurrency(), std::string(field) + ".currency");
  if (!c) return c.error();
  return CurrencyTotal{*c, get_amount(r.getAmount())};
}

void encode_event(Event::Builder b, const tally::Event& e) {
  b.setId(text_of(e.header.id));
  b.setAt(e.header.at);
  b.setMarketplace(text_of(e.header.marketplace));
  if (!e.header.meta.empty())
    encode_meta(b.initMeta(static_cast<unsigned>(e.header.meta.size())), e.header.meta);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SaleEvent>) {
          auto s = b.initSale();
          s.setSeller(text_of(body.seller));
          s.setAmount(text_of(body.amount));
          s.setCurrency(text_of(body.currency));
          s.setCategory(text_of(body.category));
          if (body.affiliate) s.setAffiliate(text_of(*body.affiliate));
        } else if constexpr (std::is_same_v<T, DeliveredEvent>) {
          b.initDelivered().setSale(text_of(body.sale));
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          auto s = b.initRefund();
          s.setSale(text_of(body.sale));
          s.setAmount(text_of(body.amount));
        } else if constexpr (std::is_same_v<T, ChargebackEvent>) {
          auto s = b.initChargeback();
          s.setSale(text_of(body.sale));
          s.setAmount(text_of(body.amount));
          if (body.fee) s.setFee(text_of(*body.fee));
        } else if constexpr (std::is_same_v<T, EarningEvent>) {
          auto s = b.initEarning();
          s.setPayee(text_of(body.payee));
          s.setBasis(text_of(body.basis));
          s.setCurrency(text_of(body.currency));
          s.setRule(text_of(body.rule));
        } else if constexpr (std::is_same_v<T, PassThroughEvent>) {
          auto s = b.initPassThrough();
          s.setPayer(text_of(body.payer));
          s.setVendor(text_of(body.vendor));
          s.setAmount(text_of(body.amount));
          s.setCurrency(text_of(body.currency));
        } else if constexpr (std::is_same_v<T, PayeeHoldEvent>) {
          auto s = b.initPayeeHold();
          s.setPayee(text_of(body.payee));
          s.setOn(body.on);
          s.setReason(text_of(body.reason));
        } else if constexpr (std::is_same_v<T, PayeeDetailsEvent>) {
          auto s = b.initPayeeDetails();
          s.setPayee(text_of(body.payee));
          s.setName(text_of(body.name));
          s.setAccount(text_of(body.account));
          s.setBic(text_of(body.bic));
        } else if constexpr (std::is_same_v<T, PayoutResultEvent>) {
          auto s = b.initPayoutResult();
          s.setPayout(text_of(body.payout));
          s.setStatus(body.paid ? PayoutStatus::PAID : PayoutStatus::FAILED);
          s.setReason(text_of(body.reason));
        } else {
          static_assert(sizeof(T) == 0, "every event type has a wire form");
        }
      },
      e.body);
}

Result<tally::Event> decode_event(Event::Reader r) {
  tally::Event e;
  e.header.id = text(r.getId());
  auto t = get_time(r.getAt(), "at");
  if (!t) return t.error();
  e.header.at = *t;
  e.header.marketplace = text(r.getMarketplace());
  e.header.meta = decode_meta(r.getMeta());
  switch (r.which()) {
    case Event::SALE: {
      auto s = r.getSale();
      e.body = SaleEvent{text(s.getSeller()), text(s.getAmount()), text(s.getCurrency()),
                         text(s.getCategory()), opt_text(s.hasAffiliate(), s.getAffiliate())};
      return e;
    }
    case Event::DELIVERED:
      e.body = DeliveredEvent{text(r.getDelivered().getSale())};
      return e;
    case Event::REFUND: {
      auto s = r.getRefund();
      e.body = RefundEvent{text(s.getSale()), text(s.getAmount())};
      return e;
    }
    case Event::CHARGEBACK: {
      auto s = r.getChargeback();
      e.body =
          ChargebackEvent{text(s.getSale()), text(s.getAmount()), opt_text(s.hasFee(), s.getFee())};
      return e;
    }
    case Event::EARNING: {
      auto s = r.getEarning();
      e.body = EarningEvent{text(s.getPayee()), text(s.getBasis()), text(s.getCurrency()),
                            text(s.getRule())};
      return e;
    }
    case Event::PASS_THROUGH: {
      auto s = r.getPassThrough();
      e.body = PassThroughEvent{text(s.getPayer()), text(s.getVendor()), text(s.getAmount()),
                                text(s.getCurrency())};
      return e;
    }
    case Event::PAYEE_HOLD: {
      auto s = r.getPayeeHold();
      e.body = PayeeHoldEvent{text(s.getPayee()), s.getOn(), text(s.getReason())};
      return e;
    }
    case Event::PAYEE_DETAILS: {
      auto s = r.getPayeeDetails();
      e.body = PayeeDetailsEvent{text(s.getPayee()), text(s.getName()), text(s.getAccount()),
                                 text(s.getBic())};
      return e;
    }
    case Event::PAYOUT_RESULT: {
      auto s = r.getPayoutResult();
      bool paid;
      switch (s.getStatus()) {
        case PayoutStatus::PAID:
          paid = true;
          break;
        case PayoutStatus::FAILED:
          paid = false;
          break;
        default:
          return reject(Code::bad_request, "status: unknown payout status");
      }
      e.body = PayoutResultEvent{text(s.getPayout()), paid, text(s.getReason())};
      return e;
    }
  }
  return reject(Code::bad_request, "type: unknown event type");
}

}  // namespace

// --- entries ------------------------------------------------------------------------------------

void encode(Entry::Builder b, const tally::Entry& e) {
  b.setId(text_of(e.id));
  b.setAt(e.at);
  b.setKind(text_of(e.kind));
  if (!e.meta.empty()) encode_meta(b.initMeta(static_cast<unsigned>(e.meta.size())), e.meta);
  auto ps = b.initPostings(static_cast<unsigned>(e.postings.size()));
  for (size_t i = 0; i < e.postings.size(); ++i) {
    const auto& p = e.postings[i];
    ps[i].setAccount(text_of(p.account));
    set_currency(ps[i].initCurrency(), p.currency);
    ps[i].setSide(side_to_wire(p.side));
    set_amount(ps[i].initAmount(), p.amount);
  }
}

Result<tally::Entry> decode(Entry::Reader r) {
  tally::Entry e;
  e.id = text(r.getId());
  auto t = get_time(r.getAt(), "at");
  if (!t) return t.error();
  e.at = *t;
  e.kind = text(r.getKind());
  e.meta = decode_meta(r.getMeta());
  auto ps = r.getPostings();
  if (ps.size() > limits::postings_per_entry_max)
    return reject(Code::too_many_postings, "postings: " + std::to_string(ps.size()) +
                                               " postings, at most " +
                                               std::to_string(limits::postings_per_entry_max));
  e.postings.reserve(ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    auto p = ps[static_cast<unsigned>(i)];
    std::string field = at("postings", i);
    auto c = get_currency(p.getCurrency(), field + ".currency");
    if (!c) return c.error();
    auto side = side_from_wire(p.getSide(), field + ".side");
    if (!side) return side.error();
    e.postings.push_back(
        tally::Posting{text(p.getAccount()), *c, *side, get_amount(p.getAmount())});
  }
  return e;
}

// --- items --------------------------------------------------------------------------------------

void encode_item(Item::Builder b, const PostItem& item) {
  b.setLinked(item.linked);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, OpenItem>) {
          auto o = b.initOpen();
          o.setAccount(text_of(body.account.name));
          o.setKind(kind_to_wire(body.account.kind));
          auto cs = o.initCurrencies(static_cast<unsigned>(body.account.currencies.size()));
          for (size_t i = 0; i < body.account.currencies.size(); ++i)
            set_currency(cs[static_cast<unsigned>(i)], body.account.currencies[i]);
          o.setNoOverdraft(body.account.no_overdraft());
        } else if constexpr (std::is_same_v<T, tally::Entry>) {
          encode(b.initEntry(), body);
        } else if constexpr (std::is_same_v<T, CloseAccountItem>) {
          b.initClose().setAccount(text_of(body.account));
        } else if constexpr (std::is_same_v<T, DeclareAssetItem>) {
          auto a = b.initAsset();
          a.setCode(text_of(body.code));
          // Out-of-range exponents travel as 255 and are rejected by the ledger, never wrapped.
          a.setExponent(body.exponent >= 0 && body.exponent <= 255
                            ? static_cast<uint8_t>(body.exponent)
                            : uint8_t{255});
        } else if constexpr (std::is_same_v<T, tally::Event>) {
          encode_event(b.initEvent(), body);
        } else {
          static_assert(sizeof(T) == 0, "every item type has a wire form");
        }
      },
      item.body);
}

Result<PostItem> decode_item(Item::Reader r) {
  PostItem item;
  item.linked = r.getLinked();
  switch (r.which()) {
    case Item::OPEN: {
      auto o = r.getOpen();
      OpenItem open;
      open.account.name = text(o.getAccount());
      auto k = kind_from_wire(o.getKind(), "kind");
      if (!k) return k.error();
      open.account.kind = *k;
      auto cs = o.getCurrencies();
      if (cs.size() > limits::currencies_per_account_max)
        return reject(
            Code::bad_request,
            "currencies: at most " + std::to_string(limits::currencies_per_account_max) + " per account");
      for (size_t i = 0; i < cs.size(); ++i) {
        auto c = get_currency(cs[static_cast<unsigned>(i)], at("currencies", i));
        if (!c) return c.error();
        open.account.currencies.push_back(*c);
      }
      open.account.flags = o.getNoOverdraft() ? kNoOverdraft : 0;
      item.body = std::move(open);
      return item;
    }
    case Item::ENTRY: {
      auto e = decode(r.getEntry());
      if (!e) return e.error();
      item.body = std::move(*e);
      return item;
    }
    case Item::CLOSE:
      item.body = CloseAccountItem{text(r.getClose().getAccount())};
      return item;
    case Item::ASSET: {
      auto a = r.getAsset();
      item.body = DeclareAssetItem{text(a.getCode()), a.getExponent()};
      return item;
    }
    case Item::EVENT: {
      auto e = decode_event(r.getEvent());
      if (!e) return e.error();
      item.body = std::move(*e);
      return item;
    }
  }
  return reject(Code::bad_request, "type: unknown item type");
}

void encode_result(ItemResult::Builder b, const tally::ItemResult& r) {
  switch (r.status) {
    case tally::ItemStatus::ok:
      b.setStatus(ItemStatus::OK);
      break;
    case tally::ItemStatus::duplicate:
      b.setStatus(ItemStatus::DUPLICATE);
      break;
    case tally::ItemStatus::error:
      b.setStatus(ItemStatus::ERROR);
      break;
  }
  b.setCode(to_wire(r.code));
  if (!r.message.empty()) b.setMessage(text_of(r.message));
  if (!r.id.empty()) b.setId(text_of(r.id));
  b.setSeq(r.seq);
  b.setCommitNs(r.commit_ns);
  if (!r.detail.empty()) b.setDetail(text_of(r.detail));
}

tally::ItemResult decode_result(ItemResult::Reader r) {
  tally::ItemResult x;
  switch (r.getStatus()) {
    case ItemStatus::OK:
      x.status = tally::ItemStatus::ok;
      break;
    case ItemStatus::DUPLICATE:
      x.status = tally::ItemStatus::duplicate;
      break;
    default:
      x.status = tally::ItemStatus::error;
      break;
  }
  x.code = from_wire(r.getCode());
  if (x.status == tally::ItemStatus::error && x.code == Code::ok) x.code = Code::internal;
  x.message = text(r.getMessage());
  x.id = text(r.getId());
  x.seq = r.getSeq();
  x.commit_ns = r.getCommitNs();
  x.detail = text(r.getDetail());
  return x;
}

// --- reads --------------------------------------------------------------------------------------

void encode_error(Error::Builder b, const Rejection& r) {
  b.setCode(to_wire(r.code));
  b.setMessage(text_of(r.message));
}

Rejection decode_error(Error::Reader r) {
  Code c = from_wire(r.getCode());
  if (c == Code::ok) c = Code::internal;
  return Rejection{c, text(r.getMessage())};
}

void encode(BalanceResult::Builder b, const tally::BalanceResult& v) {
  b.setAccount(text_of(v.account));
  b.setKind(kind_to_wire(v.kind));
  b.setNoOverdraft(v.flags & kNoOverdraft);
  b.setClosed(v.flags & kClosed);
  b.setAsOf(v.as_of);
  auto l = b.initBalances(static_cast<unsigned>(v.balances.size()));
  for (size_t i = 0; i < v.balances.size(); ++i)
    set_money(l[static_cast<unsigned>(i)], v.balances[i].currency, v.balances[i].balance);
}

Result<tally::BalanceResult> decode(BalanceResult::Reader r) {
  tally::BalanceResult v;
  v.account = text(r.getAccount());
  auto k = kind_from_wire(r.getKind(), "kind");
  if (!k) return k.error();
  v.kind = *k;
  v.flags =
      static_cast<uint8_t>((r.getNoOverdraft() ? kNoOverdraft : 0) | (r.getClosed() ? kClosed : 0));
  v.as_of = r.getAsOf();
  auto l = r.getBalances();
  for (size_t i = 0; i < l.size(); ++i) {
    auto m = get_money(l[static_cast<unsigned>(i)], at("balances", i));
    if (!m) return m.error();
    v.balances.push_back(*m);
  }
  return v;
}

void encode(BalancesResult::Builder b, const tally::BalancesResult& v) {
  b.setPrefix(text_of(v.prefix));
  b.setAsOf(v.as_of);
  const auto& rows = v.balances.accounts;
  auto l = b.initAccounts(static_cast<unsigned>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    e.setAccount(text_of(rows[i].account));
    set_currency(e.initCurrency(), rows[i].currency);
    set_amount(e.initBalance(), rows[i].balance);
  }
  const auto& totals = v.balances.totals;
  auto t = b.initTotals(static_cast<unsigned>(totals.size()));
  for (size_t i = 0; i < totals.size(); ++i)
    set_money(t[static_cast<unsigned>(i)], totals[i].currency, totals[i].balance);
}

Result<tally::BalancesResult> decode(BalancesResult::Reader r) {
  tally::BalancesResult v;
  v.prefix = text(r.getPrefix());
  v.as_of = r.getAsOf();
  auto l = r.getAccounts();
  v.balances.accounts.reserve(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto c = get_currency(e.getCurrency(), at("accounts", i) + ".currency");
    if (!c) return c.error();
    v.balances.accounts.push_back(
        tally::BalanceRow{text(e.getAccount()), *c, get_amount(e.getBalance())});
  }
  auto t = r.getTotals();
  for (size_t i = 0; i < t.size(); ++i) {
    auto m = get_money(t[static_cast<unsigned>(i)], at("totals", i));
    if (!m) return m.error();
    v.balances.totals.push_back(*m);
  }
  return v;
}

void encode(StatementQuery::Builder b, const tally::StatementQuery& q) {
  b.setAccount(text_of(q.account));
  if (q.from) b.initFrom().setNs(*q.from);
  if (q.to) b.initTo().setNs(*q.to);
  b.setByBusinessTime(q.by_business_time);
  b.setLimit(static_cast<uint32_t>(std::min<size_t>(q.limit, UINT32_MAX)));
  b.setAfter(text_of(q.after));
}

tally::StatementQuery decode(StatementQuery::Reader r) {
  tally::StatementQuery q;
  q.account = text(r.getAccount());
  if (r.hasFrom()) q.from = r.getFrom().getNs();
  if (r.hasTo()) q.to = r.getTo().getNs();
  q.by_business_time = r.getByBusinessTime();
  q.limit = r.getLimit();
  q.after = text(r.getAfter());
  return q;
}

void encode(StatementResult::Builder b, const tally::StatementResult& v) {
  b.setAccount(text_of(v.account));
  b.setKind(kind_to_wire(v.kind));
  const auto& lines = v.statement.lines;
  auto l = b.initLines(static_cast<unsigned>(lines.size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    const auto& x = lines[i];
    e.setSeq(x.seq);
    e.setEntryId(text_of(x.entry_id));
    e.setKind(text_of(x.kind));
    e.setAt(x.at);
    e.setCommitNs(x.commit_ns);
    set_currency(e.initCurrency(), x.currency);
    e.setSide(side_to_wire(x.side));
    set_amount(e.initAmount(), x.amount);
    set_amount(e.initBalanceAfter(), x.balance_after);
  }
  b.setNext(text_of(v.statement.next));
}

Result<tally::StatementResult> decode(StatementResult::Reader r) {
  tally::StatementResult v;
  v.account = text(r.getAccount());
  auto k = kind_from_wire(r.getKind(), "kind");
  if (!k) return k.error();
  v.kind = *k;
  auto l = r.getLines();
  v.statement.lines.reserve(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    tally::StatementLine x;
    x.seq = e.getSeq();
    x.entry_id = text(e.getEntryId());
    x.kind = text(e.getKind());
    x.at = e.getAt();
    x.commit_ns = e.getCommitNs();
    auto c = get_currency(e.getCurrency(), at("lines", i) + ".currency");
    if (!c) return c.error();
    x.currency = *c;
    auto s = side_from_wire(e.getSide(), at("lines", i) + ".side");
    if (!s) return s.error();
    x.side = *s;
    x.amount = get_amount(e.getAmount());
    x.balance_after = get_amount(e.getBalanceAfter());
    v.statement.lines.push_back(std::move(x));
  }
  v.statement.next = text(r.getNext());
  return v;
}

namespace {
Digest get_digest(capnp::Data::Reader d) {
  Digest out{};
  if (d.size() == out.size()) std::copy(d.begin(), d.end(), out.begin());
  return out;
}
capnp::Data::Reader data_of(const Digest& d) {
  return capnp::Data::Reader(d.data(), d.size());
}
}  // namespace

void encode(EntryView::Builder b, const tally::EntryView& v) {
  encode(b.initEntry(), v.entry);
  b.setSeq(v.seq);
  b.setCommitNs(v.commit_ns);
  b.setPrevHash(data_of(v.prev_hash));
  b.setHash(data_of(v.hash));
}

Result<tally::EntryView> decode(EntryView::Reader r) {
  // Stored entries may carry any time the ledger accepted; read the raw value back.
  tally::EntryView v;
  auto er = r.getEntry();
  v.entry.id = text(er.getId());
  v.entry.at = er.getAt();
  v.entry.kind = text(er.getKind());
  v.entry.meta = decode_meta(er.getMeta());
  auto ps = er.getPostings();
  for (size_t i = 0; i < ps.size(); ++i) {
    auto p = ps[static_cast<unsigned>(i)];
    auto c = get_currency(p.getCurrency(), at("postings", i) + ".currency");
    if (!c) return c.error();
    auto s = side_from_wire(p.getSide(), at("postings", i) + ".side");
    if (!s) return s.error();
    v.entry.postings.push_back(
        tally::Posting{text(p.getAccount()), *c, *s, get_amount(p.getAmount())});
  }
  v.seq = r.getSeq();
  v.commit_ns = r.getCommitNs();
  v.prev_hash = get_digest(r.getPrevHash());
  v.hash = get_digest(r.getHash());
  return v;
}

void encode(TrialBalance::Builder b, const tally::TrialBalanceResult& v) {
  b.setAsOf(v.as_of);
  auto l = b.initCurrencies(static_cast<unsigned>(v.currencies.size()));
  for (size_t i = 0; i < v.currencies.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    set_currency(e.initCurrency(), v.currencies[i].currency);
    set_amount(e.initDebits(), v.currencies[i].debits);
    set_amount(e.initCredits(), v.currencies[i].credits);
  }
}

Result<tally::TrialBalanceResult> decode(TrialBalance::Reader r) {
  tally::TrialBalanceResult v;
  v.as_of = r.getAsOf();
  auto l = r.getCurrencies();
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto c = get_currency(e.getCurrency(), at("currencies", i) + ".currency");
    if (!c) return c.error();
    v.currencies.push_back(
        tally::TrialBalanceRow{*c, get_amount(e.getDebits()), get_amount(e.getCredits())});
  }
  return v;
}

void encode(VerifyReport::Builder b, const tally::VerifyReport& v) {
  b.setOk(v.ok);
  b.setEntries(v.entries);
  b.setPostings(v.postings);
  b.setProblem(text_of(v.problem));
  b.setHead(data_of(v.head));
}

tally::VerifyReport decode(VerifyReport::Reader r) {
  tally::VerifyReport v;
  v.ok = r.getOk();
  v.entries = r.getEntries();
  v.postings = r.getPostings();
  v.problem = text(r.getProblem());
  v.head = get_digest(r.getHead());
  return v;
}

void encode(ExportSummary::Builder b, const tally::ExportSummary& v) {
  b.setEntries(v.entries);
  b.setPostings(v.postings);
  b.setLastSeq(v.last_seq);
}

tally::ExportSummary decode(ExportSummary::Reader r) {
  return tally::ExportSummary{r.getEntries(), r.getPostings(), r.getLastSeq()};
}

void encode(ClosePeriodResult::Builder b, const tally::ClosePeriodResult& v) {
  b.setThrough(text_of(v.through));
  b.setEndExclusive(v.end_exclusive);
  encode_result(b.initResult(), v.result);
}

tally::ClosePeriodResult decode(ClosePeriodResult::Reader r) {
  return tally::ClosePeriodResult{text(r.getThrough()), r.getEndExclusive(),
                                  decode_result(r.getResult())};
}

namespace {
using CarryReason = ::tally::wire::CarryReason;
CarryReason carry_to_wire(tally::CarryReason c) {
  switch (c) {
    case tally::CarryReason::below_minimum:
      return CarryReason::BELOW_MINIMUM;
    case tally::CarryReason::negative:
      return CarryReason::NEGATIVE;
    case tally::CarryReason::on_hold:
      return CarryReason::ON_HOLD;
    case tally::CarryReason::no_details:
      return CarryReason::NO_DETAILS;
    case tally::CarryReason::account_closed:
      return CarryReason::ACCOUNT_CLOSED;
  }
  return CarryReason::BELOW_MINIMUM;
}
Result<tally::CarryReason> carry_from_wire(CarryReason c) {
  switch (c) {
    case CarryReason::BELOW_MINIMUM:
      return tally::CarryReason::below_minimum;
    case CarryReason::NEGATIVE:
      return tally::CarryReason::negative;
    case CarryReason::ON_HOLD:
      return tally::CarryReason::on_hold;
    case CarryReason::NO_DETAILS:
      return tally::CarryReason::no_details;
    case CarryReason::ACCOUNT_CLOSED:
      return tally::CarryReason::account_closed;
  }
  return reject(Code::bad_request, "carried.reason: unknown carry reason");
}

void encode_totals(capnp::List<CurrencyAmount>::Builder l, const std::vector<CurrencyTotal>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    set_money(l[static_cast<unsigned>(i)], v[i].currency, v[i].balance);
}
Result<std::vector<CurrencyTotal>> decode_totals(capnp::List<CurrencyAmount>::Reader l,
                                                 std::string_view field) {
  std::vector<CurrencyTotal> out;
  for (size_t i = 0; i < l.size(); ++i) {
    auto m = get_money(l[static_cast<unsigned>(i)], at(field, i));
    if (!m) return m.error();
    out.push_back(*m);
  }
  return out;
}
}  // namespace

namespace {
// Rows of a run: in a Run or in a RunRows.rows call (the same three lists).
template <class B>
void encode_rows_into(B b, const tally::RunRowsResult& v) {
  auto rel = b.initReleased(static_cast<unsigned>(v.released.size()));
  for (size_t i = 0; i < v.released.size(); ++i) {
    auto e = rel[static_cast<unsigned>(i)];
    e.setPayee(text_of(v.released[i].payee));
    set_money(e.initAmount(), v.released[i].currency, v.released[i].amount);
  }
  auto pay = b.initPayouts(static_cast<unsigned>(v.payouts.size()));
  for (size_t i = 0; i < v.payouts.size(); ++i) {
    auto e = pay[static_cast<unsigned>(i)];
    e.setPayout(text_of(v.payouts[i].payout));
    e.setPayee(text_of(v.payouts[i].payee));
    set_money(e.initAmount(), v.payouts[i].currency, v.payouts[i].amount);
  }
  auto car = b.initCarried(static_cast<unsigned>(v.carried.size()));
  for (size_t i = 0; i < v.carried.size(); ++i) {
    auto e = car[static_cast<unsigned>(i)];
    e.setPayee(text_of(v.carried[i].payee));
    set_money(e.initBalance(), v.carried[i].currency, v.carried[i].balance);
    e.setReason(carry_to_wire(v.carried[i].reason));
  }
}

template <class R>
Result<bool> decode_rows_from(R r, tally::RunRowsResult& v) {
  auto rel = r.getReleased();
  for (size_t i = 0; i < rel.size(); ++i) {
    auto e = rel[static_cast<unsigned>(i)];
    auto m = get_money(e.getAmount(), at("released", i));
    if (!m) return m.error();
    v.released.push_back(tally::ReleasedLine{text(e.getPayee()), m->currency, m->balance});
  }
  auto pay = r.getPayouts();
  for (size_t i = 0; i < pay.size(); ++i) {
    auto e = pay[static_cast<unsigned>(i)];
    auto m = get_money(e.getAmount(), at("payouts", i));
    if (!m) return m.error();
    v.payouts.push_back(
        PayoutLineResult{text(e.getPayout()), text(e.getPayee()), m->currency, m->balance});
  }
  auto car = r.getCarried();
  for (size_t i = 0; i < car.size(); ++i) {
    auto e = car[static_cast<unsigned>(i)];
    auto m = get_money(e.getBalance(), at("carried", i));
    if (!m) return m.error();
    auto reason = carry_from_wire(e.getReason());
    if (!reason) return reason.error();
    v.carried.push_back(tally::CarriedLine{text(e.getPayee()), m->currency, m->balance, *reason});
  }
  return true;
}

RunState state_to_wire(tally::RunStateResult s) {
  return s == tally::RunStateResult::complete ? RunState::COMPLETE : RunState::IN_PROGRESS;
}
Result<tally::RunStateResult> state_from_wire(RunState s) {
  switch (s) {
    case RunState::COMPLETE:
      return tally::RunStateResult::complete;
    case RunState::IN_PROGRESS:
      return tally::RunStateResult::in_progress;
  }
  return reject(Code::bad_request, "state: unknown run state");
}
}  // namespace

void encode(Run::Builder b, const tally::RunResult& v) {
  b.setRun(text_of(v.run));
  b.setMarketplace(text_of(v.marketplace));
  b.setPayDate(text_of(v.pay_date));
  b.setCutoff(v.cutoff);
  b.setDryRun(v.dry_run);
  b.setExisting(v.existing);
  encode_rows_into(b, v);
  encode_totals(b.initPaidTotals(static_cast<unsigned>(v.paid_totals.size())), v.paid_totals);
  b.setState(state_to_wire(v.state));
  b.setChunks(v.chunks);
  b.setPayees(v.payees);
  b.setRows(v.rows);
  auto tl = b.initTotals(static_cast<unsigned>(v.totals.size()));
  for (size_t i = 0; i < v.totals.size(); ++i) {
    auto e = tl[static_cast<unsigned>(i)];
    const auto& t = v.totals[i];
    set_currency(e.initCurrency(), t.currency);
    set_amount(e.initReleased(), t.released);
    set_amount(e.initPaid(), t.paid);
    set_amount(e.initCarried(), t.carried);
    e.setPayeesPaid(t.payees_paid);
    e.setPayeesCarried(t.payees_carried);
  }
}

Result<tally::RunResult> decode(Run::Reader r) {
  tally::RunResult v;
  v.run = text(r.getRun());
  v.marketplace = text(r.getMarketplace());
  v.pay_date = text(r.getPayDate());
  v.cutoff = r.getCutoff();
  v.dry_run = r.getDryRun();
  v.existing = r.getExisting();
  if (auto rows = decode_rows_from(r, v); !rows) return rows.error();
  auto totals = decode_totals(r.getPaidTotals(), "paidTotals");
  if (!totals) return totals.error();
  v.paid_totals = std::move(*totals);
  auto state = state_from_wire(r.getState());
  if (!state) return state.error();
  v.state = *state;
  v.chunks = r.getChunks();
  v.payees = r.getPayees();
  v.rows = r.getRows();
  auto tl = r.getTotals();
  for (size_t i = 0; i < tl.size(); ++i) {
    auto e = tl[static_cast<unsigned>(i)];
    std::string field = at("totals", i);
    auto c = get_currency(e.getCurrency(), field + ".currency");
    if (!c) return c.error();
    tally::RunTotalLine t{*c,
                          get_amount(e.getReleased()),
                          get_amount(e.getPaid()),
                          get_amount(e.getCarried()),
                          e.getPayeesPaid(),
                          e.getPayeesCarried()};
    v.totals.push_back(t);
  }
  return v;
}

void encode_rows(RunRows::RowsParams::Builder b, const tally::RunRowsResult& v) {
  encode_rows_into(b, v);
}

Result<tally::RunRowsResult> decode_rows(RunRows::RowsParams::Reader r) {
  tally::RunRowsResult v;
  if (auto rows = decode_rows_from(r, v); !rows) return rows.error();
  return v;
}

void encode(RunSummary::Builder b, const tally::RunSummary& v) {
  b.setRun(text_of(v.run));
  b.setPayDate(text_of(v.pay_date));
  b.setCutoff(v.cutoff);
  b.setCommittedNs(v.committed_ns);
  b.setPayeesPaid(v.payees_paid);
  b.setPayeesCarried(v.payees_carried);
  encode_totals(b.initPaidTotals(static_cast<unsigned>(v.paid_totals.size())), v.paid_totals);
  b.setState(state_to_wire(v.state));
  b.setChunks(v.chunks);
  b.setPayees(v.payees);
}

Result<tally::RunSummary> decode(RunSummary::Reader r) {
  tally::RunSummary v;
  v.run = text(r.getRun());
  v.pay_date = text(r.getPayDate());
  v.cutoff = r.getCutoff();
  v.committed_ns = r.getCommittedNs();
  v.payees_paid = r.getPayeesPaid();
  v.payees_carried = r.getPayeesCarried();
  auto totals = decode_totals(r.getPaidTotals(), "paidTotals");
  if (!totals) return totals.error();
  v.paid_totals = std::move(*totals);
  auto state = state_from_wire(r.getState());
  if (!state) return state.error();
  v.state = *state;
  v.chunks = r.getChunks();
  v.payees = r.getPayees();
  return v;
}

}  // namespace tally::wire
