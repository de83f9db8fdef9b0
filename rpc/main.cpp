// The `tally` command: server, embedded and RPC client commands.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("tally %s\n", TALLY_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: tally --version\n");
  return 2;
}
