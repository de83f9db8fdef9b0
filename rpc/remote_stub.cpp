// Placeholders for the RPC client and server hooks of rpc/backend.h, so the `tally` binary links
// before they exist. Delete this file in the commit that implements them (rpc/client*.cpp,
// rpc/server*.cpp).
#include <ostream>

#include "rpc/backend.h"

namespace tally {

Reply<std::unique_ptr<Backend>> make_remote_backend(const std::string& address,
                                                    const std::string&) {
  return Failure{Failure::Kind::cannot_connect,
                 "cannot connect to " + address + ": this build has no RPC client yet"};
}

int run_serve_command(const CliGlobals&, std::span<const std::string>, std::istream&, std::ostream&,
                      std::ostream& err) {
  err << "tally serve: this build has no RPC server yet\n";
  return 3;
}

int run_demo_command(const CliGlobals&, std::span<const std::string>, std::istream&, std::ostream&,
                     std::ostream& err) {
  err << "tally demo: not available in this build yet\n";
  return 2;
}

}  // namespace tally
