// ServerThread (contract in rpc/server.h): an RpcServer on a thread of its own, for tests and
// embedders.
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "rpc/server.h"

namespace tally {

struct ServerThread::State {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::string address;
  std::optional<Rejection> error;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  ServerStats stats;
  RpcServer* server = nullptr;  // while serving, with the loop's executor
  kj::Own<const kj::Executor> executor;
  std::thread thread;
};

Result<std::unique_ptr<ServerThread>> ServerThread::start(Service& service, ServerOptions options) {
  // A peer that leaves mid-reply must not kill the process: writes report EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  auto st = std::make_shared<State>();
  st->thread = std::thread([st, &service, options = std::move(options)]() mutable {
    auto io = kj::setupAsyncIo();
    // The stop signal: the owner's thread fulfils it (ServerThread::stop).
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    RpcServer server(service, std::move(options), io);
    auto listened = server.listen().then(
        [](std::string a) -> kj::Maybe<std::string> { return kj::mv(a); },
        [st](kj::Exception&& e) -> kj::Maybe<std::string> {
          std::lock_guard lock(st->m);
          st->error = reject(Code::internal, "listen: " + std::string(e.getDescription().cStr()));
          return nullptr;
        });
    auto addr = listened.wait(io.waitScope);
    {
      std::lock_guard lock(st->m);
      KJ_IF_MAYBE (a, addr) {
        st->address = *a;
      }
      st->stop = kj::mv(stop.fulfiller);
      st->server = &server;
      st->executor = kj::getCurrentThreadExecutor().addRef();
      st->ready = true;
    }
    st->cv.notify_all();
    if (addr == nullptr) return;
    stop.promise.wait(io.waitScope);
    server.shutdown(30000).wait(io.waitScope);
    std::lock_guard lock(st->m);
    st->stats = server.stats();
    st->server = nullptr;
  });
  {
    std::unique_lock lock(st->m);
    st->cv.wait(lock, [&] { return st->ready; });
    if (st->error) {
      Rejection e = *st->error;
      lock.unlock();
      st->thread.join();
      return e;
    }
  }
  std::unique_ptr<ServerThread> t(new ServerThread());
  t->address_ = st->address;
  t->state_ = st;
  return t;
}

ServerThread::~ServerThread() {
  stop();
}

void ServerThread::stop() {
  if (!state_ || !state_->thread.joinable()) return;
  state_->stop->fulfill();
  state_->thread.join();
}

ServerStats ServerThread::stats() const {
  std::unique_lock lock(state_->m);
  if (state_->server == nullptr) return state_->stats;
  RpcServer* server = state_->server;
  auto executor = state_->executor->addRef();
  lock.unlock();
  // Runs on the server's loop; the server lives until its thread stops, which only stop() (on
  // this same owner thread) causes.
  return executor->executeSync([server] { return server->stats(); });
}

}  // namespace tally
