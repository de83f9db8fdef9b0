#include "ops/etcd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

namespace tally::testing {

namespace {

std::unique_ptr<EtcdProcess>& instance() {
  static std::unique_ptr<EtcdProcess> p;
  return p;
}

class EtcdEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { instance().reset(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new EtcdEnvironment);

// One blocking HTTP POST to 127.0.0.1:port; true when the reply is "HTTP/1.1 200".
bool http_ok(int port, const std::string& path, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[32] = {};
      ssize_t n = read(fd, buf, 12);
      ok = n == 12 && std::string(buf, 12) == "HTTP/1.1 200";
    }
  }
  close(fd);
  return ok;
}

}  // namespace

std::vector<int> free_loopback_ports(size_t n) {
  // Every socket stays bound until all are picked: the kernel never hands the same port to two
  // of them (closing one before binding the next could, and etcd then failed to start).
  std::vector<int> fds, ports;
  for (size_t i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      break;
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) close(fd);
  if (ports.size() != n) ports.clear();
  return ports;
}

int free_loopback_port() {
  auto ports = free_loopback_ports(1);
  return ports.empty() ? -1 : ports[0];
}

EtcdProcess* EtcdProcess::shared(std::string* why) {
  auto& p = instance();
  if (p) return p.get();
  if (access(kEtcdBinary, X_OK) != 0) {
    *why = std::string(kEtcdBinary) + " is missing";
    return nullptr;
  }
  auto e = std::unique_ptr<EtcdProcess>(new EtcdProcess());
  std::string tmpl = (std::filesystem::temp_directory_path() / "tally-etcd-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    *why = "mkdtemp failed";
    return nullptr;
  }
  e->dir_ = tmpl;
  std::vector<int> ports = free_loopback_ports(2);
  if (ports.size() != 2) {
    *why = "no free loopback ports";
    return nullptr;
  }
  std::string client = "http://127.0.0.1:" + std::to_string(ports[0]);
  std::string peer = "http://127.0.0.1:" + std::to_string(ports[1]);
  std::vector<std::string> args = {kEtcdBinary,
                                   "--name=tally-test",
                                   "--data-dir=" + e->dir_ + "/data",
                                   "--listen-client-urls=" + client,
                                   "--advertise-client-urls=" + client,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=tally-test=" + peer,
                                   "--logger=zap",
                                   "--log-outputs=stderr"};
  std::string log = e->dir_ + "/etcd.log";
  pid_t pid = fork();
  if (pid == 0) {
    // The child: etcd dies with the test process, whatever ends it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(kEtcdBinary, argv.data());
    _exit(127);
  }
  if (pid < 0) {
    *why = "fork failed";
    return nullptr;
  }
  e->pid_ = pid;
  e->endpoint_ = "127.0.0.1:" + std::to_string(ports[0]);
  // Ready when a range request answers 200 (etcd accepts connections before it has elected
  // itself leader). Generous: the build machine is shared.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!http_ok(ports[0], "/v3/kv/range", "{\"key\":\"AA==\"}")) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      e->pid_ = -1;
      *why = "etcd exited: " + e->log_tail();
      return nullptr;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *why = "etcd did not answer within 60 s: " + e->log_tail();
      return nullptr;  // the destructor kills it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  p = std::move(e);
  return p.get();
}

EtcdProcess::~EtcdProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGCONT);
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_)
        gone = true;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void EtcdProcess::pause() {
  kill(pid_, SIGSTOP);
}

void EtcdProcess::resume() {
  kill(pid_, SIGCONT);
}

std::string EtcdProcess::log_tail() const {
  std::ifstream in(dir_ + "/etcd.log");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace tally::testing
