#include "wg/peer_plan.hpp"

#include <algorithm>

#include "crdt/subnet.hpp"
#include "crdt/values.hpp"

namespace weft::wg {

std::string format_endpoint(const std::string& ip, uint16_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

std::vector<crdt::Endpoint> wireguard_candidates(const crdt::ClusterState& state, const crdt::OwnerId& owner) {
  const auto* r = state.find(crdt::RecordKey{owner, crdt::Kind::endpoint_candidates, kWireguardCandidatesName});
  if (!r || r->tombstone) return {};
  auto v = crdt::decode_endpoint_candidates(r->value);
  return v ? v->candidates : std::vector<crdt::Endpoint>{};
}

Ipv4Net access_block(const Ipv4Net& range, const Ipv4Net& cluster, const Ipv4Net& subnet) {
  uint32_t index = (subnet.base.value - cluster.base.value) >> 8;
  return Ipv4Net{Ipv4{range.base.value + (index << 8)}, 24};
}

PeerSet wanted_peers(const crdt::ClusterState& state, const std::set<crdt::OwnerId>& live, const crdt::OwnerId& self,
                     uint16_t keepalive, const std::optional<AccessRouting>& access) {
  PeerSet peers;
  auto holders = crdt::subnet_holders(state);
  std::map<crdt::OwnerId, Ipv4Net> subnet;
  for (const auto& [net, holder] : holders)
    if (!subnet.contains(holder.owner)) subnet.emplace(holder.owner, net);  // lowest wins, as subnet_of
  state.for_each_of_kind(crdt::Kind::machine, [&](const crdt::Record& r) {
    if (r.tombstone || r.key.owner == self || !live.contains(r.key.owner)) return;
    auto it = subnet.find(r.key.owner);
    if (it == subnet.end()) return;  // no /24 yet: nothing to route to it
    auto m = crdt::decode_machine(r.value);
    if (!m) return;
    WantedPeer p;
    p.owner = r.key.owner;
    p.name = m->name;
    p.keepalive = keepalive;
    p.allowed_ips.push_back(it->second.to_string());
    if (access) p.allowed_ips.push_back(access_block(access->range, access->cluster, it->second).to_string());
    if (auto c = wireguard_candidates(state, r.key.owner); !c.empty()) p.endpoint = format_endpoint(c.front().ip, c.front().port);
    // Two machines announcing one WireGuard key (a copied data dir) cannot both be peers: the
    // lower machine id keeps it, alike on every replica.
    auto [existing, inserted] = peers.emplace(m->wireguard_key, p);
    if (!inserted && p.owner < existing->second.owner) existing->second = p;
  });
  return peers;
}

DeviceUpdate PeerReconciler::plan(const PeerSet& wanted, const DeviceStatus& actual) {
  DeviceUpdate update;
  std::map<Key, const PeerStatus*> held;
  for (const auto& p : actual.peers) held.emplace(p.public_key, &p);
  for (const auto& [key, want] : wanted) {
    PeerUpdate u;
    u.public_key = key;
    auto it = held.find(key);
    if (want.restart && it != held.end()) {
      update.peers.push_back(PeerUpdate{key, true, {}, {}, false, {}});
      it = held.end();  // added again below, from scratch
    }
    bool changed = false;
    auto sent = endpoint_set_.find(key);
    bool endpoint_new = sent == endpoint_set_.end() || sent->second != want.endpoint;
    if (it == held.end()) {
      changed = true;
      if (!want.endpoint.empty()) u.endpoint = want.endpoint;
      u.keepalive = want.keepalive;
      u.replace_allowed_ips = true;
      u.allowed_ips = want.allowed_ips;
    } else {
      const PeerStatus& have = *it->second;
      if (!want.endpoint.empty() && endpoint_new && have.endpoint != want.endpoint) {
        u.endpoint = want.endpoint;
        changed = true;
      }
      if (have.keepalive != want.keepalive || (want.kick && want.keepalive)) {
        u.keepalive = want.keepalive;
        changed = true;
      }
      if (want.kick && want.keepalive) update.peers.push_back(PeerUpdate{key, false, std::nullopt, uint16_t{0}, false, {}});
      auto a = have.allowed_ips, b = want.allowed_ips;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        u.replace_allowed_ips = true;
        u.allowed_ips = want.allowed_ips;
        changed = true;
      }
    }
    endpoint_set_[key] = want.endpoint;
    if (changed) update.peers.push_back(std::move(u));
  }
  for (const auto& p : actual.peers)
    if (!wanted.contains(p.public_key)) update.peers.push_back(PeerUpdate{p.public_key, true, {}, {}, false, {}});
  std::erase_if(endpoint_set_, [&](const auto& e) { return !wanted.contains(e.first); });
  return update;
}

}  // namespace weft::wg
