// One marketplace's hold and reserve rows (settlement/tables.h: holds, reserves) as the rules
// read and write them, inside the writer's transaction: a hold (or reserve) is keyed by (payee,
// currency, origin entry id), and only ever shrinks after it is made; one consumed to zero is
// deleted, so a payee's range holds only what is still pending.
//
// Errors: a row that does not decode throws StoreCorruption (the store is damaged, not the
// input). Shrinking a row below zero or growing it is our bug (TALLY_ASSERT).
//
// Thread safety: HoldRows is an immutable view; use it on the ledger's writer thread, with the
// WriteTxn it is given.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/ledger.h"
#include "settlement/tables.h"

namespace tally {

class HoldRows {
 public:
  // `h` must outlive the HoldRows; `marketplace` (the name in every key) too.
  HoldRows(const tables::Handles& h, std::string_view marketplace)
      : h_(h), marketplace_(marketplace) {}

  // Writes a new hold of `amount` minor units of `c`, released at `release` (kNoRelease until
  // known), made by an entry at business time `created`. A zero amount writes nothing.
  void put_hold(WriteTxn& t, const std::string& payee, const Currency& c, const std::string& origin,
                i128 amount, TimeNs release, TimeNs created) const;
  // The hold of `payee` in `code` from entry `origin`, if any is left.
  std::optional<tables::HoldValue> get_hold(WriteTxn& t, const std::string& payee,
                                            std::string_view code, const std::string& origin) const;
  // Writes a hold's new remaining amount (0 <= remaining <= v.remaining); a hold consumed to zero
  // disappears. `v` is the hold as get_hold returned it.
  void set_hold_remaining(WriteTxn& t, const std::string& payee, std::string_view code,
                          const std::string& origin, tables::HoldValue v, i128 remaining) const;

  // Writes the release time of a hold that had none (a hold_from = delivery hold, once the sale
  // is delivered). `v` is the hold as get_hold returned it.
  void set_hold_release(WriteTxn& t, const std::string& payee, std::string_view code,
                        const std::string& origin, tables::HoldValue v, TimeNs release) const;

  // The same for the reserves (the part of a payee's earnings held back by its terms).
  std::optional<tables::HoldValue> get_reserve(WriteTxn& t, const std::string& payee,
                                               std::string_view code,
                                               const std::string& origin) const;
  void set_reserve_remaining(WriteTxn& t, const std::string& payee, std::string_view code,
                             const std::string& origin, tables::HoldValue v, i128 remaining) const;

 private:
  const tables::Handles& h_;
  std::string_view marketplace_;
};

}  // namespace tally
