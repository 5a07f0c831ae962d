// What a data dir knows about its cluster: the cluster key and id, the cluster network, and this
// machine's name. Kept in the store's metadata (the LMDB file is 0600; the key never leaves it
// except inside a join token printed for the operator).
#pragma once

#include <array>
#include <optional>
#include <string>

#include "agent/join_token.hpp"
#include "store/record_store.hpp"

namespace weft::agent {

struct ClusterInfo {
  gossip::ClusterKey key{};
  std::array<uint8_t, 16> id{};
  Ipv4Net network;
  std::string name;
};

std::optional<ClusterInfo> load_cluster_info(const store::RecordStore& store);
void save_cluster_info(store::RecordStore& store, const ClusterInfo& info);
// A new cluster: random key and id.
ClusterInfo new_cluster(const Ipv4Net& network, const std::string& name);

// The keyring (for rotation): the primary is cluster.key, the others are kept beside it.
gossip::Keyring load_keyring(const store::RecordStore& store, const ClusterInfo& info);
void save_keyring(store::RecordStore& store, const gossip::Keyring& keyring);

}  // namespace weft::agent
