// Batches and linked chains (SPEC section 2): the one place the rule "an item linked to the next
// commits or fails together with it" is worked out, for every layer that handles a batch: the
// writer applying it, the service refusing items a role may not post, the RPC server refusing
// items it could not decode, the CLI refusing lines it could not read, and clients splitting a
// long list into batches.
//
// A batch's items are in order; item i is linked to item i+1 when its `linked` flag is set. A
// chain is a maximal run of items i..j where each of i..j-1 is linked: one item alone is a chain
// of one. The last item of a batch may not be linked, since there is no next item to go with:
// the chain it ends is "left open" and fails whole, its last item with `linked_chain_open` and
// the others with `linked_failed` (as TigerBeetle's `linked_event_chain_open`). A client that
// means "these go together" sets `linked` on every item of the group but the last.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "ledger/time.h"

namespace tally {

// --- an item's result ---------------------------------------------------------------------

enum class ItemStatus : uint8_t { ok, duplicate, error };

struct ItemResult {
  ItemStatus status = ItemStatus::ok;
  Code code = Code::ok;
  std::string message;
  std::string id;        // the item's id, when it has one
  uint64_t seq = 0;      // commit sequence of the item's (first) entry; the original one for a
                         // duplicate; 0 when the item posted no entry
  TimeNs commit_ns = 0;  // commit time of that entry
  std::string detail;    // op-specific, e.g. a computed breakdown as JSON (may be empty)

  static ItemResult error(Rejection r, std::string id = {}) {
    ItemResult x;
    x.status = ItemStatus::error;
    x.code = r.code;
    x.message = std::move(r.message);
    x.id = std::move(id);
    return x;
  }
  bool ok() const { return status != ItemStatus::error; }
};

// A chain: items [first, last] of a batch.
struct Chain {
  size_t first = 0, last = 0;
};

// The chains of a batch whose items' `linked` flags are `linked`, in order. The last chain is
// open when the batch's last item is linked (chain_open).
std::vector<Chain> linked_chains(std::span<const bool> linked);
bool chain_open(std::span<const bool> linked);
// Consecutive chains packed into batches of at most `items_max` items, as item ranges; a chain
// longer than that goes alone and whole (the ledger refuses it: batch_too_large).
std::vector<Chain> pack_chains(std::span<const Chain> chains, size_t items_max);

// What an item of a chain gets when another item of it failed: linked_failed, naming the item
// that failed ("item 3", or "line 7" for `tally post`) and why.
ItemResult linked_failed_result(std::string_view failed, Code failed_code, std::string id);
// What the last item of a chain left open gets.
ItemResult chain_open_result(std::string id);

// An item of a batch as the layers before the writer see it: its id (for results), its linked
// flag, and, when it was refused before reaching the writer (unreadable, or not the caller's to
// post), the result it gets.
struct BatchItem {
  std::string_view id;
  bool linked = false;
  const ItemResult* refused = nullptr;
};

// What is left of a batch for the writer once every chain with a refused item, or left open, has
// been failed whole: `decided[i]` holds item i's result when it was decided here, and `apply`
// lists the items to send on (whole chains, in order).
struct Triage {
  std::vector<std::optional<ItemResult>> decided;
  std::vector<size_t> apply;
};
// `name(i)` names item i in messages; by default "item i".
Triage triage_batch(std::span<const BatchItem> items,
                    const std::function<std::string(size_t)>& name = {});

// The batch's results in item order: the decided ones, and `applied[k]` for item apply[k].
// Requires applied.size() == triage.apply.size().
std::vector<ItemResult> stitch_results(Triage triage, std::vector<ItemResult> applied);

}  // namespace tally
