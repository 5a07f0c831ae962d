#include "wg/wireguard_go.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "wg/device.hpp"
#include "wg/uapi_device.hpp"

namespace weft::wg {

namespace {

std::string tail_of(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > 600) text = text.substr(text.size() - 600);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "(no output)" : text;
}

}  // namespace

WireguardGo::WireguardGo(const std::string& program, const std::string& interface_name,
                         const std::filesystem::path& socket_path, const std::filesystem::path& log_path,
                         std::chrono::milliseconds ready_timeout) {
  if (interface_name.empty() || interface_name[0] == '-' || interface_name.size() > 15)
    throw DeviceError("bad WireGuard interface name '" + interface_name + "' (1-15 characters, not starting with -)");
  std::error_code ec;
  std::filesystem::create_directories(socket_path.parent_path(), ec);
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_text{"WG_PROCESS_FOREGROUND=1"};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "WG_PROCESS_FOREGROUND=", 22) != 0) env_text.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string prog = program, ifname = interface_name, log = log_path.string();
  char* argv[] = {prog.data(), const_cast<char*>("-f"), ifname.data(), nullptr};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw DeviceError(std::string("cannot fork for wireguard-go: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) ::dup2(in, 0);
    // None of the agent's sockets may outlive it in the daemon (a restarted agent must bind them).
    ::close_range(3, ~0U, 0);
    ::execvpe(prog.c_str(), argv, envp.data());
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  // Waiting for a child process to create its socket: poll with a deadline (startup only).
  while (!unix_socket_answers(socket_path)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw DeviceError("wireguard-go (" + program + ") exited at start" +
                        (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (not found or not executable)" : "") +
                        ": " + tail_of(log_path));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw DeviceError("wireguard-go did not open " + socket_path.string() + " in time: " + tail_of(log_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

WireguardGo::~WireguardGo() { stop(); }

void WireguardGo::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 150; ++i) {  // up to 3 s, then SIGKILL
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace weft::wg
