// `tally serve`'s options, read by the CLI and handed to the server (rpc/server.h's serve_main).
#include <charconv>
#include <ostream>
#include <type_traits>

#include "cli/commands.h"
#include "rpc/server.h"

namespace tally {

int run_serve_command(const CliGlobals& globals, std::span<const std::string> args, std::istream&,
                      std::ostream&, std::ostream& err) {
  ServeOptions o;
  o.data_dir = globals.data_dir;
  o.config_file = globals.config_file;
  o.token = globals.token;
  o.tls_ca_file = globals.tls_ca;
  std::string chunk, level, connections, login_timeout, idle_timeout, sync_standbys, lease_ttl;
  const std::pair<std::string_view, std::string*> valued[] = {
      {"--data", &o.data_dir},
      {"--config", &o.config_file},
      {"--listen", &o.listen},
      {"--settle-chunk-payees", &chunk},
      {"--metrics", &o.metrics_listen},
      {"--log-level", &level},
      {"--tls-cert", &o.tls.cert_file},
      {"--tls-key", &o.tls.key_file},
      {"--connections-max", &connections},
      {"--login-timeout-ms", &login_timeout},
      {"--idle-timeout-ms", &idle_timeout},
      {"--sync-standbys", &sync_standbys},
      {"--standby-of", &o.standby_of},
      {"--etcd", &o.etcd},
      {"--cluster", &o.cluster},
      {"--advertise", &o.advertise},
      {"--lease-ttl-s", &lease_ttl},
  };
  auto usage = [&err](std::string_view why) {
    if (!why.empty()) err << "tally serve: " << why << "\n";
    err << "usage: tally serve --data DIR [--listen HOST:PORT|tls:HOST:PORT|unix:/PATH] "
           "[--config FILE] [--settle-chunk-payees N] [--metrics HOST:PORT] "
           "[--log-level debug|info|warn|error] [--tls-cert FILE --tls-key FILE] "
           "[--connections-max N] [--login-timeout-ms MS] [--idle-timeout-ms MS] "
           "[--replication-log] [--sync-standbys N] [--standby-of ADDR] "
           "[--etcd HOST:PORT,... --cluster NAME --advertise ADDR [--lease-ttl-s S]]\n";
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--replication-log") {
      o.replication_log = true;
      continue;
    }
    bool known = false;
    for (const auto& [name, into] : valued) {
      if (a == name) {
        if (i + 1 >= args.size()) return usage(std::string(name) + " needs a value");
        *into = args[++i];
        known = true;
      } else if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 &&
                 a[name.size()] == '=') {
        *into = a.substr(name.size() + 1);
        known = true;
      }
      // An empty value is a mistake (a variable that was not set), never the default.
      if (known && into->empty()) return usage(std::string(name) + " needs a value, not \"\"");
      if (known) break;
    }
    if (!known) return usage("unknown option " + a);
  }
  if (!chunk.empty()) {
    auto [end, ec] =
        std::from_chars(chunk.data(), chunk.data() + chunk.size(), o.settle_chunk_payees);
    if (ec != std::errc() || end != chunk.data() + chunk.size() || o.settle_chunk_payees == 0 ||
        o.settle_chunk_payees > limits::settle_chunk_payees_max) {
      err << "tally serve: --settle-chunk-payees: a number of payees, 1.."
          << limits::settle_chunk_payees_max << "\n";
      return 2;
    }
  }
  // A number in [min, max] into `into`; false (after saying why) otherwise.
  auto number = [&err](std::string_view name, const std::string& text, uint64_t min, uint64_t max,
                       auto& into) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
      err << "tally serve: " << name << ": a number, " << min << ".." << max << "\n";
      return false;
    }
    into = static_cast<std::remove_reference_t<decltype(into)>>(v);
    return true;
  };
  // 24 hours: a longer timeout is a typo (0 already means none for the idle timeout).
  constexpr uint64_t kTimeoutMsMax = 24ull * 3600 * 1000;
  if (!connections.empty() && !number("--connections-max", connections, 1, limits::connections_max,
                                      o.limits.connections_max))
    return 2;
  if (!login_timeout.empty() &&
      !number("--login-timeout-ms", login_timeout, 1, kTimeoutMsMax, o.limits.login_timeout_ms))
    return 2;
  if (!idle_timeout.empty() &&
      !number("--idle-timeout-ms", idle_timeout, 0, kTimeoutMsMax, o.limits.idle_timeout_ms))
    return 2;
  if (!sync_standbys.empty() &&
      !number("--sync-standbys", sync_standbys, 0, limits::sync_standbys_max, o.sync_standbys))
    return 2;
  if (!lease_ttl.empty() && !number("--lease-ttl-s", lease_ttl, limits::lease_ttl_s_min,
                                    limits::lease_ttl_s_max, o.lease_ttl_s))
    return 2;
  if (!lease_ttl.empty() && o.etcd.empty())
    return usage("--lease-ttl-s is for --etcd (the lease a failover leader holds)");
  if (!o.standby_of.empty() && o.token.empty())
    return usage("--standby-of needs --token (or TALLY_TOKEN): a replica token of the leader");
  if (!o.etcd.empty() && (o.cluster.empty() || o.advertise.empty()))
    return usage(
        "--etcd needs --cluster and --advertise (the address clients reach this server at)");
  if (o.etcd.empty() && (!o.cluster.empty() || !o.advertise.empty()))
    return usage("--cluster and --advertise are for --etcd");
  if (!o.etcd.empty() && !o.standby_of.empty())
    return usage("--etcd and --standby-of: etcd decides whom a node follows");
  if (!o.etcd.empty() && o.token.empty())
    return usage("--etcd needs --token (or TALLY_TOKEN): a replica token, to follow the leader");
  if (!o.standby_of.empty() && o.sync_standbys > 0)
    return usage("--sync-standbys is for the leader, not a standby (--standby-of)");
  if (!level.empty()) {
    auto l = parse_log_level(level);
    if (!l) return usage("--log-level: one of debug, info, warn, error");
    o.log_level = *l;
  }
  const bool tls = o.listen.rfind("tls:", 0) == 0;
  if (tls && (o.tls.cert_file.empty() || o.tls.key_file.empty()))
    return usage("a tls: address needs --tls-cert and --tls-key");
  if (!tls && (!o.tls.cert_file.empty() || !o.tls.key_file.empty()))
    return usage("--tls-cert and --tls-key are for a tls: --listen address");
  return serve_main(o, err);
}

}  // namespace tally
