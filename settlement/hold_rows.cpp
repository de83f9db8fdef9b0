#include "settlement/hold_rows.h"

namespace tally {

using tables::HoldValue;

void HoldRows::put_hold(WriteTxn& t, const std::string& payee, const Currency& c,
                        const std::string& origin, i128 amount, TimeNs release,
                        TimeNs created) const {
  if (amount == 0) return;
  HoldValue v{amount, amount, release, created};
  t.put(h_.holds, tables::hold_key(marketplace_, payee, c.code(), origin), tables::encode_hold(v));
}

std::optional<HoldValue> HoldRows::get_hold(WriteTxn& t, const std::string& payee,
                                            std::string_view code,
                                            const std::string& origin) const {
  auto v = t.get(h_.holds, tables::hold_key(marketplace_, payee, code, origin));
  if (!v) return std::nullopt;
  HoldValue hv;
  if (!tables::decode_hold(*v, hv)) throw StoreCorruption("hold of " + payee + " from " + origin);
  return hv;
}

void HoldRows::set_hold_remaining(WriteTxn& t, const std::string& payee, std::string_view code,
                                  const std::string& origin, HoldValue v, i128 remaining) const {
  TALLY_ASSERT(remaining >= 0 && remaining <= v.remaining, "hold only shrinks");
  std::string key = tables::hold_key(marketplace_, payee, code, origin);
  if (remaining == 0) {
    t.del(h_.holds, key);
    return;
  }
  v.remaining = remaining;
  t.put(h_.holds, key, tables::encode_hold(v));
}

void HoldRows::set_hold_release(WriteTxn& t, const std::string& payee, std::string_view code,
                                const std::string& origin, HoldValue v, TimeNs release) const {
  v.release = release;
  t.put(h_.holds, tables::hold_key(marketplace_, payee, code, origin), tables::encode_hold(v));
}

std::optional<HoldValue> HoldRows::get_reserve(WriteTxn& t, const std::string& payee,
                                               std::string_view code,
                                               const std::string& origin) const {
  auto v = t.get(h_.reserves, tables::reserve_key(marketplace_, payee, code, origin));
  if (!v) return std::nullopt;
  HoldValue hv;
  if (!tables::decode_hold(*v, hv))
    throw StoreCorruption("reserve of " + payee + " from " + origin);
  return hv;
}

void HoldRows::set_reserve_remaining(WriteTxn& t, const std::string& payee, std::string_view code,
                                     const std::string& origin, HoldValue v, i128 remaining) const {
  TALLY_ASSERT(remaining >= 0 && remaining <= v.remaining, "a reserve only shrinks");
  std::string key = tables::reserve_key(marketplace_, payee, code, origin);
  if (remaining == 0) {
    t.del(h_.reserves, key);
    return;
  }
  v.remaining = remaining;
  t.put(h_.reserves, key, tables::encode_hold(v));
}

}  // namespace tally
