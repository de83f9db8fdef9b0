#include "settlement/run_journal.h"

#include <algorithm>

#include "ledger/codec.h"

namespace tally {

namespace {

// v3 added the totals of reserves, payout tax and kept balances; v2 records (from before) are
// read with those zero. Rows: v2 added the reserve rows, each payout's tax and kept balance and
// its line's rail details; v1 rows are read with none.
constexpr std::string_view kRecordMagic = "tally.run.v3";
constexpr std::string_view kRecordMagicV2 = "tally.run.v2";
constexpr std::string_view kRowsMagic = "tally.rows.v2";
constexpr std::string_view kRowsMagicV1 = "tally.rows.v1";
static_assert(kRecordMagic.size() == kRecordMagicV2.size() &&
              kRowsMagic.size() == kRowsMagicV1.size());
constexpr uint8_t kCarryMax = static_cast<uint8_t>(SettlementCarry::account_closed);

void put_currency(Encoder& e, const Currency& c) {
  e.str(c.code());
  e.u8(static_cast<uint8_t>(c.exponent()));
}
std::optional<Currency> get_currency(Decoder& d) {
  std::string code(d.str());
  int exponent = d.u8();
  if (!d.ok()) return std::nullopt;
  return Currency::make(code, exponent);
}

// Amount text in a row needs its currency; rows store the code and look the exponent up.
bool known(const std::vector<Currency>& currencies, std::string_view code) {
  for (const auto& c : currencies)
    if (c.code() == code) return true;
  return false;
}
std::optional<Currency> find(const std::vector<Currency>& currencies, std::string_view code) {
  for (const auto& c : currencies)
    if (c.code() == code) return c;
  return std::nullopt;
}

}  // namespace

std::string encode_run_record(const RunRecord& r) {
  Encoder e;
  e.bytes(kRecordMagic);
  e.str(r.run), e.str(r.marketplace), e.str(r.pay_date), e.i64(r.cutoff);
  e.u32(static_cast<uint32_t>(r.currencies.size()));
  for (const auto& c : r.currencies) put_currency(e, c);
  e.u8(static_cast<uint8_t>(r.state));
  e.u64(r.chunks), e.u64(r.payees), e.str(r.last_payee);
  e.u32(static_cast<uint32_t>(r.totals.size()));
  for (const auto& t : r.totals) {
    e.str(t.currency), e.i128(t.released.minor()), e.i128(t.paid.minor()),
        e.i128(t.carried.minor());
    e.u64(t.payees_paid), e.u64(t.payees_carried);
    e.i128(t.reserved.minor()), e.i128(t.reserve_released.minor()), e.i128(t.tax.minor());
    e.i128(t.kept.minor());
  }
  e.i64(r.started_ns), e.i64(r.committed_ns);
  e.u64(r.released_rows), e.u64(r.payout_rows), e.u64(r.carried_rows);
  return e.take();
}

bool decode_run_record(std::string_view bytes, RunRecord& r) {
  Decoder d(bytes);
  std::string_view magic = d.bytes(kRecordMagic.size());
  const bool v3 = magic == kRecordMagic;
  if (!v3 && magic != kRecordMagicV2) return false;
  r.run = d.str(), r.marketplace = d.str(), r.pay_date = d.str(), r.cutoff = d.i64();
  r.currencies.clear();
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    auto c = get_currency(d);
    if (!c) return false;
    r.currencies.push_back(*c);
  }
  uint8_t state = d.u8();
  if (state != static_cast<uint8_t>(RunState::in_progress) &&
      state != static_cast<uint8_t>(RunState::complete))
    return false;
  r.state = static_cast<RunState>(state);
  r.chunks = d.u64(), r.payees = d.u64(), r.last_payee = d.str();
  r.totals.clear();
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunTotal t;
    t.currency = d.str();
    t.released = Amount::from_minor(d.i128());
    t.paid = Amount::from_minor(d.i128());
    t.carried = Amount::from_minor(d.i128());
    t.payees_paid = d.u64(), t.payees_carried = d.u64();
    if (v3) {
      t.reserved = Amount::from_minor(d.i128());
      t.reserve_released = Amount::from_minor(d.i128());
      t.tax = Amount::from_minor(d.i128());
      t.kept = Amount::from_minor(d.i128());
    }
    if (!known(r.currencies, t.currency)) return false;
    r.totals.push_back(std::move(t));
  }
  r.started_ns = d.i64(), r.committed_ns = d.i64();
  r.released_rows = d.u64(), r.payout_rows = d.u64(), r.carried_rows = d.u64();
  return d.done();
}

std::string encode_run_rows(const RunRows& rows) {
  const RunRows* one = &rows;
  return encode_run_rows(std::span<const RunRows* const>(&one, 1));
}

namespace {

void put_ach(Encoder& e, const std::optional<PayeeAchDetails>& a) {
  e.u8(a.has_value());
  if (!a) return;
  e.str(a->routing), e.str(a->account);
  e.u8(static_cast<uint8_t>(a->account_type)), e.u8(static_cast<uint8_t>(a->receiver_kind));
}
bool get_ach(Decoder& d, std::optional<PayeeAchDetails>& a) {
  a.reset();
  if (!d.u8()) return d.ok();
  PayeeAchDetails x;
  x.routing = d.str(), x.account = d.str();
  uint8_t type = d.u8(), kind = d.u8();
  if (type > 1 || kind > 1) return false;
  x.account_type = static_cast<AchAccountType>(type);
  x.receiver_kind = static_cast<AchReceiverKind>(kind);
  a = std::move(x);
  return d.ok();
}
void put_co(Encoder& e, const std::optional<PayeeCoDetails>& c) {
  e.u8(c.has_value());
  if (!c) return;
  e.str(c->bank_code), e.u8(static_cast<uint8_t>(c->account_type)), e.str(c->account_number);
  e.u8(static_cast<uint8_t>(c->document_type)), e.str(c->document_number);
}
bool get_co(Decoder& d, std::optional<PayeeCoDetails>& c) {
  c.reset();
  if (!d.u8()) return d.ok();
  PayeeCoDetails x;
  x.bank_code = d.str();
  uint8_t type = d.u8();
  x.account_number = d.str();
  uint8_t doc = d.u8();
  x.document_number = d.str();
  if (type > 1 || doc > 3) return false;
  x.account_type = static_cast<CoAccountType>(type);
  x.document_type = static_cast<CoDocumentType>(doc);
  c = std::move(x);
  return d.ok();
}

}  // namespace

std::string encode_run_rows(std::span<const RunRows* const> parts) {
  Encoder e;
  e.bytes(kRowsMagic);
  auto count = [&](auto member) {
    size_t n = 0;
    for (const RunRows* r : parts) n += (r->*member).size();
    e.u32(static_cast<uint32_t>(n));
  };
  auto amounts = [&](auto member) {
    count(member);
    for (const RunRows* r : parts)
      for (const auto& x : r->*member) e.str(x.payee), e.str(x.currency), e.i128(x.amount.minor());
  };
  amounts(&RunRows::released);
  count(&RunRows::payouts);
  for (const RunRows* r : parts)
    for (size_t i = 0; i < r->payouts.size(); ++i) {
      const auto& x = r->payouts[i];
      const auto& l = r->lines[i];
      e.str(x.payout), e.str(x.payee), e.str(x.currency), e.i128(x.amount.minor());
      e.str(l.creditor_name), e.str(l.creditor_account), e.str(l.creditor_bic);
      e.i128(x.tax.minor()), e.i128(x.kept.minor());
      put_ach(e, l.ach), put_co(e, l.co);
    }
  count(&RunRows::carried);
  for (const RunRows* r : parts)
    for (const auto& x : r->carried) {
      e.str(x.payee), e.str(x.currency), e.i128(x.balance.minor());
      e.u8(static_cast<uint8_t>(x.reason));
    }
  amounts(&RunRows::reserved);
  amounts(&RunRows::reserve_released);
  return e.take();
}

bool decode_run_rows(std::string_view bytes, const std::vector<Currency>& currencies,
                     RunRows& rows) {
  Decoder d(bytes);
  std::string_view magic = d.bytes(kRowsMagic.size());
  const bool v2 = magic == kRowsMagic;
  if (!v2 && magic != kRowsMagicV1) return false;
  auto amounts = [&](std::vector<RunRelease>& into) {
    for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
      RunRelease x{std::string(d.str()), std::string(d.str()), Amount::from_minor(d.i128())};
      if (!known(currencies, x.currency)) return false;
      into.push_back(std::move(x));
    }
    return d.ok();
  };
  if (!amounts(rows.released)) return false;
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunPayout x{std::string(d.str()), std::string(d.str()), std::string(d.str()),
                Amount::from_minor(d.i128())};
    PayoutLine l;
    l.creditor_name = d.str(), l.creditor_account = d.str(), l.creditor_bic = d.str();
    if (v2) {
      x.tax = Amount::from_minor(d.i128());
      x.kept = Amount::from_minor(d.i128());
      if (!get_ach(d, l.ach) || !get_co(d, l.co)) return false;
    }
    auto c = find(currencies, x.currency);
    if (!c) return false;
    l.payout_id = x.payout, l.payee = x.payee, l.currency = *c, l.amount = x.amount;
    rows.payouts.push_back(std::move(x));
    rows.lines.push_back(std::move(l));
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunCarried x{std::string(d.str()), std::string(d.str()), Amount::from_minor(d.i128()), {}};
    uint8_t reason = d.u8();
    if (reason > kCarryMax || !known(currencies, x.currency)) return false;
    x.reason = static_cast<SettlementCarry>(reason);
    rows.carried.push_back(std::move(x));
  }
  if (v2 && (!amounts(rows.reserved) || !amounts(rows.reserve_released))) return false;
  return d.done();
}

std::optional<RunRecord> load_run_record(TableReader& t, const tables::Handles& h,
                                         std::string_view mk, std::string_view pay_date) {
  auto v = t.get(h.runs, tables::run_key(mk, pay_date));
  if (!v) return std::nullopt;
  RunRecord r;
  if (!decode_run_record(*v, r))
    throw StoreCorruption("run record " + std::string(mk) + ":" + std::string(pay_date));
  return r;
}

void visit_run_records(TableReader& t, const tables::Handles& h, std::string_view mk,
                       const std::function<bool(const RunRecord&)>& visit) {
  std::string prefix = mk.empty() ? std::string() : std::string(mk) + '\0';
  t.scan(h.runs, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    RunRecord r;
    if (!decode_run_record(v, r)) {
      std::string id(k);
      std::replace(id.begin(), id.end(), '\0', ':');
      throw StoreCorruption("run record " + id);
    }
    return visit(r);
  });
}

void visit_run_rows(TableReader& t, const tables::Handles& h, const RunRecord& record,
                    const std::function<void(RunRows&&)>& visit) {
  for (uint64_t k = 0; k < record.chunks; ++k) {
    auto v = t.get(h.run_chunks, tables::run_chunk_key(record.marketplace, record.pay_date, k));
    RunRows rows;
    if (!v || !decode_run_rows(*v, record.currencies, rows))
      throw StoreCorruption("rows of chunk " + std::to_string(k) + " of run " + record.run);
    visit(std::move(rows));
  }
}

std::optional<std::vector<RunTotal>> totals_with(std::vector<RunTotal> totals,
                                                 const RunRows& rows) {
  auto total = [&](const std::string& code) -> RunTotal& {
    auto it =
        std::lower_bound(totals.begin(), totals.end(), code,
                         [](const RunTotal& t, const std::string& c) { return t.currency < c; });
    if (it == totals.end() || it->currency != code)
      it = totals.insert(it, RunTotal{code, {}, {}, {}});
    return *it;
  };
  auto add = [](Amount& a, Amount b) {
    auto s = checked_add(a, b);
    if (s) a = *s;
    return s.has_value();
  };
  for (const auto& x : rows.released)
    if (!add(total(x.currency).released, x.amount)) return std::nullopt;
  for (const auto& x : rows.reserved)
    if (!add(total(x.currency).reserved, x.amount)) return std::nullopt;
  for (const auto& x : rows.reserve_released)
    if (!add(total(x.currency).reserve_released, x.amount)) return std::nullopt;
  for (const auto& x : rows.payouts) {
    RunTotal& t = total(x.currency);
    if (!add(t.paid, x.amount) || !add(t.tax, x.tax) || !add(t.kept, x.kept)) return std::nullopt;
    ++t.payees_paid;
  }
  for (const auto& x : rows.carried) {
    RunTotal& t = total(x.currency);
    if (!add(t.carried, x.balance)) return std::nullopt;
    ++t.payees_carried;
  }
  return totals;
}

SettlementRun run_header(const RunRecord& r) {
  SettlementRun s;
  s.run = r.run;
  s.marketplace = r.marketplace;
  s.pay_date = r.pay_date;
  s.cutoff = r.cutoff;
  s.currencies = r.currencies;
  s.totals = r.totals;
  s.state = r.state;
  s.chunks = r.chunks;
  s.payees = r.payees;
  s.started_ns = r.started_ns;
  s.committed_ns = r.committed_ns;
  return s;
}

}  // namespace tally
