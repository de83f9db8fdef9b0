#include "ledger/batch.h"

#include <memory>

namespace tally {

std::vector<Chain> linked_chains(std::span<const bool> linked) {
  std::vector<Chain> out;
  for (size_t i = 0; i < linked.size();) {
    size_t j = i;
    while (j + 1 < linked.size() && linked[j]) ++j;
    out.push_back({i, j});
    i = j + 1;
  }
  return out;
}

bool chain_open(std::span<const bool> linked) {
  return !linked.empty() && linked.back();
}

std::vector<Chain> pack_chains(std::span<const Chain> chains, size_t items_max) {
  std::vector<Chain> out;
  for (const Chain& c : chains) {
    if (!out.empty() && c.last + 1 - out.back().first <= items_max)
      out.back().last = c.last;
    else
      out.push_back(c);
  }
  return out;
}

ItemResult linked_failed_result(std::string_view failed, Code failed_code, std::string id) {
  return ItemResult::error(
      reject(Code::linked_failed,
             "linked: " + std::string(failed) + " of this linked chain failed (" +
                 std::string(code_name(failed_code)) + "); nothing of the chain was committed"),
      std::move(id));
}

ItemResult chain_open_result(std::string id) {
  return ItemResult::error(
      reject(Code::linked_chain_open,
             "linked: the last item of a batch is linked to nothing; a linked chain ends with an "
             "item whose linked flag is false, and nothing of this one was committed"),
      std::move(id));
}

Triage triage_batch(std::span<const BatchItem> items,
                    const std::function<std::string(size_t)>& name) {
  auto label = [&](size_t i) { return name ? name(i) : "item " + std::to_string(i); };
  Triage t;
  t.decided.resize(items.size());
  std::unique_ptr<bool[]> linked(new bool[items.size()]);  // (vector<bool> has no span)
  for (size_t i = 0; i < items.size(); ++i) linked[i] = items[i].linked;
  std::span<const bool> span(linked.get(), items.size());
  const std::vector<Chain> chains = linked_chains(span);
  const bool open = chain_open(span);
  for (size_t c = 0; c < chains.size(); ++c) {
    const Chain& ch = chains[c];
    size_t refused = SIZE_MAX;
    for (size_t k = ch.first; k <= ch.last && refused == SIZE_MAX; ++k)
      if (items[k].refused) refused = k;
    const bool left_open = open && c + 1 == chains.size();
    if (refused == SIZE_MAX && !left_open) {
      for (size_t k = ch.first; k <= ch.last; ++k) t.apply.push_back(k);
      continue;
    }
    for (size_t k = ch.first; k <= ch.last; ++k) {
      if (items[k].refused)
        t.decided[k] = *items[k].refused;
      else if (refused != SIZE_MAX)
        t.decided[k] = linked_failed_result(label(refused), items[refused].refused->code,
                                            std::string(items[k].id));
      else if (k == ch.last)
        t.decided[k] = chain_open_result(std::string(items[k].id));
      else
        t.decided[k] =
            linked_failed_result(label(ch.last), Code::linked_chain_open, std::string(items[k].id));
    }
  }
  return t;
}

std::vector<ItemResult> stitch_results(Triage triage, std::vector<ItemResult> applied) {
  TALLY_ASSERT(applied.size() == triage.apply.size(),
               std::to_string(applied.size()) + " results for " +
                   std::to_string(triage.apply.size()) + " items applied");
  for (size_t k = 0; k < triage.apply.size(); ++k)
    triage.decided[triage.apply[k]] = std::move(applied[k]);
  std::vector<ItemResult> out;
  out.reserve(triage.decided.size());
  for (auto& r : triage.decided) {
    TALLY_ASSERT(r.has_value(), "every item is decided or applied");
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace tally
