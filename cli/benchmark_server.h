// The server `tally benchmark` posts to over RPC (cli/benchmark.h): a `tally serve` child process
// on a unix socket in the run's work directory, over the run's data directory, with a config
// holding one token (poster and auditor) and nothing else; and the memory figures of a process
// (/proc/PID/status) the benchmark reports for itself and for that server.
//
// Thread safety: a BenchServer is used by one thread; proc_memory reads a file and shares nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tally {

// A process's resident memory in bytes: now (VmRSS) and at its peak (VmHWM), and now split into
// anonymous memory (heap, stacks: RssAnon) and file pages (mostly the LMDB map: RssFile).
struct ProcMemory {
  uint64_t rss_bytes = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t anon_bytes = 0;
  uint64_t file_bytes = 0;
};
// pid 0: this process. nullopt when the process is gone or /proc cannot be read.
std::optional<ProcMemory> proc_memory(pid_t pid = 0);
// Bytes the process caused to be written to storage so far (/proc/PID/io write_bytes: what its
// writes and fsyncs sent to the disk); pid 0: this process. nullopt when it cannot be read.
std::optional<uint64_t> proc_write_bytes(pid_t pid = 0);

class BenchServer {
 public:
  // Forks and executes `tally_bin serve --data DATA --config WORK/benchmark.toml --listen
  // unix:WORK/tally.sock` (its log in WORK/server.log), then waits until a client can log in
  // (at most 60 s). The error says why not, with the log's tail.
  static std::unique_ptr<BenchServer> start(const std::string& tally_bin,
                                            const std::string& data_dir, const std::string& work,
                                            std::string* error);
  ~BenchServer();  // stop()

  const std::string& address() const { return address_; }
  static constexpr const char* kToken = "tally-benchmark";
  pid_t pid() const { return pid_; }
  // SIGTERM (the server drains and exits) and wait; true when it exited 0. Idempotent.
  bool stop();

 private:
  BenchServer() = default;
  pid_t pid_ = -1;
  std::string address_, log_;
  bool stopped_ = false, clean_ = false;
};

}  // namespace tally
