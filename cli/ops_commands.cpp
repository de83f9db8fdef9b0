// The operator's commands (SPEC section 9): `tally backup DEST`, `tally restore SRC`, `tally token
// hash`. docs/operations.md describes them.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/command_context.h"
#include "ledger/backup.h"
#include "ledger/json_writer.h"
#include "ops/token_hash.h"
#include "rpc/client.h"

namespace tally {

namespace {

constexpr std::string_view kBackupFormat = "tally-backup-1";
constexpr std::string_view kBackupHeadFile = "backup.json";

std::string head_json(const JournalHead& h, const std::string& source) {
  JsonWriter w;
  w.begin_object()
      .field("format", kBackupFormat)
      .key("seq")
      .raw(std::to_string(h.seq))
      .field("hash", to_hex(h.hash))
      .field("last_commit", format_rfc3339(h.commit_ns))
      .field("source", source);
  w.end_object();
  return w.str();
}

// The head a backup directory's backup.json records; an error message or empty.
std::string read_recorded_head(const std::string& dir, uint64_t* seq, std::string* hash) {
  const std::string path = dir + "/" + std::string(kBackupHeadFile);
  std::ifstream in(path);
  if (!in) return "no " + path + " (not a tally backup directory)";
  std::string text((std::istreambuf_iterator<char>(in)), {});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc)) return path + ": not JSON";
  std::string_view format, h;
  if (doc["format"].get(format) || format != kBackupFormat)
    return path + ": format: expected " + std::string(kBackupFormat);
  if (doc["seq"].get(*seq)) return path + ": seq: expected a number";
  if (doc["hash"].get(h) || h.size() != 64) return path + ": hash: expected 64 hex digits";
  *hash = std::string(h);
  return {};
}

Status sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::io_error("cannot sync " + path);
}

// Writes `text` to `path` through a temporary file, fsynced and renamed into place.
Status write_file_durably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::io_error("cannot write " + tmp);
  }
  Status s = sync_file(tmp);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::io_error("cannot rename " + tmp);
  return sync_file(std::filesystem::path(path).parent_path().string());
}

}  // namespace

// `tally --connect ADDR backup DEST` (Finance.backup): the server streams its store; DEST/data.mdb
// is written under a temporary name, checked against the trailer, fsynced and renamed; the head
// is read back from the copy, as for a local backup. Nothing is left in DEST on failure.
Status backup_remote(Ctx& c, const std::string& dest, JournalHead* head, int* exit_code) {
  std::error_code ec;
  std::filesystem::create_directories(dest, ec);
  const std::string target = dest + "/data.mdb", tmp = target + ".partial";
  if (std::filesystem::exists(target)) {
    *exit_code = kExitUnavailable;
    return Status::io_error(target + " exists: a backup directory takes one backup");
  }
  ClientOptions o;
  o.address = c.g.connect;
  o.token = c.g.token;
  o.tls_ca_file = c.g.tls_ca;
  o.tls_server_name = c.g.tls_name;
  auto client = Client::connect(o);
  if (!client.ok()) {
    *exit_code = report(c, client);
    return Status::io_error("");
  }
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  auto r = client.value()->backup([&out](std::string_view chunk) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return static_cast<bool>(out);
  });
  const bool written = static_cast<bool>(out.flush());
  out.close();
  if (!r.ok()) {
    ::unlink(tmp.c_str());
    *exit_code = report(c, r);
    return Status::io_error("");
  }
  Status s = written ? sync_file(tmp) : Status::io_error("cannot write " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), target.c_str()) != 0)
    s = Status::io_error("cannot rename " + tmp);
  if (s.ok()) s = sync_file(dest);
  if (s.ok()) s = read_journal_head(dest, head);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    ::unlink(target.c_str());
    *exit_code = kExitUnavailable;
  }
  return s;
}

int cmd_backup(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1)
    return usage_error(c, "usage: tally backup DEST (--data DIR | --connect ADDR)");
  if (c.data_given && c.connect_given)
    return usage_error(c, "backup takes --data DIR or --connect ADDR, not both");
  if (!c.connect_given && c.g.data_dir.empty())
    return usage_error(c, "backup needs --data DIR or --connect ADDR");
  const std::string dest = p.positional[0];
  const std::string source = c.connect_given ? c.g.connect : c.g.data_dir;
  JournalHead head;
  if (c.connect_given) {
    int code = kExitOk;
    Status s = backup_remote(c, dest, &head, &code);
    if (!s.ok()) {
      if (!s.message().empty()) print_error(c, "store", s.to_string());
      return code;
    }
  } else {
    Status s = backup_store(c.g.data_dir, dest, &head);
    if (!s.ok()) {
      print_error(c, "store", s.to_string());
      return kExitUnavailable;
    }
  }
  const std::string record = head_json(head, source);
  Status s = write_file_durably(dest + "/" + std::string(kBackupHeadFile), record + "\n");
  if (!s.ok()) {
    print_error(c, "store", s.to_string());
    return kExitUnavailable;
  }
  if (c.g.json)
    c.out << record << "\n";
  else
    c.out << "backup of " << source << " in " << dest << ": " << head.seq << " entries, head "
          << to_hex(head.hash) << "\n";
  return kExitOk;
}

int cmd_restore(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "usage: tally restore SRC --data DIR");
  if (c.connect_given) return usage_error(c, "restore writes --data DIR, not a server");
  if (c.g.data_dir.empty()) return usage_error(c, "restore needs --data DIR (the new store)");
  const std::string src = p.positional[0], dir = c.g.data_dir;
  uint64_t seq = 0;
  std::string hash;
  if (auto e = read_recorded_head(src, &seq, &hash); !e.empty()) {
    print_error(c, "bad_backup", e);
    return kExitRejected;
  }
  // The copy must hold what its record says before anything is written.
  JournalHead copy;
  if (Status s = read_journal_head(src, &copy); !s.ok()) {
    print_error(c, "bad_backup", s.to_string());
    return kExitRejected;
  }
  if (copy.seq != seq || to_hex(copy.hash) != hash) {
    print_error(c, "bad_backup",
                src + ": the copy's head (" + std::to_string(copy.seq) + ", " + to_hex(copy.hash) +
                    ") is not the recorded one (" + std::to_string(seq) + ", " + hash + ")");
    return kExitRejected;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string target = dir + "/data.mdb";
  if (std::filesystem::exists(target)) {
    print_error(c, "exists", dir + " already holds a store; restore into an empty directory");
    return kExitRejected;
  }
  const std::string partial = target + ".restoring";
  std::filesystem::copy_file(src + "/data.mdb", partial,
                             std::filesystem::copy_options::overwrite_existing, ec);
  Status s = ec ? Status::io_error("cannot copy " + src + "/data.mdb: " + ec.message())
                : sync_file(partial);
  if (s.ok() && ::rename(partial.c_str(), target.c_str()) != 0)
    s = Status::io_error("cannot rename " + partial);
  if (s.ok()) s = sync_file(dir);
  if (!s.ok()) {
    std::filesystem::remove(partial, ec);
    print_error(c, "store", s.to_string());
    return kExitUnavailable;
  }
  // The full verify on the restored store before anyone uses it; a failure removes it.
  auto discard = [&] {
    c.backend.reset();
    std::filesystem::remove(target, ec);
    std::filesystem::remove(dir + "/lock.mdb", ec);
  };
  if (int code = open_backend(c, false); code != kExitOk) {
    discard();
    return code;
  }
  Progress progress(c.terminal, c.err, "verifying");
  auto r = c.backend->verify([&](uint64_t done, uint64_t total) { progress.update(done, total); });
  progress.finish();
  if (!r.ok()) {
    discard();
    return report(c, r);
  }
  const VerifyReport& rep = r.value();
  std::string problem;
  if (!rep.ok)
    problem = "verify FAILED: " + rep.problem;
  else if (rep.entries != seq || to_hex(rep.head) != hash)
    problem = "the restored journal ends at (" + std::to_string(rep.entries) + ", " +
              to_hex(rep.head) + "), the backup recorded (" + std::to_string(seq) + ", " + hash +
              ")";
  if (!problem.empty()) {
    discard();
    print_error(c, "verify_failed", problem + "; nothing restored");
    return kExitRejected;
  }
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .field("status", "ok")
        .field("data", dir)
        .key("seq")
        .raw(std::to_string(seq))
        .field("hash", hash);
    w.end_object();
    c.out << w.str() << "\n";
  } else {
    c.out << "restored " << src << " into " << dir << ": " << seq << " entries, head " << hash
          << ", verify ok\n";
  }
  return kExitOk;
}

int cmd_token(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.empty() || p.positional[0] != "hash" || p.positional.size() > 2)
    return usage_error(c, "usage: tally token hash [TOKEN]  (TOKEN read from stdin if not given)");
  std::string token;
  if (p.positional.size() == 2) {
    token = p.positional[1];
  } else if (!std::getline(c.in, token)) {
    return usage_error(c, "no token on stdin");
  }
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) return usage_error(c, "an empty token");
  c.out << hash_token(token) << "\n";
  return kExitOk;
}

}  // namespace tally
