// Subnet claims: each machine claims one /24 of the cluster network for itself (its .1 and its
// containers' .2-.254).
//
// The rule every replica evaluates alike: among the live claims of one /24, the claim with the
// lowest (HLC, owner id) wins. A claim record is written once and never re-signed, so its HLC is
// the time of the claim; a machine that had seen an earlier claim has an HLC above it and would
// not have chosen that /24. The loser sees it lost after the next exchange, tombstones its claim
// and claims another free /24 (SubnetClaimer::settle). A machine hands out container addresses
// only from a confirmed subnet: its claim wins and its replica has completed an exchange.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "crdt/replica.hpp"
#include "crdt/state.hpp"

namespace weft::crdt {

struct SubnetHolder {
  OwnerId owner{};
  Hlc claimed;
};

// The winner of every claimed /24.
std::map<Ipv4Net, SubnetHolder> subnet_holders(const ClusterState& state);

// The /24 this owner wins, if any (at most one: a winner of two keeps the lower one).
std::optional<Ipv4Net> subnet_of(const ClusterState& state, const OwnerId& owner);

// True when a container lease lies in a /24 its owner wins, on a host address .2-.254.
bool lease_is_valid(const ClusterState& state, const Record& lease);

class SubnetClaimer {
 public:
  explicit SubnetClaimer(Ipv4Net network) : network_(network) {}

  enum class Status { holding, claimed, exhausted };
  struct Outcome {
    Status status;
    std::optional<Ipv4Net> subnet;
    std::vector<Record> written;  // the claims and tombstones settle() wrote, to disseminate
  };
  // Drops lost or surplus claims and claims a free /24 when holding none. Writes through the
  // replica (signed, pending changes). The first free /24 is searched from a start point derived
  // from the machine id, so machines joining at once rarely pick the same one.
  Outcome settle(Replica& replica, uint64_t now_ms) const;

  // The subnet containers may use: the machine's winning claim, once `synced` (the shell's
  // word that the first complete sync with the cluster is done, or that this machine founded
  // the cluster and has nobody to sync with).
  std::optional<Ipv4Net> confirmed(const Replica& replica, bool synced) const;

  // Leases the lowest free host address (.2-.254) of the confirmed subnet to a container.
  // nullopt when unconfirmed or full.
  std::optional<Record> lease(Replica& replica, bool synced, const std::string& container_id,
                              const std::string& container_name, uint64_t now_ms) const;

  const Ipv4Net& network() const { return network_; }

 private:
  Ipv4Net network_;
};

// Whether a machine may claim, and its claim is confirmed: it founded the cluster, or it has
// completed a sync with it, in this run or an earlier one.
inline bool synced_with_cluster(bool founder, bool synced_before, bool joined) { return founder || synced_before || joined; }

// When a machine settles its /24, for the agent and weft-sim alike: every kEveryMs once it may
// claim (it founded the cluster, or has completed a sync with it, now or in an earlier run:
// never from a partial view), and only when a claim changed since it last settled (settle()
// reads the claim records alone, so with none changed it would do nothing).
class SubnetSettler {
 public:
  static constexpr uint64_t kEveryMs = 2'000;
  explicit SubnetSettler(Ipv4Net network) : claimer_(network) {}
  // The outcome when it settled now; nullopt when not due (too soon, not allowed yet, or no
  // claim changed).
  std::optional<SubnetClaimer::Outcome> tick(Replica& replica, bool may_claim, uint64_t now_ms);
  uint64_t next_at() const { return next_at_; }
  const SubnetClaimer& claimer() const { return claimer_; }
  // The claims as they are now are settled (a machine loaded already settled state).
  void mark_settled(const Replica& replica) { settled_version_ = replica.state().kind_version(Kind::subnet_claim); }
  // Test-only: a broken gate (claims before the first sync, from a partial view) that weft-sim's
  // invariants must catch.
  void set_broken_gate_for_tests(bool broken) { broken_gate_ = broken; }

 private:
  SubnetClaimer claimer_;
  uint64_t next_at_ = 0;
  std::optional<uint64_t> settled_version_;
  bool broken_gate_ = false;
};

}  // namespace weft::crdt
