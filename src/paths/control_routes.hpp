// Where to send a member's control datagrams, pure. A member behind NAT advertises an address
// nobody outside its LAN can reach; what works is the address its datagrams arrive from (the
// NAT's mapping, kept open by its own traffic) or, behind an endpoint-independent NAT, its
// published reflexive control address. So: while a member has been heard from recently, reply
// and probe to where it was heard; otherwise send to its advertised address and to every
// control candidate it published (hole punching falls out of both sides doing this).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crdt/record.hpp"

namespace weft::paths {

// The endpoint_candidates record that carries a machine's control addresses other than the
// advertised one (its reflexive address behind an endpoint-independent NAT).
inline const std::string kControlCandidatesName = "control";

class ControlRoutes {
 public:
  // 60 s: below the UDP conntrack timeout of an assured flow (120-180 s), above the gap between
  // probes in a cluster of dozens.
  explicit ControlRoutes(uint64_t fresh_ms = 60'000) : fresh_ms_(fresh_ms) {}

  // An authenticated datagram from `member` arrived from `address`.
  void heard(const crdt::OwnerId& member, const std::string& address, uint64_t now);
  // The address `member` was last heard from, while that is fresh.
  std::optional<std::string> observed(const crdt::OwnerId& member, uint64_t now) const;
  // Where a datagram for `member` goes: the observed address while fresh, else the advertised
  // address and the candidates (deduplicated, in that order).
  std::vector<std::string> targets(const crdt::OwnerId& member, const std::string& advertised,
                                   const std::vector<std::string>& candidates, uint64_t now) const;
  void forget(const crdt::OwnerId& member) { heard_.erase(member); }
  size_t size() const { return heard_.size(); }

 private:
  struct Heard {
    std::string address;
    uint64_t at = 0;
  };
  uint64_t fresh_ms_;
  std::map<crdt::OwnerId, Heard> heard_;
};

}  // namespace weft::paths
