// The expected books files (fixtures/<mk>.expected.json): rendering and parsing.
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
#include "settlement/reference_model.h"
#include "settlement/run.h"

namespace tally::fixture_model {

using namespace tally::testing;
using Int = boost::multiprecision::cpp_int;
using Q = boost::multiprecision::cpp_rational;

// --- expected files ---------------------------------------------------------------------------

inline std::string render_run(const RefRun& r) {
  std::string o = "    {\"run\": " + jstr(r.run) + ", \"pay_date\": " + jstr(r.pay_date) +
                  ", \"cutoff\": " + jstr(r.cutoff) + ",\n     \"released\": [";
  for (size_t i = 0; i < r.released.size(); ++i)
    o += std::string(i ? ",\n       " : "\n       ") + "{\"payee\": " + jstr(r.released[i][0]) +
         ", \"currency\": " + jstr(r.released[i][1]) + ", \"amount\": " + jstr(r.released[i][2]) +
         "}";
  o += "],\n     \"payouts\": [";
  for (size_t i = 0; i < r.payouts.size(); ++i)
    o += std::string(i ? ",\n       " : "\n       ") + "{\"payout\": " + jstr(r.payouts[i][0]) +
         ", \"payee\": " + jstr(r.payouts[i][1]) + ", \"currency\": " + jstr(r.payouts[i][2]) +
         ", \"amount\": " + jstr(r.payouts[i][3]) + ", \"tax\": " + jstr(r.payouts[i][4]) +
         ", \"kept\": " + jstr(r.payouts[i][5]) + "}";
  o += "],\n     \"carried\": [";
  for (size_t i = 0; i < r.carried.size(); ++i)
    o += std::string(i ? ",\n       " : "\n       ") + "{\"payee\": " + jstr(r.carried[i][0]) +
         ", \"currency\": " + jstr(r.carried[i][1]) + ", \"balance\": " + jstr(r.carried[i][2]) +
         ", \"reason\": " + jstr(r.carried[i][3]) + "}";
  auto amounts = [&](const char* key, const std::vector<std::array<std::string, 3>>& rows) {
    o += std::string("],\n     \"") + key + "\": [";
    for (size_t i = 0; i < rows.size(); ++i)
      o += std::string(i ? ",\n       " : "\n       ") + "{\"payee\": " + jstr(rows[i][0]) +
           ", \"currency\": " + jstr(rows[i][1]) + ", \"amount\": " + jstr(rows[i][2]) + "}";
  };
  amounts("reserved", r.reserved);
  amounts("reserve_released", r.reserve_released);
  return o + "]}";
}

inline std::string render_balances(const std::vector<std::array<std::string, 3>>& b) {
  std::string o;
  for (size_t i = 0; i < b.size(); ++i)
    o += std::string(i ? ",\n" : "") + "    {\"account\": " + jstr(b[i][0]) +
         ", \"currency\": " + jstr(b[i][1]) + ", \"balance\": " + jstr(b[i][2]) + "}";
  return o;
}

inline std::string render(const Expected& x) {
  std::string o = "{\n  \"marketplace\": " + jstr(x.marketplace) + ",\n  \"runs\": [\n";
  for (size_t i = 0; i < x.runs.size(); ++i) o += (i ? ",\n" : "") + render_run(x.runs[i]);
  o += "\n  ],\n  \"balances\": [\n" + render_balances(x.balances) + "\n  ]\n}\n";
  return o;
}

inline Expected parse_expected(const std::string& text, std::string& error) {
  Expected x;
  Json j = JsonReader(text).parse(error);
  if (!error.empty()) return x;
  try {
    x.marketplace = j.get("marketplace")->str();
    auto fields = [](const Json& o, std::initializer_list<const char*> keys) {
      std::vector<std::string> out;
      for (auto k : keys) {
        const Json* v = o.get(k);
        if (!v) throw std::runtime_error(std::string("missing ") + k);
        out.push_back(v->str());
      }
      return out;
    };
    for (auto& r : j.get("runs")->arr()) {
      RefRun run;
      auto h = fields(r, {"run", "pay_date", "cutoff"});
      run.run = h[0], run.pay_date = h[1], run.cutoff = h[2];
      for (auto& v : r.get("released")->arr()) {
        auto f = fields(v, {"payee", "currency", "amount"});
        run.released.push_back({f[0], f[1], f[2]});
      }
      for (auto& v : r.get("payouts")->arr()) {
        auto f = fields(v, {"payout", "payee", "currency", "amount", "tax", "kept"});
        run.payouts.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
      }
      for (auto& v : r.get("carried")->arr()) {
        auto f = fields(v, {"payee", "currency", "balance", "reason"});
        run.carried.push_back({f[0], f[1], f[2], f[3]});
      }
      for (const char* key : {"reserved", "reserve_released"})
        for (auto& v : r.get(key)->arr()) {
          auto f = fields(v, {"payee", "currency", "amount"});
          (key[7] == '_' ? run.reserve_released : run.reserved).push_back({f[0], f[1], f[2]});
        }
      x.runs.push_back(std::move(run));
    }
    for (auto& v : j.get("balances")->arr()) {
      auto f = fields(v, {"account", "currency", "balance"});
      x.balances.push_back({f[0], f[1], f[2]});
    }
  } catch (const std::exception& e) {
    error = std::string("expected file shape: ") + e.what();
  }
  return x;
}

}  // namespace tally::fixture_model
