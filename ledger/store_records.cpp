// Codecs of the store's records (contract in ledger/store_records.h).
#include "ledger/store_records.h"

#include "ledger/codec.h"

namespace tally {

namespace store {

Status lmdb_status(int rc, const std::string& what) {
  std::string m = what + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == ENOSPC) return Status::store_full(m);
  if (rc == MDB_VERSION_MISMATCH || rc == MDB_INVALID) return Status::version_mismatch(m);
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) return Status::corruption(m);
  if (rc == MDB_READERS_FULL) return Status::busy(m);
  return Status::io_error(m);
}

std::string encode_account(const AccountRecord& r) {
  Encoder e;
  e.u64(r.account_id);
  e.u8(static_cast<uint8_t>(r.kind));
  e.u8(r.flags);
  e.u16(static_cast<uint16_t>(r.books.size()));
  for (const auto& b : r.books) {
    e.raw(b.currency.padded_code().data(), Currency::kCodeBytesMax);
    e.u8(static_cast<uint8_t>(b.currency.exponent()));
    e.u64(b.book_id);
  }
  return e.take();
}

bool decode_account(std::string_view s, AccountRecord& r) {
  Decoder d(s);
  r.account_id = d.u64();
  uint8_t kind = d.u8();
  r.flags = d.u8();
  uint16_t n = d.u16();
  if (!d.ok() || kind < 1 || kind > 5) return false;
  r.kind = static_cast<AccountKind>(kind);
  r.books.clear();
  for (uint16_t i = 0; i < n; ++i) {
    auto code = d.bytes(Currency::kCodeBytesMax);
    int exp = d.u8();
    uint64_t book = d.u64();
    if (!d.ok()) return false;
    auto c = Currency::make(std::string_view(code.data(), strnlen(code.data(), code.size())), exp);
    if (!c) return false;
    r.books.push_back({*c, book});
  }
  return d.done();
}

std::string encode_entry(const EntryRecord& r) {
  Encoder e;
  e.u64(r.seq);
  e.i64(r.at);
  e.i64(r.commit_ns);
  e.raw(r.prev.data(), 32);
  e.raw(r.hash.data(), 32);
  e.str(r.id);
  e.str(r.kind);
  e.u32(static_cast<uint32_t>(r.meta.size()));
  for (const auto& [k, v] : r.meta) e.str(k), e.str(v);
  e.u32(static_cast<uint32_t>(r.postings.size()));
  for (const auto& p : r.postings) {
    e.u64(p.book_id);
    e.u8(static_cast<uint8_t>(p.side));
    e.i128(p.amount);
  }
  return e.take();
}

bool decode_entry(std::string_view s, EntryRecord& r) {
  Decoder d(s);
  r.seq = d.u64();
  r.at = d.i64();
  r.commit_ns = d.i64();
  auto prev = d.bytes(32), hash = d.bytes(32);
  if (!d.ok()) return false;
  std::memcpy(r.prev.data(), prev.data(), 32);
  std::memcpy(r.hash.data(), hash.data(), 32);
  r.id = d.str();
  r.kind = d.str();
  uint32_t nm = d.u32();
  if (!d.ok() || nm > limits::meta_bytes_max) return false;
  r.meta.clear();
  for (uint32_t i = 0; i < nm; ++i) {
    std::string k(d.str());
    std::string v(d.str());
    r.meta.emplace_back(std::move(k), std::move(v));
  }
  uint32_t np = d.u32();
  if (!d.ok() || np > limits::postings_per_entry_max) return false;
  r.postings.clear();
  for (uint32_t i = 0; i < np; ++i) {
    StoredPosting p;
    p.book_id = d.u64();
    uint8_t side = d.u8();
    p.amount = d.i128();
    if (side != 1 && side != 2) return false;
    p.side = static_cast<Side>(side);
    r.postings.push_back(p);
  }
  return d.done();
}

Digest chain_hash(const Digest& prev, const Entry& entry, uint64_t seq, int64_t commit_ns) {
  std::string body = canonical_entry_bytes(entry);
  Encoder e;
  e.u64(seq);
  e.i64(commit_ns);
  body += e.out();
  return sha256(std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()), body);
}

}  // namespace store

}  // namespace tally
