#include "agent/cluster_info.hpp"

#include <sodium.h>

#include <cstring>

#include "crdt/signing.hpp"

namespace weft::agent {

std::optional<ClusterInfo> load_cluster_info(const store::RecordStore& store) {
  auto key = store.get_meta("cluster.key");
  auto id = store.get_meta("cluster.id");
  auto network = store.get_meta("cluster.network");
  auto name = store.get_meta("machine.name");
  if (!key || !id || !network || !name) return std::nullopt;
  ClusterInfo info;
  auto net = Ipv4Net::parse(*network);
  if (key->size() != 32 || id->size() != 16 || !net) throw store::StoreError("cluster settings in the data dir are corrupt");
  std::memcpy(info.key.data(), key->data(), 32);
  std::memcpy(info.id.data(), id->data(), 16);
  info.network = *net;
  info.name = *name;
  return info;
}

void save_cluster_info(store::RecordStore& store, const ClusterInfo& info) {
  std::pair<std::string, std::string> meta[] = {
      {"cluster.key", std::string(reinterpret_cast<const char*>(info.key.data()), 32)},
      {"cluster.id", std::string(reinterpret_cast<const char*>(info.id.data()), 16)},
      {"cluster.network", info.network.to_string()},
      {"machine.name", info.name}};
  store.apply({}, meta);
}

ClusterInfo new_cluster(const Ipv4Net& network, const std::string& name) {
  crdt::ensure_sodium();
  ClusterInfo info;
  randombytes_buf(info.key.data(), info.key.size());
  randombytes_buf(info.id.data(), info.id.size());
  info.network = network;
  info.name = name;
  return info;
}

}  // namespace weft::agent

namespace weft::agent {

gossip::Keyring load_keyring(const store::RecordStore& store, const ClusterInfo& info) {
  gossip::Keyring keyring(info.key);
  auto extra = store.get_meta("cluster.extra_keys");
  if (extra && extra->size() % 32 != 0) throw store::StoreError("stored extra cluster keys are corrupt");
  for (size_t i = 0; extra && i < extra->size(); i += 32) {
    gossip::ClusterKey k;
    std::memcpy(k.data(), extra->data() + i, 32);
    keyring.install(k);
  }
  return keyring;
}

void save_keyring(store::RecordStore& store, const gossip::Keyring& keyring) {
  const auto& keys = keyring.keys();
  std::string extra;
  for (size_t i = 1; i < keys.size(); ++i) extra.append(reinterpret_cast<const char*>(keys[i].data()), 32);
  std::pair<std::string, std::string> meta[] = {
      {"cluster.key", std::string(reinterpret_cast<const char*>(keys.front().data()), 32)},
      {"cluster.extra_keys", extra}};
  store.apply({}, meta);
}

}  // namespace weft::agent
