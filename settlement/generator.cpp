#include "settlement/generator.h"
#include "ledger/json_writer.h"

#include <algorithm>

namespace tally {

namespace {

int64_t pow10(int e) {
  int64_t v = 1;
  for (int i = 0; i < e; ++i) v *= 10;
  return v;
}

std::string zero_padded(uint64_t v, size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

constexpr const char* kVendors[] = {"ups", "fedex", "usps", "dhl", "local-courier"};
constexpr const char* kHoldReasons[] = {"kyc: identity document expired", "verification pending",
                                        "tax form missing", "bank account under review"};
constexpr const char* kFirstNames[] = {"Ana",  "Luis", "María", "Jean",  "Sofia",
                                       "Omar", "Lena", "Kenji", "Chloé", "Pedro"};
constexpr const char* kLastNames[] = {"Gómez", "Martin", "Rossi",  "Müller", "Dubois",
                                      "Silva", "Novak",  "Tanaka", "Okafor", "Larsen"};

}  // namespace

std::string make_iban(std::string_view country, std::string_view bban) {
  // mod 97 of BBAN + country + "00", letters as 10..35, computed digit by digit.
  std::string rearranged = std::string(bban) + std::string(country) + "00";
  unsigned mod = 0;
  for (char c : rearranged) {
    unsigned v;
    if (c >= '0' && c <= '9')
      v = unsigned(c - '0');
    else if (c >= 'A' && c <= 'Z')
      v = unsigned(c - 'A' + 10);
    else if (c >= 'a' && c <= 'z')
      v = unsigned(c - 'a' + 10);
    else
      continue;
    mod = v >= 10 ? (mod * 100 + v) % 97 : (mod * 10 + v) % 97;
  }
  unsigned check = 98 - mod;
  std::string out(country);
  out += char('0' + check / 10);
  out += char('0' + check % 10);
  return out + std::string(bban);
}

std::string event_json_line(const Event& e) {
  std::string o = "{\"type\":" + json_string(event_type_name(e.body)) +
                  ",\"id\":" + json_string(e.header.id) +
                  ",\"at\":" + json_string(format_rfc3339(e.header.at)) +
                  ",\"marketplace\":" + json_string(e.header.marketplace);
  auto f = [&](std::string_view k, std::string_view v) {
    o += ",\"" + std::string(k) + "\":" + json_string(v);
  };
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, SaleEvent>) {
          f("seller", b.seller), f("amount", b.amount), f("currency", b.currency);
          f("category", b.category);
          if (b.affiliate) f("affiliate", *b.affiliate);
        } else if constexpr (std::is_same_v<T, DeliveredEvent>) {
          f("sale", b.sale);
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          f("sale", b.sale), f("amount", b.amount);
        } else if constexpr (std::is_same_v<T, ChargebackEvent>) {
          f("sale", b.sale), f("amount", b.amount);
          if (b.fee) f("fee", *b.fee);
        } else if constexpr (std::is_same_v<T, EarningEvent>) {
          f("payee", b.payee), f("basis", b.basis), f("currency", b.currency), f("rule", b.rule);
        } else if constexpr (std::is_same_v<T, PassThroughEvent>) {
          f("payer", b.payer), f("vendor", b.vendor), f("amount", b.amount);
          f("currency", b.currency);
        } else if constexpr (std::is_same_v<T, PayeeHoldEvent>) {
          f("payee", b.payee);
          o += std::string(",\"on\":") + (b.on ? "true" : "false");
          f("reason", b.reason);
        } else if constexpr (std::is_same_v<T, PayeeDetailsEvent>) {
          f("payee", b.payee), f("name", b.name), f("account", b.account);
          if (!b.bic.empty()) f("bic", b.bic);
          auto object = [&](std::string_view k,
                            std::initializer_list<std::pair<const char*, std::string>> kv) {
            o += ",\"" + std::string(k) + "\":{";
            bool first = true;
            for (const auto& [name, value] : kv) {
              o += std::string(first ? "" : ",") + "\"" + name + "\":" + json_string(value);
              first = false;
            }
            o += "}";
          };
          if (b.ach)
            object("ach", {{"routing", b.ach->routing},
                           {"account", b.ach->account},
                           {"account_type", b.ach->account_type},
                           {"receiver_kind", b.ach->receiver_kind}});
          if (b.co)
            object("co", {{"bank_code", b.co->bank_code},
                          {"account_type", b.co->account_type},
                          {"account_number", b.co->account_number},
                          {"document_type", b.co->document_type},
                          {"document_number", b.co->document_number}});
        } else if constexpr (std::is_same_v<T, PayeeTermsEvent>) {
          f("payee", b.payee);
          if (b.reserve)
            o += ",\"reserve\":{\"rate\":" + json_string(b.reserve->rate) +
                 ",\"days\":" + std::to_string(b.reserve->days) + "}";
          if (!b.minimum_balance.empty()) {
            o += ",\"minimum_balance\":{";
            for (size_t i = 0; i < b.minimum_balance.size(); ++i)
              o += (i ? "," : "") + json_string(b.minimum_balance[i].first) + ":" +
                   json_string(b.minimum_balance[i].second);
            o += "}";
          }
        } else {
          static_assert(std::is_same_v<T, PayoutResultEvent>);
          f("payout", b.payout), f("status", payout_result_status_name(b.status()));
          if (!b.reason.empty()) f("reason", b.reason);
          if (!b.reason_code.empty()) f("reason_code", b.reason_code);
        }
      },
      e.body);
  if (!e.header.meta.empty()) {
    o += ",\"meta\":{";
    for (size_t i = 0; i < e.header.meta.size(); ++i)
      o += (i ? "," : "") + json_string(e.header.meta[i].first) + ":" +
           json_string(e.header.meta[i].second);
    o += "}";
  }
  return o + "}";
}

EventGenerator::EventGenerator(const Config& config, GeneratorOptions options)
    : config_(config), o_(std::move(options)), rng_(o_.seed), now_(o_.start), last_at_(o_.start) {
  if (o_.marketplaces.empty())
    for (const auto& [name, _] : config_.marketplaces) o_.marketplaces.push_back(name);
  TALLY_ASSERT(!o_.marketplaces.empty(), "the generator needs a marketplace");
  TALLY_ASSERT(o_.payees > 0 && o_.mean_gap_ns > 0, "generator options");
  for (const auto& name : o_.marketplaces) {
    Market m;
    m.config = config_.marketplace(name);
    TALLY_ASSERT(m.config != nullptr, "generator: no marketplace " + name);
    for (const auto& [cat, _] : m.config->commission_rate) m.categories.push_back(cat);
    for (const auto& [rule, _] : m.config->earning) m.rules.push_back(rule);
    m.seller_known.assign(o_.payees, false);
    m.affiliate_known.assign(std::max<size_t>(1, o_.payees / 10), false);
    m.shopper_known.assign(std::max<size_t>(1, o_.payees / 2), false);
    markets_.push_back(std::move(m));
  }
}

uint64_t EventGenerator::below(uint64_t n) {
  return rng_() % n;
}

Event EventGenerator::make(Market& m, std::string_view kind, EventBody body) {
  now_ += 1 + static_cast<TimeNs>(below(static_cast<uint64_t>(2 * o_.mean_gap_ns - 1)));
  Event e;
  e.header.id = o_.id_prefix + std::string(kind) + "-" + std::to_string(ids_++);
  e.header.at = now_;
  e.header.marketplace = m.config->name;
  e.body = std::move(body);
  return e;
}

std::string EventGenerator::payee_name(char role, size_t index) const {
  return std::string(1, role) + zero_padded(index, role == 'a' ? 4 : 5);
}

// A payee's directory entry, once, before its first event.
void EventGenerator::introduce(Market& m, char role, size_t index) {
  auto& known = role == 'p' ? m.seller_known : role == 'a' ? m.affiliate_known : m.shopper_known;
  if (known[index]) return;
  known[index] = true;
  PayeeDetailsEvent d;
  d.payee = payee_name(role, index);
  d.name = std::string(kFirstNames[below(std::size(kFirstNames))]) + " " +
           kLastNames[below(std::size(kLastNames))];
  // A stable account number from the marketplace, role and index.
  uint64_t h = 1469598103934665603ull;
  for (char c : m.config->name + d.payee)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::string digits = zero_padded(h % 10'000'000'000ull, 10);
  if (m.config->currencies.front().code() == "EUR") {
    d.account = make_iban("DE", "5004000" + std::to_string(h % 9 + 1) + digits);
    if (percent(50)) d.bic = "COBADEFFXXX";
  } else {
    d.account = zero_padded(h % 1'000'000'000ull, 9) + "-" + digits;
    if (percent(50)) d.bic = "BOFAUS3NXXX";
  }
  // The rails' details where the marketplace pays by NACHA or dispersion file (from the same
  // hash: the random stream is the one it was before they existed).
  static constexpr const char* kRoutings[] = {"011000015", "021000021", "026009593", "121000248",
                                              "091000019"};
  if (m.config->ach)
    d.ach =
        PayeeAchFields{kRoutings[h % std::size(kRoutings)], digits, h % 4 ? "checking" : "savings",
                       role == 'p' && h % 3 == 0 ? "company" : "individual"};
  if (m.config->co_dispersion)
    d.co = PayeeCoFields{"1007", h % 2 ? "savings" : "checking", digits, "CC",
                         "1" + zero_padded(h / 7 % 1'000'000'000ull, 9)};
  queue_.push_back(make(m, "details", std::move(d)));
}

std::string EventGenerator::amount_text(const Market& m, size_t currency, int64_t minor) const {
  return format_amount(Amount::from_minor(minor), m.config->currencies[currency]);
}

// A sale amount that covers commission and fee in every category: at least twenty fixed fees
// and five units of the currency, up to a hundred times that.
int64_t EventGenerator::sale_amount(const Market& m, size_t currency) {
  const Currency& c = m.config->currencies[currency];
  int64_t unit = pow10(c.exponent());
  int64_t fixed = static_cast<int64_t>(m.config->fee_fixed_for(c.code()).minor());
  int64_t base = std::max(20 * fixed, 5 * unit);
  return base + static_cast<int64_t>(below(static_cast<uint64_t>(100 * base)));
}

void EventGenerator::remember(std::vector<OpenSale>& v, OpenSale s) {
  if (v.size() >= o_.open_sales_max && !v.empty())
    v[below(v.size())] = std::move(s);
  else
    v.push_back(std::move(s));
}

void EventGenerator::sale(Market& m) {
  const MarketplaceConfig& cfg = *m.config;
  size_t cur = below(cfg.currencies.size());
  const Currency& c = cfg.currencies[cur];
  size_t seller = below(m.seller_known.size());
  introduce(m, 'p', seller);
  std::optional<std::string> affiliate;
  if (cfg.affiliate_rate && percent(o_.affiliate_percent)) {
    size_t a = below(m.affiliate_known.size());
    introduce(m, 'a', a);
    affiliate = payee_name('a', a);
  }
  const std::string& category = m.categories[below(m.categories.size())];
  int64_t amount = sale_amount(m, cur);
  // Double the amount until the seller's net is not negative and the fee fits. (A config with a
  // 100% commission and a fee on the payee never gets there; its sale is made anyway, and the
  // rules refuse it.)
  for (int i = 0; i < 8; ++i) {
    Amount a = Amount::from_minor(amount);
    auto C = apply_rate(a, cfg.commission_rate.at(category), cfg.rounding);
    auto F = apply_rate(a, cfg.fee_rate, cfg.rounding);
    i128 fee = F ? F->minor() + cfg.fee_fixed_for(c.code()).minor() : 0;
    i128 net = amount - (C ? C->minor() : 0) - (cfg.fee_payer == FeePayer::payee ? fee : 0);
    if (C && F && net >= 0 && fee <= amount) break;
    amount *= 2;
  }
  SaleEvent s{payee_name('p', seller), amount_text(m, cur, amount), std::string(c.code()), category,
              affiliate};
  Event e = make(m, "sale", std::move(s));
  remember(m.open, {e.header.id, cur, amount, 0});
  if (cfg.hold_from == HoldFrom::delivery && !percent(o_.never_delivered_percent)) {
    if (m.undelivered.size() >= o_.open_sales_max && !m.undelivered.empty())
      m.undelivered[below(m.undelivered.size())] = e.header.id;
    else
      m.undelivered.push_back(e.header.id);
  }
  queue_.push_back(std::move(e));
}

bool EventGenerator::refund(Market& m, bool chargeback) {
  if (m.open.empty()) return false;
  size_t i = below(m.open.size());
  OpenSale& s = m.open[i];
  int64_t left = s.amount - s.refunded;
  int64_t r = left;
  if (!chargeback && !percent(33)) r = 1 + static_cast<int64_t>(below(static_cast<uint64_t>(left)));
  std::string text = amount_text(m, s.currency, r);
  if (chargeback) {
    std::optional<std::string> fee;
    if (percent(50)) {
      const Currency& c = m.config->currencies[s.currency];
      int64_t f = std::max(15 * pow10(c.exponent()),
                           50 * static_cast<int64_t>(m.config->fee_fixed_for(c.code()).minor()));
      fee = amount_text(m, s.currency, f);
    }
    queue_.push_back(make(m, "chargeback", ChargebackEvent{s.id, text, fee}));
  } else {
    queue_.push_back(make(m, "refund", RefundEvent{s.id, text}));
  }
  s.refunded += r;
  if (s.refunded == s.amount) {
    m.open[i] = std::move(m.open.back());
    m.open.pop_back();
  }
  return true;
}

bool EventGenerator::deliver(Market& m) {
  if (m.undelivered.empty()) return false;
  // Mostly the oldest waiting, sometimes any: deliveries come roughly in order.
  size_t i = percent(80) ? 0 : below(m.undelivered.size());
  std::string id = std::move(m.undelivered[i]);
  m.undelivered.erase(m.undelivered.begin() + static_cast<ptrdiff_t>(i));
  queue_.push_back(make(m, "delivered", DeliveredEvent{std::move(id)}));
  return true;
}

bool EventGenerator::earning(Market& m) {
  if (m.rules.empty()) return false;
  const std::string& rule = m.rules[below(m.rules.size())];
  const EarningRule& er = m.config->earning.at(rule);
  size_t cur = below(m.config->currencies.size());
  const Currency& c = m.config->currencies[cur];
  size_t shopper = below(m.shopper_known.size());
  introduce(m, 's', shopper);
  int64_t basis = 0;
  // Nothing bought: the minimum, where there is one. Otherwise a basket like a sale's.
  if (!(er.minimum_for(c.code()).is_positive() && percent(20))) {
    basis = sale_amount(m, cur);
    auto earned = apply_rate(Amount::from_minor(basis), er.rate, m.config->rounding);
    if (!er.minimum_for(c.code()).is_positive() && (!earned || !earned->is_positive()))
      return false;  // a zero rate and no minimum: nothing can be earned
  }
  queue_.push_back(make(m, "earning",
                        EarningEvent{payee_name('s', shopper), amount_text(m, cur, basis),
                                     std::string(c.code()), rule}));
  return true;
}

void EventGenerator::pass_through(Market& m) {
  size_t cur = below(m.config->currencies.size());
  int64_t unit = pow10(m.config->currencies[cur].exponent());
  size_t payer = below(m.seller_known.size());
  introduce(m, 'p', payer);
  int64_t amount = 2 * unit + static_cast<int64_t>(below(static_cast<uint64_t>(30 * unit)));
  queue_.push_back(
      make(m, "pass",
           PassThroughEvent{payee_name('p', payer), kVendors[below(std::size(kVendors))],
                            amount_text(m, cur, amount),
                            std::string(m.config->currencies[cur].code())}));
}

void EventGenerator::payee_hold(Market& m) {
  if (!m.on_hold.empty() && percent(60)) {
    size_t i = below(m.on_hold.size());
    std::string p = std::move(m.on_hold[i]);
    m.on_hold.erase(m.on_hold.begin() + static_cast<ptrdiff_t>(i));
    queue_.push_back(make(m, "hold", PayeeHoldEvent{std::move(p), false, "resolved"}));
    return;
  }
  size_t seller = below(m.seller_known.size());
  introduce(m, 'p', seller);
  std::string p = payee_name('p', seller);
  if (std::find(m.on_hold.begin(), m.on_hold.end(), p) == m.on_hold.end()) m.on_hold.push_back(p);
  queue_.push_back(make(
      m, "hold", PayeeHoldEvent{std::move(p), true, kHoldReasons[below(std::size(kHoldReasons))]}));
}

void EventGenerator::step() {
  Market& m = markets_[below(markets_.size())];
  uint64_t r = below(1000);
  auto band = [&](unsigned per_mille) {
    if (r < per_mille) return true;
    r -= per_mille;
    return false;
  };
  bool done = false;
  if (band(m.config->hold_from == HoldFrom::delivery ? o_.delivered_per_mille : 0))
    done = deliver(m);
  else if (band(o_.refund_per_mille))
    done = refund(m, false);
  else if (band(o_.chargeback_per_mille))
    done = refund(m, true);
  else if (band(o_.earning_per_mille))
    done = earning(m);
  else if (band(o_.pass_through_per_mille))
    pass_through(m), done = true;
  else if (band(o_.payee_hold_per_mille))
    payee_hold(m), done = true;
  if (!done) sale(m);
}

Event EventGenerator::next() {
  while (queue_.empty()) step();
  Event e = std::move(queue_.front());
  queue_.pop_front();
  ++produced_;
  last_at_ = e.header.at;
  return e;
}

std::vector<Event> EventGenerator::take(size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(next());
  return out;
}

}  // namespace tally
