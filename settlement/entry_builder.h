// The entry of one marketplace event (settlement/rules.h), built posting by posting: the event's
// id, business time and meta, the rule's kind, and a posting for each amount that is not zero (a
// posting is > 0 by definition: a sale without affiliate has no affiliate line).
//
// Errors: a negative amount is our bug (TALLY_ASSERT); the entry's balance is checked where it is
// posted (WriteTxn::prepare_entry), not here.
//
// Thread safety: a plain value, one thread at a time.
#pragma once

#include <string>
#include <utility>

#include "ledger/ledger.h"
#include "settlement/events.h"

namespace tally {

class EntryBuilder {
 public:
  EntryBuilder(const EventHeader& h, std::string kind) {
    e_.id = h.id;
    e_.at = h.at;
    e_.kind = std::move(kind);
    e_.meta = h.meta;
  }
  void add(std::string account, const Currency& c, Side side, i128 amount) {
    TALLY_ASSERT(amount >= 0, account + " " + i128_to_string(amount));
    if (amount == 0) return;
    e_.postings.push_back({std::move(account), c, side, Amount::from_minor(amount)});
  }
  Entry& entry() { return e_; }

 private:
  Entry e_;
};

}  // namespace tally
