// Finance.backup (contract in rpc/backup_stream.h).
#include "rpc/backup_stream.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include "rpc/server_impl.h"
#include "rpc/wire.h"

namespace tally {

kj::Promise<void> answer_backup(
    RpcServerImpl& server,
    capnp::CallContext<wire::Finance::BackupParams, wire::Finance::BackupResults> ctx) {
  auto p = ctx.getParams();
  if (!p.hasSink()) {
    wire::encode_error(ctx.getResults().initError(), reject(Code::bad_request, "sink: missing"));
    return kj::READY_NOW;
  }
  auto sent = std::make_shared<SentText>();
  return server
      .off_loop<bool>(
          [&ledger = server.service().ledger()](ChunkingSink& sink, Channel&) {
            int fds[2];
            if (::pipe2(fds, O_CLOEXEC) != 0)
              throw StoreFailure(
                  Status::io_error(std::string("backup: pipe: ") + std::strerror(errno)));
            Status copied;
            std::thread copier([&ledger, &copied, fd = fds[1]] {
              // A receiver gone makes the copy's write fail with EPIPE, not kill the process.
              sigset_t pipe_signal;
              sigemptyset(&pipe_signal);
              sigaddset(&pipe_signal, SIGPIPE);
              pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
              copied = ledger.copy_store(fd);
              ::close(fd);
            });
            std::string buf(Channel::kChunkBytes, '\0');
            bool taken = true;
            while (true) {
              const ssize_t n = ::read(fds[0], buf.data(), buf.size());
              if (n < 0 && errno == EINTR) continue;
              if (n <= 0) break;
              if (!sink.write(std::string_view(buf.data(), static_cast<size_t>(n)))) {
                taken = false;  // the receiver went away: closing the pipe stops the copy (EPIPE)
                break;
              }
            }
            ::close(fds[0]);
            copier.join();
            if (taken && !copied.ok()) throw StoreFailure(copied);
            sink.flush();
            return taken;
          },
          text_sender(p.getSink(), sent), nullptr)
      .then([ctx, sent](bool) mutable {
        auto digest = sent->sha.digest();
        ctx.getResults().setBytes(sent->bytes);
        ctx.getResults().setSha256(capnp::Data::Reader(digest.data(), digest.size()));
      });
}

}  // namespace tally
