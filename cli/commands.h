// The commands of `tally` that are not a Backend call: what every command sees (CliGlobals), and
// the commands that run a server (`tally serve`, cli/serve_command.cpp) or the demo
// (cli/demo.cpp). The client commands are in cli/cli.cpp.
//
// Thread safety: each call is independent; they use only their arguments and streams.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace tally {

// The global options every command sees (parsed by the CLI before the command).
struct CliGlobals {
  std::string data_dir;     // --data
  std::string config_file;  // --config
  std::string connect;      // --connect or TALLY_CONNECT
  std::string token;        // --token or TALLY_TOKEN
  std::string tls_ca;       // --tls-ca FILE (or TALLY_TLS_CA): CAs for a tls: address
  std::string tls_name;     // --tls-name NAME: the name the server's certificate must carry
  bool json = false;        // --json
};

// `tally serve [...]` and `tally demo [...]`: `args` are the arguments after the subcommand
// name. Return the process exit code (SPEC section 5).
int run_serve_command(const CliGlobals& globals, std::span<const std::string> args,
                      std::istream& in, std::ostream& out, std::ostream& err);
int run_demo_command(const CliGlobals& globals, std::span<const std::string> args, std::istream& in,
                     std::ostream& out, std::ostream& err);

}  // namespace tally
