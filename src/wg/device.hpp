// WireGuard device control: one small interface, one backend per file (the shape of
// wireguard-tools' ipc-linux.h / ipc-uapi.h). The types are plain values so the reconciler and the
// UAPI codec stay pure; a backend only moves them to and from a device.
//
//   uapi_device.cpp    userspace WireGuard (wireguard-go, boringtun): the UAPI text protocol on
//                      /run/wireguard/IFNAME.sock
//   netlink_device.cpp kernel WireGuard: generic netlink family "wireguard" (genl_message.cpp)
//   "none"             no device: the agent runs gossip and DNS only
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft::wg {

using Key = std::array<uint8_t, 32>;

class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One peer as the device reports it.
struct PeerStatus {
  Key public_key{};
  std::string endpoint;  // "IP:PORT" or "[IPv6]:PORT"; empty: none known yet
  uint16_t keepalive = 0;
  std::vector<std::string> allowed_ips;  // "10.210.1.0/24", as the device prints them
  uint64_t last_handshake_sec = 0;       // unix time; 0: never
  uint64_t last_handshake_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  bool operator==(const PeerStatus&) const = default;
};

struct DeviceStatus {
  // The device's private key is read only to compare it with ours; the holder wipes it.
  std::optional<Key> private_key;
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<PeerStatus> peers;
  ~DeviceStatus();
  DeviceStatus() = default;
  DeviceStatus(const DeviceStatus&) = default;
  DeviceStatus(DeviceStatus&&) = default;
  DeviceStatus& operator=(const DeviceStatus&) = default;
  DeviceStatus& operator=(DeviceStatus&&) = default;
};

// A change of one peer: exactly what is set is sent, nothing else is touched.
struct PeerUpdate {
  Key public_key{};
  bool remove = false;
  std::optional<std::string> endpoint;  // "IP:PORT"
  std::optional<uint16_t> keepalive;
  bool replace_allowed_ips = false;
  std::vector<std::string> allowed_ips;
  bool operator==(const PeerUpdate&) const = default;
};

struct DeviceUpdate {
  std::optional<Key> private_key;  // secret: wiped on destruction
  std::optional<uint16_t> listen_port;
  std::vector<PeerUpdate> peers;
  bool empty() const { return !private_key && !listen_port && peers.empty(); }
  ~DeviceUpdate();
  DeviceUpdate() = default;
  DeviceUpdate(const DeviceUpdate&) = default;
  DeviceUpdate(DeviceUpdate&&) = default;
  DeviceUpdate& operator=(const DeviceUpdate&) = default;
  DeviceUpdate& operator=(DeviceUpdate&&) = default;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const std::string& interface_name() const = 0;
  // Both throw DeviceError with a message naming the device and what failed.
  virtual DeviceStatus get() = 0;
  virtual void set(const DeviceUpdate& update) = 0;
};

}  // namespace weft::wg
