// The `tally` command line (SPEC section 5; every command, option and output shape is in
// docs/cli.md). Client commands run over a Backend: EmbeddedBackend for `--data DIR`, the RPC
// client for `--connect ADDR` (or TALLY_CONNECT); both print the same.
//
// Exit codes: 0 success, 1 rejected input (a line that failed, an unknown account, books that do
// not verify), 2 usage (unknown command or option, a malformed argument, an unreadable file or
// config), 3 cannot connect or not allowed (also: the store cannot be opened).
//
// A store that fails under a command (a damaged store, no free reader slot) is reported as such
// and exits 3.
//
// Thread safety: run_cli may run on several threads at once with distinct streams; it reads the
// environment (TALLY_CONNECT, TALLY_TOKEN) and, for progress, whether stderr is a terminal, and
// shares nothing else.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace tally {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;

// Runs one `tally` invocation. argv[0] is the program name. Reads `in` for `post -`; writes
// results to `out`, messages and progress to `err`. Progress is shown only when `err` is
// std::cerr and stderr is a terminal.
int run_cli(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace tally
