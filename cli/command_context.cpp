#include "cli/command_context.h"

#include "cli/embedded_backend.h"
#include "cli/remote_backend.h"
#include "ledger/json_writer.h"

namespace tally {

std::string parse_options(const std::vector<std::string>& args,
                          const std::set<std::string>& value_opts,
                          const std::set<std::string>& flag_opts, Parsed& p) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      p.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (value_opts.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return name + " needs a value";
        value = args[++i];
      }
      if (p.values.count(name)) return name + " given twice";
      p.values[name] = value;
    } else if (flag_opts.count(name) && !inline_value) {
      p.flags.insert(name);
    } else {
      return "unknown option " + name;
    }
  }
  return {};
}

std::string money(Amount a, const Currency& c) {
  return format_amount(a, c) + " " + std::string(c.code());
}

// Left-aligned text columns with the amount columns right-aligned.
int usage_error(Ctx& c, const std::string& message) {
  c.err << "tally " << c.command << (c.command.empty() ? "" : ": ") << message
        << "\n(tally help shows every command)\n";
  return kExitUsage;
}

void print_error(Ctx& c, std::string_view code, const std::string& message) {
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("status", "error").field("code", code).field("message", message);
    w.end_object();
    c.err << w.str() << "\n";
  } else {
    c.err << "tally " << c.command << ": " << message << "\n";
  }
}

int report_rejection(Ctx& c, const Rejection& r) {
  print_error(c, code_name(r.code), r.message);
  return kExitRejected;
}

int report_failure(Ctx& c, const Failure& f) {
  print_error(c, failure_kind_name(f.kind), f.message);
  return kExitUnavailable;
}

// Opens the backend the globals choose. Returns kExitOk or the exit code to stop with.
int open_backend(Ctx& c, bool creates) {
  if (c.data_given && c.connect_given)
    return usage_error(c, "give either --data DIR or --connect ADDR, not both");
  bool remote = c.connect_given || (!c.data_given && !c.g.connect.empty());
  if (remote) {
    if (!c.g.config_file.empty())
      return usage_error(c, "--config is for --data (a server reads its own config)");
    ClientOptions o;
    o.address = c.g.connect;
    o.token = c.g.token;
    o.tls_ca_file = c.g.tls_ca;
    o.tls_server_name = c.g.tls_name;
    auto b = make_remote_backend(o);
    if (!b.ok()) return report(c, b);
    c.backend = std::move(b.value());
    return kExitOk;
  }
  if (c.g.data_dir.empty()) return usage_error(c, "no --data DIR or --connect ADDR given");
  EmbeddedOptions o;
  o.data_dir = c.g.data_dir;
  o.create_if_missing = creates;
  if (!c.g.config_file.empty()) {
    auto cfg = load_config_file(c.g.config_file, CurrencyTable());
    if (!cfg.ok()) {
      c.err << "tally " << c.command << ": config " << c.g.config_file << ":\n"
            << cfg.error().message << "\n";
      return kExitUsage;
    }
    o.config = std::move(cfg.value());
  }
  auto b = EmbeddedBackend::open(std::move(o));
  if (!b.ok()) return report(c, b);
  c.backend = std::move(b.value());
  return kExitOk;
}

std::optional<TimeNs> time_option(Ctx& c, const Parsed& p, const std::string& name, int* code) {
  auto v = p.value(name);
  if (!v) return std::nullopt;
  auto t = parse_time_or_date(*v, name);
  if (!t.ok()) {
    *code = usage_error(c, t.error().message +
                               " (give RFC 3339, e.g. 2026-01-05T10:00:00Z, "
                               "or a date, 2026-01-05)");
    return std::nullopt;
  }
  return *t;
}

}  // namespace tally
