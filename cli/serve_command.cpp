// `tally serve`'s options, read by the CLI and handed to the server (rpc/server.h's serve_main).
#include <charconv>
#include <ostream>

#include "cli/commands.h"
#include "rpc/server.h"

namespace tally {

int run_serve_command(const CliGlobals& globals, std::span<const std::string> args, std::istream&,
                      std::ostream&, std::ostream& err) {
  std::string data = globals.data_dir, config = globals.config_file, listen, chunk;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--data")
      ok = value(data);
    else if (a == "--config")
      ok = value(config);
    else if (a == "--listen")
      ok = value(listen);
    else if (a == "--settle-chunk-payees")
      ok = value(chunk);
    else if (a.rfind("--data=", 0) == 0)
      data = a.substr(7);
    else if (a.rfind("--config=", 0) == 0)
      config = a.substr(9);
    else if (a.rfind("--listen=", 0) == 0)
      listen = a.substr(9);
    else
      ok = false;
    if (!ok) {
      err << "usage: tally serve --data DIR [--listen HOST:PORT|unix:/PATH] [--config FILE] "
             "[--settle-chunk-payees N]\n";
      return 2;
    }
  }
  uint64_t chunk_payees = 0;
  if (!chunk.empty()) {
    auto [end, ec] = std::from_chars(chunk.data(), chunk.data() + chunk.size(), chunk_payees);
    if (ec != std::errc() || end != chunk.data() + chunk.size() || chunk_payees == 0 ||
        chunk_payees > limits::settle_chunk_payees_max) {
      err << "tally serve: --settle-chunk-payees: a number of payees, 1.."
          << limits::settle_chunk_payees_max << "\n";
      return 2;
    }
  }
  return serve_main(data, config, listen, chunk_payees, err);
}

}  // namespace tally
