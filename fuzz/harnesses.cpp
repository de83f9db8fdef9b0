// The fuzz harnesses (contract in fuzz/harnesses.h).
#include "fuzz/harnesses.h"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <string>
#include <vector>

#include "cli/json_items.h"
#include "ledger/entry.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "rpc/wire.h"
#include "settlement/bank_report.h"
#include "settlement/config.h"

namespace tally::fuzz {

void json_line(std::string_view bytes) {
  static const CurrencyTable currencies;
  LineParser parser([](std::string_view code) { return currencies.find(code); });
  LineInfo info;
  auto item = parser.parse(bytes, &info);
  if (!item) {
    TALLY_ASSERT(item.error().code != Code::ok, "a rejection carries a code");
    return;
  }
  if (auto* e = std::get_if<Entry>(&item->body)) {
    Entry copy = *e;
    (void)validate_entry_shape(copy);
  }
}

void config_toml(std::string_view bytes) {
  CurrencyTable currencies;
  auto cfg = load_config(bytes, currencies);
  if (!cfg) TALLY_ASSERT(!cfg.error().message.empty(), "a config rejection says why");
}

void money_text(std::string_view bytes) {
  if (bytes.empty()) return;
  const int exponent = static_cast<unsigned char>(bytes[0]) % 19;
  const std::string_view text = bytes.substr(1);
  if (auto a = parse_amount(text, exponent, "amount")) {
    const std::string back = format_amount(*a, exponent);
    auto again = parse_amount(back, exponent, "amount");
    TALLY_ASSERT(again.ok(), "formatted amount " + back + " does not parse");
    TALLY_ASSERT(*again == *a, "amount " + back + " does not round-trip");
  }
  if (auto r = Rate::parse(text, "rate")) {
    const std::string back = r->to_string();
    auto again = Rate::parse(back, "rate");
    TALLY_ASSERT(again.ok(), "formatted rate " + back + " does not parse");
    TALLY_ASSERT(again->to_string() == back, "rate " + back + " does not round-trip");
  }
}

void wire_item(std::string_view bytes) {
  // Words aligned, as the RPC layer hands them over; the server's reader limits.
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  if (words.empty()) return;
  std::memcpy(words.data(), bytes.data(), words.size() * sizeof(capnp::word));
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 1 << 20;
  options.nestingLimit = 64;
  // A malformed message is a kj exception, which the RPC layer turns into the call's error; a
  // well-formed one decodes to an item or a rejection naming the field.
  kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader message(kj::arrayPtr(words.data(), words.size()), options);
    // The server's lookup over the built-in currencies (a fresh ledger declares no asset).
    static const CurrencyTable table;
    auto item = wire::decode_item(message.getRoot<wire::Item>(),
                                  [](std::string_view code) { return table.find(code); });
    if (!item) TALLY_ASSERT(item.error().code != Code::ok, "a rejection carries a code");
  });
}

void bank_report(std::string_view bytes) {
  auto r = parse_bank_report(bytes);
  if (!r) TALLY_ASSERT(!r.error().message.empty(), "a report rejection says where");
}

}  // namespace tally::fuzz
