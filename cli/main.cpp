// The `tally` command: server, embedded and RPC client commands (cli/cli.h).
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // Results go out line by line in volume (tally post): no C stdio sync needed.
  std::ios::sync_with_stdio(false);
  int rc = tally::run_cli(argc, argv, std::cin, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
