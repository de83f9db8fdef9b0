// The fuzz harnesses (contract in fuzz/harnesses.h).
#include "fuzz/harnesses.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli/json_items.h"
#include "ledger/entry.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "rpc/wire.h"
#include "settlement/bank_report.h"
#include "settlement/config.h"

namespace tally::fuzz {
namespace {

// The server's lookup over the built-in currencies (a fresh ledger declares no asset).
std::optional<Currency> find_currency(std::string_view code) {
  static const CurrencyTable table;
  return table.find(code);
}

// The item as a client sends it: one flat message.
std::string item_message(const PostItem& item) {
  capnp::MallocMessageBuilder m;
  wire::encode_item(m.initRoot<wire::Item>(), item);
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A flat message decoded as the server decodes a post call's item, with its reader limits. A
// malformed message throws a kj exception (the RPC layer turns it into the call's error).
Result<PostItem> read_item_message(std::string_view bytes) {
  // Words aligned, as the RPC layer hands them over.
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), words.size() * sizeof(capnp::word));
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits::message_words_max;
  options.nestingLimit = limits::message_nesting_max;
  capnp::FlatArrayMessageReader message(kj::arrayPtr(words.data(), words.size()), options);
  return wire::decode_item(message.getRoot<wire::Item>(), find_currency);
}

// An item survives the wire: decoded, it encodes to the same message.
void check_round_trip(const std::string& sent, std::string_view what) {
  auto back = read_item_message(sent);
  TALLY_ASSERT(back.ok(), std::string(what) + " refused by the wire reader: " +
                              (back.ok() ? std::string() : back.error().message));
  TALLY_ASSERT(item_message(*back) == sent, std::string(what) + " changed on the wire");
}

}  // namespace

void json_line(std::string_view bytes) {
  LineParser parser(find_currency);
  LineInfo info;
  auto item = parser.parse(bytes, &info);
  TALLY_ASSERT(info.id.size() <= limits::entry_id_bytes_max,
               "a line's id reported with " + std::to_string(info.id.size()) + " bytes");
  if (!item) {
    TALLY_ASSERT(item.error().code != Code::ok, "a rejection carries a code");
    return;
  }
  if (auto* e = std::get_if<Entry>(&item->body)) {
    Entry copy = *e;
    // An entry the ledger refuses is one the wire reader may refuse first (postings over the
    // limit): only what passes both is compared.
    if (!validate_entry_shape(copy)) return;
  }
  check_round_trip(item_message(*item), "an item the JSON reader accepted");
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
  if (bytes.size() < sizeof(capnp::word)) return;
  std::optional<std::string> sent;
  kj::runCatchingExceptions([&] {
    auto item = read_item_message(bytes);
    if (!item) {
      TALLY_ASSERT(item.error().code != Code::ok, "a rejection carries a code");
      return;
    }
    sent = item_message(*item);
  });
  // Outside the catch: a broken invariant is a crash, not a kj exception.
  if (sent) check_round_trip(*sent, "a decoded item");
}

void bank_report(std::string_view bytes) {
  auto r = parse_bank_report(bytes);
  if (!r) TALLY_ASSERT(!r.error().message.empty(), "a report rejection says where");
}

std::string wire_item_seed(std::string_view json_line) {
  LineParser parser(find_currency);
  auto item = parser.parse(json_line);
  return item ? item_message(*item) : std::string();
}

}  // namespace tally::fuzz
