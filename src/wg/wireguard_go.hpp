// Runs wireguard-go for the userspace backend: started in the foreground as our child (it dies
// with the agent, even on kill -9, through PR_SET_PDEATHSIG), ready once its UAPI socket answers,
// stopped with SIGTERM (then SIGKILL) on exit. Stopping it removes its interface.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace weft::wg {

class WireguardGo {
 public:
  // Throws DeviceError when the program cannot be started or its socket does not come up in
  // `ready_timeout` (the message carries the daemon's last output).
  WireguardGo(const std::string& program, const std::string& interface_name, const std::filesystem::path& socket_path,
              const std::filesystem::path& log_path, std::chrono::milliseconds ready_timeout);
  ~WireguardGo();
  WireguardGo(const WireguardGo&) = delete;
  WireguardGo& operator=(const WireguardGo&) = delete;
  pid_t pid() const { return pid_; }
  void stop();

 private:
  pid_t pid_ = -1;
};

}  // namespace weft::wg
