// Access sessions, the pure parts: a session's lifetime from a TTL, its /32
// in the access range, the WireGuard peers a machine's device holds for its own sessions, when
// the next one expires, and the wg-quick config the client gets.
//
// Addresses: the access range has the cluster network's size, and machine N (its /24 is the
// N-th of the cluster network) hands out .2-.254 of the N-th /24 of the access range
// (10.210.7.0/24 -> 10.77.7.2...), so two machines granting at once never collide and every
// machine knows where a session's replies go.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ipv4.hpp"
#include "crdt/state.hpp"
#include "crdt/values.hpp"
#include "wg/firewall_rules.hpp"
#include "wg/peer_plan.hpp"

namespace weft::access {

// Sessions become WireGuard peers and firewall rules: the device layer's types.
using wg::FirewallRule;
using wg::Key;
using wg::PeerSet;

inline constexpr uint64_t kMaxTtlMs = 30ull * 24 * 3600 * 1000;  // 30 days

// "90s", "30m", "2h", "1d", and sums like "1h30m". nullopt with *why for anything else, zero,
// or more than 30 days.
std::optional<uint64_t> parse_ttl(std::string_view text, std::string* why);

// "" when `range` can serve as the access range; otherwise why not (not the cluster network's
// size, overlapping the cluster network or one of the machine's routes).
std::string check_access_range(const Ipv4Net& range, const Ipv4Net& cluster, const std::vector<Ipv4Net>& routes);

struct AccessSession {
  std::string id;  // the record name
  crdt::AccessSessionValue value;
};
// This machine's sessions (`owner`) in the state, expired or not, by id.
std::vector<AccessSession> sessions_of(const crdt::ClusterState& state, const crdt::OwnerId& owner);

// The lowest free address of the block (.2-.254) among `sessions` still live at `now`; nullopt
// when the block is full.
std::optional<Ipv4> allocate_access_address(const Ipv4Net& block, const std::vector<AccessSession>& sessions, uint64_t now);

// The earliest expiry after `now` among `sessions`; nullopt when none is pending.
std::optional<uint64_t> next_expiry(const std::vector<AccessSession>& sessions, uint64_t now);

// A session's live state: what it may reach, resolved against the cluster state when the rules
// are built (a service's instances move). `port` 0: any port and protocol.
struct AccessTarget {
  Ipv4Net destination;
  std::string protocol;  // "tcp", "udp"; empty with a port: both
  uint16_t port = 0;
  auto operator<=>(const AccessTarget&) const = default;
};

// "" when `text` is a usable --to argument: a service name, or IPv4[:PORT]. Addresses in the
// access range are refused (a session never reaches another).
std::string check_target(std::string_view text, const Ipv4Net& access_range);
// The targets of a session now: IP[:PORT] as given, a service name as its instances' addresses
// (and ports) anywhere in the cluster; no targets at all: the granting machine's /24.
std::vector<AccessTarget> resolve_targets(const crdt::ClusterState& state, const std::vector<std::string>& targets,
                                          const Ipv4Net& own_subnet);
// What the client routes into the tunnel: each target's address (its /24 for the default).
std::vector<std::string> client_allowed_ips(const std::vector<AccessTarget>& targets);

// The sessions of `sessions` live at `now` (granted, not expired).
std::vector<AccessSession> live_sessions(const std::vector<AccessSession>& sessions, uint64_t now);

// WireGuard peers for live sessions: the client's key, its /32, keepalive 25 s, no endpoint
// (the client comes to us), never path-selected.
PeerSet session_peers(const std::vector<AccessSession>& live);

// The rules of the WEFT-ACCESS chain (filter), which every packet from the access block goes
// through (firewall.hpp jumps there): replies pass, each live session reaches its targets, and
// everything else is dropped (another session, other hosts, this machine's other addresses).
inline const std::string kAccessChain = "WEFT-ACCESS";
std::vector<FirewallRule> access_rules(const crdt::ClusterState& state, const std::vector<AccessSession>& live,
                                       const Ipv4Net& own_subnet);

struct ClientConfig {
  std::string private_key;  // base64; empty: the client keeps its own (a placeholder is written)
  std::string address;      // the session's /32, "10.77.7.2/32"
  std::string server_key;   // base64 public key of the granting machine
  std::string endpoint;     // IP:PORT of the granting machine's WireGuard
  std::vector<std::string> allowed_ips;  // what the session may reach
  std::string label;
  uint64_t expires_ms = 0;
};
// A wg-quick .conf.
std::string render_wg_quick(const ClientConfig& c);

}  // namespace weft::access
