// The `tally` command: server, embedded and RPC client commands (rpc/cli.h).
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // Results go out line by line in volume (tally post): no C stdio sync needed.
  std::ios::sync_with_stdio(false);
  tally::set_cli_version(TALLY_VERSION);
  int rc = tally::run_cli(argc, argv, std::cin, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
