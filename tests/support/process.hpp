// Child processes for integration tests: spawn with output to a log file, run to completion
// capturing output, kill by PID (only processes the test started), and wait for a condition
// with a deadline.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace weft::test {

struct RunResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + args[0]);
  return pid;
}

// Runs to completion; a command still running after `timeout` is killed and reported as -1.
inline RunResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  char log_template[] = "/tmp/weft-run-XXXXXX";
  int fd = mkstemp(log_template);
  close(fd);
  pid_t pid = spawn(args, log_template);
  RunResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::mutex m;
    std::unique_lock lock(m);
    std::condition_variable().wait_for(lock, std::chrono::milliseconds(5));  // poll interval
  }
  FILE* f = fopen(log_template, "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) result.output.append(buf, n);
  fclose(f);
  unlink(log_template);
  return result;
}

// Checks `condition` every `every` until it holds or `limit` passes; true if it held.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit,
                       std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::mutex m;
  std::condition_variable cv;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::unique_lock lock(m);
    cv.wait_for(lock, every);
  }
}

// Stops a child the test started, by PID; SIGKILL after a grace period.
inline int stop(pid_t pid, int signal = SIGTERM) {
  if (pid <= 0) return -1;
  kill(pid, signal);
  int status = 0;
  bool gone = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(10), std::chrono::milliseconds(10));
  if (!gone) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  return status;
}

}  // namespace weft::test
