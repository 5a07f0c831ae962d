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

}  // namespace weft::crdt
