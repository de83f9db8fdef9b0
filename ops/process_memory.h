// The process's resident memory from /proc/self/status (Linux), as a gauge source.
//
// RssAnon is memory the process itself allocated (heap, stacks, LMDB's dirty pages of a write
// transaction); RssFile is file-backed pages mapped and resident, which for tally is mostly the
// LMDB map: the kernel may drop those at any time, so they matter less than RssAnon.
//
// Thread safety: pure functions and a read of /proc; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ops/metrics.h"

namespace tally {

struct ProcessMemory {
  int64_t rss_anon_bytes = 0;
  int64_t rss_file_bytes = 0;
};

// Reads the "RssAnon:" and "RssFile:" lines ("RssAnon:\t    1234 kB") of a /proc/<pid>/status
// text. nullopt when either is missing or malformed.
std::optional<ProcessMemory> parse_proc_status(std::string_view text);
// parse_proc_status of /proc/self/status; nullopt when it cannot be read.
std::optional<ProcessMemory> read_process_memory();

// Registers tally_process_rss_bytes{kind="anon"} and {kind="file"}, read at every render.
void register_process_memory(MetricsRegistry& registry);

}  // namespace tally
