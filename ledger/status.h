// tally's three failure channels.
//
//  1. Business rejections (bad input, rule violations): a stable `Code` plus a message that names
//     the field, carried in `Rejection` / `Result<T>`. They are expected; callers report them per
//     item and nothing has changed.
//  2. Environment failures (LMDB, I/O, a full disk): `Status`, a checked result value.
//  3. Bugs: TALLY_ASSERT crashes loudly with the values involved. Never the guard on outside
//     input.
//
// Thread safety: all types here are values; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tally {

// Stable error codes. Their names (code_name) are part of the public contract (JSON, RPC):
// never rename one; add new ones at the end.
enum class Code : uint16_t {
  ok = 0,
  bad_request,           // malformed item: missing or unknown field, wrong JSON type
  bad_amount,            // amount text not exact for its currency, or not > 0 where required
  bad_currency,          // unknown or malformed currency code
  bad_rate,              // rate text not an exact decimal
  overflow,              // a sum or product does not fit 128 bits
  unbalanced,            // debits != credits in some currency
  unknown_account,       // posting names an account that was never opened
  currency_not_allowed,  // account or marketplace does not hold that currency
  account_closed,        // posting to a closed account
  overdraft,             // a no_overdraft account would go below zero
  too_many_postings,     // more than 1024 postings, or fewer than 2
  id_conflict,           // the id exists with different content
  bad_id,                // id empty, too long or not printable ASCII
  bad_account_name,      // account name does not follow the naming rules
  bad_time,              // timestamp not RFC 3339 with offset
  bad_meta,              // meta over 4 KiB or not string to string
  account_exists,        // open with a different kind or flags than the existing account
  period_closed,         // entry dated inside a closed period
  linked_failed,         // another item of a linked chain failed
  batch_too_large,       // more items in one batch than allowed
  unknown_marketplace,
  unknown_sale,
  refund_exceeds_sale,
  fees_exceed_amount,
  affiliate_exceeds_commission,
  unknown_rule,
  unknown_payee,
  not_allowed,  // the caller's role may not do this
  store_full,   // the store cannot grow: a clean environment failure reported per item
  internal,     // an environment failure reported per item (message says which)
  unknown_entry,
  unknown_run,
  bad_date,
  not_a_pay_date,
  unknown_payout,
  payout_already_settled,
  run_in_progress,    // another run of the marketplace is in progress: it completes first
  interrupted,        // the work stopped part way (the server is shutting down): resumable
  linked_chain_open,  // the last item of a batch is linked to nothing
  unknown_token,      // login with a token the server's config does not list
  not_leader,         // a standby: writes go to the leader
};
// The last code: the name table and the wire's ErrorCode enum cover every code up to it.
inline constexpr Code kCodeLast = Code::not_leader;

std::string_view code_name(Code code);
std::optional<Code> code_from_name(std::string_view name);

// A business rejection: what went wrong and the field it concerns, for a person to read.
struct Rejection {
  Code code = Code::internal;
  std::string message;
};

// Either a value or a Rejection. Deliberately tiny: no exceptions for expected failures.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Rejection rejection) : v_(std::move(rejection)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Rejection& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Rejection> v_;
};

inline Rejection reject(Code code, std::string message) {
  return Rejection{code, std::move(message)};
}

// Environment failure (storage, I/O). ok() or a kind with a message naming what failed.
class [[nodiscard]] Status {
 public:
  enum class Kind : uint8_t {
    ok,
    io_error,
    store_full,
    corruption,
    version_mismatch,
    invalid,
    busy
  };
  Status() = default;
  static Status OK() { return Status(); }
  static Status io_error(std::string m) { return Status(Kind::io_error, std::move(m)); }
  static Status store_full(std::string m) { return Status(Kind::store_full, std::move(m)); }
  static Status corruption(std::string m) { return Status(Kind::corruption, std::move(m)); }
  static Status version_mismatch(std::string m) {
    return Status(Kind::version_mismatch, std::move(m));
  }
  static Status invalid(std::string m) { return Status(Kind::invalid, std::move(m)); }
  static Status busy(std::string m) { return Status(Kind::busy, std::move(m)); }
  bool ok() const { return kind_ == Kind::ok; }
  Kind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Status(Kind k, std::string m) : kind_(k), message_(std::move(m)) {}
  Kind kind_ = Kind::ok;
  std::string message_;
};

// A failure of the store met where no Status can be returned: on a read path (a snapshot that
// finds a page missing or a record that does not decode, no free reader slot) or inside a WriteOp
// (which unwinds to the writer: it aborts the transaction and reports the failure on every item
// of it, nothing committed). Its Status says which: corruption, io_error, store_full, busy.
// Caught only at the boundaries that report it: the writer loop, verify (which reports damage as
// FAILED), a server call (answered with an error, the server keeps serving) and the CLI (exit 3).
struct StoreFailure : std::runtime_error {
  explicit StoreFailure(Status s) : std::runtime_error(s.to_string()), status(std::move(s)) {}
  Status status;
};
// A record that does not decode: the store is damaged. Thrown by readers of higher layers'
// tables (the ledger's own readers throw their LMDB-level error, also a StoreFailure).
struct StoreCorruption : StoreFailure {
  explicit StoreCorruption(const std::string& what)
      : StoreFailure(Status::corruption("corrupt record: " + what)) {}
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& why);

}  // namespace tally

// Our own bugs: always on (release builds too), prints the expression and a message with values.
#define TALLY_ASSERT(cond, ...)                                                          \
  do {                                                                                   \
    if (!(cond)) [[unlikely]]                                                            \
      ::tally::assert_fail(#cond, __FILE__, __LINE__, ::tally::detail_msg(__VA_ARGS__)); \
  } while (0)

namespace tally {
inline std::string detail_msg() {
  return {};
}
inline std::string detail_msg(std::string s) {
  return s;
}
}  // namespace tally
