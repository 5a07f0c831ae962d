// Userspace WireGuard (wireguard-go, boringtun) through its UAPI socket,
// /run/wireguard/IFNAME.sock. One short connection per request, with a timeout, so a hung daemon
// is an error and not a hung agent.
#pragma once

#include <chrono>
#include <filesystem>

#include "wg/device.hpp"

namespace weft::wg {

// True when something accepts a connection on the Unix socket at `path`.
bool unix_socket_answers(const std::filesystem::path& path);

class UapiDevice : public Device {
 public:
  UapiDevice(std::string interface_name, std::filesystem::path socket_dir = "/run/wireguard",
             std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  const std::string& interface_name() const override { return name_; }
  std::filesystem::path socket_path() const { return socket_dir_ / (name_ + ".sock"); }
  DeviceStatus get() override;
  void set(const DeviceUpdate& update) override;
  // True when a daemon answers on the socket.
  bool reachable() const;

 private:
  std::string exchange(const std::string& request) const;

  std::string name_;
  std::filesystem::path socket_dir_;
  std::chrono::milliseconds timeout_;
};

}  // namespace weft::wg
