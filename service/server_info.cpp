// The server's version and limits (contract in service/server_info.h).
#include "service/server_info.h"

#include "ledger/limits.h"

#ifndef TALLY_VERSION
#error "TALLY_VERSION is set by service/CMakeLists.txt"
#endif

namespace tally {

ServerInfo builtin_server_info() {
  ServerInfo i;
  i.version = TALLY_VERSION;
  i.batch_items_max = limits::batch_items_max;
  i.id_bytes_max = limits::entry_id_bytes_max;
  i.postings_per_entry_max = limits::postings_per_entry_max;
  i.meta_bytes_max = limits::meta_bytes_max;
  i.message_words_max = limits::message_words_max;
  i.connections_max = limits::connections_max;
  i.long_reads_max = limits::long_reads_max;
  i.stream_calls_in_flight_max = 8;  // rpc/server_channel.h SendWindow::kCallsInFlightMax
  i.login_timeout_ms = limits::login_timeout_ms;
  i.idle_timeout_ms = limits::idle_timeout_ms;
  i.unauthenticated_bytes_max = limits::unauthenticated_bytes_max;
  i.calls_in_flight_max = limits::calls_in_flight_max;
  i.reply_queued_bytes_max = limits::reply_queued_bytes_max;
  i.call_words_in_flight_max = limits::call_words_in_flight_max;
  return i;
}

}  // namespace tally
