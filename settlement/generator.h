// A deterministic generator of realistic marketplace event streams, for tests and benchmarks.
//
// From a seed and a Config it produces, for the configured marketplaces (or some of them), an
// endless stream of Event values in non-decreasing business time, shaped like the example
// marketplaces of fixtures/: sales with and without affiliates (where the marketplace has an
// affiliate programme), deliveries (where holds count from delivery), partial and full refunds
// that never exceed what is left of their sale, chargebacks with and without a fee, earnings
// (where the marketplace has earning rules, sometimes with nothing bought so that the minimum
// applies), pass-through costs, payee details for every payee before its first event (a valid
// IBAN where the marketplace's first currency is EUR, another account id elsewhere; ACH and
// Colombian details where the marketplace has those originators), and payee holds put on and
// taken off.
//
// Every event it produces is valid for tally's rules as configured: amounts cover commission and
// fees, refunds respect the refund limit, a payee is never its own affiliate. (It does not make
// payout_result events: those depend on runs; a caller that settles can answer them.)
//
// Deterministic: the same config, options and call sequence give the same events, byte for byte,
// on every platform: std::mt19937_64 and integer arithmetic only (no floating point anywhere, no
// std:: distributions, whose output is implementation-defined).
//
// Thread safety: an EventGenerator is a single-threaded object; the free functions are pure.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "settlement/config.h"
#include "settlement/events.h"

namespace tally {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Sellers per marketplace (p00000, p00001, ...); affiliates (a0000, ...) are a tenth of that,
  // personal shoppers (s00000, ...) a half, each at least one.
  size_t payees = 100;
  // Marketplaces to draw from (uniformly); empty: every marketplace of the config.
  std::vector<std::string> marketplaces;
  TimeNs start = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
  // Business time between two events: uniform in [1, 2 * mean_gap_ns - 1] nanoseconds.
  TimeNs mean_gap_ns = 60'000'000'000;
  // The mix, per mille of steps (the rest are sales). A step whose kind has nothing to act on
  // (a refund with no refundable sale, an earning where there is no rule) makes a sale instead.
  unsigned delivered_per_mille = 250;  // only where holds count from delivery
  unsigned refund_per_mille = 120;     // of which about a third refund all that is left
  unsigned chargeback_per_mille = 10;  // half of them with a fee
  unsigned earning_per_mille = 120;    // a fifth with nothing bought (basis 0)
  unsigned pass_through_per_mille = 80;
  unsigned payee_hold_per_mille = 5;  // on for a random seller, or off for one on hold
  unsigned affiliate_percent = 40;    // of sales, where there is an affiliate programme
  unsigned never_delivered_percent = 5;
  // Refundable and undelivered sales remembered per marketplace; past it, a random old one is
  // forgotten (bounds memory on long streams).
  size_t open_sales_max = 100'000;
  // Prefix of every event id, so several streams can share a ledger ("g-" gives "g-sale-17").
  std::string id_prefix = "g-";
};

class EventGenerator {
 public:
  // `config` must outlive the generator. Marketplaces named in options must exist in it.
  EventGenerator(const Config& config, GeneratorOptions options);

  // The next event of the stream.
  Event next();
  // The next `n` events.
  std::vector<Event> take(size_t n);

  uint64_t produced() const { return produced_; }
  // Business time of the last event returned (options.start before the first).
  TimeNs now() const { return last_at_; }

 private:
  struct OpenSale {
    std::string id;
    size_t currency = 0;  // index in the marketplace's currencies
    int64_t amount = 0, refunded = 0;
  };
  struct Market {
    const MarketplaceConfig* config = nullptr;
    std::vector<std::string> categories;
    std::vector<std::string> rules;  // earning rule names
    std::vector<bool> seller_known, affiliate_known, shopper_known;
    std::vector<OpenSale> open;
    std::vector<std::string> undelivered;
    std::vector<std::string> on_hold;
  };

  uint64_t below(uint64_t n);  // uniform-ish in [0, n), n > 0
  bool percent(unsigned p) { return below(100) < p; }
  Event make(Market& m, std::string_view kind, EventBody body);
  void introduce(Market& m, char role, size_t index);
  std::string payee_name(char role, size_t index) const;
  std::string amount_text(const Market& m, size_t currency, int64_t minor) const;
  int64_t sale_amount(const Market& m, size_t currency);
  void step();
  void sale(Market& m);
  bool refund(Market& m, bool chargeback);
  bool deliver(Market& m);
  bool earning(Market& m);
  void pass_through(Market& m);
  void payee_hold(Market& m);
  void remember(std::vector<OpenSale>& v, OpenSale s);

  const Config& config_;
  GeneratorOptions o_;
  std::mt19937_64 rng_;
  std::vector<Market> markets_;
  std::deque<Event> queue_;
  TimeNs now_;      // business time of the last event made (queued events included)
  TimeNs last_at_;  // business time of the last event returned
  uint64_t produced_ = 0;
  uint64_t ids_ = 0;
};

// The SPEC section 5 JSON line of an event (no trailing newline), e.g.
// {"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1",
//  "amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
std::string event_json_line(const Event& e);

// An IBAN with its ISO 13616 check digits computed: country "DE", BBAN "500400000587431209"
// gives "DE63500400000587431209". The BBAN is taken as given (letters and digits).
std::string make_iban(std::string_view country, std::string_view bban);

}  // namespace tally
