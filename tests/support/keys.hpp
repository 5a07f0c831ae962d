// Deterministic identities for tests: machine i gets the signing seed {i, i, ...}.
#pragma once

#include <cstdint>

#include "crdt/replica.hpp"
#include "crdt/signing.hpp"
#include "crdt/values.hpp"

namespace weft::test {

inline crdt::SigningKey test_key(uint8_t i) {
  crdt::SigningSeed seed;
  seed.fill(i);
  seed[31] = 0x5a;
  return crdt::SigningKey::from_seed(seed);
}

inline crdt::Replica test_replica(uint8_t i, crdt::ReplicaOptions options = {}) {
  return crdt::Replica(test_key(i), options);
}

inline std::string service_value(const std::string& name, const std::string& ip, uint16_t port = 0) {
  crdt::ServiceInstanceValue v;
  v.service = name;
  v.address = ip;
  v.port = port;
  v.protocol = port ? "tcp" : "";
  return crdt::encode_value(v);
}

}  // namespace weft::test
