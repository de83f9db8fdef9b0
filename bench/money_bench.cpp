// Money arithmetic: why Amount is a plain __int128 with overflow builtins rather than Boost's
// checked_int128_t, and what parsing, formatting and applying a rate cost.
//
//   build/release/bench/money_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
//
// Inputs are fixed integer sequences from a seeded generator: every run measures the same work.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "ledger/money.h"

namespace {

using boost::multiprecision::checked_int128_t;
using tally::Amount;
using tally::i128;

constexpr size_t kN = 4096;

// The size difference docs/design.md cites: Boost stores a sign beside a 128-bit magnitude.
static_assert(sizeof(checked_int128_t) == 32);
static_assert(sizeof(Amount) == 16);

// Amounts below 2^40 minor units (about 11 billion in a 2-digit currency) and factors below
// 2^20: sums and products never overflow, so every variant does the same work to the end.
std::vector<i128> amounts(uint64_t seed, unsigned bits) {
  std::mt19937_64 rng(seed);
  std::vector<i128> v(kN);
  for (auto& x : v) {
    auto m = static_cast<i128>(rng() >> (64 - bits));
    x = (rng() & 1) ? -m : m;
  }
  return v;
}

// --- Sum of 4096 amounts, overflow-checked ------------------------------------------------

void BM_Sum_Int128Builtin(benchmark::State& state) {
  auto v = amounts(1, 40);
  for (auto _ : state) {
    i128 sum = 0;
    bool overflow = false;
    for (i128 x : v) overflow |= __builtin_add_overflow(sum, x, &sum);
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(overflow);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_Sum_Int128Builtin);

// The same through tally's out-of-line API (a call per add, as callers in other files pay).
void BM_Sum_TallyCheckedAdd(benchmark::State& state) {
  std::vector<Amount> v;
  for (i128 x : amounts(1, 40)) v.push_back(Amount::from_minor(x));
  for (auto _ : state) {
    Amount sum;
    bool overflow = false;
    for (Amount x : v) {
      auto s = tally::checked_add(sum, x);
      overflow |= !s.has_value();
      sum = s.value_or(sum);
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(overflow);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_Sum_TallyCheckedAdd);

void BM_Sum_BoostChecked(benchmark::State& state) {
  std::vector<checked_int128_t> v;
  for (i128 x : amounts(1, 40)) v.emplace_back(x);
  for (auto _ : state) {
    checked_int128_t sum = 0;
    for (const auto& x : v) sum += x;  // throws std::overflow_error on overflow
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_Sum_BoostChecked);

// --- Multiply-accumulate: sum of amount[i] * factor[i], overflow-checked ------------------

void BM_MulAcc_Int128Builtin(benchmark::State& state) {
  auto a = amounts(2, 40);
  auto f = amounts(3, 20);
  for (auto _ : state) {
    i128 acc = 0;
    bool overflow = false;
    for (size_t i = 0; i < kN; ++i) {
      i128 p;
      overflow |= __builtin_mul_overflow(a[i], f[i], &p);
      overflow |= __builtin_add_overflow(acc, p, &acc);
    }
    benchmark::DoNotOptimize(acc);
    benchmark::DoNotOptimize(overflow);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_MulAcc_Int128Builtin);

void BM_MulAcc_BoostChecked(benchmark::State& state) {
  std::vector<checked_int128_t> a, f;
  for (i128 x : amounts(2, 40)) a.emplace_back(x);
  for (i128 x : amounts(3, 20)) f.emplace_back(x);
  for (auto _ : state) {
    checked_int128_t acc = 0;
    for (size_t i = 0; i < kN; ++i) acc += a[i] * f[i];
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_MulAcc_BoostChecked);

// --- Text and rates -------------------------------------------------------------------------

void BM_ParseAmount(benchmark::State& state) {
  std::vector<std::string> texts;
  for (i128 x : amounts(4, 40)) texts.push_back(tally::format_amount(Amount::from_minor(x), 2));
  for (auto _ : state) {
    for (const auto& t : texts) {
      auto r = tally::parse_amount(t, 2, "amount");
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_ParseAmount);

void BM_FormatAmount(benchmark::State& state) {
  auto v = amounts(5, 40);
  for (auto _ : state) {
    for (i128 x : v) {
      auto s = tally::format_amount(Amount::from_minor(x), 2);
      benchmark::DoNotOptimize(s);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_FormatAmount);

// Arg 0: everyday amounts (the 128-bit path); arg 1: amounts near 2^120, where amount * rate
// needs the 256-bit path.
void BM_ApplyRate(benchmark::State& state) {
  auto v = amounts(6, state.range(0) == 0 ? 40 : 60);
  if (state.range(0) != 0) {
    for (auto& x : v) x <<= 60;
  }
  const auto rate = tally::Rate::parse("2.9%", "rate").value();
  for (auto _ : state) {
    for (i128 x : v) {
      auto r = tally::apply_rate(Amount::from_minor(x), rate, tally::Rounding::half_even);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_ApplyRate)->Arg(0)->Arg(1);

void BM_Allocate3(benchmark::State& state) {
  const std::vector<Amount> weights = {Amount::from_minor(10800), Amount::from_minor(360),
                                       Amount::from_minor(840)};
  auto v = amounts(7, 40);
  for (auto _ : state) {
    for (i128 x : v) {
      auto r = tally::allocate(Amount::from_minor(x), weights);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kN));
}
BENCHMARK(BM_Allocate3);

}  // namespace

BENCHMARK_MAIN();
