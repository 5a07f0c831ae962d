// The machine's part of the WireGuard mesh, as the agent drives it: the device (a backend from
// src/wg, wireguard-go started and stopped here for userspace), host networking for the
// machine's /24 (addresses, bridge, routes, forwarding, firewall), and the reconcile step that
// applies the wanted peer set as minimal diffs. All calls are short and local (UAPI socket,
// rtnetlink, iptables); the agent calls them from its loop.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <vector>
#include <string>

#include "base/ipv4.hpp"
#include "wg/device.hpp"
#include "wg/firewall.hpp"
#include "wg/host_network.hpp"
#include "wg/peer_plan.hpp"
#include "wg/wireguard_go.hpp"

namespace weft::agent {

struct MeshOptions {
  std::string backend = "none";  // kernel | userspace | none
  std::string interface_name = "weft";
  std::string bridge = "weft-br";
  uint16_t listen_port = 51820;
  uint32_t mtu = 1420;
  std::string advertise_wg;  // IP:PORT published as the first WireGuard candidate
  // userspace: the wireguard-go program to start; "none": a daemon run by someone else already
  // listens on the UAPI socket.
  std::string wireguard_go = "wireguard-go";
  std::filesystem::path socket_dir = "/run/wireguard";
  std::string iptables = "iptables";
  bool cleanup_on_exit = false;  // a clean stop removes bridge, routes, rules (as leave --cleanup)
  bool mesh_dns = true;          // answer DNS on the machine's .1, port 53
  // Access sessions (wg/access_plan.hpp): the range, routed through the interface; unset: off.
  std::optional<Ipv4Net> access_range;
};

struct MeshCounters {
  uint64_t reconciles = 0;        // plans computed
  uint64_t peer_updates = 0;      // peer changes sent to the device
  uint64_t drift_repairs = 0;     // changes needed although our wanted set had not changed
  uint64_t device_errors = 0;
};

class MeshNetwork {
 public:
  // Throws wg::DeviceError naming what is missing (wireguard-go, kernel module, rtnetlink).
  MeshNetwork(MeshOptions options, Ipv4Net network, uint16_t control_port, const std::array<uint8_t, 32>& private_key,
              const std::filesystem::path& data_dir);
  ~MeshNetwork();

  // Host networking for this machine's /24: once per subnet (again after a lost claim).
  // Returns the previous ip_forward value when it had to be turned on.
  std::optional<std::string> configure(const Ipv4Net& subnet);
  const std::optional<Ipv4Net>& subnet() const { return subnet_; }
  // Applies the wanted peers as a minimal diff; also repairs the key and port if they drifted.
  // A change to a peer wanted exactly as last applied is a drift repair (logged, counted).
  // `choose_paths` (optional) sets each wanted peer's endpoint and keepalive from the device's
  // status (path selection). Device errors are counted and rethrown.
  using ChoosePaths = std::function<void(wg::PeerSet&, const wg::DeviceStatus&)>;
  void reconcile(wg::PeerSet wanted, const ChoosePaths& choose_paths = {});
  wg::DeviceStatus status();
  // The rules of the access chain: applied now when host networking is up, and again whenever
  // it is set up anew. Throws wg::DeviceError.
  void set_access_rules(std::vector<wg::FirewallRule> rules);
  // Before the first sync (no reconcile yet): removes peers of the access range that are not
  // in `live` (sessions that expired or were revoked while the agent was down). Returns how many.
  size_t prune_access_peers(const std::set<wg::Key>& live);
  // Removes everything this machine added (interface when we made it, bridge, routes, rules)
  // and restores ip_forward to `ip_forward_before`.
  void remove_all(const std::optional<std::string>& ip_forward_before);

  const MeshOptions& options() const { return options_; }
  const MeshCounters& counters() const { return counters_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void set_identity();

  MeshOptions options_;
  Ipv4Net network_;
  uint16_t control_port_;
  std::array<uint8_t, 32> private_key_{};
  std::unique_ptr<wg::WireguardGo> daemon_;
  std::unique_ptr<wg::Device> device_;
  std::unique_ptr<wg::HostNetwork> host_;
  wg::PeerReconciler reconciler_;
  wg::PeerSet applied_;  // the wanted set last applied
  std::optional<Ipv4Net> subnet_;
  std::optional<std::vector<wg::FirewallRule>> access_rules_;  // wanted
  bool access_rules_applied_ = false;
  MeshCounters counters_;
  std::string last_error_;
};

}  // namespace weft::agent
