// The host side of the mesh, through rtnetlink (libnl-route-3), never by running `ip`:
//   - the WireGuard interface (created here for the kernel backend; wireguard-go creates its
//     own) with 10.210.N.1/32, MTU 1420, up, and the routes of the cluster network (and of the
//     access range, when sessions are on) through it;
//   - a bridge for the machine's containers holding 10.210.N.1/24 (the more specific route keeps
//     local traffic local);
//   - net.ipv4.ip_forward on (its previous value is reported so it can be restored).
// Everything is idempotent: a restarted agent finds its own leftovers and keeps them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/ipv4.hpp"

struct nl_sock;

namespace weft::wg {

struct HostNetworkConfig {
  std::string wg_interface = "weft";
  std::string bridge = "weft-br";
  uint32_t mtu = 1420;
  Ipv4Net network;  // the cluster network, routed through the WireGuard interface
  std::optional<Ipv4Net> access_range;  // routed there too: access sessions' replies
};

class HostNetwork {
 public:
  // Throws DeviceError when rtnetlink cannot be opened.
  explicit HostNetwork(HostNetworkConfig config);
  ~HostNetwork();
  HostNetwork(const HostNetwork&) = delete;
  HostNetwork& operator=(const HostNetwork&) = delete;

  bool link_exists(const std::string& name) const;
  // Kernel backend: a link of kind "wireguard" (an error naming the missing module if the
  // kernel has none).
  void create_wireguard_link();
  // Address, MTU, up, cluster route, bridge and forwarding for this machine's /24. Idempotent.
  // Addresses in the cluster network other than this /24's .1 are removed from both links: a
  // machine that lost its /24 to a concurrent claim must not keep answering for it locally.
  // Returns the previous ip_forward value when this call turned it on.
  std::optional<std::string> configure(const Ipv4Net& subnet);
  // Removes the bridge, the cluster route and (when asked: kernel links) the WireGuard link.
  // Missing pieces are fine. Restores ip_forward when given its previous value.
  void remove(bool delete_wireguard_link, const std::optional<std::string>& ip_forward_before);

  const HostNetworkConfig& config() const { return config_; }

 private:
  int ifindex(const std::string& name) const;
  int ensure_link(const std::string& name, const char* kind);
  void ensure_bridge();
  void set_up_and_mtu(const std::string& name, std::optional<uint32_t> mtu);
  void ensure_address(const std::string& link, const std::string& cidr);
  // Removes the IPv4 addresses of `link` inside the cluster network except `keep` (its local address).
  void remove_other_mesh_addresses(const std::string& link, const Ipv4& keep);
  void ensure_route(const Ipv4Net& dst, const std::string& link, const Ipv4& source);
  void delete_route(const Ipv4Net& dst, int ifindex);
  void delete_link(const std::string& name);

  HostNetworkConfig config_;
  nl_sock* sock_ = nullptr;
};

}  // namespace weft::wg
