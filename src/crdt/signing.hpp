// Ed25519 signing of records (libsodium). Key generation from a seed keeps the cores
// deterministic: the simulator derives seeds from its RNG, the agent from randombytes.
#pragma once

#include <array>
#include <cstdint>

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

// libsodium must be initialised once per process before any crypto call; idempotent.
void ensure_sodium();

}  // namespace weft::crdt
