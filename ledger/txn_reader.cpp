#include "ledger/txn_reader.h"

#include <cstring>

#include "ledger/limits.h"

namespace tally {

const BookInfo& BookNames::get(uint64_t book_id) {
  auto it = cache_.find(book_id);
  if (it != cache_.end()) return it->second;
  BookInfo info;
  if (auto b = rd_.book(txn_, book_id)) {
    auto name = rd_.raw_get(txn_, rd_.dbs().account_names, store::book_key(b->account_id));
    auto c =
        Currency::make(std::string_view(b->code.data(), strnlen(b->code.data(), 12)), b->exponent);
    if (name && c) {
      info.name = std::string(*name);
      info.currency = *c;
      info.kind = static_cast<AccountKind>(b->kind);
    }
  }
  if (cache_.size() >= limits::book_names_cached_max) cache_.clear();
  return cache_.emplace(book_id, std::move(info)).first->second;
}

bool decode_entry_view(std::string_view raw, BookNames& names, EntryView& out,
                       std::string* problem) {
  EntryRecord r;
  if (!store::decode_entry(raw, r)) {
    if (problem) *problem = "cannot decode the entry record";
    return false;
  }
  out.seq = r.seq;
  out.commit_ns = r.commit_ns;
  out.prev_hash = r.prev;
  out.hash = r.hash;
  out.entry.id = std::move(r.id);
  out.entry.kind = std::move(r.kind);
  out.entry.at = r.at;
  out.entry.meta = std::move(r.meta);
  out.entry.postings.clear();
  for (const auto& p : r.postings) {
    const BookInfo& info = names.get(p.book_id);
    if (info.name.empty()) {
      if (problem) *problem = "posting names unknown book " + std::to_string(p.book_id);
      return false;
    }
    out.entry.postings.push_back({info.name, info.currency, p.side, Amount::from_minor(p.amount)});
  }
  return true;
}

}  // namespace tally
