// Ed25519 signing of records (libsodium). Key generation from a seed keeps the cores
// deterministic: the simulator derives seeds from its RNG, the agent from randombytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "crdt/record.hpp"

namespace weft::crdt {

using SigningSeed = std::array<uint8_t, 32>;

class SigningKey {
 public:
  static SigningKey from_seed(const SigningSeed& seed);
  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();

  const OwnerId& public_key() const { return public_key_; }
  const SigningSeed& seed() const { return seed_; }  // the secret: persist 0600, never send
  Signature sign(const std::string& message) const;
  void sign(Record& record) const;  // sets record.signature

 private:
  SigningKey() = default;
  SigningSeed seed_{};
  std::array<uint8_t, 64> secret_key_{};
  OwnerId public_key_{};
};

// True when the record's signature verifies against its owner (the key in key.owner).
bool verify(const Record& record);

// Signatures already found good, keyed by everything the signature covers plus the signature
// itself, so only a byte-identical record hits. The simulator shares one among all its replicas:
// a record is then checked once per process, not once per simulated machine (checks are the
// whole cost of merging). Results are the same with or without it. Not thread-safe.
class VerifyMemo {
 public:
  bool verify(const Record& record);
  size_t size() const { return good_.size(); }

 private:
  std::unordered_set<std::string> good_;
};
// verify() through the memo when there is one.
inline bool verify(const Record& record, VerifyMemo* memo) { return memo ? memo->verify(record) : verify(record); }

// libsodium must be initialised once per process before any crypto call; idempotent.
void ensure_sodium();

}  // namespace weft::crdt
