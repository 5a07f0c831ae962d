// Join token: everything a new machine needs to join, in one copy-pasteable line.
//   weft1.<cluster key hex>.<cluster id hex>.<network>.<seed>,<seed>.<checksum hex>
// The checksum (BLAKE2b, 4 bytes) turns a mangled paste into a clear "bad token" error instead
// of a silent join attempt with a wrong key. The token holds the cluster key: treat it as a
// secret.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "base/ipv4.hpp"
#include "gossip/seal.hpp"

namespace weft::agent {

struct JoinToken {
  gossip::ClusterKey key{};
  std::array<uint8_t, 16> cluster_id{};
  Ipv4Net network;
  std::vector<std::string> seeds;  // control addresses "ip:port"

  std::string encode() const;
  // The checksum field of a token whose text before it is `body` ("weft1.….<seeds>").
  static std::string checksum(const std::string& body);
  // nullopt with *why set for anything malformed.
  static std::optional<JoinToken> decode(const std::string& text, std::string* why);
};

}  // namespace weft::agent
