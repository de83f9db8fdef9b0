// Helpers shared by tally's tests: temporary directories and terse builders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include "ledger/ledger.h"

namespace tally::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tally-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Currency cur(std::string_view code) {
  static const CurrencyTable table;
  auto c = table.find(code);
  EXPECT_TRUE(c.has_value()) << code;
  return *c;
}

inline Amount amt(std::string_view text, std::string_view code = "USD") {
  auto a = parse_amount(text, cur(code), "test");
  EXPECT_TRUE(a.ok()) << text;
  return a.ok() ? *a : Amount();
}

inline Account account(std::string name, AccountKind kind, std::vector<std::string> codes,
                       uint8_t flags = 0) {
  Account a;
  a.name = std::move(name);
  a.kind = kind;
  a.flags = flags;
  for (auto& c : codes) a.currencies.push_back(cur(c));
  return a;
}

inline Posting debit(std::string acct, std::string_view text, std::string_view code = "USD") {
  return Posting{std::move(acct), cur(code), Side::debit, amt(text, code)};
}
inline Posting credit(std::string acct, std::string_view text, std::string_view code = "USD") {
  return Posting{std::move(acct), cur(code), Side::credit, amt(text, code)};
}

inline Entry entry(std::string id, std::vector<Posting> postings,
                   TimeNs at = 1'767'607'200'000'000'000 /* 2026-01-05T10:00:00Z */,
                   std::string kind = "transfer") {
  Entry e;
  e.id = std::move(id);
  e.at = at;
  e.kind = std::move(kind);
  e.postings = std::move(postings);
  return e;
}

template <class... Ops>
Batch batch(Ops... ops) {
  Batch b;
  (b.push_back(std::move(ops)), ...);
  return b;
}

// Under scripts/test (TALLY_STRICT=1, as CI runs it) a test whose prerequisite is missing (a tool,
// a binary, an npm check) fails instead of skipping: CI never passes a test that did not run.
inline bool strict() {
  const char* v = std::getenv("TALLY_STRICT");
  return v != nullptr && std::string_view(v) == "1";
}
#define TALLY_PREREQUISITE_MISSING(msg)                           \
  do {                                                            \
    if (::tally::testing::strict()) {                             \
      FAIL() << "missing prerequisite (TALLY_STRICT=1): " << msg; \
    } else {                                                      \
      GTEST_SKIP() << msg;                                        \
    }                                                             \
  } while (0)

// Whether this build runs under AddressSanitizer: its shadow memory and quarantine of freed
// blocks make a process's RSS say little about what the program itself holds.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitized = true;
#else
inline constexpr bool kAddressSanitized = false;
#endif

// Whether the long forms of tests run (TALLY_LONG=1; scripts/test also lifts the `long` label).
inline bool long_form() {
  const char* env = std::getenv("TALLY_LONG");
  return env != nullptr && std::string_view(env) == "1";
}

inline std::unique_ptr<Ledger> open_ledger(const std::string& dir, LedgerOptions o = {}) {
  o.dir = dir;
  std::unique_ptr<Ledger> l;
  Status s = Ledger::open(o, &l);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return l;
}

}  // namespace tally::testing
