// From cluster state to WireGuard peers, pure.
//
// wanted_peers(): every live machine but this one that holds a /24, as a peer: its WireGuard
// public key, its /24 as the allowed IP, its published WireGuard endpoint (first candidate),
// keepalive 25 s. A machine that SWIM declares dead (or that left) is not wanted; one that is
// merely suspect still is, so a peer is dropped only once the cluster agrees it is gone.
//
// PeerReconciler::plan(): the minimal change that turns what the device holds into what is
// wanted: add missing peers, remove unwanted ones, fix allowed IPs and keepalive that drifted
// (someone edited the device by hand). An endpoint is set when a peer is added and when the
// wanted endpoint changes, but not merely because the device reports another one: WireGuard
// roams to wherever authenticated packets come from, and that must not be undone.
// The caller must not plan before its first complete sync: an empty or partial view would
// remove peers that are fine.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "crdt/state.hpp"
#include "crdt/values.hpp"
#include "wg/device.hpp"

namespace weft::wg {

inline constexpr uint16_t kDefaultKeepalive = 25;
// The endpoint_candidates record that carries a machine's WireGuard endpoints.
inline const std::string kWireguardCandidatesName = "wireguard";

struct WantedPeer {
  crdt::OwnerId owner{};
  std::string name;
  std::string endpoint;  // empty: none known (the peer can still reach us)
  uint16_t keepalive = kDefaultKeepalive;
  std::vector<std::string> allowed_ips;
  // Make the device send to the endpoint at once (a hole punch attempt): the plan turns the
  // keepalive off and on again, which WireGuard answers with an immediate keepalive.
  bool kick = false;
  // Stronger: remove and add the peer again (no session to keep; a fresh peer initiates a
  // handshake at once, where an existing one waits out WireGuard's 5 s between initiations).
  bool restart = false;
  // An access session's client (access_plan.hpp): it comes to us; no path selection.
  bool access = false;
  bool operator==(const WantedPeer&) const = default;
};
using PeerSet = std::map<Key, WantedPeer>;

// A machine's published WireGuard candidates (the record named kWireguardCandidatesName), best
// first; empty when it published none.
std::vector<crdt::Endpoint> wireguard_candidates(const crdt::ClusterState& state, const crdt::OwnerId& owner);

// A machine's block of the access range (access_plan.hpp) for its /24 of the cluster network:
// machine N's sessions hold addresses of the N-th /24 of the range.
Ipv4Net access_block(const Ipv4Net& range, const Ipv4Net& cluster, const Ipv4Net& subnet);
struct AccessRouting {
  Ipv4Net range;    // the access range
  Ipv4Net cluster;  // the cluster network
};

// With `access`, each machine's allowed IPs also hold its block of the access range: replies
// to a session that reached this machine through its granting machine go back there.
PeerSet wanted_peers(const crdt::ClusterState& state, const std::set<crdt::OwnerId>& live, const crdt::OwnerId& self,
                     uint16_t keepalive = kDefaultKeepalive, const std::optional<AccessRouting>& access = std::nullopt);

// "IP:PORT", with brackets for IPv6, as the UAPI and `wg` write endpoints.
std::string format_endpoint(const std::string& ip, uint16_t port);

class PeerReconciler {
 public:
  // What to send so the device matches `wanted`; empty when it already does. Remembers, per
  // peer, the wanted endpoint it sent or found in place, so a later roam is left alone.
  DeviceUpdate plan(const PeerSet& wanted, const DeviceStatus& actual);
  // Call when sending a planned update failed: the next plan sets every endpoint again.
  void forget() { endpoint_set_.clear(); }

 private:
  std::map<Key, std::string> endpoint_set_;  // per peer, the wanted endpoint in force
};

}  // namespace weft::wg
