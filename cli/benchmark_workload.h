// The workload of `tally benchmark` (cli/benchmark.h): TigerBeetle's `tigerbeetle benchmark` on
// tally's items. N accounts of one currency (USD), then M entries of two postings each, one
// account debited and another, distinct, credited, chosen uniformly at random; amounts drawn
// from an exponential distribution of a given mean in minor units; ids sequential or random.
//
// Everything is integer arithmetic from one std::mt19937_64 seeded with the run's seed (its
// output is fixed by the C++ standard), so a seed names one workload on every machine. No
// floating point touches an amount: the exponential draw is computed in Q32 fixed point
// (exponential_minor_units) and is an integer count of minor units before it becomes an Amount.
//
// Thread safety: a Workload is used by one thread at a time; the free functions are pure.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "service/service.h"

namespace tally {

enum class IdOrder : uint8_t { sequential, random };

struct WorkloadOptions {
  uint64_t accounts = 10000;  // >= 2
  uint64_t seed = 42;
  uint64_t amount_mean_minor = 10000;  // >= 1
  IdOrder id_order = IdOrder::sequential;
};

// -log2(u / 2^64) in Q32 fixed point (2^32 is 1.0), for u >= 1: from 0 (u near 2^64) to 64 << 32
// (u == 1). Integer only: the leading-zero count gives the integer part, 32 squarings of the
// mantissa the fraction bits.
uint64_t neg_log2_q32(uint64_t u);

// An exponentially distributed count of minor units with the given mean, from a uniform 64-bit
// draw u: floor(-ln(u / 2^64) * mean), at least 1 (an entry's amounts are > 0). At most about
// 44.4 * mean (u == 1).
uint64_t exponential_minor_units(uint64_t u, uint64_t mean_minor);

class Workload {
 public:
  explicit Workload(const WorkloadOptions& options);

  // "tb:00000000" .. : account i of the chart (asset, USD, no flags: balances may go negative).
  static std::string account_name(uint64_t i);
  // Entry n's id: 16 hex digits, n + 1 (sequential) or a bijective 64-bit mix of n and the seed
  // (random order, never two alike).
  std::string entry_id(uint64_t n) const;

  // The open items of accounts [from, to).
  std::vector<PostItem> opens(uint64_t from, uint64_t to) const;
  // The next entry (n counts from 0): random distinct accounts, an exponential amount.
  PostItem next_entry(uint64_t n);
  // A uniformly random account index, for the queries.
  uint64_t random_account();

  const Currency& currency() const { return currency_; }

 private:
  WorkloadOptions o_;
  std::mt19937_64 rng_;
  Currency currency_;
};

}  // namespace tally
