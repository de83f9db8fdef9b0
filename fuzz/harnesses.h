// The fuzz harnesses: each takes arbitrary bytes and feeds them to one parser of outside input,
// checking the invariants that must hold whatever the bytes (a parse that succeeds round-trips;
// nothing aborts, leaks or reads out of bounds). A harness returns normally on any input a
// parser rejects; an invariant broken is a TALLY_ASSERT, so the fuzzer reports it as a crash.
//
// The same functions run under libFuzzer (fuzz/fuzz_main.cpp, `scripts/build fuzz`, scripts/fuzz)
// and, on the seed corpora and every input a fuzzer ever crashed on (fuzz/regressions/), as an
// ordinary test (tests/fuzz/replay_test.cpp), so a crash found once stays fixed.
//
// Thread safety: each call is independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tally::fuzz {

// One JSON Lines item as `tally post` reads it (cli/json_items.h), then the entry checks.
void json_line(std::string_view bytes);
// A marketplace config file (settlement/config.h load_config).
void config_toml(std::string_view bytes);
// Amount and rate text: the first byte picks an exponent 0..18; what parses formats back to the
// same value.
void money_text(std::string_view bytes);
// A Cap'n Proto message read as a posted Item (rpc/wire.h decode_item), as the server reads a
// post call's items.
void wire_item(std::string_view bytes);
// A bank report (settlement/bank_report.h): pain.002, camt.054 or a NACHA return file.
void bank_report(std::string_view bytes);

struct Harness {
  const char* name;  // also the folder of its corpus: fuzz/corpus/<name>, fuzz/regressions/<name>
  void (*run)(std::string_view);
};
inline constexpr Harness kHarnesses[] = {
    {"json_line", json_line}, {"config_toml", config_toml}, {"money_text", money_text},
    {"wire_item", wire_item}, {"bank_report", bank_report},
};

}  // namespace tally::fuzz
