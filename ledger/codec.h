// Byte encodings for the store. Keys scanned in order are fixed-width big-endian (memcmp order
// equals numeric order); values are little-endian and read back with bounds checks, so a
// truncated or corrupt record is reported (Decoder::ok() false), never read past its end.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ledger/money.h"

namespace tally {

// --- big-endian keys ------------------------------------------------------------------------

inline void put_be64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
  out.append(b, 8);
}
inline void put_be16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
// Signed values sort correctly once their sign bit is flipped.
inline void put_be64_signed(std::string& out, int64_t v) {
  put_be64(out, static_cast<uint64_t>(v) ^ (uint64_t(1) << 63));
}
inline uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint16_t get_be16(const char* p) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                               static_cast<unsigned char>(p[1]));
}
inline int64_t get_be64_signed(const char* p) {
  return static_cast<int64_t>(get_be64(p) ^ (uint64_t(1) << 63));
}

// --- little-endian values -------------------------------------------------------------------

class Encoder {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { raw(&v, 2); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void i128(tally::i128 v) { raw(&v, 16); }
  void bytes(std::string_view s) { out_.append(s); }
  // Length-prefixed (u32) string.
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& out() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};
static_assert(std::endian::native == std::endian::little, "values are stored little-endian");

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int64_t i64() { return get<int64_t>(); }
  tally::i128 i128() { return get<tally::i128>(); }
  std::string_view bytes(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view str() { return bytes(u32()); }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  template <class T>
  T get() {
    T v{};
    if (!ok_ || in_.size() - pos_ < sizeof(T)) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tally
