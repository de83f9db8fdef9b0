// How work done off the server's event loop (verify, export, settlement, long reads) hands its
// output back to the loop: Channel (a bounded queue of chunks plus the latest progress) and
// ChunkingSink (text gathered into chunks of about Channel::kChunkBytes). Internal to rpc/.
//
// Thread safety: a Channel is shared by exactly one worker thread (push, progress, finish,
// cancelled) and the loop's thread (take, when_ready, cancel). A ChunkingSink belongs to the
// worker.
#pragma once

#include <kj/async.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace tally {

// What a worker thread (verify, export) hands to the event loop: text chunks and progress, with
// back-pressure. The worker never waits on the event loop itself, only on this channel, which
// the loop side or cancel() releases: so the loop's thread can always join a worker.
class Channel {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;
  static constexpr size_t kQueueBytesMax = 1024 * 1024;

  // Worker side. False when the reader went away.
  bool push(std::string chunk) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return cancelled_ || queued_bytes_ < kQueueBytesMax; });
    if (cancelled_) return false;
    queued_bytes_ += chunk.size();
    chunks_.push_back(std::move(chunk));
    wake_locked();
    return true;
  }
  void progress(uint64_t done, uint64_t total, std::string stage = {}) {
    std::lock_guard lock(m_);
    progress_ = {done, total, std::move(stage)};
    has_progress_ = true;
    wake_locked();
  }
  void finish() {
    std::lock_guard lock(m_);
    finished_ = true;
    wake_locked();
  }
  bool cancelled() {
    std::lock_guard lock(m_);
    return cancelled_;
  }
  void cancel() {
    std::lock_guard lock(m_);
    cancelled_ = true;
    cv_.notify_all();
  }

  // Loop side: the next thing to do, or a promise that resolves when there may be one.
  struct Progress {
    uint64_t done = 0, total = 0;
    std::string stage;
  };
  struct Next {
    std::optional<std::string> chunk;
    std::optional<Progress> progress;
    bool finished = false;
  };
  Next take() {
    std::lock_guard lock(m_);
    Next n;
    if (has_progress_) {
      n.progress = progress_;
      has_progress_ = false;
    }
    if (!chunks_.empty()) {
      n.chunk = std::move(chunks_.front());
      chunks_.pop_front();
      queued_bytes_ -= n.chunk->size();
      cv_.notify_all();
    }
    n.finished = finished_ && chunks_.empty() && !n.chunk;
    return n;
  }
  kj::Promise<void> when_ready() {
    std::lock_guard lock(m_);
    if (finished_ || has_progress_ || !chunks_.empty()) return kj::READY_NOW;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    waiter_ = kj::mv(paf.fulfiller);
    return kj::mv(paf.promise);
  }

 private:
  void wake_locked() {
    KJ_IF_MAYBE (w, waiter_) {
      (*w)->fulfill();
      waiter_ = nullptr;
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t queued_bytes_ = 0;
  Progress progress_;
  bool has_progress_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  kj::Maybe<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> waiter_;
};

// The calls relaying one streamed call's output to the client (TextSink.write, Progress.update,
// RunRows.rows: ordinary calls, so any Cap'n Proto implementation can serve them): at most
// kCallsInFlightMax unacknowledged at once. Before sending, wait for room(); after sending, add()
// the call's promise; at the end, drain() waits for every call to have returned, so the streamed
// call answers only once its client has taken all of its output. A call that failed fails the
// room() or drain() that reaches it. Loop side only.
class SendWindow {
 public:
  static constexpr size_t kCallsInFlightMax = 8;

  kj::Promise<void> room() {
    if (in_flight_.size() < kCallsInFlightMax) return kj::READY_NOW;
    auto oldest = kj::mv(in_flight_.front());
    in_flight_.pop_front();
    return oldest;
  }
  void add(kj::Promise<void> call) { in_flight_.push_back(call.eagerlyEvaluate(nullptr)); }
  // `self` keeps the window alive while it drains.
  static kj::Promise<void> drain(std::shared_ptr<SendWindow> self) {
    if (self->in_flight_.empty()) return kj::READY_NOW;
    auto oldest = kj::mv(self->in_flight_.front());
    self->in_flight_.pop_front();
    return oldest.then([self]() mutable { return drain(kj::mv(self)); });
  }

 private:
  std::deque<kj::Promise<void>> in_flight_;
};

// Collects sink output into chunks of about Channel::kChunkBytes.
class ChunkingSink {
 public:
  explicit ChunkingSink(Channel& ch) : ch_(ch) {}
  bool write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() < Channel::kChunkBytes) return !ch_.cancelled();
    return flush();
  }
  bool flush() {
    if (buf_.empty()) return true;
    bool ok = ch_.push(std::move(buf_));
    buf_.clear();
    return ok;
  }

 private:
  Channel& ch_;
  std::string buf_;
};

}  // namespace tally
