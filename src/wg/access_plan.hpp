// Access sessions (design.md; issue 9), the pure parts: a session's lifetime from a TTL, its /32
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

namespace weft::wg {

inline constexpr uint64_t kMaxTtlMs = 30ull * 24 * 3600 * 1000;  // 30 days

// "90s", "30m", "2h", "1d", and sums like "1h30m". nullopt with *why for anything else, zero,
// or more than 30 days.
std::optional<uint64_t> parse_ttl(std::string_view text, std::string* why);

// "" when `range` can serve as the access range; otherwise why not (not the cluster network's
// size, overlapping the cluster network or one of the machine's routes).
std::string check_access_range(const Ipv4Net& range, const Ipv4Net& cluster, const std::vector<Ipv4Net>& routes);

// This machine's block of the access range for its /24 of the cluster network.
Ipv4Net access_block(const Ipv4Net& range, const Ipv4Net& cluster, const Ipv4Net& subnet);

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

}  // namespace weft::wg
