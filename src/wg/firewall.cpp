#include "wg/firewall.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "wg/device.hpp"

namespace weft::wg {

namespace {

// Runs iptables without a shell; returns its exit status and (for errors) its stderr. `input`
// (when not -1) becomes its standard input.
int run(const std::string& program, const std::vector<std::string>& args, std::string* output, int input = -1) {
  std::vector<std::string> argv_text{program, "-w", "5"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (input >= 0) posix_spawn_file_actions_adddup2(&actions, input, 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && out.size() < 4096) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  if (err != 0) {
    if (output) *output = program + ": " + std::strerror(err);
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

void must(const std::string& iptables, const std::vector<std::string>& args) {
  std::string out;
  if (run(iptables, args, &out) != 0) throw DeviceError("iptables " + joined(args) + " failed: " + out);
}

}  // namespace

void apply_firewall(const FirewallConfig& config, const std::string& iptables) {
  // The access chain first (our other chains jump to it), closed until the agent fills it.
  if (run(iptables, {"-n", "-L", "WEFT-ACCESS"}, nullptr) != 0) {
    must(iptables, {"-N", "WEFT-ACCESS"});
    must(iptables, {"-A", "WEFT-ACCESS", "-j", "DROP"});
  }
  for (const auto& [table, parent, chain] : kOwnChains) {
    if (run(iptables, {"-t", table, "-n", "-L", chain}, nullptr) != 0) must(iptables, {"-t", table, "-N", chain});
    must(iptables, {"-t", table, "-F", chain});
  }
  for (const auto& rule : firewall_rules(config)) {
    std::vector<std::string> args{"-t", rule.table, "-A", rule.chain};
    args.insert(args.end(), rule.match.begin(), rule.match.end());
    must(iptables, args);
  }
  for (const auto& [table, parent, chain] : kOwnChains)
    if (run(iptables, {"-t", table, "-C", parent, "-j", chain}, nullptr) != 0)
      must(iptables, {"-t", table, "-I", parent, "1", "-j", chain});
}

void apply_access_rules(const std::vector<FirewallRule>& rules, const std::string& iptables) {
  std::string text = "*filter\n:WEFT-ACCESS - [0:0]\n";  // declared with --noflush: emptied, in the same commit
  for (const auto& r : rules) {
    if (r.table != "filter" || r.chain != "WEFT-ACCESS") throw DeviceError("not an access rule: " + r.chain);
    text += "-A WEFT-ACCESS";
    for (const auto& a : r.match) {
      if (a.find_first_of(" \t\n\"'") != std::string::npos) throw DeviceError("bad rule argument: " + a);
      text += " " + a;
    }
    text += "\n";
  }
  text += "COMMIT\n";
  int fd = ::memfd_create("weft-access-rules", MFD_CLOEXEC);
  if (fd < 0) throw DeviceError(std::string("memfd_create: ") + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw DeviceError(std::string("writing the access rules: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  std::string out;
  int status = run(iptables + "-restore", {"--noflush"}, &out, fd);
  ::close(fd);
  if (status != 0) throw DeviceError(iptables + "-restore of " + std::to_string(rules.size()) + " access rules failed: " + out);
}

void ensure_docker_user_jump(const std::string& iptables) {
  if (run(iptables, {"-n", "-L", "DOCKER-USER"}, nullptr) != 0) return;
  if (run(iptables, {"-n", "-L", "WEFT-FORWARD"}, nullptr) != 0) return;
  if (run(iptables, {"-C", "DOCKER-USER", "-j", "WEFT-FORWARD"}, nullptr) != 0)
    must(iptables, {"-I", "DOCKER-USER", "1", "-j", "WEFT-FORWARD"});
}

void remove_firewall(const std::string& iptables) {
  for (int i = 0; i < 16 && run(iptables, {"-D", "DOCKER-USER", "-j", "WEFT-FORWARD"}, nullptr) == 0; ++i) {
  }
  for (const auto& [table, parent, chain] : kOwnChains) {
    // Delete every jump (a crashed older run may have left more than one), then the chain.
    for (int i = 0; i < 16 && run(iptables, {"-t", table, "-D", parent, "-j", chain}, nullptr) == 0; ++i) {
    }
    if (run(iptables, {"-t", table, "-n", "-L", chain}, nullptr) == 0) {
      must(iptables, {"-t", table, "-F", chain});
      must(iptables, {"-t", table, "-X", chain});
    }
  }
  if (run(iptables, {"-n", "-L", "WEFT-ACCESS"}, nullptr) == 0) {  // jumped to only from the chains just removed
    must(iptables, {"-F", "WEFT-ACCESS"});
    must(iptables, {"-X", "WEFT-ACCESS"});
  }
}

}  // namespace weft::wg
