// The machine's identity: its Ed25519 signing key (whose public half is the machine id) and its
// WireGuard X25519 key pair. Generated once with libsodium's CSPRNG and kept in the data dir's
// LMDB file (0600, in a 0700 dir). Only the public halves ever leave the machine, inside the
// machine record.
#pragma once

#include <array>
#include <cstdint>

#include "crdt/signing.hpp"
#include "crdt/values.hpp"
#include "store/record_store.hpp"

namespace weft::store {

struct Identity {
  crdt::SigningKey signing;
  std::array<uint8_t, 32> wireguard_private{};
  crdt::WireguardKey wireguard_public{};
  ~Identity();
};

// Loads the identity, creating it on first use. A stored secret of the wrong size is an error.
Identity load_or_create_identity(RecordStore& store);

}  // namespace weft::store
