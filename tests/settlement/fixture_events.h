// Fixture lines (fixtures/<mk>.jsonl) to the events tally parses.
// Part of the fixtures test's independent model (tests/settlement/fixtures_test.cpp): it shares
// no code with settlement/.
#pragma once

#include <date/date.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "common/test_util.h"
#include "settlement/fixture_json.h"
#include "settlement/run.h"

namespace tally::fixture_model {

using namespace tally::testing;
using Int = boost::multiprecision::cpp_int;
using Q = boost::multiprecision::cpp_rational;

// --- fixture lines to events ------------------------------------------------------------------

struct FixtureEvent {
  size_t line = 0;
  std::string type;
  Event event;  // for payee_terms, the header (and a placeholder body)
  std::optional<PayeeTermsEvent> terms;
};

// Strict: every field of the SPEC's line format for the type, nothing else.
inline std::vector<FixtureEvent> load_events(const std::string& path, std::string& error) {
  std::vector<FixtureEvent> out;
  std::istringstream in(read_text(path));
  std::string text;
  size_t n = 0;
  auto bad = [&](const std::string& what) {
    error = path + ":" + std::to_string(n) + ": " + what;
    return std::vector<FixtureEvent>{};
  };
  while (std::getline(in, text)) {
    ++n;
    if (text.empty()) continue;
    std::string err;
    Json j = JsonReader(text).parse(err);
    if (!err.empty()) return bad(err);
    if (!j.is_object()) return bad("not an object");
    auto str = [&](std::string_view k) -> std::optional<std::string> {
      const Json* x = j.get(k);
      if (!x || x->v.index() != 2) return std::nullopt;
      return x->str();
    };
    FixtureEvent fe;
    fe.line = n;
    auto type = str("type");
    if (!type) return bad("type: missing");
    fe.type = *type;
    std::vector<std::string> fields;
    auto need = [&](std::string_view k) {
      fields.emplace_back(k);
      auto v = str(k);
      if (!v) throw std::runtime_error(std::string(k) + ": missing or not a string");
      return *v;
    };
    auto opt = [&](std::string_view k) {
      fields.emplace_back(k);
      return str(k);
    };
    try {
      EventHeader& h = fe.event.header;
      h.id = need("id");
      auto at = parse_rfc3339(need("at"), "at");
      if (!at) throw std::runtime_error(at.error().message);
      h.at = *at;
      h.marketplace = need("marketplace");
      fields.emplace_back("type");
      fields.emplace_back("meta");
      if (const Json* m = j.get("meta"))
        for (auto& [k, x] : m->obj()) h.meta.emplace_back(k, x.str());
      if (fe.type == "sale") {
        fe.event.body = SaleEvent{need("seller"), need("amount"), need("currency"),
                                  need("category"), opt("affiliate")};
      } else if (fe.type == "delivered") {
        fe.event.body = DeliveredEvent{need("sale")};
      } else if (fe.type == "refund") {
        fe.event.body = RefundEvent{need("sale"), need("amount")};
      } else if (fe.type == "chargeback") {
        fe.event.body = ChargebackEvent{need("sale"), need("amount"), opt("fee")};
      } else if (fe.type == "earning") {
        fe.event.body = EarningEvent{need("payee"), need("basis"), need("currency"), need("rule")};
      } else if (fe.type == "pass_through") {
        fe.event.body =
            PassThroughEvent{need("payer"), need("vendor"), need("amount"), need("currency")};
      } else if (fe.type == "payee_hold") {
        fields.emplace_back("on");
        const Json* on = j.get("on");
        if (!on || on->v.index() != 1) throw std::runtime_error("on: missing or not a boolean");
        fe.event.body = PayeeHoldEvent{need("payee"), std::get<1>(on->v), need("reason")};
      } else if (fe.type == "payee_details") {
        PayeeDetailsEvent d{need("payee"), need("name"), need("account"), opt("bic").value_or("")};
        // The rails' details: objects of strings, every field required.
        auto object = [&](std::string_view k, std::initializer_list<const char*> keys) {
          fields.emplace_back(k);
          std::vector<std::string> out;
          const Json* o = j.get(k);
          if (!o) return out;
          if (!o->is_object()) throw std::runtime_error(std::string(k) + ": not an object");
          for (const char* key : keys) {
            const Json* x = o->get(key);
            if (!x || x->v.index() != 2)
              throw std::runtime_error(std::string(k) + "." + key + ": missing or not a string");
            out.push_back(x->str());
          }
          if (o->obj().size() != keys.size())
            throw std::runtime_error(std::string(k) + ": unknown field");
          return out;
        };
        auto ach = object("ach", {"routing", "account", "account_type", "receiver_kind"});
        if (!ach.empty()) d.ach = PayeeAchFields{ach[0], ach[1], ach[2], ach[3]};
        auto co = object("co", {"bank_code", "account_type", "account_number", "document_type",
                                "document_number"});
        if (!co.empty()) d.co = PayeeCoFields{co[0], co[1], co[2], co[3], co[4]};
        fe.event.body = std::move(d);
      } else if (fe.type == "payout_result") {
        std::string status = need("status");
        auto st = parse_payout_result_status(status);
        if (!st) throw std::runtime_error("status: " + status);
        fe.event.body = PayoutResultEvent::of(need("payout"), *st, opt("reason").value_or(""),
                                              opt("reason_code").value_or(""));
      } else if (fe.type == "payee_terms") {
        PayeeTermsEvent t{need("payee"), {}, {}};
        fields.emplace_back("reserve");
        if (const Json* r = j.get("reserve")) {
          const Json* rate = r->is_object() ? r->get("rate") : nullptr;
          const Json* days = r->is_object() ? r->get("days") : nullptr;
          if (!rate || rate->v.index() != 2 || !days || days->v.index() != 5 ||
              r->obj().size() != 2)
            throw std::runtime_error("reserve: {\"rate\": string, \"days\": integer}");
          t.reserve = PayeeTermsEvent::Reserve{rate->str(), int(std::get<5>(days->v))};
        }
        fields.emplace_back("minimum_balance");
        if (const Json* m = j.get("minimum_balance")) {
          if (!m->is_object()) throw std::runtime_error("minimum_balance: not an object");
          for (auto& [code, x] : m->obj()) {
            if (x.v.index() != 2) throw std::runtime_error("minimum_balance: amounts are strings");
            t.minimum_balance.emplace_back(code, x.str());
          }
        }
        fe.terms = std::move(t);
        fe.event.body = PayeeHoldEvent{};
      } else {
        throw std::runtime_error("type: unknown \"" + fe.type + "\"");
      }
    } catch (const std::runtime_error& e) {
      return bad(e.what());
    }
    for (auto& [k, _] : j.obj())
      if (std::find(fields.begin(), fields.end(), k) == fields.end())
        return bad("unknown field \"" + k + "\" for " + fe.type);
    if (!out.empty() && fe.event.header.at < out.back().event.header.at)
      return bad("events must be in business-time order");
    out.push_back(std::move(fe));
  }
  return out;
}

}  // namespace tally::fixture_model
