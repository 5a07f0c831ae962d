#include "paths/candidates.hpp"

#include <algorithm>
#include <array>

namespace weft::paths {

namespace {

bool in(std::string_view net, Ipv4 ip) { return Ipv4Net::parse(net)->contains(ip); }

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

bool is_private(Ipv4 ip) {
  return in("10.0.0.0/8", ip) || in("172.16.0.0/12", ip) || in("192.168.0.0/16", ip) || in("100.64.0.0/10", ip) ||
         in("127.0.0.0/8", ip) || in("169.254.0.0/16", ip);
}

std::vector<InterfaceAddress> usable_interfaces(const std::vector<InterfaceAddress>& all, const Ipv4Net& cluster_network,
                                                const std::string& mesh_interface, const std::string& bridge) {
  static constexpr std::array<std::string_view, 12> skipped{"lo",  "docker", "br-",  "veth",      "virbr", "wg",
                                                             "tun", "tap",    "tailscale", "zt", "cni", "flannel"};
  std::vector<InterfaceAddress> out;
  for (const auto& a : all) {
    if (a.interface_name == mesh_interface || a.interface_name == bridge) continue;
    if (std::any_of(skipped.begin(), skipped.end(), [&](std::string_view p) { return starts_with(a.interface_name, p); }))
      continue;
    if (in("127.0.0.0/8", a.address) || in("169.254.0.0/16", a.address) || in("0.0.0.0/8", a.address)) continue;
    if (cluster_network.contains(a.address)) continue;
    out.push_back(a);
  }
  return out;
}

std::vector<crdt::Endpoint> own_candidates(const std::optional<crdt::Endpoint>& advertise_wg,
                                           const std::optional<Ipv4>& advertised_control_ip,
                                           const std::vector<InterfaceAddress>& interfaces,
                                           const std::optional<Ipv4>& reflexive_ip, uint16_t wireguard_port) {
  std::vector<crdt::Endpoint> out;
  auto add = [&](const crdt::Endpoint& e) {
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  if (advertise_wg) add(*advertise_wg);
  if (advertised_control_ip && advertised_control_ip->value != 0) add({advertised_control_ip->to_string(), wireguard_port});
  for (const auto& a : interfaces) add({a.address.to_string(), wireguard_port});
  if (reflexive_ip) add({reflexive_ip->to_string(), wireguard_port});
  return out;
}

std::vector<crdt::Endpoint> rank_candidates(const std::vector<crdt::Endpoint>& published,
                                            const std::vector<crdt::Endpoint>& observed,
                                            const std::vector<Ipv4Net>& local_networks) {
  // 0 same LAN, 1 public, 2 private elsewhere; observed after all of them (3); stable within.
  std::vector<std::pair<int, crdt::Endpoint>> ranked;
  auto add = [&](int rank, const crdt::Endpoint& e) {
    if (e.port == 0) return;
    for (const auto& r : ranked)
      if (r.second == e) return;
    ranked.emplace_back(rank, e);
  };
  for (const auto& e : published) {
    auto ip = Ipv4::parse(e.ip);
    int rank = 1;
    if (ip && std::any_of(local_networks.begin(), local_networks.end(), [&](const Ipv4Net& n) { return n.contains(*ip); }))
      rank = 0;
    else if (ip && is_private(*ip))
      rank = 2;
    add(rank, e);
  }
  for (const auto& e : observed) add(3, e);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<crdt::Endpoint> out;
  for (auto& r : ranked) out.push_back(std::move(r.second));
  return out;
}

}  // namespace weft::paths
