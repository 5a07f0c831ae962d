// A machine's WireGuard endpoint candidates and their order as seen from another machine, pure.
//
// Published (endpoint_candidates "wireguard"): --advertise-wg when given, then the advertised
// control IP, then the addresses of the machine's own interfaces (not loopback, link-local, the
// mesh itself, bridges, Docker, or other VPNs' interfaces), then the reflexive address learned
// by STUN, each with the WireGuard port. Others add what their WireGuard device observes
// (observed_endpoints records).
// Ranked for a peer: candidates on one of the peer's own networks first (same LAN), then public
// ones, then private ones of other networks, then observed ones; duplicates dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "crdt/values.hpp"

namespace weft::paths {

struct InterfaceAddress {
  std::string interface_name;
  Ipv4 address;
  uint8_t prefix = 32;
};

// The interface addresses worth publishing: not loopback or link-local, not in the cluster
// network, not on interfaces named like the mesh, bridges, Docker, veths or other tunnels.
std::vector<InterfaceAddress> usable_interfaces(const std::vector<InterfaceAddress>& all, const Ipv4Net& cluster_network,
                                                const std::string& mesh_interface, const std::string& bridge);

std::vector<crdt::Endpoint> own_candidates(const std::optional<crdt::Endpoint>& advertise_wg,
                                           const std::optional<Ipv4>& advertised_control_ip,
                                           const std::vector<InterfaceAddress>& interfaces,
                                           const std::optional<Ipv4>& reflexive_ip, uint16_t wireguard_port);

std::vector<crdt::Endpoint> rank_candidates(const std::vector<crdt::Endpoint>& published,
                                            const std::vector<crdt::Endpoint>& observed,
                                            const std::vector<Ipv4Net>& local_networks);

bool is_private(Ipv4 ip);  // RFC 1918, RFC 6598 (CGNAT), loopback, link-local

}  // namespace weft::paths
