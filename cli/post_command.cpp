// `tally post FILE|-`: JSON Lines in, one result line per item out (docs/cli.md).
#include <algorithm>
#include <fstream>
#include <map>

#include "cli/command_context.h"
#include "cli/json_items.h"
#include "ledger/batch.h"
#include "ledger/json_writer.h"

namespace tally {

namespace {

// Reads one line (without its '\n'); keeps at most `max` + 1 bytes, so an endless line costs no
// memory; `too_long` tells. False at the end of the input with nothing read.
bool read_line(std::streambuf* sb, std::string& line, bool& too_long, size_t max) {
  line.clear();
  too_long = false;
  bool any = false;
  for (;;) {
    int ch = sb->sbumpc();
    if (ch == std::char_traits<char>::eof()) return any;
    any = true;
    if (ch == '\n') return true;
    if (line.size() <= max) {
      line.push_back(static_cast<char>(ch));
    } else {
      too_long = true;
    }
  }
}

struct Slot {
  uint64_t line = 0;
  bool linked = false;
  std::optional<PostItem> item;  // absent: rejected before sending
  ItemResult result;             // the rejection, or (after posting) the backend's result
};

struct PostStats {
  uint64_t ok = 0, duplicate = 0, failed = 0;
};

// Posts one chunk of slots (it ends at a chain boundary) and prints their result lines.
// Returns false when the backend failed (the failure is reported).
bool post_chunk(Ctx& c, std::vector<Slot>& slots, PostStats& stats, Progress& progress,
                uint64_t& posted_before, int& exit_code) {
  // A chain with a line refused here, or left open at the end of the input, fails whole: its
  // other items are not sent (ledger/batch.h).
  std::vector<std::string> ids(slots.size());
  std::vector<BatchItem> info(slots.size());
  for (size_t k = 0; k < slots.size(); ++k) {
    if (slots[k].item) ids[k] = post_item_id(slots[k].item->body);
    info[k] = BatchItem{ids[k], slots[k].linked, slots[k].item ? nullptr : &slots[k].result};
  }
  Triage triage =
      triage_batch(info, [&](size_t k) { return "line " + std::to_string(slots[k].line); });
  for (size_t k = 0; k < slots.size(); ++k)
    if (triage.decided[k]) {
      slots[k].result = std::move(*triage.decided[k]);
      slots[k].item.reset();
    }

  std::vector<PostItem> items;
  std::vector<size_t> sent;
  for (size_t k : triage.apply) {
    sent.push_back(k);
    items.push_back(std::move(*slots[k].item));
    slots[k].item.reset();
  }
  PostOutcome outcome;
  if (!items.empty()) {
    uint64_t base = posted_before;
    outcome = c.backend->post(std::move(items),
                              [&](uint64_t done, uint64_t) { progress.update(base + done, 0); });
  }
  for (size_t b = 0; b < outcome.results.size() && b < sent.size(); ++b)
    slots[sent[b]].result = std::move(outcome.results[b]);
  // Print in line order up to the first item whose outcome is unknown.
  size_t known =
      outcome.results.size() >= sent.size() ? slots.size() : sent[outcome.results.size()];
  progress.finish();
  for (size_t k = 0; k < known; ++k) {
    const ItemResult& r = slots[k].result;
    c.out << post_result_line(slots[k].line, r) << "\n";
    switch (r.status) {
      case ItemStatus::ok:
        ++stats.ok;
        break;
      case ItemStatus::duplicate:
        ++stats.duplicate;
        break;
      case ItemStatus::error:
        ++stats.failed;
        exit_code = std::max(exit_code, kExitRejected);
        break;
    }
  }
  posted_before += slots.size();
  if (outcome.failure) {
    c.out.flush();
    Failure f = *outcome.failure;
    if (known < slots.size())
      f.message += " (the outcome of line " + std::to_string(slots[known].line) +
                   " and later is unknown; reposting them is safe)";
    report_failure(c, f);
    exit_code = kExitUnavailable;
    return false;
  }
  return true;
}

}  // namespace

int cmd_post(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--chunk"}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one FILE (or - for stdin)");
  size_t chunk = 10000;
  if (auto v = p.value("--chunk")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (v->empty() || *end || n < 1 || n > 1000000)
      return usage_error(c, "--chunk must be a number 1..1000000");
    chunk = n;
  }
  std::ifstream file;
  std::streambuf* sb = nullptr;
  const std::string& path = p.positional[0];
  if (path == "-") {
    sb = c.in.rdbuf();
  } else {
    file.open(path, std::ios::binary);
    if (!file) return usage_error(c, "cannot read " + path);
    sb = file.rdbuf();
  }
  if (int rc = open_backend(c, /*creates=*/true); rc != kExitOk) return rc;

  // Entry amounts are parsed with their currency's exponent: a built-in, an asset the ledger
  // knows, or one an earlier line of this input declares (it is applied before the lines after
  // it, in the same or an earlier batch).
  std::map<std::string, Currency, std::less<>> declared;
  Backend* backend = c.backend.get();
  CurrencyLookup lookup = [backend, &declared](std::string_view code) -> std::optional<Currency> {
    if (auto it = declared.find(code); it != declared.end()) return it->second;
    return backend->find_currency(code);
  };
  LineParser parser(lookup);
  Progress progress(c.terminal, c.err, "posted");
  PostStats stats;
  int exit_code = kExitOk;
  std::vector<Slot> slots;
  std::string line;
  bool too_long = false;
  uint64_t line_no = 0, posted = 0;
  while (read_line(sb, line, too_long, limits::json_line_bytes_max)) {
    ++line_no;
    if (!too_long && blank_line(line)) continue;
    Slot s;
    s.line = line_no;
    if (too_long) {
      s.result = ItemResult::error(
          reject(Code::bad_request,
                 "line: longer than " + std::to_string(limits::json_line_bytes_max) + " bytes"));
    } else {
      LineInfo info;
      auto item = parser.parse(line, &info);
      s.linked = info.linked;
      if (item.ok()) {
        if (auto* a = std::get_if<DeclareAssetItem>(&item.value().body)) {
          auto cur = Currency::make(a->code, a->exponent);
          if (cur && !backend->find_currency(a->code)) declared.emplace(a->code, *cur);
        }
        s.item = std::move(item.value());
      } else {
        s.result = ItemResult::error(item.error(), info.id);
      }
    }
    slots.push_back(std::move(s));
    if (slots.size() >= chunk && !slots.back().linked) {
      if (!post_chunk(c, slots, stats, progress, posted, exit_code)) return exit_code;
      slots.clear();
    }
  }
  if (!slots.empty() && !post_chunk(c, slots, stats, progress, posted, exit_code)) return exit_code;
  progress.finish();
  c.out.flush();
  if (c.terminal)
    c.err << "tally post: " << (stats.ok + stats.duplicate + stats.failed) << " lines: " << stats.ok
          << " ok, " << stats.duplicate << " duplicate, " << stats.failed << " failed\n";
  return exit_code;
}

}  // namespace tally
