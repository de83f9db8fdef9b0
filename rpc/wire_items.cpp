// Events, entries, items and their results on the wire (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

#include <algorithm>

namespace tally::wire {

namespace {

void encode_event(Event::Builder b, const tally::Event& e) {
  b.setId(text_of(e.header.id));
  b.setAt(text_of(format_rfc3339(e.header.at)));
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
          if (body.ach) {
            auto a = s.initAch();
            a.setRouting(text_of(body.ach->routing));
            a.setAccount(text_of(body.ach->account));
            a.setAccountType(text_of(body.ach->account_type));
            a.setReceiverKind(text_of(body.ach->receiver_kind));
          }
          if (body.co) {
            auto c = s.initCo();
            c.setBankCode(text_of(body.co->bank_code));
            c.setAccountType(text_of(body.co->account_type));
            c.setAccountNumber(text_of(body.co->account_number));
            c.setDocumentType(text_of(body.co->document_type));
            c.setDocumentNumber(text_of(body.co->document_number));
          }
        } else if constexpr (std::is_same_v<T, PayoutResultEvent>) {
          auto s = b.initPayoutResult();
          s.setPayout(text_of(body.payout));
          switch (body.status()) {
            case PayoutResultStatus::paid:
              s.setStatus(PayoutStatus::PAID);
              break;
            case PayoutResultStatus::failed:
              s.setStatus(PayoutStatus::FAILED);
              break;
            case PayoutResultStatus::returned:
              s.setStatus(PayoutStatus::RETURNED);
              break;
          }
          s.setReason(text_of(body.reason));
          s.setReasonCode(text_of(body.reason_code));
        } else if constexpr (std::is_same_v<T, PayeeTermsEvent>) {
          auto s = b.initPayeeTerms();
          s.setPayee(text_of(body.payee));
          if (body.reserve) {
            auto r = s.initReserve();
            r.setRate(text_of(body.reserve->rate));
            r.setDays(body.reserve->days);
          }
          if (!body.minimum_balance.empty()) {
            auto m = s.initMinimumBalance(static_cast<unsigned>(body.minimum_balance.size()));
            for (unsigned i = 0; i < m.size(); ++i) {
              m[i].setCurrency(text_of(body.minimum_balance[i].first));
              m[i].setAmount(text_of(body.minimum_balance[i].second));
            }
          }
        } else {
          static_assert(sizeof(T) == 0, "every event type has a wire form");
        }
      },
      e.body);
}

// An id over the limit is refused here, before it goes further (and is never echoed whole).
Result<bool> check_id_size(capnp::Text::Reader id) {
  if (id.size() > limits::entry_id_bytes_max)
    return reject(Code::bad_id, "id: " + std::to_string(id.size()) + " bytes, at most " +
                                    std::to_string(limits::entry_id_bytes_max));
  return true;
}

Result<tally::Event> decode_event(Event::Reader r) {
  tally::Event e;
  if (auto ok = check_id_size(r.getId()); !ok) return ok.error();
  e.header.id = text(r.getId());
  auto t = get_time_text(r.hasAt(), r.getAt(), "at");
  if (!t) return t.error();
  e.header.at = *t;
  e.header.marketplace = text(r.getMarketplace());
  auto meta = decode_meta(r.getMeta(), "meta");
  if (!meta) return meta.error();
  e.header.meta = std::move(*meta);
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
      PayeeDetailsEvent d{text(s.getPayee()), text(s.getName()), text(s.getAccount()),
                          text(s.getBic())};
      if (s.hasAch()) {
        auto a = s.getAch();
        d.ach = PayeeAchFields{text(a.getRouting()), text(a.getAccount()), text(a.getAccountType()),
                               text(a.getReceiverKind())};
      }
      if (s.hasCo()) {
        auto c = s.getCo();
        d.co = PayeeCoFields{text(c.getBankCode()), text(c.getAccountType()),
                             text(c.getAccountNumber()), text(c.getDocumentType()),
                             text(c.getDocumentNumber())};
      }
      e.body = std::move(d);
      return e;
    }
    case Event::PAYOUT_RESULT: {
      auto s = r.getPayoutResult();
      PayoutResultStatus status;
      switch (s.getStatus()) {
        case PayoutStatus::PAID:
          status = PayoutResultStatus::paid;
          break;
        case PayoutStatus::FAILED:
          status = PayoutResultStatus::failed;
          break;
        case PayoutStatus::RETURNED:
          status = PayoutResultStatus::returned;
          break;
        default:
          return reject(Code::bad_request, "status: unknown payout status");
      }
      e.body = PayoutResultEvent::of(text(s.getPayout()), status, text(s.getReason()),
                                     text(s.getReasonCode()));
      return e;
    }
    case Event::PAYEE_TERMS: {
      auto s = r.getPayeeTerms();
      PayeeTermsEvent terms{text(s.getPayee()), std::nullopt, {}};
      if (s.hasReserve())
        terms.reserve =
            PayeeTermsEvent::Reserve{text(s.getReserve().getRate()), s.getReserve().getDays()};
      // A payee's account holds at most currencies_per_account_max currencies: a longer list
      // (a list of empty structs costs its sender nothing) is refused before it is copied.
      auto mins = s.getMinimumBalance();
      if (mins.size() > limits::currencies_per_account_max)
        return reject(Code::bad_request, "minimum_balance: " + std::to_string(mins.size()) +
                                             " currencies, at most " +
                                             std::to_string(limits::currencies_per_account_max));
      for (auto m : mins)
        terms.minimum_balance.emplace_back(text(m.getCurrency()), text(m.getAmount()));
      e.body = std::move(terms);
      return e;
    }
  }
  return reject(Code::bad_request, "type: unknown event type");
}

// The flat JSON object of string values the marketplace rules write as an item's detail
// ({"commission":"12.00",...}); empty when `s` is not one.
std::vector<std::pair<std::string, std::string>> flat_strings(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  auto str = [&](std::string& into) {
    if (i >= s.size() || s[i] != '"') return false;
    size_t end = s.find('"', i + 1);
    if (end == std::string_view::npos ||
        s.substr(i + 1, end - i - 1).find('\\') != std::string_view::npos)
      return false;
    into = std::string(s.substr(i + 1, end - i - 1));
    i = end + 1;
    return true;
  };
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return {};
  i = 1;
  while (i < s.size() - 1) {
    std::string k, v;
    if (!str(k) || i >= s.size() || s[i++] != ':' || !str(v)) return {};
    out.emplace_back(std::move(k), std::move(v));
    if (s[i] == ',') ++i;
  }
  return out;
}

// Sets the breakdown field the detail describes (by its keys), if any.
void encode_breakdown(ItemResult::Builder b, std::string_view detail) {
  auto kv = flat_strings(detail);
  if (kv.empty()) return;
  auto get = [&](std::string_view key) {
    for (auto& [k, v] : kv)
      if (k == key) return capnp::Text::Reader(v.data(), v.size());
    return capnp::Text::Reader();
  };
  auto has = [&](std::string_view key) {
    return std::any_of(kv.begin(), kv.end(), [&](auto& p) { return p.first == key; });
  };
  if (has("commission")) {
    auto s = b.initSale();
    s.setCurrency(get("currency"));
    s.setCommission(get("commission"));
    s.setAffiliate(get("affiliate"));
    s.setFee(get("fee"));
    s.setSeller(get("seller"));
  } else if (has("refunded_total")) {
    auto r = b.initRefund();
    r.setCurrency(get("currency"));
    r.setSeller(get("seller"));
    r.setPlatform(get("platform"));
    r.setAffiliate(get("affiliate"));
    r.setRefundedTotal(get("refunded_total"));
  } else if (has("earned")) {
    auto e = b.initEarning();
    e.setCurrency(get("currency"));
    e.setEarned(get("earned"));
    e.setMinimum(get("minimum"));
    e.setPaid(get("paid"));
  }
}

}  // namespace

// --- entries ------------------------------------------------------------------------------------

void encode(Entry::Builder b, const tally::Entry& e) {
  b.setId(text_of(e.id));
  b.setAt(text_of(format_rfc3339(e.at)));
  b.setKind(text_of(e.kind));
  if (!e.meta.empty()) encode_meta(b.initMeta(static_cast<unsigned>(e.meta.size())), e.meta);
  auto ps = b.initPostings(static_cast<unsigned>(e.postings.size()));
  for (size_t i = 0; i < e.postings.size(); ++i) {
    const auto& p = e.postings[i];
    ps[i].setAccount(text_of(p.account));
    ps[i].setCurrency(text_of(p.currency.code()));
    ps[i].setSide(side_to_wire(p.side));
    ps[i].setAmount(text_of(format_amount(p.amount, p.currency)));
  }
}

Result<tally::Entry> decode(Entry::Reader r, const FindCurrency& find) {
  tally::Entry e;
  if (auto ok = check_id_size(r.getId()); !ok) return ok.error();
  e.id = text(r.getId());
  auto t = get_time_text(r.hasAt(), r.getAt(), "at");
  if (!t) return t.error();
  e.at = *t;
  e.kind = text(r.getKind());
  auto meta = decode_meta(r.getMeta(), "meta");
  if (!meta) return meta.error();
  e.meta = std::move(*meta);
  auto ps = r.getPostings();
  if (ps.size() > limits::postings_per_entry_max)
    return reject(Code::too_many_postings, "postings: " + std::to_string(ps.size()) +
                                               " postings, at most " +
                                               std::to_string(limits::postings_per_entry_max));
  e.postings.reserve(ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    auto p = ps[static_cast<unsigned>(i)];
    std::string field = at("postings", i);
    auto c = find_code(p.getCurrency(), find, field + ".currency");
    if (!c) return c.error();
    auto side = side_from_wire(p.getSide(), field + ".side");
    if (!side) return side.error();
    auto amount = amount_in(*c, p.getAmount(), field + ".amount");
    if (!amount) return amount.error();
    e.postings.push_back(tally::Posting{text(p.getAccount()), *c, *side, *amount});
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
            cs.set(static_cast<unsigned>(i), text_of(body.account.currencies[i].code()));
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

Result<PostItem> decode_item(Item::Reader r, const FindCurrency& find) {
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
        return reject(Code::bad_request, "currencies: at most " +
                                             std::to_string(limits::currencies_per_account_max) +
                                             " per account");
      for (size_t i = 0; i < cs.size(); ++i) {
        auto c = find_code(cs[static_cast<unsigned>(i)], find, at("currencies", i));
        if (!c) return c.error();
        open.account.currencies.push_back(*c);
      }
      open.account.flags = o.getNoOverdraft() ? kNoOverdraft : 0;
      item.body = std::move(open);
      return item;
    }
    case Item::ENTRY: {
      auto e = decode(r.getEntry(), find);
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
  if (!r.id.empty()) b.setId(text_of(echoed_id(r.id)));
  b.setSeq(r.seq);
  b.setCommitNs(r.commit_ns);
  if (!r.detail.empty()) {
    b.setDetail(text_of(r.detail));
    encode_breakdown(b, r.detail);
  }
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

}  // namespace tally::wire
