#include "cli/benchmark_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "rpc/client.h"

namespace tally {

namespace {

constexpr const char* kConfig = R"toml([tokens]
"tally-benchmark" = ["poster", "auditor"]
)toml";

std::string log_tail(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  std::string t = s.str();
  return t.size() > 2000 ? t.substr(t.size() - 2000) : t;
}

}  // namespace

std::optional<ProcMemory> proc_memory(pid_t pid) {
  std::ifstream f(pid == 0 ? std::string("/proc/self/status")
                           : "/proc/" + std::to_string(pid) + "/status");
  if (!f) return std::nullopt;
  ProcMemory m;
  bool any = false;
  for (std::string line; std::getline(f, line);) {
    auto kb = [&](std::string_view key, uint64_t& into) {
      if (line.rfind(key, 0) != 0) return;
      into = std::strtoull(line.c_str() + key.size(), nullptr, 10) * 1024;
      any = true;
    };
    kb("VmRSS:", m.rss_bytes);
    kb("VmHWM:", m.peak_rss_bytes);
    kb("RssAnon:", m.anon_bytes);
    kb("RssFile:", m.file_bytes);
  }
  if (!any) return std::nullopt;
  return m;
}

std::optional<uint64_t> proc_write_bytes(pid_t pid) {
  std::ifstream f(pid == 0 ? std::string("/proc/self/io") : "/proc/" + std::to_string(pid) + "/io");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("write_bytes:", 0) == 0) return std::strtoull(line.c_str() + 12, nullptr, 10);
  return std::nullopt;
}

std::unique_ptr<BenchServer> BenchServer::start(const std::string& tally_bin,
                                                const std::string& data_dir,
                                                const std::string& work, std::string* error) {
  const std::string config = work + "/benchmark.toml";
  std::ofstream(config) << kConfig;
  std::unique_ptr<BenchServer> s(new BenchServer());
  s->log_ = work + "/server.log";
  s->address_ = "unix:" + work + "/tally.sock";
  std::vector<std::string> args{tally_bin,  "serve", "--data",   data_dir,
                                "--config", config,  "--listen", s->address_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = "cannot fork a server";
    return nullptr;
  }
  if (pid == 0) {
    // The child: its own output to the log, then the server. Only async-signal-safe calls. It
    // gets SIGTERM (and drains) if the benchmark dies first.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(s->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  s->pid_ = pid;
  ClientOptions co;
  co.address = s->address_;
  co.token = kToken;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      s->stopped_ = true;
      *error = "the server (" + tally_bin + " serve) exited at start:\n" + log_tail(s->log_);
      return nullptr;
    }
    if (::access((work + "/tally.sock").c_str(), F_OK) == 0) {
      auto c = Client::connect(co);
      if (c.ok()) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *error = "the server did not answer within 60 s:\n" + log_tail(s->log_);
      return nullptr;  // the destructor stops it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return s;
}

BenchServer::~BenchServer() {
  stop();
}

bool BenchServer::stop() {
  if (stopped_ || pid_ <= 0) return clean_;
  stopped_ = true;
  ::kill(pid_, SIGTERM);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  clean_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return clean_;
}

}  // namespace tally
