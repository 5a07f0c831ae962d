// Forwarding and NAT rules of the mesh, in chains of our own (WEFT-INPUT, WEFT-FORWARD in the
// filter table, WEFT-POSTROUTING in nat) jumped to from the built-in chains, so they are
// rebuilt idempotently and removed without touching anyone else's rules:
//   - accept the WireGuard port (UDP), the control port (UDP+TCP) and DNS on the mesh interfaces;
//   - forward between the WireGuard interface and the bridge, and from the bridge outwards;
//   - masquerade only what leaves the mesh: traffic from the machine's /24 to anywhere outside
//     the cluster network. Mesh-to-mesh traffic keeps its real source address;
//   - with access sessions (access/plan.hpp): everything from the machine's block of the access
//     range entering on the WireGuard interface first goes through WEFT-ACCESS, whose rules the
//     agent replaces atomically (iptables-restore --noflush) as sessions come and go; it is
//     created closed (DROP only). Replies to sessions pass between WireGuard peers; a session's
//     traffic to a granted host outside the cluster network is masqueraded;
//   - in the raw table, mesh traffic for the machine's /24 is accepted before anything else:
//     newer Docker releases drop traffic to container addresses that does not come from their
//     bridge (raw PREROUTING), which cut Uncloud's mesh off its containers.
// This file builds the rule text, purely; wg/firewall.hpp applies it with iptables -w.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ipv4.hpp"

namespace weft::wg {

struct FirewallConfig {
  std::string wg_interface = "weft";
  std::string bridge = "weft-br";
  Ipv4Net network;
  Ipv4Net subnet;
  uint16_t wireguard_port = 51820;
  uint16_t control_port = 51821;
  std::optional<Ipv4Net> access_block;  // this machine's sessions' addresses
};

struct FirewallRule {
  std::string table;  // "filter" or "nat"
  std::string chain;  // one of ours
  std::vector<std::string> match;  // iptables arguments after -A CHAIN
  bool operator==(const FirewallRule&) const = default;
};

inline constexpr const char* kOwnChains[][3] = {{"filter", "INPUT", "WEFT-INPUT"},
                                                {"filter", "FORWARD", "WEFT-FORWARD"},
                                                {"nat", "POSTROUTING", "WEFT-POSTROUTING"},
                                                {"raw", "PREROUTING", "WEFT-PREROUTING"}};

std::vector<FirewallRule> firewall_rules(const FirewallConfig& config);

}  // namespace weft::wg
