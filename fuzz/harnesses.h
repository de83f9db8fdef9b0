// The fuzz harnesses: each takes arbitrary bytes and feeds them to one parser of outside input,
// checking the invariants that must hold whatever the bytes (a parse that succeeds round-trips;
// the two readers of a posted item agree; nothing aborts, leaks or reads out of bounds). A
// harness returns normally on any input a parser rejects; an invariant broken is a TALLY_ASSERT,
// so the fuzzer reports it as a crash.
//
// The same functions run under libFuzzer (fuzz/fuzz_main.cpp, `scripts/build fuzz`, scripts/fuzz)
// and, on the seed corpora and every input a fuzzer ever crashed on (fuzz/regressions/), as an
// ordinary test (tests/fuzz/replay_test.cpp), so a crash found once stays fixed. The seeds:
// fuzz/seeds/README.md.
//
// Thread safety: each call is independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tally::fuzz {

// One JSON Lines item as `tally post` reads it (cli/json_items.h), then the entry checks. What
// the JSON reader accepts, the wire reader (rpc/wire.h decode_item) accepts too, and it survives
// the trip through the wire unchanged; an id reported for a refused line is within the id limit.
void json_line(std::string_view bytes);
// A marketplace config file (settlement/config.h load_config).
void config_toml(std::string_view bytes);
// Amount and rate text: the first byte picks an exponent 0..18; what parses formats back to the
// same value.
void money_text(std::string_view bytes);
// A Cap'n Proto message read as a posted Item (rpc/wire.h decode_item), as the server reads a
// post call's items: a malformed message is a kj exception, a well-formed one an item or a
// rejection with a code; an item decoded encodes to a message that decodes to the same item.
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

// A seed for wire_item: the item of one JSON Lines line as a client sends it (a flat Cap'n
// Proto message: segment table, then words). Empty when the JSON reader refuses the line.
// scripts/fuzz writes them with fuzz_wire_seeds (fuzz/wire_seeds_main.cpp); the replay test
// makes them in-process, from the same lines as json_line's seeds.
std::string wire_item_seed(std::string_view json_line);

}  // namespace tally::fuzz
