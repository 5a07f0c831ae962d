// Kernel WireGuard through generic netlink (family "wireguard"), as wireguard-tools'
// ipc-linux.h does it. The interface itself is created by HostNetwork (rtnetlink, kind
// "wireguard"). A kernel without the module has no such family: the constructor says so.
#pragma once

#include "wg/device.hpp"

struct nl_sock;

namespace weft::wg {

class NetlinkDevice : public Device {
 public:
  explicit NetlinkDevice(std::string interface_name);
  ~NetlinkDevice() override;
  NetlinkDevice(const NetlinkDevice&) = delete;
  NetlinkDevice& operator=(const NetlinkDevice&) = delete;
  const std::string& interface_name() const override { return name_; }
  DeviceStatus get() override;
  void set(const DeviceUpdate& update) override;

 private:
  std::string name_;
  nl_sock* sock_ = nullptr;
  int family_ = -1;
};

}  // namespace weft::wg
