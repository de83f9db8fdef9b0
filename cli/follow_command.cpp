// `tally follow [--from SEQ] [--limit N] [--json]`: the change stream (Auditor.follow, SPEC
// section 9) printed as it arrives, one line an entry (JSON Lines with --json), over --connect.
#include <charconv>
#include <ostream>

#include "cli/command_context.h"
#include "ledger/json_writer.h"
#include "rpc/client.h"

namespace tally {

std::string entry_json(const EntryView& v) {
  const Entry& e = v.entry;
  JsonWriter w;
  w.begin_object()
      .field("id", e.id)
      .key("seq")
      .unsigned_number(v.seq)
      .field("at", format_rfc3339(e.at))
      .field("committed", format_rfc3339(v.commit_ns))
      .field("kind", e.kind);
  w.key("meta").begin_object();
  for (auto& [k, val] : e.meta) w.field(k, val);
  w.end_object().key("postings").begin_array();
  for (auto& ps : e.postings)
    w.begin_object()
        .field("account", ps.account)
        .field("currency", ps.currency.code())
        .field("side", side_name(ps.side))
        .field("amount", format_amount(ps.amount, ps.currency))
        .end_object();
  w.end_array().field("prev_hash", to_hex(v.prev_hash)).field("hash", to_hex(v.hash));
  w.end_object();
  return w.str();
}

namespace {

bool parse_u64(const std::string& text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int cmd_follow(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--from", "--limit"}, {}, p); !e.empty())
    return usage_error(c, e);
  if (!p.positional.empty()) return usage_error(c, "takes no arguments");
  uint64_t from = 1, limit = 0;
  if (auto v = p.value("--from"); v && !parse_u64(*v, &from))
    return usage_error(c, "--from: a seq (1 is the first entry)");
  if (auto v = p.value("--limit"); v && !parse_u64(*v, &limit))
    return usage_error(c, "--limit: a number of entries");
  if (c.data_given || c.g.connect.empty())
    return usage_error(c, "follow reads a server's change stream: --connect ADDR");
  ClientOptions o;
  o.address = c.g.connect;
  o.token = c.g.token;
  o.tls_ca_file = c.g.tls_ca;
  o.tls_server_name = c.g.tls_name;
  auto client = Client::connect(o);
  if (!client.ok()) return report(c, client);
  uint64_t last = 0;
  auto r = client.value()->follow(
      from, limit,
      [&c](const EntryView& v) {
        if (c.g.json)
          c.out << entry_json(v) << "\n";
        else
          c.out << v.seq << "  " << format_rfc3339(v.commit_ns) << "  " << v.entry.id << "  "
                << v.entry.kind << "  " << to_hex(v.hash) << "\n";
        c.out.flush();
        return static_cast<bool>(c.out);
      },
      &last);
  if (!r.ok()) {
    if (r.failed()) {
      Failure f = r.failure();
      f.message += "; resume with --from " + std::to_string(last + 1);
      return report_failure(c, f);
    }
    return report_rejection(c, r.rejection());
  }
  return kExitOk;
}

}  // namespace tally
